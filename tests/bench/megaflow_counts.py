#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Megaflows and masks the NSDI'15 table generates, per classifier optimisation.

Runs the real daemon (one PMD, net_pcap in, net_null out) on the NSDI'15
microbenchmark table (ARP to NORMAL, a high-priority TCP ACL on one host and
its ports, an IPv4 /16 route, a catch-all drop) with a port-scan-like mix:
the hand-picked packets of shared/bench's megaflow probe (routed, ACL hit,
near misses, no route, ARP), a 1,024-port scan of a routed host, a 1,024-port
scan of the ACL host and a 254-host scan on the ACL's ports. Each pass starts
a fresh daemon with one set of `[classifier]` options (given on the command
line, as `--classifier.KEY=VALUE`), sends the mix once and reads
`show pmd stats` (megaflows, masks) after every upcall is back.

Not part of the test suite; run by hand (needs hugepages):
    /usr/bin/python3 tests/bench/megaflow_counts.py [--build build]
Prints a markdown table.
"""
import argparse
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import csum, ipn, write_pcap  # noqa: E402

RULES = [
    "table=0,priority=300,arp,actions=NORMAL",
    "table=0,priority=200,tcp,nw_dst=9.1.1.1,tp_src=10,tp_dst=10,actions=drop",
    "table=0,priority=100,ip,nw_dst=11.1.0.0/16,actions=output:2",
    "table=0,priority=0,actions=drop",
]

# (label, command-line options)
PASSES = [
    ("all on", []),
    ("priority sorting off", ["--classifier.priority-sorting=false"]),
    ("staged lookup off", ["--classifier.staged-lookup=false"]),
    ("prefix tries off", ["--classifier.prefixes=none"]),
    ("port tracking off", ["--classifier.port-tracking=false"]),
    ("partitioning off", ["--classifier.partitioning=false"]),
    ("all off", ["--classifier.priority-sorting=false", "--classifier.staged-lookup=false",
                 "--classifier.prefixes=none", "--classifier.port-tracking=false",
                 "--classifier.partitioning=false"]),
]

SRC_MAC = b"\x02\x00\x00\x00\x00\x01"
DST_MAC = b"\x02\x00\x00\x00\x00\x02"


def ip_frame(proto, src, dst, sport, dport):
    """A 60-byte Ethernet/IPv4/TCP-or-UDP frame (checksums right)."""
    l4 = (struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 8192, 0, 0)
          if proto == 6 else struct.pack("!HHHH", sport, dport, 8, 0))
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0, ipn(src), ipn(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return (DST_MAC + SRC_MAC + b"\x08\x00" + ip + l4).ljust(60, b"\0")


def arp_request(spa, tpa):
    arp = struct.pack("!HHBBH6sI6sI", 1, 0x0800, 6, 4, 1, SRC_MAC, ipn(spa), b"\0" * 6, ipn(tpa))
    return (b"\xff" * 6 + SRC_MAC + b"\x08\x06" + arp).ljust(60, b"\0")


def mix():
    T, U = 6, 17
    frames = [
        ip_frame(U, "10.0.0.1", "11.1.2.3", 1234, 5678),
        ip_frame(T, "10.0.0.1", "11.1.2.3", 1234, 80),
        ip_frame(T, "10.0.0.2", "9.1.1.1", 10, 10),
        ip_frame(T, "10.0.0.2", "9.1.1.2", 10, 10),
        ip_frame(T, "10.0.0.2", "9.1.1.1", 11, 10),
        ip_frame(U, "10.0.0.2", "9.1.1.1", 10, 10),
        ip_frame(T, "10.0.0.1", "11.2.0.1", 1234, 80),
        ip_frame(T, "10.0.0.1", "12.0.0.1", 1234, 80),
        arp_request("11.1.0.1", "11.1.0.2"),
    ]
    frames += [ip_frame(T, "10.0.0.9", "11.1.2.3", 40000, p) for p in range(1, 1025)]
    frames += [ip_frame(T, "10.0.0.9", "9.1.1.1", 40000, p) for p in range(1, 1025)]
    frames += [ip_frame(T, "10.0.0.9", "9.1.1.%d" % h, 10, 10) for h in range(1, 255)]
    return frames


def run_pass(options, frames):
    from harness import Daemon
    d = Daemon([("in", "net_pcap0,rx_pcap=@DIR@/in.pcap", 1),
                ("out", "net_null0,no-rx=1", 2)], RULES, extra_args=options)
    try:
        write_pcap(d.path("in.pcap"), frames)
        d.start()
        d.wait_processed("in", len(frames))
        text = d.ctl("show pmd stats")
        m = re.search(r"megaflows: (\d+) \(masks (\d+)\)", text)
        return int(m.group(1)), int(m.group(2))
    finally:
        d.stop()
        d.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", help="build directory (default: build)")
    a = ap.parse_args()
    if a.build:
        os.environ["DPSWITCH_BUILD"] = os.path.abspath(a.build)
    frames = mix()
    print("%d packets: 9 probes, 2 x 1024-port scans, 254-host scan" % len(frames))
    print()
    print("| classifier options | megaflows | masks |")
    print("|---|---:|---:|")
    for label, options in PASSES:
        flows, masks = run_pass(options, frames)
        print("| %s | %d | %d |" % (label, flows, masks), flush=True)


if __name__ == "__main__":
    main()
