# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end forwarding through the real daemon on net_pcap ports.

One daemon gets an input pcap on port 1 with a mix of traffic and six output
ports; the flows route by in_port, IP prefix and L4 port, push and pop VLAN
tags, rewrite Ethernet/IPv4/L4 fields (checksums must be right), drop, and
walk several tables. Expected output packets are built independently with
scapy (which computes checksums from scratch) and compared byte for byte.
Packets are compared per port as sorted lists: the first packets of a new
flow go through a handler and may be overtaken by later packets of the same
flow that already hit the installed megaflow (as in OVS's kernel datapath).
"""
import pytest
from scapy.all import ARP, Dot1Q, Ether, ICMP, IP, IPv6, TCP, UDP, Raw, rdpcap, wrpcap

from harness import Daemon

SRC = "02:00:00:00:00:01"
DST = "02:00:00:00:00:02"

FLOWS = [
    "table=0,priority=300,in_port=1,dl_vlan=100,actions=strip_vlan,output:5",
    "table=0,priority=250,in_port=1,tcp,nw_dst=10.1.0.0/16,tp_dst=22,actions=drop",
    "table=0,priority=200,in_port=1,ip,nw_dst=10.1.0.0/16,actions=output:2",
    "table=0,priority=200,in_port=1,udp,nw_dst=10.2.0.0/16,tp_dst=53,actions=output:3",
    "table=0,priority=200,in_port=1,tcp,nw_dst=10.3.0.0/16,"
    "actions=mod_nw_src:192.168.0.1,mod_tp_dst:8080,mod_dl_dst:02:00:00:00:00:99,dec_ttl,output:4",
    "table=0,priority=200,in_port=1,udp,nw_dst=10.3.0.0/16,"
    "actions=set_field:172.16.0.9->nw_dst,mod_tp_src:1234,output:4",
    "table=0,priority=200,in_port=1,ip,nw_dst=10.4.0.0/16,actions=push_vlan:0x8100,mod_vlan_vid:100,output:5",
    "table=0,priority=200,in_port=1,ip,nw_dst=10.5.0.0/16,actions=goto_table:1",
    "table=1,priority=10,udp,actions=resubmit(,2)",
    "table=1,priority=5,actions=drop",
    "table=2,priority=10,actions=output:6",
    "table=0,priority=100,in_port=1,arp,actions=output:2,output:6",
    "table=0,priority=0,actions=drop",
]


def eth():
    return Ether(src=SRC, dst=DST)


def build_cases():
    """(input packet, {port: [expected packets]}) for every case."""
    cases = []
    for i in range(20):
        # by IP prefix -> 2
        p = eth() / IP(src="192.0.2.%d" % i, dst="10.1.%d.1" % i, ttl=64) / UDP(sport=1000 + i, dport=9) / Raw(b"x" * i)
        cases.append((p, {2: [p]}))
        # TCP port 22 to 10.1/16 -> dropped (higher priority ACL)
        p = eth() / IP(src="192.0.2.%d" % i, dst="10.1.0.%d" % i) / TCP(sport=2000 + i, dport=22)
        cases.append((p, {}))
        # UDP port 53 to 10.2/16 -> 3 ; other UDP ports to 10.2/16 -> dropped (table miss prio 0)
        p = eth() / IP(src="192.0.2.%d" % i, dst="10.2.0.%d" % i) / UDP(sport=3000 + i, dport=53)
        cases.append((p, {3: [p]}))
        p = eth() / IP(src="192.0.2.%d" % i, dst="10.2.0.%d" % i) / UDP(sport=3000 + i, dport=54)
        cases.append((p, {}))
        # set-field TCP -> 4
        p = eth() / IP(src="192.0.2.%d" % i, dst="10.3.0.%d" % i, ttl=10 + i) / TCP(sport=4000 + i, dport=80, flags="S") / Raw(b"hello%d" % i)
        e = p.copy()
        e[Ether].dst = "02:00:00:00:00:99"
        e[IP].src = "192.168.0.1"
        e[IP].ttl = 9 + i
        e[TCP].dport = 8080
        del e[IP].chksum
        del e[TCP].chksum
        cases.append((p, {4: [Ether(bytes(e))]}))
        # set-field UDP -> 4
        p = eth() / IP(src="192.0.2.%d" % i, dst="10.3.1.%d" % i) / UDP(sport=5000 + i, dport=7) / Raw(b"u" * (i + 1))
        e = p.copy()
        e[IP].dst = "172.16.0.9"
        e[UDP].sport = 1234
        del e[IP].chksum
        del e[UDP].chksum
        cases.append((p, {4: [Ether(bytes(e))]}))
        # push VLAN 100 -> 5
        p = eth() / IP(src="192.0.2.%d" % i, dst="10.4.0.%d" % i) / ICMP(id=i)
        e = Ether(src=SRC, dst=DST) / Dot1Q(vlan=100, prio=0) / p[IP]
        cases.append((p, {5: [Ether(bytes(e))]}))
        # pop VLAN 100 -> 5
        inner = IP(src="192.0.2.%d" % i, dst="10.9.0.%d" % i) / UDP(sport=6000 + i, dport=6)
        p = Ether(src=SRC, dst=DST) / Dot1Q(vlan=100) / inner
        e = Ether(src=SRC, dst=DST, type=0x0800) / inner
        cases.append((p, {5: [Ether(bytes(e))]}))
        # multi-table: UDP -> goto 1 -> resubmit 2 -> 6 ; TCP -> goto 1 -> drop
        p = eth() / IP(src="192.0.2.%d" % i, dst="10.5.0.%d" % i) / UDP(sport=7000 + i, dport=7)
        cases.append((p, {6: [p]}))
        p = eth() / IP(src="192.0.2.%d" % i, dst="10.5.0.%d" % i) / TCP(sport=7000 + i, dport=7)
        cases.append((p, {}))
    # ARP -> 2 and 6
    for i in range(5):
        p = Ether(src=SRC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="10.0.0.%d" % i, pdst="10.0.0.254")
        cases.append((p, {2: [p], 6: [p]}))
    # unmatched IPv6 -> dropped by the table-miss rule
    cases.append((eth() / IPv6(dst="2001:db8::1") / UDP(), {}))
    return cases


@pytest.fixture(scope="module")
def run():
    cases = build_cases()
    ports = [("p1", "net_pcap0,rx_pcap=@DIR@/in.pcap,tx_pcap=@DIR@/out1.pcap", 1)]
    for n in range(2, 7):
        ports.append(("p%d" % n, "net_pcap%d,rx_pcap=@DIR@/empty.pcap,tx_pcap=@DIR@/out%d.pcap" % (n - 1, n), n))
    d = Daemon(ports, FLOWS)
    wrpcap(d.path("in.pcap"), [c[0] for c in cases])
    wrpcap(d.path("empty.pcap"), [])
    d.start()
    try:
        stats = d.wait_processed("p1", len(cases))
        port_counters = d.ports()
        megaflows = d.ctl("dump-megaflows")
        flows = d.ctl("dump-flows")
    finally:
        rc = d.stop()
    out = {n: [bytes(p) for p in rdpcap(d.path("out%d.pcap" % n))] for n in range(1, 7)}
    yield {"cases": cases, "out": out, "stats": stats, "ports": port_counters, "rc": rc,
           "megaflows": megaflows, "flows": flows, "daemon": d}
    d.cleanup()


def expected(cases, port):
    return sorted(bytes(p) for _, exp in cases for p in exp.get(port, []))


@pytest.mark.parametrize("port", [1, 2, 3, 4, 5, 6])
def test_output_bytes(run, port):
    got = sorted(run["out"][port])
    want = expected(run["cases"], port)
    assert len(got) == len(want), "port %d: %d packets, expected %d" % (port, len(got), len(want))
    for g, w in zip(got, want):
        assert g == w, "port %d:\n got  %s\n want %s" % (port, Ether(g).summary(), Ether(w).summary())


def test_setfield_checksums_valid(run):
    for raw in run["out"][4]:
        p = Ether(raw)
        ip_ck = p[IP].chksum
        l4 = p[TCP] if TCP in p else p[UDP]
        l4_ck = l4.chksum
        del p[IP].chksum
        del l4.chksum
        q = Ether(bytes(p))
        assert q[IP].chksum == ip_ck
        assert (q[TCP] if TCP in q else q[UDP]).chksum == l4_ck


def test_clean_exit(run):
    assert run["rc"] == 0


def test_counters_match(run):
    n_in = len(run["cases"])
    assert run["stats"]["packets"] == n_in
    s = run["stats"]
    assert s["emc"] + s["megaflow"] + s["upcalls"] + s["lost"] == n_in
    assert s["lost"] == 0
    assert run["ports"]["p1"]["rx_packets"] == n_in
    for n in range(2, 7):
        assert run["ports"]["p%d" % n]["tx_packets"] == len(expected(run["cases"], n)), n


def test_megaflows_are_wide(run):
    text = run["megaflows"]
    assert text.strip(), "no megaflows installed"
    # The 10.1/16 route does not depend on the UDP source port: one megaflow
    # serves all 20 UDP flows to 10.1/16 (tp_src is never un-wildcarded there).
    lines = [l for l in text.splitlines() if "nw_dst=10.1." in l and "nw_proto=17" in l]
    assert lines and all("tp_src" not in l for l in lines), text


def test_dump_flows_lists_all(run):
    assert len(run["flows"].strip().splitlines()) == len(FLOWS)
