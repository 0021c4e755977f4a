#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dpswitch's adapter for the team benchmark harness (../shared/bench), in the
harness's exec contract (its adapters/exec_adapter.py): one subcommand per
call, one JSON object on stdout, exit status 0 on success.

  setup      writes a config into --workdir and starts dpswitch in the
             background: EAL -l CTL,DP with the main lcore on CTL, the PMD on
             DP, --in-memory, the harness's --file-prefix and --socket-mem;
             OpenFlow port 1 = --source, port 2 = --sink; the rules as the flow
             file (loaded before any port polls). Returns once port 1 receives.
  snapshot   cumulative port and datapath counters (show ports, show pmd stats)
  reset-stats  clear pmd stats (the harness takes differences anyway)
  cache      megaflows and masks (show megaflow stats); --dump FILE gets
             dump-megaflows
  meta       build and version facts
  teardown   `exit` through the control socket, SIGKILL if it does not stop,
             then the work files; idempotent

Run the whole comparison with scripts/bench/run_matrix.sh (dpswitch, OVS-DPDK
and the testpmd ceiling in one run).
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DPSWITCH_BUILD", os.path.join(ROOT, "build"))
DPSWITCH = os.path.join(BUILD, "src", "dpswitch")
CTL = os.path.join(BUILD, "src", "ctl", "dpswitch-ctl")

# The replay source preloads its whole pcap (at least 65,536 packets, up to
# the harness's BENCH_REPLAY_MAX) into port 1's rx mempool: room for that
# plus rings and bursts (the harness asks for packets + 16,384).
MBUFS = int(os.environ.get("DPSWITCH_BENCH_MBUFS", "262144"))
# 64-byte frames: small buffers keep the pool in cache (mbuf-size counts the
# 128-byte headroom).
MBUF_SIZE = int(os.environ.get("DPSWITCH_BENCH_MBUF_SIZE", "512"))


def paths(workdir):
    return {
        "conf": os.path.join(workdir, "dpswitch.conf"),
        "sock": os.path.join(workdir, "ctl.sock"),
        "log": os.path.join(workdir, "dpswitch.log"),
        "pid": os.path.join(workdir, "dpswitch.pid"),
        "out": os.path.join(workdir, "dpswitch.out"),
    }


def ctl(workdir, *args, timeout=30):
    r = subprocess.run([CTL, "--socket", paths(workdir)["sock"]] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("dpswitch-ctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.stdout


def show_ports(workdir):
    """{ofport: {column: int}} from `show ports`."""
    lines = ctl(workdir, "show ports").strip().splitlines()
    cols = lines[0].split()
    out = {}
    for line in lines[1:]:
        row = dict(zip(cols, line.split()))
        out[int(row["ofport"])] = {k: int(v) for k, v in row.items() if v.isdigit()}
    return out


def pmd_counters(text):
    """Sums of the per-PMD counters of `show pmd stats`."""
    labels = {
        "packets": "packets received", "emc_hits": "emc hits",
        "megaflow_hits": "megaflow hits", "upcalls": "miss with success upcall",
        "upcalls_failed": "miss with failed upcall (lost)",
        "cycles_idle": "idle cycles", "cycles_busy": "processing cycles",
    }
    dp = {}
    for key, label in labels.items():
        dp[key] = sum(int(v) for v in re.findall(re.escape(label) + r":\s*(\d+)", text))
    # masked_lookups: the per-PMD average times the lookups it averages over.
    looked = 0.0
    for avg, hits, ups in zip(
            re.findall(r"avg\. subtable lookups per megaflow hit:\s*([\d.]+)", text),
            re.findall(r"megaflow hits:\s*(\d+)", text),
            re.findall(r"miss with success upcall:\s*(\d+)", text)):
        looked += float(avg) * (int(hits) + int(ups))
    dp["masked_lookups"] = int(round(looked))
    return dp


def cmd_setup(a):
    p = paths(a.workdir)
    os.makedirs(a.workdir, exist_ok=True)
    eal = "-l %s,%s --main-lcore %s --in-memory --no-pci --file-prefix %s --socket-mem %s" % (
        a.ctl_core, a.dp_core, a.ctl_core, a.file_prefix, a.socket_mem)
    conf = [
        "[dpdk]", "eal-args = " + eal,
        "[datapath]", "pmd-cores = %s" % a.dp_core, "handler-threads = 1",
        "mbufs = %d" % MBUFS, "mbuf-size = %d" % MBUF_SIZE,
        "[openflow]", "flows = %s" % (os.path.abspath(a.rules) if a.rules else ""),
        "[control]", "socket = %s" % p["sock"], "interactive = false",
        "[log]", "level = info", "file = %s" % p["log"],
        "[port.source]", "devargs = %s" % a.source, "ofport = 1",
        "[port.sink]", "devargs = %s" % a.sink, "ofport = 2",
    ]
    with open(p["conf"], "w") as f:
        f.write("\n".join(conf) + "\n")
    with open(p["out"], "w") as out:
        proc = subprocess.Popen([DPSWITCH, "--config", p["conf"]], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, cwd=a.workdir,
                                start_new_session=True)
    with open(p["pid"], "w") as f:
        f.write(str(proc.pid))
    deadline = time.time() + 120  # a large replay pcap takes a while to preload
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("dpswitch exited with %d: %s" % (proc.returncode, tail(p["out"])))
        try:
            if show_ports(a.workdir).get(1, {}).get("rx_packets", 0) > 0:
                return {"pids": [proc.pid]}
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            pass
        time.sleep(0.2)
    raise RuntimeError("dpswitch: no traffic on port 1 after 120 s: " + tail(p["log"]))


def tail(path, n=2000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def cmd_snapshot(a):
    ports = {}
    for ofport, c in show_ports(a.workdir).items():
        ports[str(ofport)] = {"rx": c.get("rx_packets", 0), "tx": c.get("tx_packets", 0),
                              "rx_drop": c.get("rx_dropped", 0),
                              "tx_drop": c.get("tx_dropped", 0)}
    return {"ports": ports, "dp": pmd_counters(ctl(a.workdir, "show pmd stats"))}


def cmd_reset_stats(a):
    ctl(a.workdir, "clear pmd stats")
    return {}


def cmd_cache(a):
    text = ctl(a.workdir, "show megaflow stats")
    m = re.search(r"megaflows: (\d+) \(masks (\d+)\)", text)
    out = {"megaflows": int(m.group(1)), "masks": int(m.group(2))} if m else {}
    if a.dump:
        with open(a.dump, "w") as f:
            f.write(ctl(a.workdir, "dump-megaflows", timeout=300))
    return out


def cmd_meta(a):
    def git(*args):
        r = subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True)
        return r.stdout.strip()
    return {"version": git("describe", "--always", "--dirty"), "build": BUILD,
            "mbufs": MBUFS, "mbuf_size": MBUF_SIZE}


def cmd_teardown(a):
    p = paths(a.workdir)
    try:
        with open(p["pid"]) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        return {}
    try:
        ctl(a.workdir, "exit", timeout=10)
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        pass
    deadline = time.time() + 30
    while time.time() < deadline and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        os.killpg(pid, signal.SIGKILL)
    for f in (p["pid"], p["sock"]):
        try:
            os.unlink(f)
        except OSError:
            pass
    return {}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (our child was reaped by nobody) counts as gone.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["setup", "snapshot", "reset-stats", "cache", "meta",
                                        "teardown"])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--ctl-core", default="0")
    ap.add_argument("--dp-core", default="1")
    ap.add_argument("--socket-mem", default="1024")
    ap.add_argument("--file-prefix", default="dpswitch_bench")
    ap.add_argument("--source")
    ap.add_argument("--sink")
    ap.add_argument("--rules")
    ap.add_argument("--dump")
    a = ap.parse_args()
    handlers = {"setup": cmd_setup, "snapshot": cmd_snapshot, "reset-stats": cmd_reset_stats,
                "cache": cmd_cache, "meta": cmd_meta, "teardown": cmd_teardown}
    try:
        print(json.dumps(handlers[a.command](a)))
    except Exception as e:  # the harness reports stderr and the exit status
        print("dpswitch adapter %s: %s" % (a.command, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
