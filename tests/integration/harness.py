# SPDX-License-Identifier: BSD-3-Clause
"""Runs the real dpswitch daemon on DPDK virtual devices for integration tests.

A Daemon gets a private work directory (config, flows, pcaps, control socket,
log), starts build/src/dpswitch with --in-memory and a unique file prefix,
talks to it with build/src/ctl/dpswitch-ctl, and stops it with `exit` so
net_pcap flushes its output files.

Live traffic: a Veth pair gives the daemon a net_pcap port on one end
(`rx_iface_in=`) and the test an AF_PACKET socket on the other, so packets
arrive at a rate the test controls while it changes the flow tables.
Raw pcap files are read and written here without scapy (fast for tens of
thousands of packets, and byte-exact).
"""
import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DPSWITCH_BUILD", os.path.join(ROOT, "build"))
DPSWITCH = os.path.join(BUILD, "src", "dpswitch")
CTL = os.path.join(BUILD, "src", "ctl", "dpswitch-ctl")


class Daemon:
    _seq = 0

    def __init__(self, ports, flows, extra_args=(), eal_extra=""):
        """ports: list of (name, devargs, ofport), devargs a string or a dict of
        port keys ({"type": "dpdkvhostuser", "socket": "@DIR@/a.sock"});
        flows: list of flow strings."""
        Daemon._seq += 1
        self.dir = tempfile.mkdtemp(prefix="dpswitch-it-")
        self.sock = os.path.join(self.dir, "ctl.sock")
        self.log = os.path.join(self.dir, "dpswitch.log")
        flows_file = os.path.join(self.dir, "test.flows")
        with open(flows_file, "w") as f:
            f.write("\n".join(flows) + "\n")
        prefix = "dpsit%d_%d" % (os.getpid(), Daemon._seq)
        conf = [
            "[dpdk]",
            "eal-args = -l 0-1 --in-memory --no-pci --file-prefix %s %s" % (prefix, eal_extra),
            "[datapath]", "pmd-cores = 1", "emc-insert-inv-prob = 1",
            "[openflow]", "flows = %s" % flows_file,
            "[control]", "socket = %s" % self.sock,
            "[log]", "level = info", "file = %s" % self.log,
        ]
        for name, devargs, ofport in ports:
            if isinstance(devargs, dict):  # other keys: {"type": ..., "socket": ...}
                conf += ["[port.%s]" % name] + [
                    "%s = %s" % (k, str(v).replace("@DIR@", self.dir))
                    for k, v in devargs.items()] + ["ofport = %d" % ofport]
                continue
            conf += ["[port.%s]" % name, "devargs = %s" % devargs.replace("@DIR@", self.dir),
                     "ofport = %d" % ofport]
        self.conf = os.path.join(self.dir, "dpswitch.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        self.extra_args = list(extra_args)
        self.proc = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, timeout=30):
        self.proc = subprocess.Popen([DPSWITCH, "--config", self.conf] + self.extra_args,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dpswitch exited with %d:\n%s\n%s" % (
                    self.proc.returncode, self.proc.stdout.read().decode(errors="replace"),
                    self.read_log()))
            if os.path.exists(self.sock):
                try:
                    self.ctl("show ports")
                    return self
                except RuntimeError:
                    pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("dpswitch did not come up:\n" + self.read_log())

    def read_log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def ctl(self, *args, check=True):
        r = subprocess.run([CTL, "--socket", self.sock] + list(args), capture_output=True,
                           text=True, timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError("dpswitch-ctl %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r if not check else r.stdout

    def ports(self):
        """{name: {column: int}} from `show ports`."""
        lines = self.ctl("show ports").strip().splitlines()
        cols = lines[0].split()
        out = {}
        for line in lines[1:]:
            vals = line.split()
            row = dict(zip(cols, vals))
            out[row["port"]] = {k: int(v) for k, v in row.items() if v.isdigit()}
        return out

    def pmd_stats(self):
        text = self.ctl("show pmd stats")
        def num(label):
            m = re.search(re.escape(label) + r":\s*(\d+)", text)
            return int(m.group(1)) if m else 0
        return {
            "packets": num("packets received"), "emc": num("emc hits"),
            "megaflow": num("megaflow hits"), "upcalls": num("miss with success upcall"),
            "lost": num("miss with failed upcall (lost)"),
            "completions": num("upcalled packets executed"),
            "parse_errors": num("parse errors"), "text": text,
        }

    def wait_processed(self, port, n, timeout=30, live=False):
        """Waits until `port` received n packets and every upcall came back.
        live: n frames were sent to a capture port, so the ones its capture
        ring dropped (rx_dropped) count as arrived."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            p = self.ports().get(port, {})
            s = self.pmd_stats()
            rx = p.get("rx_packets", 0)
            arrived = rx + (p.get("rx_dropped", 0) if live else 0)
            if arrived >= n and s["completions"] + s["lost"] >= s["upcalls"] \
                    and s["packets"] >= (rx if live else n):
                time.sleep(0.2)  # let the last tx batch go out
                return s
            time.sleep(0.1)
        raise RuntimeError("timeout: %s rx %s of %d\n%s" % (port, self.ports().get(port), n,
                                                            self.pmd_stats()["text"]))

    def megaflow_stats(self):
        """`show megaflow stats` as a dict of numbers (raises if a line is missing)."""
        return parse_megaflow_stats(self.ctl("show megaflow stats"))

    def mempool_in_use(self):
        """mbufs in use summed over the pools of `show mempool`."""
        text = self.ctl("show mempool")
        pools = re.findall(r"^mbuf pool (\S+): (\d+) mbufs, (\d+) in use, (\d+) available$",
                           text, re.M)
        if not pools:
            raise AssertionError("unexpected `show mempool` output:\n" + text)
        return sum(int(p[2]) for p in pools)

    def dump_flows(self, table=None):
        """dump-flows parsed: a list of dicts (see parse_dump_flows)."""
        return parse_dump_flows(self.ctl(*(["dump-flows"] + ([str(table)] if table is not None
                                                           else []))))

    def wait_settled(self, version, timeout=10):
        """Waits until every megaflow was revalidated against pipeline `version`."""
        deadline = time.time() + timeout
        while True:
            st = self.megaflow_stats()
            if st["revalidated_version"] >= version:
                return st
            if time.time() > deadline:
                raise AssertionError("revalidated version %d never reached %d:\n%s" % (
                    st["revalidated_version"], version, st["text"]))
            time.sleep(0.01)

    def change(self, *args, timeout=10):
        """Runs a table-changing command and waits until it settled.

        Returns (t_issued, t_settled) in time.monotonic() seconds: before the
        command was sent, and after the revalidated version reached the
        pipeline version read right after the command returned."""
        t0 = time.monotonic()
        self.ctl(*args)
        version = self.megaflow_stats()["pipeline_version"]
        self.wait_settled(version, timeout)
        return t0, time.monotonic()

    def wait_rounds(self, n=2, timeout=10):
        """Waits for n more completed revalidation rounds (2: one that started
        after this call is complete)."""
        start = self.megaflow_stats()["rounds"]
        deadline = time.time() + timeout
        while True:
            st = self.megaflow_stats()
            if st["rounds"] >= start + n:
                return st
            if time.time() > deadline:
                raise AssertionError("revalidation rounds stuck at %d:\n%s" % (
                    st["rounds"], st["text"]))
            time.sleep(0.02)

    def stop(self, timeout=30):
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.ctl("exit", check=False)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise RuntimeError("dpswitch did not exit on 'exit'")
        rc = self.proc.returncode
        self.proc.stdout.close()
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_config_expect_error(conf_text, args=(), timeout=30):
    """Runs dpswitch on a config that must be refused; returns (rc, output)."""
    d = tempfile.mkdtemp(prefix="dpswitch-it-")
    try:
        conf = os.path.join(d, "bad.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        r = subprocess.run([DPSWITCH, "--config", conf] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout, cwd=d)
        return r.returncode, r.stdout + r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


# `show megaflow stats`: (line regex, field names); every value is a number.
_MEGAFLOW_STATS = [
    (r"megaflows: (\d+) \(masks (\d+)\)", ["megaflows", "masks"]),
    (r"flow limit: (\d+) \(ceiling (\d+)\)", ["flow_limit", "flow_limit_ceiling"]),
    (r"max idle: (\d+) ms", ["max_idle_ms"]),
    (r"upcalls: pmd (\d+), lost (\d+)", ["upcalls_pmd", "upcalls_lost"]),
    (r"handlers: (\d+) thread\(s\), handled (\d+), installed (\d+), collapsed (\d+), "
     r"not installed (\d+), busy ([\d.]+) s",
     ["handler_threads", "handled", "installed", "collapsed", "not_installed", "handler_busy_s"]),
    (r"revalidators: (\d+) thread\(s\), rounds (\d+), last round ([\d.]+) ms, "
     r"max round ([\d.]+) ms",
     ["revalidator_threads", "rounds", "last_round_ms", "max_round_ms"]),
    (r"pipeline version: (\d+), revalidated version: (\d+)",
     ["pipeline_version", "revalidated_version"]),
    (r"revalidated: kept (\d+), modified (\d+)", ["kept", "modified"]),
    (r"deleted: idle (\d+), flow limit (\d+), revalidation (\d+), flush (\d+), total (\d+)",
     ["deleted_idle", "deleted_flow_limit", "deleted_revalidation", "deleted_flush",
      "deleted_total"]),
]


def parse_megaflow_stats(text):
    out = {"text": text}
    for regex, names in _MEGAFLOW_STATS:
        m = re.search("^" + regex + "$", text, re.M)
        if not m:
            raise AssertionError("`show megaflow stats`: no line /%s/ in:\n%s" % (regex, text))
        for name, val in zip(names, m.groups()):
            out[name] = float(val) if "." in val else int(val)
    return out


_FLOW_LINE = re.compile(r"priority=(\d+)(?:,(\S*))? actions=(\S*)$")


def parse_dump_flows(text):
    """dump-flows lines as dicts: table, priority, match (without priority;
    "" for match-all), actions, n_packets, n_bytes, idle_timeout,
    hard_timeout (0 when absent), send_flow_rem (bool), line."""
    flows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _FLOW_LINE.search(line)
        if not m:
            raise AssertionError("unparsable dump-flows line: %r" % line)

        def num(key):
            f = re.search(r"\b%s=(\d+)" % key, line)
            return int(f.group(1)) if f else 0
        for key in ("n_packets", "n_bytes"):
            if not re.search(r"\b%s=\d+" % key, line):
                raise AssertionError("dump-flows line without %s: %r" % (key, line))
        flows.append({"table": num("table"), "priority": int(m.group(1)),
                      "match": m.group(2) or "", "actions": m.group(3),
                      "n_packets": num("n_packets"), "n_bytes": num("n_bytes"),
                      "idle_timeout": num("idle_timeout"), "hard_timeout": num("hard_timeout"),
                      "send_flow_rem": "send_flow_rem" in line, "line": line})
    return flows


def ipn(dotted):
    """An IPv4 address as a host-order integer."""
    return struct.unpack("!I", bytes(int(x) for x in dotted.split(".")))[0]


def csum(data):
    """The Internet checksum of data (odd lengths padded with a zero)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def write_pcap(path, frames):
    """A microsecond pcap (Ethernet) of raw frames, written as given."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    """The frames of a pcap file (micro- or nanosecond, either byte order)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    frames, off, hdr = [], 24, struct.Struct(end + "IIII")
    while off + 16 <= len(data):
        _, _, caplen, _ = hdr.unpack_from(data, off)
        off += 16
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


@contextlib.contextmanager
def off_pmd_cpu(pmd_cpus=(1,)):
    """Keeps the calling thread, the threads it starts and its children (the
    daemon's non-PMD threads included; EAL pins the PMD itself) off the PMD
    cores while live traffic runs: a test thread sharing the PMD's core
    takes CPU time from it, and a capture port (net_pcap rx_iface) then
    drops frames in the kernel."""
    saved = os.sched_getaffinity(0)
    others = saved - set(pmd_cpus)
    if others:
        os.sched_setaffinity(0, others)
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


class Veth:
    """A veth pair for live input: the daemon captures on `inside`
    (net_pcap rx_iface_in=), the test sends raw frames on `outside`.

    Names are unique per process (pid) and tag. IPv6 is disabled on both ends
    before they come up and neither end has an IPv4 address, so the kernel
    itself sends nothing; test frames go to a unicast MAC that is not the
    inside end's, so the kernel's own stack ignores them too. close() deletes
    the pair (deleting one end removes both)."""

    def __init__(self, tag="a"):
        self.inside = "dpsi%d%s" % (os.getpid(), tag)
        self.outside = "dpso%d%s" % (os.getpid(), tag)
        self.sock = None
        subprocess.run(["ip", "link", "del", self.inside], capture_output=True)
        subprocess.run(["ip", "link", "add", self.inside, "type", "veth", "peer", "name",
                        self.outside], check=True, capture_output=True)
        try:
            for name in (self.inside, self.outside):
                with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % name, "w") as f:
                    f.write("1")
                subprocess.run(["ip", "link", "set", name, "up"], check=True, capture_output=True)
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.sock.bind((self.outside, 0))
        except BaseException:
            self.close()
            raise

    def devargs(self, vdev, tx_pcap=None):
        """net_pcap devargs capturing what arrives on the inside end."""
        s = "%s,rx_iface_in=%s" % (vdev, self.inside)
        return s + (",tx_pcap=%s" % tx_pcap if tx_pcap else "")

    def send(self, frame):
        self.sock.send(frame)

    def send_in_step(self, daemon, port, frames, chunk=64, timeout=10):
        """Sends frames in chunks far smaller than the capture ring (which
        holds over a thousand small frames), each once the daemon's `port`
        has taken in the previous one: lossless however long the PMD is kept
        from its core."""
        p = daemon.ports()[port]
        done = p["rx_packets"] + p["rx_dropped"]
        for i in range(0, len(frames), chunk):
            part = frames[i:i + chunk]
            for fr in part:
                self.sock.send(fr)
            done += len(part)
            deadline = time.time() + timeout
            while True:
                p = daemon.ports()[port]
                if p["rx_packets"] + p["rx_dropped"] >= done:
                    break
                if time.time() > deadline:
                    raise AssertionError("%s took in %d of %d frames" % (
                        port, p["rx_packets"] + p["rx_dropped"], done))
                time.sleep(0.002)

    def send_paced(self, frames, pps, stop=None, on_send=None):
        """Sends frames at about pps packets per second (sleeping at least
        0.5 ms when ahead, then catching up in a burst).
        on_send(i, t) is called with time.monotonic() just before frame i
        leaves; stop (a threading.Event) ends it early. Returns frames sent."""
        t0 = time.monotonic()
        n = 0
        for fr in frames:
            if stop is not None and stop.is_set():
                break
            target = t0 + n / pps
            now = time.monotonic()
            if now < target:
                time.sleep(max(target - now, 0.0005))
                now = time.monotonic()
            if on_send:
                on_send(n, now)
            self.sock.send(fr)
            n += 1
        return n

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        subprocess.run(["ip", "link", "del", self.inside], capture_output=True)
