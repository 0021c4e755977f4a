# SPDX-License-Identifier: BSD-3-Clause
"""Bad configuration is refused with exit status 2 and a message naming the
key or port, and nothing is left running or attached."""
import glob
import os
import subprocess

from harness import DPSWITCH, run_config_expect_error

BASE = """[dpdk]
eal-args = -l 0-1 --in-memory --no-pci --file-prefix dpsbad%d
[datapath]
pmd-cores = 1
[control]
socket = ctl.sock
""" % os.getpid()


def test_unknown_key():
    rc, out = run_config_expect_error(BASE + "emc-entrys = 5\n")
    assert rc == 2
    assert "emc-entrys" in out


def test_bad_value():
    rc, out = run_config_expect_error(BASE.replace("pmd-cores = 1", "pmd-cores = one"))
    assert rc == 2
    assert "pmd-cores" in out


def test_port_fails_to_probe():
    rc, out = run_config_expect_error(BASE + "[port.broken]\ndevargs = net_nosuchdriver0\nofport = 1\n")
    assert rc == 2
    assert "broken" in out


def test_pmd_core_not_in_eal_list():
    rc, out = run_config_expect_error(BASE.replace("pmd-cores = 1", "pmd-cores = 5"))
    assert rc == 2
    assert "pmd-cores" in out


def test_bad_flow_file_names_line_and_token(tmp_path):
    flows = tmp_path / "bad.flows"
    flows.write_text("# ok\ntable=0,priority=1,actions=drop\ntable=0,nw_dts=1.2.3.4,actions=drop\n")
    conf = BASE + "[openflow]\nflows = %s\n[port.p1]\ndevargs = net_null0,no-rx=1\nofport = 1\n" % flows
    rc, out = run_config_expect_error(conf)
    assert rc == 2
    assert "nw_dts" in out and ":3" in out, out


def test_missing_config_file():
    r = subprocess.run([DPSWITCH, "--config", "/nonexistent/dpswitch.conf"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "/nonexistent/dpswitch.conf" in r.stdout + r.stderr


def test_no_hugepage_files_left_behind():
    assert not glob.glob("/dev/hugepages/dpsbad*")
