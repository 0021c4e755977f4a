# SPDX-License-Identifier: BSD-3-Clause
"""Malformed and truncated packets: counted, forwarded as far as the flows
say, never a crash; the daemon keeps forwarding good traffic afterwards and
no mbuf is lost."""
import random

from scapy.all import Ether, IP, IPv6, IPv6ExtHdrFragment, TCP, UDP, Raw, rdpcap, wrpcap

from harness import Daemon


def malformed_packets():
    rnd = random.Random(7)
    good = [
        Ether() / IP(dst="10.0.0.1") / TCP(dport=80) / Raw(b"a" * 20),
        Ether() / IP(dst="10.0.0.1", options=b"\x01\x01\x01\x00") / UDP(dport=53),
        Ether() / IPv6(dst="2001:db8::1") / IPv6ExtHdrFragment() / UDP(dport=53),
    ]
    pkts = []
    for g in good:
        raw = bytes(g)
        for cut in range(1, len(raw)):
            pkts.append(raw[:cut])  # every truncation
    for _ in range(300):  # random garbage with plausible Ethernet types
        n = rnd.randint(14, 120)
        b = bytearray(rnd.getrandbits(8) for _ in range(n))
        b[12:14] = rnd.choice([b"\x08\x00", b"\x86\xdd", b"\x81\x00", b"\x08\x06"])
        pkts.append(bytes(b))
    # IPv4 with IHL/total-length lies
    ip = bytearray(bytes(Ether() / IP(dst="10.0.0.1") / UDP()))
    ip[14] = 0x4f  # IHL 15 > packet
    pkts.append(bytes(ip))
    ip = bytearray(bytes(Ether() / IP(dst="10.0.0.1") / UDP()))
    ip[16:18] = b"\xff\xff"  # total length past the end
    pkts.append(bytes(ip))
    return pkts


def test_malformed_then_good_traffic():
    bad = malformed_packets()
    good = [Ether() / IP(src="1.1.1.%d" % i, dst="10.0.0.1") / UDP(sport=i, dport=9) for i in range(50)]
    d = Daemon([("p1", "net_pcap0,rx_pcap=@DIR@/in.pcap", 1),
                ("p2", "net_pcap1,rx_pcap=@DIR@/empty.pcap,tx_pcap=@DIR@/out.pcap", 2)],
               ["table=0,priority=10,in_port=1,actions=output:2"])
    # Raw bytes, not scapy packets, so truncation is kept exactly.
    from scapy.all import conf, RawPcapWriter
    w = RawPcapWriter(d.path("in.pcap"), linktype=1)
    for b in bad:
        w.write(b)
    for g in good:
        w.write(bytes(g))
    w.close()
    wrpcap(d.path("empty.pcap"), [])
    d.start()
    try:
        n = len(bad) + len(good)
        s = d.wait_processed("p1", n)
        assert s["parse_errors"] > 0
        assert s["lost"] == 0
        assert d.ports()["p2"]["tx_packets"] == n
    finally:
        rc = d.stop()
    assert rc == 0
    out = rdpcap(d.path("out.pcap"))
    assert len(out) == len(bad) + len(good)
    d.cleanup()


def test_sigterm_stops_cleanly():
    import signal
    d = Daemon([("p1", "net_null0,no-rx=1", 1)], ["actions=drop"])
    d.start()
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=30) == 0
    d.cleanup()
