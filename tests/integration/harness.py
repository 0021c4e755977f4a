# SPDX-License-Identifier: BSD-3-Clause
"""Runs the real dpswitch daemon on DPDK virtual devices for integration tests.

A Daemon gets a private work directory (config, flows, pcaps, control socket,
log), starts build/src/dpswitch with --in-memory and a unique file prefix,
talks to it with build/src/ctl/dpswitch-ctl, and stops it with `exit` so
net_pcap flushes its output files.
"""
import os
import re
import shutil
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
        """ports: list of (name, devargs, ofport); flows: list of flow strings."""
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

    def wait_processed(self, port, n, timeout=30):
        """Waits until `port` received n packets and every upcall came back."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            p = self.ports().get(port, {})
            s = self.pmd_stats()
            if p.get("rx_packets", 0) >= n and s["completions"] + s["lost"] >= s["upcalls"] \
                    and s["packets"] >= n:
                time.sleep(0.2)  # let the last tx batch go out
                return s
            time.sleep(0.1)
        raise RuntimeError("timeout: %s rx %s of %d\n%s" % (port, self.ports().get(port), n,
                                                            self.pmd_stats()["text"]))

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
