#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""One-PMD forwarding benchmark: dpswitch vs dpdk-testpmd io forwarding.

For each flow count, writes a pcap of 64-byte UDP frames over that many
distinct 5-tuples (at least 65,536 packets, flows round-robin), then in the
same run measures
  - dpdk-testpmd --forward-mode=io from net_pcap(infinite_rx) to net_null:
    the I/O ceiling of this machine;
  - dpswitch with one PMD on lcore 1 (control on lcore 0) on the same
    source and sink, for each rule set:
      fwd:   in_port=1 -> output:2 (no header field matched)
      route: the NSDI'15 table (arp, a TCP ACL on one host, an IPv4 /16 route)
and prints Mpps, the ratio to testpmd, EMC / megaflow hit rates, upcalls,
megaflows and masks. Not part of the test suite: run by hand
(scripts/bench.sh). Needs ~3 GiB of free 2 MB hugepages for 1M flows.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DPSWITCH_BUILD", os.path.join(ROOT, "build"))
DPSWITCH = os.path.join(BUILD, "src", "dpswitch")
CTL = os.path.join(BUILD, "src", "ctl", "dpswitch-ctl")
TESTPMD = os.environ.get("TESTPMD", "dpdk-testpmd")

RULES = {
    "fwd": ["table=0,priority=100,in_port=1,actions=output:2"],
    "route": [
        "table=0,priority=300,arp,actions=NORMAL",
        "table=0,priority=200,tcp,nw_dst=9.1.1.1,tp_src=10,tp_dst=10,actions=drop",
        "table=0,priority=100,ip,nw_dst=11.1.0.0/16,actions=output:2",
        "table=0,priority=0,actions=drop",
    ],
}


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def write_pcap(path, n_flows, min_packets=65536):
    """64-byte frames (60 in the pcap), UDP, src 10/8, dst 11.1/16, ports vary."""
    frames = []
    for i in range(n_flows):
        src = 0x0a000000 | (i & 0xffffff)
        dst = 0x0b010000 | ((i * 7919) & 0xffff)
        sport = 1024 + (i >> 16) % 60000
        dport = 1 + (i * 13) % 65000
        ip = struct.pack("!BBHHHBBHII", 0x45, 0, 46, 0, 0, 64, 17, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        udp = struct.pack("!HHHH", sport, dport, 26, 0) + b"\0" * 18
        frames.append(b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp)
    n_packets = max(n_flows, min_packets)
    rec = [struct.pack("<IIII", 0, 0, 60, 60) + f for f in frames]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        full, rest = divmod(n_packets, n_flows)
        blob = b"".join(rec)
        for _ in range(full):
            f.write(blob)
        f.write(b"".join(rec[:rest]))
    return n_packets


def testpmd_mpps(pcap, n_packets, window, warmup, prefix):
    mbufs = n_packets + 32768
    argv = [TESTPMD, "-l", "0,1", "--main-lcore", "0", "--in-memory", "--file-prefix", prefix,
            "--no-pci", "--no-telemetry", "--vdev", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap,
            "--vdev", "net_null0,no-rx=1", "--", "-i", "--forward-mode=io", "--nb-cores=1",
            "--burst=32", "--total-num-mbufs=%d" % mbufs, "--mbuf-size=256"]
    p = subprocess.Popen(["stdbuf", "-oL"] + argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)

    def cmd(c):
        p.stdin.write(c + "\n")
        p.stdin.flush()
    out = []
    import threading
    t = threading.Thread(target=lambda: out.extend(iter(p.stdout.readline, "")), daemon=True)
    t.start()
    cmd("start")
    time.sleep(warmup)
    t0 = time.time()
    cmd("show port stats 0")
    time.sleep(window)
    t1 = time.time()
    cmd("show port stats 0")
    time.sleep(0.5)
    cmd("quit")
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
    # Only the two `show port stats 0` answers (quit prints totals too).
    text = "".join(out)
    rx = [int(x) for x in re.findall(r"NIC statistics for port 0.*?RX-packets:\s+(\d+)", text, re.S)]
    if len(rx) < 2:
        raise RuntimeError("testpmd: no stats\n" + text[-2000:])
    return (rx[-1] - rx[-2]) / (t1 - t0) / 1e6


def dpswitch_run(pcap, n_packets, rules, window, warmup, workdir, prefix):
    flows = os.path.join(workdir, "bench.flows")
    with open(flows, "w") as f:
        f.write("\n".join(RULES[rules]) + "\n")
    sock = os.path.join(workdir, "ctl.sock")
    conf = os.path.join(workdir, "empty.conf")  # everything is on the command line
    open(conf, "w").close()
    argv = [DPSWITCH, "--config", conf,
            "--dpdk.eal-args", "-l 0-1 --in-memory --no-pci --no-telemetry --file-prefix " + prefix,
            "--datapath.pmd-cores", "1", "--datapath.mbufs", str(n_packets + 65536),
            "--datapath.mbuf-size", "256",
            "--openflow.flows", flows, "--control.socket", sock,
            "--log.file", os.path.join(workdir, "dpswitch.log"),
            "--port.src.devargs", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap, "--port.src.ofport", "1",
            "--port.sink.devargs", "net_null0,no-rx=1", "--port.sink.ofport", "2"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.STDOUT)

    def ctl(*a):
        return subprocess.run([CTL, "--socket", sock] + list(a), capture_output=True, text=True,
                              timeout=60).stdout
    deadline = time.time() + 120
    while not (os.path.exists(sock) and ctl("show ports")):
        if p.poll() is not None or time.time() > deadline:
            raise RuntimeError("dpswitch did not start; see " + workdir)
        time.sleep(0.2)
    time.sleep(warmup)
    ctl("clear pmd stats")
    t0 = time.time()
    time.sleep(window)
    stats = ctl("show pmd stats")
    t1 = time.time()
    mf = ctl("dump-megaflows")
    ctl("exit")
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()

    def num(label):
        m = re.search(re.escape(label) + r":\s*([\d.]+)", stats)
        return float(m.group(1)) if m else 0.0
    pk = num("packets received")
    masks = re.search(r"megaflows: (\d+) \(masks (\d+)\)", stats)
    return {
        "mpps": pk / (t1 - t0) / 1e6,
        "emc": 100 * num("emc hits") / pk if pk else 0,
        "mf": 100 * num("megaflow hits") / pk if pk else 0,
        "upcalls": int(num("miss with success upcall")),
        "lost": int(num("miss with failed upcall (lost)")),
        "cpp": num("avg cycles per packet"),
        "megaflows": int(masks.group(1)) if masks else len(mf.splitlines()),
        "masks": int(masks.group(2)) if masks else 0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", default="1,1000,65536,1000000")
    ap.add_argument("--rules", default="fwd,route")
    ap.add_argument("--window", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="dpswitch-bench-")
    rows = []
    try:
        for n in [int(x) for x in args.flows.split(",")]:
            pcap = os.path.join(work, "flows%d.pcap" % n)
            n_packets = write_pcap(pcap, n)
            warm = max(args.warmup, n / 200000)
            tp = testpmd_mpps(pcap, n_packets, args.window, warm, "dpsbtp%d" % os.getpid())
            rows.append(("testpmd io", n, tp, 1.0, None))
            for r in args.rules.split(","):
                d = dpswitch_run(pcap, n_packets, r, args.window, warm, work, "dpsb%d" % os.getpid())
                rows.append(("dpswitch " + r, n, d["mpps"], d["mpps"] / tp if tp else 0, d))
            os.unlink(pcap)
            print_table(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows):
    print("\n| switch | flows | Mpps | vs testpmd | EMC hit % | megaflow hit % | upcalls | lost | megaflows | masks | cycles/pkt |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, mpps, ratio, d in rows:
        if d is None:
            print("| %s | %d | %.2f | 1.00 | | | | | | | |" % (name, n, mpps))
        else:
            print("| %s | %d | %.2f | %.2f | %.1f | %.1f | %d | %d | %d | %d | %.0f |" % (
                name, n, mpps, ratio, d["emc"], d["mf"], d["upcalls"], d["lost"], d["megaflows"],
                d["masks"], d["cpp"]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
