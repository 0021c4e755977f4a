// SPDX-License-Identifier: BSD-3-Clause
// FlowTable: removing one given rule (and not the rule that replaced it), and
// the overlap test check_overlap uses.
#include "ofproto/flow_table.h"

#include <catch2/catch.hpp>
#include <string>

#include "ofproto/flow_syntax.h"

namespace {

using namespace dpswitch::ofp;  // NOLINT: test file

Rule MakeRule(const std::string& flow) {
  Rule r;
  r.spec = ParseFlow(flow);
  r.counters = std::make_shared<RuleCounters>(r.created);
  return r;
}

bool Overlap(const std::string& a, const std::string& b) {
  const bool ab =
      MatchesOverlap(ParseFlow(a + ",actions=drop").match, ParseFlow(b + ",actions=drop").match);
  REQUIRE(ab == MatchesOverlap(ParseFlow(b + ",actions=drop").match,
                               ParseFlow(a + ",actions=drop").match));  // symmetric
  return ab;
}

}  // namespace

TEST_CASE("flow table: Remove removes this very rule", "[flow_table]") {
  FlowTable t;
  Rule a = MakeRule("priority=5,ip,actions=output:1");
  Rule b = MakeRule("priority=5,ip,actions=output:2");  // same match and priority
  Rule c = MakeRule("priority=6,ip,actions=output:3");
  REQUIRE(t.Add(&a) == nullptr);
  REQUIRE(t.Add(&c) == nullptr);
  REQUIRE_FALSE(t.Remove(&b));  // not added
  REQUIRE(t.Add(&b) == &a);     // replaces a
  REQUIRE_FALSE(t.Remove(&a));  // a was replaced: b stays
  REQUIRE(t.size() == 2);
  REQUIRE(t.Remove(&b));
  REQUIRE(t.size() == 1);
  REQUIRE_FALSE(t.Remove(&b));
  REQUIRE(t.Sorted().front() == &c);
}

TEST_CASE("flow table: overlap", "[flow_table]") {
  REQUIRE(Overlap("", "tcp,tp_dst=80"));  // match-all overlaps anything
  REQUIRE(Overlap("ip", "ip"));           // identical
  REQUIRE(Overlap("ip,nw_dst=10.0.0.0/8", "ip,nw_dst=10.1.0.0/16"));
  REQUIRE(Overlap("ip,nw_dst=10.0.0.0/8", "ip,nw_src=10.0.0.0/8"));  // disjoint fields
  REQUIRE_FALSE(Overlap("ip,nw_dst=10.0.0.0/8", "ip,nw_dst=11.0.0.0/8"));
  REQUIRE_FALSE(Overlap("ip", "arp"));
  REQUIRE_FALSE(Overlap("tcp,tp_dst=80", "tcp,tp_dst=443"));
  REQUIRE(Overlap("tcp,tp_dst=0x50/0xf0", "tcp,tp_dst=0x55"));
  REQUIRE_FALSE(Overlap("tcp,tp_dst=0x50/0xf0", "tcp,tp_dst=0x65"));

  FlowTable t;
  Rule a = MakeRule("priority=5,ip,nw_dst=10.0.0.0/8,actions=drop");
  t.Add(&a);
  REQUIRE(t.Overlaps(ParseFlow("priority=5,ip,nw_src=1.2.3.4,actions=drop")));
  REQUIRE(t.Overlaps(ParseFlow("priority=5,ip,nw_dst=10.0.0.0/8,actions=output:1")));
  REQUIRE_FALSE(t.Overlaps(ParseFlow("priority=6,ip,nw_src=1.2.3.4,actions=drop")));
  REQUIRE_FALSE(t.Overlaps(ParseFlow("priority=5,ip,nw_dst=11.0.0.0/8,actions=drop")));
  REQUIRE_FALSE(FlowTable().Overlaps(ParseFlow("priority=5,actions=drop")));
}
