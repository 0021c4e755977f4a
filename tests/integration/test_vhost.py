# SPDX-License-Identifier: BSD-3-Clause
"""vhost-user ports, PVP style, without a VM.

dpswitch gets two vhost-user ports (in_port=1 -> 2, 2 -> 1). On the other end
of each socket a dpdk-testpmd plays the guest: a virtio-user port (DPDK's
virtio driver speaking vhost-user over the socket, sharing its memfd-backed
hugepages as a guest shares its RAM) forwarded in io mode to a net_pcap port.
Peer A replays a pcap into dpswitch; peer B writes what dpswitch sends it to a
pcap, which must hold the same frames byte for byte.

Both modes: dpdkvhostuser (dpswitch listens, virtio-user connects) and
dpdkvhostuserclient (virtio-user listens with server=1, dpswitch connects and
reconnects). The reconnect test kills a peer, checks that traffic for it is
dropped and counted while it is gone, restarts it, and sees traffic resume
without restarting dpswitch.

Cores: the machine has two; dpswitch's PMD owns CPU 1. Each testpmd runs its
main and forwarding lcores both on CPU 0 (--lcores 0@0,1@0), time-shared
with dpswitch's control threads: slow, but lossless at these rates.
testpmd flushes its rx queues before it starts forwarding, which would eat
the replayed pcap: --no-flush-rx. It exits (closing its ports, which writes
net_pcap's output) on a newline on stdin.
"""
import os
import signal
import subprocess
import time

import pytest

from harness import Daemon, read_pcap, write_pcap

TESTPMD = "/usr/bin/dpdk-testpmd"
FLOWS = ["in_port=1,actions=output:2", "in_port=2,actions=output:1"]

pytestmark = pytest.mark.skipif(not os.path.exists(TESTPMD), reason="dpdk-testpmd not installed")


def frames(tag, n):
    """n distinct UDP frames 02:..:01 -> 02:..:02, tagged in the payload."""
    out = []
    for i in range(n):
        payload = bytes([tag, i & 0xff, i >> 8]) + bytes(15)
        udp = (1000 + i).to_bytes(2, "big") + (2000).to_bytes(2, "big") + \
            (8 + len(payload)).to_bytes(2, "big") + b"\0\0" + payload
        ip = bytes([0x45, 0]) + (20 + len(udp)).to_bytes(2, "big") + \
            bytes([0, i & 0xff, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 1, tag])
        out.append(bytes.fromhex("020000000002020000000001") + b"\x08\x00" + ip + udp)
    return out


class Peer:
    """A testpmd 'guest': virtio-user on `sock` <-> net_pcap (rx_pcap in, tx_pcap out)."""
    _seq = 0

    def __init__(self, daemon, sock, inject=(), server=False):
        Peer._seq += 1
        tag = "%d_%d" % (os.getpid(), Peer._seq)
        self.rx = daemon.path("peer%s_in.pcap" % tag)
        self.out = daemon.path("peer%s_out.pcap" % tag)
        self.log = daemon.path("peer%s.log" % tag)
        write_pcap(self.rx, list(inject))
        if server and os.path.exists(sock):
            # Left by a peer we killed; virtio-user will not bind over it (QEMU's
            # launcher removes it the same way).
            os.unlink(sock)
        virtio = "net_virtio_user0,path=%s,queues=1%s" % (sock, ",server=1" if server else "")
        self.proc = subprocess.Popen(
            [TESTPMD, "--lcores", "0@0,1@0", "--no-pci", "--in-memory",
             "--single-file-segments", "--file-prefix", "dpsvh" + tag,
             "--vdev", virtio, "--vdev", "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (self.rx, self.out),
             "--", "--forward-mode=io", "--auto-start", "--no-flush-rx",
             "--total-num-mbufs=4096"],
            stdin=subprocess.PIPE, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)

    def stop(self, timeout=20):
        """Clean exit (ports closed: the output pcap is complete); its frames."""
        if self.proc.poll() is None:
            self.proc.stdin.write(b"\n")
            self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("testpmd did not exit:\n" + self.read_log())
        self.proc.stdin.close()
        return read_pcap(self.out)

    def kill(self):
        """A crash: SIGKILL, nothing closed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc.stdin.close()

    def read_log(self):
        with open(self.log) as f:
            return f.read()


def wait_link(d, port, up, timeout=20):
    want = "up" if up else "down"
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = [l.split() for l in d.ctl("show ports").splitlines()[1:]]
        if any(r[0] == port and r[3] == want for r in rows):
            return
        time.sleep(0.05)
    raise AssertionError("port %s link never %s:\n%s\n%s" % (port, want, d.ctl("show ports"),
                                                           d.read_log()))


def wait_log(d, text, count=1, timeout=10):
    """The maintenance thread logs link changes up to 100 ms after `show ports` sees them."""
    deadline = time.time() + timeout
    while d.read_log().count(text) < count:
        if time.time() > deadline:
            raise AssertionError("%dx %r not in the log:\n%s" % (count, text, d.read_log()))
        time.sleep(0.05)


def wait_tx(d, port, key, n, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if d.ports()[port][key] >= n:
            return
        time.sleep(0.05)
    raise AssertionError("%s %s stuck at %d of %d:\n%s" % (port, key, d.ports()[port][key], n,
                                                          d.ctl("show ports")))


def vhost_daemon(kind):
    return Daemon([("va", {"type": kind, "socket": "@DIR@/va.sock"}, 1),
                   ("vb", {"type": kind, "socket": "@DIR@/vb.sock"}, 2)], FLOWS)


@pytest.fixture
def cleanup():
    things = []
    yield things
    for t in reversed(things):
        if isinstance(t, Peer):
            t.kill()
        else:
            t.cleanup()


def pvp(d, client_mode, cleanup, tag=1, n=64):
    """B (receiver) first, then A replays n frames; returns (sent, received)."""
    b = Peer(d, d.path("vb.sock"), server=client_mode)
    cleanup.append(b)
    wait_link(d, "vb", True)
    sent = frames(tag, n)
    a = Peer(d, d.path("va.sock"), inject=sent, server=client_mode)
    cleanup.append(a)
    wait_link(d, "va", True)
    wait_tx(d, "vb", "tx_packets", n)
    a.stop()
    return sent, b.stop()


@pytest.mark.parametrize("kind", ["dpdkvhostuser", "dpdkvhostuserclient"])
def test_vhost_pvp(kind, cleanup):
    d = vhost_daemon(kind)
    cleanup.append(d)
    d.start()
    ports = d.ports()
    assert "down" in d.ctl("show ports")  # no guest yet
    assert ports["va"]["tx_packets"] == 0
    if kind == "dpdkvhostuser":
        assert os.path.exists(d.path("va.sock"))  # we listen
    sent, got = pvp(d, kind == "dpdkvhostuserclient", cleanup)
    # The first frames went through a handler and may be overtaken.
    assert sorted(got) == sorted(sent)
    p = d.ports()
    assert p["va"]["rx_packets"] == len(sent)
    assert p["vb"]["tx_packets"] == len(sent)
    assert p["vb"]["tx_dropped"] == 0
    wait_log(d, "port status: va link up")
    wait_log(d, "port status: vb link up")
    # Peers gone: links down.
    wait_link(d, "va", False)
    wait_link(d, "vb", False)
    wait_log(d, "port status: vb link down")
    assert d.stop() == 0
    if kind == "dpdkvhostuser":
        assert not os.path.exists(d.path("va.sock"))  # removed on close


@pytest.mark.parametrize("kind", ["dpdkvhostuser", "dpdkvhostuserclient"])
def test_vhost_peer_restart(kind, cleanup):
    """The receiving guest dies and comes back: while it is gone its traffic
    is dropped and counted; then traffic resumes, dpswitch untouched."""
    client_mode = kind == "dpdkvhostuserclient"
    d = vhost_daemon(kind)
    cleanup.append(d)
    d.start()
    n1, n2, n3 = 40, 30, 50
    # 1. Traffic flows.
    b1 = Peer(d, d.path("vb.sock"), server=client_mode)
    cleanup.append(b1)
    wait_link(d, "vb", True)
    a = Peer(d, d.path("va.sock"), inject=frames(1, n1), server=client_mode)
    cleanup.append(a)
    wait_tx(d, "vb", "tx_packets", n1)
    a.stop()
    # 2. B crashes; what A sends for it is dropped (and counted), never queued.
    b1.kill()
    wait_link(d, "vb", False)
    a = Peer(d, d.path("va.sock"), inject=frames(2, n2), server=client_mode)
    cleanup.append(a)
    d.wait_processed("va", n1 + n2)
    wait_tx(d, "vb", "tx_dropped", n2)
    a.stop()
    p = d.ports()
    assert p["vb"]["tx_packets"] == n1
    assert p["vb"]["tx_dropped"] == n2
    # 3. B is back: traffic resumes.
    b2 = Peer(d, d.path("vb.sock"), server=client_mode)
    cleanup.append(b2)
    wait_link(d, "vb", True)
    sent = frames(3, n3)
    a = Peer(d, d.path("va.sock"), inject=sent, server=client_mode)
    cleanup.append(a)
    wait_tx(d, "vb", "tx_packets", n1 + n3)
    a.stop()
    got = b2.stop()
    assert sorted(got) == sorted(sent)
    p = d.ports()
    assert p["va"]["rx_packets"] == n1 + n2 + n3
    assert p["vb"]["tx_packets"] == n1 + n3
    assert p["vb"]["tx_dropped"] == n2
    wait_log(d, "port status: vb link down")
    wait_log(d, "port status: vb link up", count=2)
    assert d.stop() == 0
