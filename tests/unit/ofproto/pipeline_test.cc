// SPDX-License-Identifier: BSD-3-Clause
// Pipeline control side: add/replace, flow files, del-flows loose and strict,
// dump-flows order and round trip, versioning.
#include "ofproto/pipeline.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

namespace {

using dpswitch::ofp::FlowError;
using dpswitch::ofp::Pipeline;

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

size_t Lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("pipeline: add replaces identical match and priority", "[pipeline]") {
  Pipeline p;
  const uint64_t v0 = p.Version();
  p.AddFlow("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:1");
  REQUIRE(p.Version() > v0);
  p.AddFlow("priority=10,ip,nw_dst=10.1.2.3/8,actions=output:2");  // same match once masked
  REQUIRE(p.FlowCount() == 1);
  REQUIRE(p.DumpFlows() ==
          "cookie=0x0, table=0, priority=10, ip,nw_dst=10.0.0.0/8 actions=output:2\n");
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
  REQUIRE(dump ==
          "cookie=0x0, table=0, priority=300, tcp,tp_dst=80 actions=resubmit(,2)\n"
          "cookie=0x42, table=0, priority=200, arp actions=FLOOD\n"
          "cookie=0x0, table=0, priority=1 actions=output:1\n"
          "cookie=0x0, table=2, priority=5 actions=drop\n");
  REQUIRE(p.DumpFlows(2) == "cookie=0x0, table=2, priority=5 actions=drop\n");
  REQUIRE(p.DumpFlows(7).empty());

  // Every dumped line is a valid add-flow line giving the same dump.
  Pipeline q;
  size_t start = 0;
  while (start < dump.size()) {
    const size_t nl = dump.find('\n', start);
    q.AddFlow(std::string_view(dump).substr(start, nl - start));
    start = nl + 1;
  }
  REQUIRE(q.DumpFlows() == dump);
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
  REQUIRE(p.DumpFlows(0) ==
          "cookie=0x0, table=0, priority=30, udp actions=output:3\n"
          "cookie=0x7, table=0, priority=20, tcp,nw_src=10.0.0.0/8,tp_dst=80 actions=output:2\n");

  const uint64_t v = p.Version();
  p.DelFlows("udp");
  REQUIRE(p.Version() > v);
  REQUIRE(Lines(p.DumpFlows()) == 2);
  REQUIRE_THROWS_AS(p.DelFlows("ip,actions=drop"), FlowError);
}
