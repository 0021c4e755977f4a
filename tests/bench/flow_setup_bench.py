#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""New-flow setup rate: upcalls per second per handler thread.

Writes a pcap in which every packet starts a new megaflow: N 60-byte UDP
frames, each to its own destination MAC, against the rules
    priority=10,dl_dst=02:00:00:00:00:01,actions=output:2
    priority=0,actions=output:2
so every translation un-wildcards all of dl_dst and no megaflow serves a
second packet. For each handler-thread count, a fresh daemon (one PMD on
lcore 1; handlers share the main lcore's core) reads the pcap once
(net_pcap rx_pcap) into a net_null sink, with a high flow-limit ceiling and a
long max-idle so nothing is evicted. net_pcap reads the file far faster than
handlers translate, so by default each handler's upcall ring (and the mbuf
pool, of 256-byte buffers) is sized to hold every packet: the PMD queues the
whole file and the handlers drain it at their own pace, none lost
(--upcall-ring 4096 shows the default ring overflowing instead).
`show megaflow stats` is polled while it runs; at the end it reports

  handled        upcalls translated by the handlers
  installed      of those, megaflows installed (the rest were over the flow
                 limit in force, which adapts below the ceiling like OVS's:
                 it starts at 10,000 and grows by 1,000 per revalidation round)
  lost           upcalls the PMD could not queue (upcall ring full)
  busy s         seconds the handler threads spent on upcall bursts (summed)
  /s/handler     handled / busy: the per-handler setup rate
  wall /s        upcalls handled per second of wall-clock time, between the
                 first poll of `show megaflow stats` (every few ms) that still
                 saw work left and the one that saw none (n/a when the run
                 was over before the control socket answered)

The run is over within a fraction of a second, before any revalidation
round could raise the limit, so with the default 200,000 packets about 10,000
upcalls install a megaflow and the rest are translated and executed without
one; --packets 10000 measures installing upcalls only.

Not part of the test suite; run by hand (needs hugepages, root):
    /usr/bin/python3 tests/bench/flow_setup_bench.py [--build build] [--packets 200000]
Prints a markdown table.
"""
import argparse
import os
import shutil
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

RULES = ["priority=10,dl_dst=02:00:00:00:00:01,actions=output:2",
         "priority=0,actions=output:2"]


def frames(n):
    """n 60-byte Ethernet/IPv4/UDP frames, dl_dst 02:01:xx:xx:xx:xx unique."""
    ip = bytes.fromhex("4500002e000000004011") + b"\0\0" + bytes([10, 0, 0, 1, 10, 0, 0, 2])
    s = sum(struct.unpack("!10H", ip))
    s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
    rest = b"\x02\x00\x00\x00\x00\x09\x08\x00" + ip + struct.pack("!HHHH", 1000, 9, 26, 0)
    rest += bytes(60 - 14 - len(ip) - 8)
    return (b"\x02\x01" + struct.pack("!I", i) + rest for i in range(n))


def write_pcap(path, n):
    rec = struct.pack("<IIII", 0, 0, 60, 60)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        f.write(b"".join(rec + fr for fr in frames(n)))


def run(handlers, n, pcap, args, timeout):
    from harness import Daemon, off_pmd_cpu
    ring = args.upcall_ring or 1 << max(12, (n - 1).bit_length())
    opts = ["--datapath.handler-threads=%d" % handlers,
            "--datapath.flow-limit=%d" % args.flow_limit,
            "--datapath.max-idle=%d" % args.max_idle,
            "--datapath.upcall-ring-size=%d" % ring,
            "--datapath.mbuf-size=256", "--datapath.mbufs=%d" % (n + 65536)]
    if args.revalidate_interval:
        opts.append("--datapath.revalidate-interval=%d" % args.revalidate_interval)
    d = Daemon([("in", "net_pcap0,rx_pcap=%s" % pcap, 1), ("out", "net_null0,no-rx=1", 2)],
               RULES, extra_args=opts)
    try:
        with off_pmd_cpu():  # the polling must not take the PMD's core
            d.start()
            first = t_done = None  # (time, handled) of the first poll that saw work left
            deadline = time.time() + timeout
            while time.time() < deadline:
                st = d.megaflow_stats()
                now = time.monotonic()
                if first is None and st["handled"] + st["upcalls_lost"] < n:
                    first = (now, st["handled"])
                if st["handled"] + st["upcalls_lost"] >= n:
                    t_done = now
                    break
                time.sleep(0.002)
            if t_done is None:
                raise RuntimeError("not done after %d s:\n%s" % (timeout, st["text"]))
            pmd = d.pmd_stats()
        if pmd["packets"] != n:
            raise RuntimeError("PMD saw %d of %d packets" % (pmd["packets"], n))
        # The pcap starts playing before the control socket answers: the wall
        # rate covers what was handled between the first poll and the end.
        wall = None
        if first is not None and t_done > first[0]:
            wall = (st["handled"] - first[1]) / (t_done - first[0])
        return st, pmd, wall
    finally:
        d.stop()
        d.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", help="build directory (default: build)")
    ap.add_argument("--packets", type=int, default=200000, help="packets = new megaflows")
    ap.add_argument("--handlers", default="1,2", help="handler-thread counts to run")
    ap.add_argument("--flow-limit", type=int, default=1000000, help="flow-limit ceiling")
    ap.add_argument("--max-idle", type=int, default=3600000, help="max-idle in ms")
    ap.add_argument("--upcall-ring", type=int, default=0,
                    help="upcall ring entries per handler (0: room for every packet)")
    ap.add_argument("--revalidate-interval", type=int, default=0,
                    help="revalidation period in ms (0: the daemon's default)")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per run")
    a = ap.parse_args()
    if a.build:
        os.environ["DPSWITCH_BUILD"] = os.path.abspath(a.build)
    tmp = tempfile.mkdtemp(prefix="dpswitch-flowsetup-")
    pcap = os.path.join(tmp, "new_flows.pcap")
    try:
        write_pcap(pcap, a.packets)
        print("%d packets, each a new megaflow (unique dl_dst); flow-limit ceiling %d" % (
            a.packets, a.flow_limit))
        print()
        print("| handlers | handled | installed | not installed | lost | busy s | "
              "upcalls/s/handler | wall upcalls/s |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for h in (int(x) for x in a.handlers.split(",")):
            st, pmd, wall = run(h, a.packets, pcap, a, a.timeout)
            busy = st["handler_busy_s"]
            per = st["handled"] / busy if busy else float("nan")
            print("| %d | %d | %d | %d | %d | %.3f | %.0f | %s |" % (
                h, st["handled"], st["installed"], st["not_installed"], st["upcalls_lost"],
                busy, per, "%.0f" % wall if wall else "n/a (done before the first poll)"),
                flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
