// SPDX-License-Identifier: BSD-3-Clause
// The revalidator's decisions without threads: Revalidate's keep / modify /
// delete verdicts, the flow limit's adaptation, and how a Ukey credits a
// megaflow's packets to its rules (periodic pushes, rebinding after a
// re-translation, the remainder when the megaflow is freed).
#include "ofproto/revalidate.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "classifier/megaflow.h"
#include "ofproto/pipeline.h"
#include "ofproto/ukey.h"
#include "support/tcp_key.h"

namespace {

namespace cls = dpswitch::cls;
namespace pkt = dpswitch::pkt;
using namespace std::chrono_literals;
using dpswitch::ofp::InitialFlowLimit;
using dpswitch::ofp::NextFlowLimit;
using dpswitch::ofp::Pipeline;
using dpswitch::ofp::Revalidate;
using dpswitch::ofp::RevalidateResult;
using dpswitch::ofp::RevalidateVerdict;
using dpswitch::ofp::RuleCounters;
using dpswitch::ofp::RuleCountersRef;
using dpswitch::ofp::Ukey;

using dpswitch::test::TcpKey;

// What a handler installs for `key` under the current tables.
struct Installed {
  cls::Megaflow* flow;
  std::vector<RuleCountersRef> rules;
};
Installed Install(const Pipeline& p, const pkt::FlowKey& key) {
  pkt::FlowMask wc;
  wc.bits.in_port = 0xffffffff;
  std::vector<pkt::DpAction> actions;
  std::vector<RuleCountersRef> rules;
  const auto xs = p.Translate(key, &wc, &actions, &rules);
  wc.Finalize();
  cls::Megaflow* f = cls::Megaflow::Create(key, wc, actions);
  f->attachment = new Ukey(xs.version, rules);
  return {f, rules};
}

struct FlowDeleter {
  void operator()(cls::Megaflow* f) const { cls::Megaflow::Destroy(f); }
};
using FlowPtr = std::unique_ptr<cls::Megaflow, FlowDeleter>;

void Routes(Pipeline& p) {
  p.SetPorts({{1, 0, true, "p1"}, {2, 1, true, "p2"}, {3, 2, true, "p3"}});
  p.AddFlow("priority=0,actions=drop");
  p.AddFlow("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2");
}

}  // namespace

TEST_CASE("revalidate keeps a megaflow the change does not touch", "[revalidate]") {
  Pipeline p;
  Routes(p);
  FlowPtr f(Install(p, TcpKey(0x0a010101, 80)).flow);
  p.AddFlow("priority=20,ip,nw_dst=192.168.0.0/16,actions=output:3");
  RevalidateResult r;
  Revalidate(p, *f, &r);
  CHECK(r.verdict == RevalidateVerdict::kKeep);
  CHECK(r.version == p.Version());
  CHECK(r.rules.size() == 1);
}

TEST_CASE("revalidate modifies when only the actions change", "[revalidate]") {
  Pipeline p;
  Routes(p);
  FlowPtr f(Install(p, TcpKey(0x0a010101, 80)).flow);
  REQUIRE(f->n_actions == 1);
  CHECK(f->actions[0].port == 1);
  // Same match, new actions: the consulted bits stay the same.
  p.AddFlow("priority=10,ip,nw_dst=10.0.0.0/8,actions=output:3");
  RevalidateResult r;
  Revalidate(p, *f, &r);
  REQUIRE(r.verdict == RevalidateVerdict::kModify);
  REQUIRE(r.actions.size() == 1);
  CHECK(r.actions[0].port == 2);
}

TEST_CASE("revalidate deletes when the tables need bits the megaflow wildcards",
          "[revalidate]") {
  Pipeline p;
  Routes(p);
  FlowPtr f(Install(p, TcpKey(0x0a010101, 80)).flow);
  // The megaflow matched 10/8 with tp_dst wildcarded; a port ACL inside it
  // makes tp_dst matter.
  p.AddFlow("priority=30,tcp,nw_dst=10.1.0.0/16,tp_dst=22,actions=drop");
  RevalidateResult r;
  Revalidate(p, *f, &r);
  CHECK(r.verdict == RevalidateVerdict::kDelete);
}

TEST_CASE("revalidate deletes a megaflow whose rule went away when others need more bits",
          "[revalidate]") {
  Pipeline p;
  Routes(p);
  FlowPtr f(Install(p, TcpKey(0x0a010101, 80)).flow);
  p.DelFlows("ip,nw_dst=10.0.0.0/8");
  p.AddFlow("priority=10,ip,nw_dst=10.1.1.0/24,actions=output:3");
  RevalidateResult r;
  Revalidate(p, *f, &r);
  // The /24 trie walk needs more nw_dst bits than the /8 megaflow has.
  CHECK(r.verdict == RevalidateVerdict::kDelete);
}

TEST_CASE("flow limit adapts to the round time as OVS does", "[revalidate]") {
  CHECK(InitialFlowLimit(200000) == 10000);
  CHECK(InitialFlowLimit(500) == 500);
  // Fast round, many flows: grows by 1,000.
  CHECK(NextFlowLimit(10000, 5ms, 10000, 200000) == 11000);
  // Fast round, few flows: stays.
  CHECK(NextFlowLimit(10000, 5ms, 1500, 200000) == 10000);
  // Already above what the pace supports (n_flows * 1000 / ms): stays.
  CHECK(NextFlowLimit(10000, 900ms, 5000, 200000) == 10000);
  // Slow round (1.3-2 s): a quarter off.
  CHECK(NextFlowLimit(100000, 1500ms, 100000, 200000) == 75000);
  // Very slow (over 2 s): divided by the seconds.
  CHECK(NextFlowLimit(100000, 4000ms, 100000, 200000) == 25000);
  // Bounds: never below 1,000, never above the ceiling.
  CHECK(NextFlowLimit(1200, 10000ms, 100000, 200000) == 1000);
  CHECK(NextFlowLimit(200000, 5ms, 300000, 200000) == 200000);
  CHECK(NextFlowLimit(1000, 5ms, 300000, 50) == 50);
}

TEST_CASE("ukey credits megaflow packets to its rules exactly once", "[revalidate]") {
  Pipeline p;
  p.SetPorts({{1, 0, true, "p1"}, {2, 1, true, "p2"}});
  p.AddFlow("table=0,priority=10,ip,actions=goto_table:1");
  p.AddFlow("table=1,priority=10,tcp,actions=output:2");
  Installed in = Install(p, TcpKey(0x0a000001, 80));
  REQUIRE(in.rules.size() == 2);
  cls::Megaflow* f = in.flow;
  Ukey* ukey = Ukey::Of(*f);
  REQUIRE(ukey != nullptr);

  f->packets = 3;
  f->bytes = 300;
  ukey->PushStats(*f);
  ukey->PushStats(*f);  // nothing new: nothing credited
  for (const auto& r : in.rules) {
    CHECK(r->packets == 3);
    CHECK(r->bytes == 300);
  }

  // Rebind to other counters: what was counted before goes to the old ones.
  f->packets = 5;
  f->bytes = 500;
  auto fresh = std::make_shared<RuleCounters>(std::chrono::steady_clock::now());
  ukey->Rebind(*f, ukey->version() + 1, {fresh});
  CHECK(in.rules[0]->packets == 5);
  CHECK(fresh->packets == 0);

  // Freeing credits the remainder.
  f->packets = 9;
  f->bytes = 900;
  cls::Megaflow::Destroy(f);
  CHECK(in.rules[0]->packets == 5);
  CHECK(fresh->packets == 4);
  CHECK(fresh->bytes == 400);
}

TEST_CASE("rule used time follows the megaflow's last hit", "[revalidate]") {
  auto counters = std::make_shared<RuleCounters>(std::chrono::steady_clock::now() - 10s);
  cls::Megaflow* f = cls::Megaflow::Create(TcpKey(1, 1), pkt::FlowMask{}, {});
  f->attachment = new Ukey(1, {counters});
  const auto before = counters->Used();
  f->packets = 1;
  f->bytes = 60;
  f->used_tsc = f->created_tsc;  // hit right after creation
  Ukey::Of(*f)->PushStats(*f);
  CHECK(counters->Used() > before);
  CHECK(counters->Used() <= std::chrono::steady_clock::now());
  CHECK(counters->Used() > std::chrono::steady_clock::now() - 5s);
  cls::Megaflow::Destroy(f);
}
