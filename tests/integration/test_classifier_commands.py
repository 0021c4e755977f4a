# SPDX-License-Identifier: BSD-3-Clause
"""The classifier commands on the real daemon: `show tables` reflects the
[classifier] / [table.N] configuration and `set table`, bad `set table`
input is refused with an error (and the daemon keeps running), and
`show classifier stats` counts the lookups the traffic caused."""
import re

import pytest
from scapy.all import Ether, IP, UDP, TCP, rdpcap, wrpcap

from harness import Daemon

FLOWS = [
    "table=0,priority=200,ip,nw_dst=10.1.0.0/16,actions=output:2",
    "table=0,priority=150,tcp,nw_dst=10.2.0.0/16,tp_dst=22,actions=drop",
    "table=0,priority=100,ip,nw_dst=10.0.0.0/8,actions=goto_table:1",
    "table=0,priority=0,actions=drop",
    "table=1,priority=10,udp,actions=output:2",
]
N_PACKETS = 40
DEFAULT_PREFIXES = "nw_src,nw_dst,ipv6_src,ipv6_dst"


def packets():
    pkts = []
    for i in range(N_PACKETS // 2):
        pkts.append(Ether() / IP(dst="10.1.0.%d" % i) / UDP(sport=1000 + i, dport=9))
        pkts.append(Ether() / IP(dst="10.3.0.%d" % i) / TCP(sport=2000 + i, dport=80))
    return pkts


def tables(d):
    """{table: {column: value}} from `show tables` (plus the 'other' line)."""
    lines = d.ctl("show tables").strip().splitlines()
    cols = lines[0].split()
    out = {}
    for line in lines[1:]:
        if line.startswith("other tables"):
            out["other"] = line
            continue
        row = dict(zip(cols, line.split()))
        out[int(row["table"])] = row
    return out


def classifier_stats(d):
    text = d.ctl("show classifier stats")
    def num(label):
        m = re.search(re.escape(label) + r":\s*(\d+)", text)
        assert m, "%r not in:\n%s" % (label, text)
        return int(m.group(1))
    return {"lookups": num("classifier lookups"), "hits": num("hits"),
            "probed": num("tuples probed"), "early": num("early exits (priority sorting)"),
            "text": text}


@pytest.fixture(scope="module")
def daemon():
    d = Daemon([("p1", "net_pcap0,rx_pcap=@DIR@/in.pcap", 1),
                ("p2", "net_pcap1,rx_pcap=@DIR@/empty.pcap,tx_pcap=@DIR@/out.pcap", 2)],
               FLOWS, extra_args=["--classifier.partitioning", "off",
                                  "--table.1.prefixes", "nw_dst"])
    wrpcap(d.path("in.pcap"), packets())
    wrpcap(d.path("empty.pcap"), [])
    d.start()
    try:
        d.wait_processed("p1", N_PACKETS)
        yield d
    finally:
        rc = d.stop()
        assert rc == 0
        # The 10.1/16 UDP packets went out port 2 whatever the options were.
        assert len(rdpcap(d.path("out.pcap"))) == N_PACKETS // 2
        d.cleanup()


def test_show_tables_reflects_config(daemon):
    t = tables(daemon)
    assert t[0]["rules"] == "4" and t[1]["rules"] == "1"
    assert int(t[0]["tuples"]) >= 3
    assert t[0]["prefixes"] == DEFAULT_PREFIXES
    assert t[0]["disabled"] == "partitioning"  # [classifier] partitioning = off
    assert t[1]["prefixes"] == "nw_dst"        # [table.1] prefixes = nw_dst
    assert t[1]["disabled"] == "partitioning"  # inherited
    assert "partitioning" in t["other"]


def test_classifier_stats_count_lookups(daemon):
    s = classifier_stats(daemon)
    # Every upcall looks table 0 up; the 10.3/16 TCP packets also table 1.
    assert s["lookups"] >= 2, s["text"]
    assert s["hits"] >= 1 and s["hits"] <= s["lookups"], s["text"]
    assert s["probed"] >= 1, s["text"]
    assert "avg" in s["text"] and "per lookup" in s["text"]
    for label in ("stage exits", "tuples skipped by prefix", "tuples skipped by partition",
                  "port trie exits"):
        assert label in s["text"]


def test_set_table_prefixes_none(daemon):
    out = daemon.ctl("set", "table", "0", "prefixes", "none")
    assert "table 0: prefixes none" in out
    assert "flush-megaflows" in out
    t = tables(daemon)
    assert t[0]["prefixes"] == "none"
    assert t[0]["rules"] == "4"
    assert t[1]["prefixes"] == "nw_dst"  # other tables untouched
    # Back again, the list split by the shell after its comma.
    daemon.ctl("set", "table", "0", "prefixes", "nw_src,", "nw_dst")
    assert tables(daemon)[0]["prefixes"] == "nw_src,nw_dst"


def test_set_table_optimisations(daemon):
    daemon.ctl("set", "table", "1", "staged-lookup", "off")
    assert tables(daemon)[1]["disabled"] == "staged-lookup,partitioning"
    out = daemon.ctl("set", "table", "all", "priority-sorting", "off")
    assert "all tables: priority-sorting off" in out
    t = tables(daemon)
    assert t[0]["disabled"] == "priority-sorting,partitioning"
    assert t[1]["disabled"] == "priority-sorting,staged-lookup,partitioning"
    assert t[1]["prefixes"] == "nw_dst"  # `all` changes one option only
    assert "priority-sorting,partitioning" in t["other"]
    daemon.ctl("set", "table", "all", "priority-sorting", "on")
    daemon.ctl("set", "table", "all", "partitioning", "on")
    t = tables(daemon)
    assert t[0]["disabled"] == "-"
    assert t[1]["disabled"] == "staged-lookup"
    # Traffic-free flush still works after the changes.
    assert "megaflow(s) deleted" in daemon.ctl("flush-megaflows")


@pytest.mark.parametrize("args,message", [
    (["set", "table"], "usage: set table TABLE|all OPTION VALUE"),
    (["set", "table", "0", "prefixes"], "usage"),
    (["set", "table", "255", "prefixes", "none"], "bad table '255' (0-254 or all)"),
    (["set", "table", "x", "prefixes", "none"], "bad table 'x'"),
    (["set", "table", "-1", "prefixes", "none"], "bad table '-1'"),
    (["set", "table", "0", "prefix", "none"],
     "unknown option 'prefix'; options are priority-sorting, staged-lookup, port-tracking, "
     "partitioning, prefixes"),
    (["set", "table", "0", "prefixes", "tp_dst"], "tp_dst"),
    (["set", "table", "0", "prefixes", "nw_dts"], "nw_dts"),
    (["set", "table", "0", "staged-lookup", "maybe"], "bad value 'maybe' for staged-lookup"),
    (["set", "table", "0", "staged-lookup", "on", "off"], "takes one value"),
])
def test_set_table_errors(daemon, args, message):
    before = daemon.ctl("show tables")
    r = daemon.ctl(*args, check=False)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert daemon.ctl("show tables") == before  # nothing changed, daemon alive
