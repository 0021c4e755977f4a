// SPDX-License-Identifier: BSD-3-Clause
// Rule timeouts and flow-removed events: hard and idle timeouts at exactly
// the right (fake) time, idle time measured from the last credited packet,
// one batch per expiry, the events DelFlows and ExpireRules report and a
// sink that calls back into the Pipeline.
//
// A rule's creation time is read from its counters: RuleCounters starts
// `used` at the rule's creation, so Used() before any Credit is `created`.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "ofproto/flow_syntax.h"
#include "ofproto/pipeline.h"

namespace {

using namespace dpswitch::ofp;  // NOLINT: test file
namespace pkt = dpswitch::pkt;
using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr nanoseconds kNs{1};

std::vector<FlowSpec> Specs(std::initializer_list<const char*> flows) {
  std::vector<FlowSpec> out;
  for (const char* f : flows) out.push_back(ParseFlow(f));
  return out;
}

// The counters of the rule an IPv4 packet (eth_type only) matches in table 0.
RuleCountersRef IpRule(const Pipeline& p) {
  pkt::FlowKey k;
  k.Clear();
  k.in_port = 1;
  k.eth_type = 0x0800;
  pkt::FlowMask wc;
  std::vector<pkt::DpAction> acts;
  std::vector<RuleCountersRef> rules;
  p.Translate(k, &wc, &acts, &rules);
  REQUIRE(rules.size() == 1);
  return rules[0];
}

// A pipeline whose flow-removed events are recorded.
struct Recorded {
  Pipeline p;
  std::vector<FlowRemoved> events;

  Recorded() {
    p.SetFlowRemovedSink([this](const FlowRemoved& e) { events.push_back(e); });
  }
};

}  // namespace

TEST_CASE("expiry: reason names", "[expiry]") {
  REQUIRE(std::string(FlowRemovedReasonName(FlowRemovedReason::kIdleTimeout)) == "idle_timeout");
  REQUIRE(std::string(FlowRemovedReasonName(FlowRemovedReason::kHardTimeout)) == "hard_timeout");
  REQUIRE(std::string(FlowRemovedReasonName(FlowRemovedReason::kDelete)) == "delete");
  REQUIRE(std::string(FlowRemovedReasonName(FlowRemovedReason::kGroupDelete)) == "group_delete");
  REQUIRE(std::string(FlowRemovedReasonName(FlowRemovedReason::kMeterDelete)) == "meter_delete");
}

TEST_CASE("expiry: hard timeout at exactly created + hard_timeout", "[expiry]") {
  Recorded r;
  r.p.AddFlows(Specs({"hard_timeout=10,send_flow_rem,cookie=0x5,priority=5,ip,actions=drop",
                      "hard_timeout=20,priority=4,arp,actions=drop",  // same batch: same time
                      "priority=3,actions=drop"}));                   // permanent
  const RuleCountersRef c = IpRule(r.p);
  const Clock::time_point created = c->Used();
  c->Credit(7, 700, created + seconds(9));  // traffic does not postpone a hard timeout
  const uint64_t v = r.p.Version();

  REQUIRE(r.p.ExpireRules(created + seconds(10) - kNs) == 0);
  REQUIRE(r.p.Version() == v);  // nothing expired: no batch
  REQUIRE(r.events.empty());
  REQUIRE(r.p.ExpireRules(created + seconds(10)) == 1);
  REQUIRE(r.p.Version() == v + 1);
  REQUIRE(r.p.FlowCount() == 2);
  REQUIRE(r.events.size() == 1);
  const FlowRemoved& e = r.events[0];
  REQUIRE(e.reason == FlowRemovedReason::kHardTimeout);
  REQUIRE(e.duration == seconds(10));
  REQUIRE(e.packets == 7);
  REQUIRE(e.bytes == 700);
  REQUIRE(e.spec.cookie == 0x5);
  REQUIRE(e.spec.priority == 5);
  REQUIRE(e.spec.hard_timeout == 10);
  REQUIRE(e.spec.flags == kFlowSendFlowRem);
  REQUIRE(FormatMatch(e.spec.match) == "ip");

  // The batch's other rule: same creation time, no send_flow_rem.
  REQUIRE(r.p.ExpireRules(created + seconds(20) - kNs) == 0);
  REQUIRE(r.p.ExpireRules(created + seconds(20)) == 1);
  REQUIRE(r.events.size() == 1);
  REQUIRE(r.p.FlowCount() == 1);
  // The permanent rule never expires.
  REQUIRE(r.p.ExpireRules(created + seconds(1000000)) == 0);
  REQUIRE(r.p.Version() == v + 2);
}

TEST_CASE("expiry: idle timeout from the last credited packet", "[expiry]") {
  Recorded r;
  r.p.AddFlow("idle_timeout=5,send_flow_rem,priority=5,ip,actions=drop");
  const RuleCountersRef c = IpRule(r.p);
  const Clock::time_point created = c->Used();

  // Never matched: idle since it was added.
  REQUIRE(r.p.ExpireRules(created + seconds(5) - kNs) == 0);
  // A packet at +4s: idle from there.
  c->Credit(2, 120, created + seconds(4));
  REQUIRE(r.p.ExpireRules(created + seconds(5)) == 0);
  REQUIRE(r.p.ExpireRules(created + seconds(9) - kNs) == 0);
  // One more at +8s (credited late, as a revalidator would).
  c->Credit(1, 60, created + seconds(8));
  REQUIRE(r.p.ExpireRules(created + seconds(9)) == 0);
  // An older `used` does not move the clock back; zero packets do not count.
  c->Credit(1, 60, created + seconds(1));
  c->Credit(0, 0, created + seconds(12));
  REQUIRE(r.p.ExpireRules(created + seconds(13) - kNs) == 0);
  REQUIRE(r.events.empty());
  REQUIRE(r.p.ExpireRules(created + seconds(13)) == 1);
  REQUIRE(r.p.FlowCount() == 0);
  REQUIRE(r.events.size() == 1);
  REQUIRE(r.events[0].reason == FlowRemovedReason::kIdleTimeout);
  REQUIRE(r.events[0].duration == seconds(13));
  REQUIRE(r.events[0].packets == 4);
  REQUIRE(r.events[0].bytes == 240);
}

TEST_CASE("expiry: the hard timeout wins when both have passed", "[expiry]") {
  Recorded r;
  r.p.AddFlow("idle_timeout=5,hard_timeout=5,send_flow_rem,priority=5,ip,actions=drop");
  const Clock::time_point created = IpRule(r.p)->Used();
  REQUIRE(r.p.ExpireRules(created + seconds(5)) == 1);
  REQUIRE(r.events.size() == 1);
  REQUIRE(r.events[0].reason == FlowRemovedReason::kHardTimeout);
}

TEST_CASE("expiry: many rules in one batch, events in creation order", "[expiry]") {
  Recorded r;
  r.p.AddFlows(Specs({"table=2,hard_timeout=1,send_flow_rem,priority=1,actions=drop",
                      "table=0,idle_timeout=1,send_flow_rem,priority=5,ip,actions=drop",
                      "table=1,idle_timeout=1,priority=1,actions=drop",
                      "table=0,hard_timeout=2,send_flow_rem,priority=1,actions=drop"}));
  const Clock::time_point created = IpRule(r.p)->Used();
  const uint64_t v = r.p.Version();
  REQUIRE(r.p.ExpireRules(created + seconds(1)) == 3);
  REQUIRE(r.p.Version() == v + 1);
  REQUIRE(r.p.FlowCount() == 1);
  REQUIRE(r.events.size() == 2);
  REQUIRE(r.events[0].spec.table == 2);
  REQUIRE(r.events[0].reason == FlowRemovedReason::kHardTimeout);
  REQUIRE(r.events[1].spec.table == 0);
  REQUIRE(r.events[1].reason == FlowRemovedReason::kIdleTimeout);
  REQUIRE(r.p.ExpireRules(created + seconds(2)) == 1);
  REQUIRE(r.p.FlowCount() == 0);
  REQUIRE(r.p.Version() == v + 2);
}

TEST_CASE("expiry: replaced and deleted rules are no longer timed", "[expiry]") {
  Recorded r;
  r.p.AddFlow("hard_timeout=10,send_flow_rem,priority=5,ip,actions=drop");
  const Clock::time_point first = IpRule(r.p)->Used();
  // Replaced by a permanent rule (no event: an add is not a removal).
  r.p.AddFlow("priority=5,ip,actions=output:1");
  REQUIRE(r.p.ExpireRules(first + seconds(100000)) == 0);
  REQUIRE(r.p.FlowCount() == 1);
  // And the other way round: the replacement's timeout counts from its add.
  r.p.AddFlow("hard_timeout=10,priority=5,ip,actions=drop");
  const Clock::time_point second = IpRule(r.p)->Used();
  REQUIRE(second >= first);
  REQUIRE(r.p.ExpireRules(second + seconds(10) - kNs) == 0);
  REQUIRE(r.p.ExpireRules(second + seconds(10)) == 1);
  // Deleted before it expires.
  r.p.AddFlow("hard_timeout=10,priority=5,ip,actions=drop");
  REQUIRE(r.p.DelFlows("ip") == 1);
  const uint64_t v = r.p.Version();
  REQUIRE(r.p.ExpireRules(Clock::now() + seconds(100000)) == 0);
  REQUIRE(r.p.Version() == v);
  // A batch that replaces its own timed rule keeps only the last one.
  r.p.AddFlows(Specs(
      {"hard_timeout=1,priority=5,ip,actions=drop", "hard_timeout=3,priority=5,ip,actions=drop"}));
  const Clock::time_point third = IpRule(r.p)->Used();
  REQUIRE(r.p.ExpireRules(third + seconds(3) - kNs) == 0);
  REQUIRE(r.p.ExpireRules(third + seconds(3)) == 1);
  REQUIRE(r.events.empty());
}

TEST_CASE("expiry: del-flows reports deleted rules that asked for it", "[expiry]") {
  Recorded r;
  r.p.AddFlows(Specs({"send_flow_rem,cookie=0x1,priority=5,ip,actions=drop",
                      "send_flow_rem,cookie=0x2,table=1,priority=5,ip,actions=drop",
                      "cookie=0x3,table=2,priority=5,ip,actions=drop",
                      "send_flow_rem,cookie=0x4,priority=1,arp,actions=drop"}));
  const RuleCountersRef c = IpRule(r.p);
  const Clock::time_point created = c->Used();
  c->Credit(3, 180, Clock::now());

  REQUIRE(r.p.DelFlows("ip") == 3);
  const Clock::time_point after = Clock::now();
  REQUIRE(r.events.size() == 2);  // 0x3 did not ask
  REQUIRE(r.events[0].spec.cookie == 0x1);
  REQUIRE(r.events[0].reason == FlowRemovedReason::kDelete);
  REQUIRE(r.events[0].packets == 3);
  REQUIRE(r.events[0].bytes == 180);
  REQUIRE(r.events[0].duration >= nanoseconds(0));
  REQUIRE(r.events[0].duration <= after - created);
  REQUIRE(r.events[1].spec.cookie == 0x2);
  REQUIRE(r.events[1].packets == 0);

  // Strict, and everything.
  r.p.AddFlow("send_flow_rem,cookie=0x5,priority=9,arp,actions=drop");
  REQUIRE(r.p.DelFlows("priority=9,arp", true) == 1);
  REQUIRE(r.events.size() == 3);
  REQUIRE(r.events[2].spec.cookie == 0x5);
  REQUIRE(r.p.DelFlows("") == 1);
  REQUIRE(r.events.size() == 4);
  REQUIRE(r.events[3].spec.cookie == 0x4);
  REQUIRE(r.p.DelFlows("") == 0);
  REQUIRE(r.events.size() == 4);
}

TEST_CASE("expiry: no sink, no events, same removals", "[expiry]") {
  Pipeline p;
  p.AddFlow("hard_timeout=1,send_flow_rem,priority=5,ip,actions=drop");
  const Clock::time_point created = IpRule(p)->Used();
  REQUIRE(p.ExpireRules(created + seconds(1)) == 1);
  p.AddFlow("send_flow_rem,priority=5,ip,actions=drop");
  REQUIRE(p.DelFlows("") == 1);
}

TEST_CASE("expiry: the sink may call back into the pipeline", "[expiry]") {
  Pipeline p;
  std::vector<std::string> seen;
  p.SetFlowRemovedSink([&](const FlowRemoved& e) {
    // The batch is committed and no lock is held: reads and writes work.
    seen.push_back(std::string(FlowRemovedReasonName(e.reason)) + " " +
                   std::to_string(p.FlowCount()));
    if (e.reason == FlowRemovedReason::kHardTimeout) p.AddFlow("priority=1,actions=drop");
    REQUIRE(p.DumpFlows().find("cookie=0x9") == std::string::npos);
  });
  p.AddFlows(Specs({"hard_timeout=1,send_flow_rem,cookie=0x9,priority=5,ip,actions=drop",
                    "priority=2,actions=drop"}));
  const Clock::time_point created = IpRule(p)->Used();
  REQUIRE(p.ExpireRules(created + seconds(1)) == 1);
  REQUIRE(p.FlowCount() == 2);  // priority=2, and priority=1 from the sink
  p.AddFlow("send_flow_rem,cookie=0x9,priority=5,ip,actions=drop");
  REQUIRE(p.DelFlows("ip") == 1);
  REQUIRE(seen == std::vector<std::string>{"hard_timeout 1", "delete 2"});
}
