// SPDX-License-Identifier: BSD-3-Clause
// Pipeline control side: add/replace, flow files, del-flows loose and strict,
// dump-flows order, statistics and round trip, versioning, batches seen whole
// by concurrent translations, classifier options and table info, the rules a
// translation reports, and check_overlap. (Timeouts and flow-removed events:
// rule_expiry_test.cc.)
#include "ofproto/pipeline.h"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ofproto/flow_syntax.h"

namespace {

namespace cls = dpswitch::cls;
namespace pkt = dpswitch::pkt;
using dpswitch::ofp::FlowError;
using dpswitch::ofp::FlowSpec;
using dpswitch::ofp::ParseFlow;
using dpswitch::ofp::Pipeline;
using dpswitch::ofp::RuleCountersRef;
using dpswitch::ofp::XlateStats;

// A temporary file removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/dps_flows_XXXXXX";
    const int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    close(fd);
    path_ = tmpl;
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `s` without every "<key>...value, " (key includes the '=').
std::string Without(std::string s, std::string_view key) {
  for (size_t at; (at = s.find(key)) != std::string::npos;) s.erase(at, s.find(", ", at) + 2 - at);
  return s;
}

// DumpFlows without the statistics that depend on the clock (duration,
// idle_age); the counts stay.
std::string Dump(const Pipeline& p, std::optional<uint8_t> table = std::nullopt) {
  return Without(Without(p.DumpFlows(table), "duration="), "idle_age=");
}

// ovs-ofctl's duration: "5s" or "5.123s".
bool IsDuration(std::string_view d) {
  const auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (d.size() < 2 || d.back() != 's') return false;
  d.remove_suffix(1);
  const size_t dot = d.find('.');
  if (dot == std::string_view::npos) return digits(d);
  return digits(d.substr(0, dot)) && d.size() - dot - 1 == 3 && digits(d.substr(dot + 1));
}

size_t Lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Translates a packet from in_port; the outputs as "out:<dp index>,...".
std::string Outputs(const Pipeline& p, uint32_t in_port, XlateStats* stats = nullptr) {
  pkt::FlowKey k;
  k.Clear();
  k.in_port = in_port;
  k.eth_type = 0x0800;
  pkt::FlowMask wc;
  wc.bits.in_port = 0xffffffff;
  std::vector<pkt::DpAction> acts;
  const XlateStats st = p.Translate(k, &wc, &acts);
  if (stats != nullptr) *stats = st;
  std::string out;
  for (const pkt::DpAction& a : acts) {
    if (!out.empty()) out += ',';
    out += a.type == pkt::DpActionType::kOutput ? "out:" + std::to_string(a.port) : "other";
  }
  return out;
}

std::vector<FlowSpec> Specs(std::initializer_list<const char*> flows) {
  std::vector<FlowSpec> out;
  for (const char* f : flows) out.push_back(ParseFlow(f));
  return out;
}

pkt::FlowKey IpKey(uint32_t in_port) {
  pkt::FlowKey k;
  k.Clear();
  k.in_port = in_port;
  k.eth_type = 0x0800;
  return k;
}

// The counters Translate reports for `k`.
std::vector<RuleCountersRef> Matched(const Pipeline& p, const pkt::FlowKey& k) {
  pkt::FlowMask wc;
  std::vector<pkt::DpAction> acts;
  std::vector<RuleCountersRef> rules;
  p.Translate(k, &wc, &acts, &rules);
  return rules;
}

// The message of the FlowError `fn` throws ("" if none).
template <class Fn>
std::string ErrorOf(Fn&& fn) {
  try {
    fn();
  } catch (const FlowError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("pipeline: add replaces identical match and priority", "[pipeline]") {
  Pipeline p;
  const uint64_t v0 = p.Version();
  p.AddFlow("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1");
  REQUIRE(p.Version() > v0);
  p.AddFlow("priority=10,ip,nw_dst=10.1.2.3/8,actions=output:2");  // same match once masked
  REQUIRE(p.FlowCount() == 1);
  REQUIRE(Dump(p) ==
          "cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=10,ip,nw_dst=10.0.0.0/8 "
          "actions=output:2\n");
  p.AddFlow("priority=11,ip,nw_dst=10.0.0.0/8,actions=output:3");
  p.AddFlow("table=1,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:3");
  REQUIRE(p.FlowCount() == 3);
  REQUIRE_THROWS_AS(p.AddFlow("priority=10,ip,nw_dst=10.0.0.0/8"), FlowError);
  REQUIRE(p.FlowCount() == 3);
}

TEST_CASE("pipeline: dump order and round trip", "[pipeline]") {
  Pipeline p;
  p.AddFlow("table=2,priority=5,actions=drop");
  p.AddFlow("table=0,priority=1,actions=output:1");
  p.AddFlow("table=0,priority=300,tcp,tp_dst=80,actions=resubmit(,2)");
  p.AddFlow("table=0,priority=200,cookie=0x42,arp,actions=flood");
  const std::string dump = p.DumpFlows();
  REQUIRE(Dump(p) ==
          "cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=300,tcp,tp_dst=80 "
          "actions=resubmit(,2)\n"
          "cookie=0x42, table=0, n_packets=0, n_bytes=0, priority=200,arp actions=FLOOD\n"
          "cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=1 actions=output:1\n"
          "cookie=0x0, table=2, n_packets=0, n_bytes=0, priority=5 actions=drop\n");
  REQUIRE(Dump(p, 2) == "cookie=0x0, table=2, n_packets=0, n_bytes=0, priority=5 actions=drop\n");
  REQUIRE(p.DumpFlows(7).empty());

  // Every dumped line (statistics included) is a valid add-flow line giving
  // the same dump.
  Pipeline q;
  size_t start = 0;
  while (start < dump.size()) {
    const size_t nl = dump.find('\n', start);
    q.AddFlow(std::string_view(dump).substr(start, nl - start));
    start = nl + 1;
  }
  REQUIRE(Dump(q) == Dump(p));
}

TEST_CASE("pipeline: flow files are all or nothing", "[pipeline]") {
  Pipeline p;
  TempFile good(
      "# a comment\n"
      "\n"
      "table=0,priority=10,ip,actions=goto_table:1   # trailing comment\n"
      "  table=1, priority=5, ip, nw_dst=10.0.0.0/8 actions=output:2\r\n"
      "table=1,priority=0,actions=drop\n");
  REQUIRE(p.AddFlowFile(good.path()) == 3);
  REQUIRE(p.FlowCount() == 3);

  TempFile bad(
      "table=0,priority=20,actions=output:1\n"
      "table=0,priority=21,tcp,tp_dst=99999,actions=output:1\n");
  try {
    p.AddFlowFile(bad.path());
    FAIL("expected FlowError");
  } catch (const FlowError& e) {
    const std::string msg = e.what();
    CAPTURE(msg);
    REQUIRE(msg.find(bad.path() + ":2:") != std::string::npos);
    REQUIRE(msg.find("tp_dst=99999") != std::string::npos);
  }
  REQUIRE(p.FlowCount() == 3);  // the good first line was not applied
  REQUIRE_THROWS_WITH(p.AddFlowFile("/nonexistent/flows"),
                      Catch::Matchers::Contains("/nonexistent/flows"));
}

TEST_CASE("pipeline: del-flows loose and strict", "[pipeline]") {
  Pipeline p;
  auto load = [&] {
    p.DelFlows("");
    p.AddFlow("priority=1,actions=drop");
    p.AddFlow("priority=10,ip,actions=output:1");
    p.AddFlow("priority=20,tcp,tp_dst=80,actions=output:2");
    p.AddFlow("priority=20,tcp,tp_dst=80,cookie=0x7,nw_src=10.0.0.0/8,actions=output:2");
    p.AddFlow("priority=30,udp,actions=output:3");
    p.AddFlow("table=1,priority=10,ip,actions=output:1");
    p.AddFlow("table=1,priority=5,ip,nw_src=10.0.0.0/8,actions=output:1");
    REQUIRE(p.FlowCount() == 7);
  };

  load();
  REQUIRE(p.DelFlows("") == 7);
  REQUIRE(p.FlowCount() == 0);

  // Loose: every rule at least as specific as "ip", any priority, any table.
  load();
  REQUIRE(p.DelFlows("ip") == 6);
  REQUIRE(p.FlowCount() == 1);

  load();
  REQUIRE(p.DelFlows("table=0,tcp") == 2);
  REQUIRE(p.DelFlows("table=1,ip,nw_src=10.0.0.0/16") == 0);  // rule's /8 is less specific
  REQUIRE(p.DelFlows("table=1,ip,nw_src=10.0.0.0/8") == 1);
  REQUIRE(p.FlowCount() == 4);

  load();
  REQUIRE(p.DelFlows("cookie=0x7/0xff") == 1);
  REQUIRE(p.FlowCount() == 6);

  // Strict: exact match and priority (default 32768).
  load();
  REQUIRE(p.DelFlows("ip", true) == 0);
  REQUIRE(p.DelFlows("priority=10,ip", true) == 2);  // tables 0 and 1
  REQUIRE(p.DelFlows("table=0,priority=20,tcp,tp_dst=80", true) == 1);
  REQUIRE(p.DelFlows("table=0,priority=1", true) == 1);
  REQUIRE(p.FlowCount() == 3);
  REQUIRE(Dump(p, 0) ==
          "cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=30,udp actions=output:3\n"
          "cookie=0x7, table=0, n_packets=0, n_bytes=0, priority=20,tcp,nw_src=10.0.0.0/8,"
          "tp_dst=80 actions=output:2\n");

  const uint64_t v = p.Version();
  p.DelFlows("udp");
  REQUIRE(p.Version() > v);
  REQUIRE(Lines(p.DumpFlows()) == 2);
  REQUIRE_THROWS_AS(p.DelFlows("ip,actions=drop"), FlowError);
}

TEST_CASE("pipeline: a batch is one version", "[pipeline]") {
  Pipeline p;
  const uint64_t v0 = p.Version();
  REQUIRE(p.AddFlows(Specs({"priority=1,actions=drop", "table=3,priority=2,actions=drop",
                            "table=7,ip,actions=drop"})) == 3);
  REQUIRE(p.Version() == v0 + 1);
  REQUIRE(p.DelFlows("") == 3);  // three tables, one batch
  REQUIRE(p.Version() == v0 + 2);
  p.SetPorts({{1, 11, true, "p1"}});
  REQUIRE(p.Version() == v0 + 3);

  // A translation reports the version it saw, and its classifier work.
  p.AddFlows(Specs({"in_port=1,actions=goto_table:1", "table=1,actions=output:1"}));
  XlateStats st;
  REQUIRE(Outputs(p, 1, &st).empty());  // output to the ingress port is dropped
  REQUIRE(st.version == p.Version());
  REQUIRE(st.tables_visited == 2);
  REQUIRE(st.lookup.lookups == 2);
  REQUIRE(st.lookup.hits == 2);
}

TEST_CASE("pipeline: replaced and deleted rules leave every view", "[pipeline]") {
  Pipeline p;
  // A batch that replaces its own rule: the last one wins.
  REQUIRE(p.AddFlows(Specs({"priority=5,ip,actions=output:1", "priority=5,ip,actions=output:2",
                            "table=1,priority=5,ip,actions=output:3"})) == 3);
  REQUIRE(p.FlowCount() == 2);
  REQUIRE(Dump(p) ==
          "cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=5,ip actions=output:2\n"
          "cookie=0x0, table=1, n_packets=0, n_bytes=0, priority=5,ip actions=output:3\n");
  // Replacing across batches, many times over (both copies must drop the
  // same rules each time, or the counts below would drift).
  for (int i = 0; i < 50; i++) {
    p.AddFlow("priority=5,ip,actions=output:" + std::to_string(4 + i % 2));
    p.AddFlows(Specs({"table=1,priority=5,ip,actions=output:6", "table=2,actions=drop"}));
    REQUIRE(p.FlowCount() == 3);
  }
  REQUIRE(Dump(p, 0) ==
          "cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=5,ip actions=output:5\n");
  REQUIRE(p.DelFlows("table=1") == 1);
  REQUIRE(p.DelFlows("table=1") == 0);
  REQUIRE(p.FlowCount() == 2);
  REQUIRE(p.Tables().size() == 2);  // tables 0 and 2

  // A bad spec in a batch changes nothing.
  std::vector<FlowSpec> bad = Specs({"table=4,actions=drop", "table=5,actions=drop"});
  bad[1].table = 255;
  REQUIRE_THROWS_AS(p.AddFlows(bad), FlowError);
  REQUIRE(p.FlowCount() == 2);
  REQUIRE(p.DumpFlows(4).empty());
}

TEST_CASE("pipeline: translations see a batch entirely or not at all", "[pipeline]") {
  // Ports 1..4 are datapath 11..14. The base sends in_port=1 to output:2.
  // Batch Y (added, then deleted, again and again) overrides it: output:3.
  // A translation of a half-applied Y gives a third answer: added in table
  // order, t0 without t2 drops; deleted in table order, t1's rule without
  // t0's outputs to 4.
  Pipeline p;
  p.SetPorts({{1, 11, true, "p1"}, {2, 12, true, "p2"}, {3, 13, true, "p3"}, {4, 14, true, "p4"}});
  p.AddFlows(Specs({"cookie=0x1,priority=100,in_port=1,actions=goto_table:1",
                    "cookie=0x1,table=1,priority=100,in_port=1,actions=output:2"}));
  const std::vector<FlowSpec> y =
      Specs({"cookie=0x2,priority=200,in_port=1,actions=goto_table:2",
             "cookie=0x2,table=1,priority=200,in_port=1,actions=output:4",
             "cookie=0x2,table=2,in_port=1,actions=output:3"});
  REQUIRE(Outputs(p, 1) == "out:12");
  // From here on, even versions hold the base alone, odd ones base + Y.
  const uint64_t base_version = p.Version();
  REQUIRE(base_version % 2 == 0);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad_outcome{0}, wrong_for_version{0}, backwards{0}, base_seen{0}, y_seen{0};
  auto translator = [&] {
    uint64_t last = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      XlateStats st;
      const std::string out = Outputs(p, 1, &st);
      if (st.version < last) backwards++;
      last = st.version;
      if (out == "out:12") {
        base_seen++;
        if (st.version % 2 != 0) wrong_for_version++;
      } else if (out == "out:13") {
        y_seen++;
        if (st.version % 2 != 1) wrong_for_version++;
      } else {
        bad_outcome++;
      }
    }
  };
  std::thread t1(translator), t2(translator);
  int cycles = 0, bad_deletes = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
  while (std::chrono::steady_clock::now() < deadline) {
    p.AddFlows(y);
    bad_deletes += p.DelFlows("cookie=0x2/0xffffffffffffffff") != 3;
    cycles++;
  }
  stop.store(true);
  t1.join();
  t2.join();

  CAPTURE(cycles, base_seen.load(), y_seen.load());
  REQUIRE(bad_deletes == 0);
  REQUIRE(bad_outcome.load() == 0);
  REQUIRE(wrong_for_version.load() == 0);
  REQUIRE(backwards.load() == 0);
  REQUIRE(base_seen.load() > 0);
  REQUIRE(y_seen.load() > 0);
  REQUIRE(p.Version() == base_version + 2 * static_cast<uint64_t>(cycles));
  REQUIRE(p.FlowCount() == 2);
  REQUIRE(Outputs(p, 1) == "out:12");
}

TEST_CASE("pipeline: classifier options per table and table info", "[pipeline]") {
  Pipeline p;
  const cls::OfClassifierOptions defaults;
  REQUIRE(p.Tables().empty());
  REQUIRE(p.ClassifierOptions(0) == defaults);
  REQUIRE(p.ClassifierOptions(254) == defaults);
  REQUIRE_THROWS_AS(p.ClassifierOptions(255), FlowError);

  p.AddFlows(Specs({"priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1",
                    "priority=20,tcp,tp_dst=80,actions=output:2",
                    "priority=30,tcp,tp_dst=443,actions=output:2"}));
  auto tables = p.Tables();
  REQUIRE(tables.size() == 1);
  REQUIRE(tables[0].table == 0);
  REQUIRE(tables[0].rules == 3);
  REQUIRE(tables[0].tuples == 2);
  REQUIRE(tables[0].trie_nodes > 0);  // the nw_dst prefix
  REQUIRE(tables[0].options == defaults);

  // One table.
  cls::OfClassifierOptions off = defaults;
  off.partitioning = false;
  off.staged_lookup = false;
  off.port_tracking = false;
  off.prefix_fields.clear();
  const uint64_t v = p.Version();
  p.SetClassifierOptions(3, off);
  REQUIRE(p.Version() == v + 1);
  REQUIRE(p.ClassifierOptions(3) == off);
  REQUIRE(p.ClassifierOptions(0) == defaults);
  tables = p.Tables();
  REQUIRE(tables.size() == 2);
  REQUIRE(tables[1].table == 3);
  REQUIRE(tables[1].rules == 0);
  REQUIRE(tables[1].options == off);

  // Every table; the rules stay and still match.
  p.SetClassifierOptions(std::nullopt, off);
  REQUIRE(p.ClassifierOptions(0) == off);
  REQUIRE(p.ClassifierOptions(254) == off);
  tables = p.Tables();
  REQUIRE(tables.size() == 255);
  REQUIRE(tables[0].rules == 3);
  REQUIRE(tables[0].trie_nodes == 0);
  REQUIRE(p.FlowCount() == 3);
  p.SetPorts({{1, 11, true, "p1"}, {2, 12, true, "p2"}, {3, 13, true, "p3"}});
  pkt::FlowKey k;
  k.Clear();
  k.in_port = 3;
  k.eth_type = 0x0800;
  k.nw_proto = 6;
  k.tp_dst = 443;
  pkt::FlowMask wc;
  std::vector<pkt::DpAction> acts;
  p.Translate(k, &wc, &acts);
  REQUIRE(acts.size() == 1);
  REQUIRE(acts[0].port == 12);

  // Back to the defaults: only the table with rules is listed.
  p.SetClassifierOptions(std::nullopt, defaults);
  tables = p.Tables();
  REQUIRE(tables.size() == 1);
  REQUIRE(tables[0].trie_nodes > 0);

  // Bad options change nothing.
  const uint64_t v2 = p.Version();
  cls::OfClassifierOptions bad = defaults;
  bad.prefix_fields = {pkt::FieldId::kTpDst};  // not a prefix field
  REQUIRE_THROWS_AS(p.SetClassifierOptions(std::nullopt, bad), FlowError);
  bad.prefix_fields = {pkt::FieldId::kNwSrc, pkt::FieldId::kNwSrc};  // twice
  REQUIRE_THROWS_AS(p.SetClassifierOptions(1, bad), FlowError);
  REQUIRE_THROWS_AS(p.SetClassifierOptions(255, off), FlowError);
  REQUIRE_THROWS_AS(p.SetClassifierOptions(std::vector<cls::OfClassifierOptions>(3)), FlowError);
  REQUIRE(p.Version() == v2);
  REQUIRE(p.ClassifierOptions(1) == defaults);
  REQUIRE(p.Tables().size() == 1);

  // Per-table options for every table: one batch, one version.
  std::vector<cls::OfClassifierOptions> per_table(dpswitch::ofp::kNumTables, defaults);
  per_table[7] = off;
  per_table[9].partitioning = false;
  p.SetClassifierOptions(per_table);
  REQUIRE(p.Version() == v2 + 1);
  REQUIRE(p.ClassifierOptions(7) == off);
  REQUIRE_FALSE(p.ClassifierOptions(9).partitioning);
  REQUIRE(p.ClassifierOptions(8) == defaults);
}

TEST_CASE("pipeline: translate reports the rules it went through", "[pipeline][counters]") {
  Pipeline p;
  p.SetPorts({{1, 11, true, "p1"}, {2, 12, true, "p2"}});
  // 0 -> resubmit 1 twice -> goto 2 -> resubmit 1 again -> resubmit 3 (miss).
  p.AddFlows(Specs({"priority=10,ip,actions=resubmit(,1),resubmit(,1),goto_table:2",
                    "table=1,priority=5,ip,actions=output:2",
                    "table=1,priority=1,actions=drop",  // never reached by ip
                    "table=2,ip,actions=resubmit(,1),resubmit(,3)",
                    "table=3,priority=1,arp,actions=drop"}));  // misses ip
  const pkt::FlowKey k = IpKey(1);

  // With and without collecting: the same translation.
  pkt::FlowMask wc_plain, wc_rules;
  std::vector<pkt::DpAction> acts_plain, acts_rules;
  const XlateStats st_plain = p.Translate(k, &wc_plain, &acts_plain);
  std::vector<RuleCountersRef> rules(5, std::make_shared<dpswitch::ofp::RuleCounters>(
                                            std::chrono::steady_clock::now()));  // cleared
  const XlateStats st_rules = p.Translate(k, &wc_rules, &acts_rules, &rules);
  REQUIRE(wc_plain == wc_rules);
  REQUIRE(acts_plain.size() == 3);
  REQUIRE(acts_rules.size() == acts_plain.size());
  REQUIRE(st_plain.tables_visited == 6);
  REQUIRE(st_rules.tables_visited == 6);

  // Three distinct rules (table 1's visited three times), each once.
  REQUIRE(rules.size() == 3);
  for (const RuleCountersRef& c : rules) c->Credit(1, 100, std::chrono::steady_clock::now());
  REQUIRE(Dump(p) ==
          "cookie=0x0, table=0, n_packets=1, n_bytes=100, priority=10,ip "
          "actions=resubmit(,1),resubmit(,1),goto_table:2\n"
          "cookie=0x0, table=1, n_packets=1, n_bytes=100, priority=5,ip actions=output:2\n"
          "cookie=0x0, table=1, n_packets=0, n_bytes=0, priority=1 actions=drop\n"
          "cookie=0x0, table=2, n_packets=1, n_bytes=100, priority=32768,ip "
          "actions=resubmit(,1),resubmit(,3)\n"
          "cookie=0x0, table=3, n_packets=0, n_bytes=0, priority=1,arp actions=drop\n");

  // A table-0 miss reports nothing.
  pkt::FlowKey arp = IpKey(1);
  arp.eth_type = 0x0806;
  REQUIRE(Matched(p, arp).empty());
}

TEST_CASE("pipeline: rule counters in dump-flows; a replace starts afresh",
          "[pipeline][counters]") {
  Pipeline p;
  p.AddFlows(Specs({"priority=10,ip,actions=drop", "priority=5,actions=drop"}));
  const std::vector<RuleCountersRef> ip = Matched(p, IpKey(1));
  REQUIRE(ip.size() == 1);
  ip[0]->Credit(3, 180, std::chrono::steady_clock::now());
  ip[0]->Credit(2, 1000, std::chrono::steady_clock::now());
  REQUIRE(Dump(p) ==
          "cookie=0x0, table=0, n_packets=5, n_bytes=1180, priority=10,ip actions=drop\n"
          "cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=5 actions=drop\n");
  // The clock-dependent fields are there and in ovs-ofctl's format.
  const std::string dump = p.DumpFlows(0);
  const std::string line = dump.substr(0, dump.find('\n'));
  CAPTURE(line);
  const std::string_view head = "cookie=0x0, duration=";
  const size_t comma = line.find(", ", head.size());
  REQUIRE(line.substr(0, head.size()) == head);
  REQUIRE(IsDuration(std::string_view(line).substr(head.size(), comma - head.size())));
  REQUIRE(line.substr(comma) ==
          ", table=0, n_packets=5, n_bytes=1180, idle_age=0, priority=10,ip actions=drop");
  REQUIRE(IsDuration("5s"));
  REQUIRE(IsDuration("0.050s"));
  REQUIRE_FALSE(IsDuration("0.05s"));
  REQUIRE_FALSE(IsDuration("5"));

  // An add with the same match and priority is a new rule: zero counters.
  p.AddFlow("priority=10,ip,actions=output:1");
  REQUIRE(Dump(p, 0).find("n_packets=0, n_bytes=0, priority=10,ip actions=output:1\n") !=
          std::string::npos);
  const std::vector<RuleCountersRef> now_ip = Matched(p, IpKey(1));
  REQUIRE(now_ip.size() == 1);
  REQUIRE(now_ip[0] != ip[0]);
  // The old counters outlive their rule (a ukey may still credit them).
  ip[0]->Credit(1, 1, std::chrono::steady_clock::now());
  REQUIRE(ip[0]->packets.load() == 6);
  REQUIRE(Dump(p, 0).find("n_packets=6") == std::string::npos);
  REQUIRE(p.DelFlows("") == 2);
  ip[0]->Credit(1, 1, std::chrono::steady_clock::now());
  now_ip[0]->Credit(1, 1, std::chrono::steady_clock::now());
  REQUIRE(now_ip[0]->packets.load() == 1);
}

TEST_CASE("pipeline: check_overlap", "[pipeline][overlap]") {
  Pipeline p;
  p.AddFlows(Specs({"priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1",
                    "table=1,priority=10,tcp,actions=drop"}));
  const uint64_t v = p.Version();

  // A packet to 10.x from 192.168.x matches both: refused, naming the flow.
  const std::string msg = ErrorOf(
      [&] { p.AddFlow("check_overlap,priority=10,ip,nw_src=192.168.0.0/16,actions=drop"); });
  CAPTURE(msg);
  REQUIRE(msg.find("check_overlap priority=10, ip,nw_src=192.168.0.0/16") != std::string::npos);
  REQUIRE(msg.find("overlaps") != std::string::npos);
  // Wider and narrower matches overlap too; so does the identical match
  // (OpenFlow 1.3, 6.4), so check_overlap does not replace.
  REQUIRE_THROWS_WITH(p.AddFlow("check_overlap,priority=10,actions=drop"),
                      Catch::Matchers::Contains("overlaps"));
  REQUIRE_THROWS_WITH(p.AddFlow("check_overlap,priority=10,tcp,nw_dst=10.1.2.3,actions=drop"),
                      Catch::Matchers::Contains("overlaps"));
  REQUIRE_THROWS_WITH(p.AddFlow("check_overlap,priority=10,ip,nw_dst=10.0.0.0/8,actions=output:9"),
                      Catch::Matchers::Contains("overlaps"));
  REQUIRE(p.Version() == v);
  REQUIRE(p.FlowCount() == 2);
  REQUIRE(Dump(p, 0).find("actions=output:1") != std::string::npos);

  // No packet matches both: a bit both care about differs.
  p.AddFlow("check_overlap,priority=10,ip,nw_dst=11.0.0.0/8,actions=drop");
  p.AddFlow("check_overlap,priority=10,arp,actions=drop");
  p.AddFlow("check_overlap,priority=10,ipv6,actions=drop");
  // Overlapping but another priority, or another table: fine.
  p.AddFlow("check_overlap,priority=11,ip,nw_dst=10.0.0.0/8,actions=drop");
  p.AddFlow("check_overlap,table=2,priority=10,ip,actions=drop");
  REQUIRE(p.FlowCount() == 7);
  // Without the flag an overlapping add is fine, and an identical one replaces.
  p.AddFlow("priority=10,ip,nw_src=192.168.0.0/16,actions=drop");
  p.AddFlow("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2");
  REQUIRE(p.FlowCount() == 8);

  // A batch is all or nothing: an overlap with the table or with a flow
  // earlier in the batch refuses every flow of it.
  const uint64_t v2 = p.Version();
  REQUIRE_THROWS_WITH(p.AddFlows(Specs({"priority=50,actions=drop",
                                        "table=1,check_overlap,priority=10,ip,actions=drop"})),
                      Catch::Matchers::Contains("overlaps"));
  REQUIRE_THROWS_WITH(
      p.AddFlows(Specs({"priority=50,actions=drop", "priority=20,tcp,actions=drop",
                        "check_overlap,priority=20,ip,nw_dst=1.2.3.4,actions=drop"})),
      Catch::Matchers::Contains("earlier in the batch"));
  REQUIRE(p.Version() == v2);
  REQUIRE(p.FlowCount() == 8);
  REQUIRE(Dump(p).find("priority=50") == std::string::npos);
  // The flag checks its own flow against what is there before it: a later
  // overlapping flow without the flag is not refused.
  REQUIRE(p.AddFlows(Specs(
              {"check_overlap,priority=30,tcp,actions=drop", "priority=30,ip,actions=drop"})) == 2);
  REQUIRE(p.FlowCount() == 10);
}
