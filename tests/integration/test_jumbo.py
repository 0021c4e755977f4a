# SPDX-License-Identifier: BSD-3-Clause
"""Jumbo frames through the real daemon: ports with `mtu = 9000`.

Frames of 1514, 1518, 9000 and 9018 bytes (the 1518 and 9018-byte ones
VLAN-tagged, so every frame is within MTU 9000) cross net_pcap ports and
must come out byte for byte as expected: unchanged through a plain output,
rewritten (MAC and IPv4 source, checksums fixed) through a set-field rule,
and on every port of a multi-output rule that outputs, rewrites, outputs
again and pushes a VLAN tag (which exercises sharing and copying of
multi-segment mbufs). Expected frames are built here independently, with
checksums computed from scratch.

Each case runs with three buffer sizes: the default (mbufs sized for the MTU,
so jumbo frames are one segment), 2176 bytes (2 KiB segments: chains through
rx scatter) and 256 bytes (128-byte segments: ~70 per jumbo frame, headers
split across segments and pulled up by the parser). Afterwards the mbufs in
use must be what an idle daemon of the same configuration holds: no
segment leaked.

A vhost-user variant adds a PORT_KINDS entry once vhost ports exist (the
frames then go net_pcap -> vhost-user -> testpmd -> vhost-user -> net_pcap).
"""
import struct
import time

import pytest

from harness import Daemon, csum, read_pcap, write_pcap

SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")
NEW_MAC = bytes.fromhex("0200000000aa")
SRC_IP, DST_IP, NEW_IP = "10.0.0.1", "10.0.1.2", "192.168.0.1"

FLOWS = [
    "table=0,priority=100,in_port=1,udp,tp_dst=1,actions=output:2",
    "table=0,priority=100,in_port=1,udp,tp_dst=2,actions=mod_dl_dst:02:00:00:00:00:aa,"
    "mod_nw_src:192.168.0.1,output:3",
    "table=0,priority=100,in_port=1,udp,tp_dst=3,actions=output:2,output:4,"
    "mod_nw_src:192.168.0.1,output:3,push_vlan:0x8100,mod_vlan_vid:7,output:4",
    "table=0,priority=0,actions=drop",
]

FRAME_SIZES = [(1514, False), (1518, True), (9000, False), (9018, True)]  # (bytes, tagged)
MBUF_SIZES = [0, 2176, 256]


def ip4(dotted):
    return bytes(int(x) for x in dotted.split("."))


def frame(size, tagged, dport, src_ip=SRC_IP, dst_mac=DST_MAC, push_vid=None, seed=0):
    """An Ethernet/[VLAN]/IPv4/UDP frame of `size` bytes (before push_vid adds a tag)."""
    l2 = dst_mac + SRC_MAC
    tags = []
    if push_vid is not None:
        tags.append(struct.pack("!HH", 0x8100, push_vid))
    if tagged:
        tags.append(struct.pack("!HH", 0x8100, 5))
    hdr_len = 14 + (4 if tagged else 0)
    ip_len = size - hdr_len
    payload = bytes((seed + i * 7 + 1) & 0xff for i in range(ip_len - 28))
    src, dst = ip4(src_ip), ip4(DST_IP)
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", 4000 + seed, dport, udp_len, 0) + payload
    uck = csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", uck) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, seed, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return l2 + b"".join(tags) + struct.pack("!H", 0x0800) + ip + udp


def build_cases():
    """(input frame, {port: [expected frames]})."""
    cases = []
    for seed, (size, tagged) in enumerate(FRAME_SIZES):
        p = frame(size, tagged, 1, seed=seed)
        assert len(p) == size
        cases.append((p, {2: [p]}))
        p = frame(size, tagged, 2, seed=seed)
        cases.append((p, {3: [frame(size, tagged, 2, src_ip=NEW_IP, dst_mac=NEW_MAC, seed=seed)]}))
        p = frame(size, tagged, 3, seed=seed)
        rewritten = frame(size, tagged, 3, src_ip=NEW_IP, seed=seed)
        cases.append((p, {2: [p], 3: [rewritten],
                          4: [p, frame(size, tagged, 3, src_ip=NEW_IP, push_vid=7, seed=seed)]}))
    return cases


def make_daemon(mbuf_size, in_pcap):
    ports = [("p1", "net_pcap0,rx_pcap=@DIR@/%s,tx_pcap=@DIR@/out1.pcap" % in_pcap, 1)]
    for n in range(2, 5):
        ports.append(("p%d" % n, "net_pcap%d,rx_pcap=@DIR@/empty.pcap,tx_pcap=@DIR@/out%d.pcap"
                      % (n - 1, n), n))
    args = []
    for name, _, _ in ports:
        args += ["--port.%s.mtu" % name, "9000"]
    if mbuf_size:
        args += ["--datapath.mbuf-size", str(mbuf_size)]
    d = Daemon(ports, FLOWS, extra_args=args)
    write_pcap(d.path("empty.pcap"), [])
    return d


def settled_in_use(d, want=None, timeout=5):
    """The pool's in-use count once it stops changing (or reaches `want`)."""
    deadline = time.time() + timeout
    last = d.mempool_in_use()
    while time.time() < deadline:
        time.sleep(0.3)
        now = d.mempool_in_use()
        if now == want or (want is None and now == last):
            return now
        last = now
    return last


@pytest.fixture(scope="module", params=MBUF_SIZES, ids=lambda s: "mbuf-size=%d" % s)
def run(request):
    mbuf_size = request.param
    # An idle daemon of the same configuration: the mbufs it holds at rest.
    idle = make_daemon(mbuf_size, "empty.pcap")
    idle.start()
    try:
        baseline = settled_in_use(idle)
    finally:
        idle.stop()
        idle.cleanup()
    cases = build_cases()
    d = make_daemon(mbuf_size, "in.pcap")
    write_pcap(d.path("in.pcap"), [c[0] for c in cases])
    d.start()
    try:
        stats = d.wait_processed("p1", len(cases))
        in_use = settled_in_use(d, baseline)
        mempool = d.ctl("show mempool")
    finally:
        rc = d.stop()
    out = {n: read_pcap(d.path("out%d.pcap" % n)) for n in range(1, 5)}
    log = d.read_log()
    yield {"cases": cases, "out": out, "stats": stats, "rc": rc, "baseline": baseline,
           "in_use": in_use, "mempool": mempool, "log": log, "mbuf_size": mbuf_size}
    d.cleanup()


def test_clean_exit(run):
    assert run["rc"] == 0
    assert run["stats"]["parse_errors"] == 0, run["stats"]["text"]
    assert run["stats"]["lost"] == 0


@pytest.mark.parametrize("port", [1, 2, 3, 4])
def test_output_bytes(run, port):
    got = sorted(run["out"][port])
    want = sorted(p for _, exp in run["cases"] for p in exp.get(port, []))
    assert [len(g) for g in got] == [len(w) for w in want], "port %d" % port
    for g, w in zip(got, want):
        assert g == w, "port %d: a %d-byte frame differs at byte %d" % (
            port, len(w), next(i for i in range(len(w)) if g[i] != w[i]))


def test_no_mbuf_leaked(run):
    assert run["in_use"] == run["baseline"], run["mempool"]


def test_mtu_and_pools_logged(run):
    log = run["log"]
    for n in range(1, 5):
        assert "port p%d: mtu 9000 " % n in log, log
    assert "mbuf pool dps_mbuf_s0:" in log
    # Sized for the MTU (OVS's per-port-memory model) unless set explicitly.
    room = run["mbuf_size"] or 9344
    assert "(data room %d) on socket 0" % room in log, log
