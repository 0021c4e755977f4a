// SPDX-License-Identifier: BSD-3-Clause
// Revalidator threads on a real Datapath (dpcls, RCU, reclaimer; no PMDs):
// after random OpenFlow changes every megaflow left agrees with the current
// tables; idle megaflows go; over the flow limit the idle ones are evicted
// and over twice the limit all; rule statistics arrive; flow setup refuses
// stale translations and installs beyond the limit.
#include "ofproto/revalidator.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <rte_cycles.h>

#include "classifier/dpcls.h"
#include "ofproto/flow_setup.h"
#include "ofproto/pipeline.h"
#include "ofproto/ukey.h"
#include "support/tcp_key.h"
#include "pmd/datapath.h"

namespace {

namespace cls = dpswitch::cls;
namespace pkt = dpswitch::pkt;
namespace pmd = dpswitch::pmd;
using namespace std::chrono_literals;
using dpswitch::ofp::Pipeline;
using dpswitch::ofp::RevalidatorConfig;
using dpswitch::ofp::Revalidators;
using dpswitch::ofp::SetupMegaflow;
using dpswitch::ofp::SetupOutcome;
using Reason = pmd::FlowDeleteReason;

using dpswitch::test::TcpKey;

// A datapath with one port (ofport 1 = dp 0) and three more to output to,
// never launched: the test thread plays the handler.
struct Rig {
  explicit Rig(RevalidatorConfig cfg) {
    pmd::DatapathConfig dc;
    dc.pmd_lcores = {1};  // a reader slot that stays offline
    dc.extra_rcu_readers = 1;
    dp = std::make_unique<pmd::Datapath>(dc, nullptr);
    for (uint16_t i = 0; i < 4; i++) dp->AddPort(i, i + 1u, nullptr);
    pipeline.SetPorts({{1, 0, true, "p1"}, {2, 1, true, "p2"}, {3, 2, true, "p3"},
                       {4, 3, true, "p4"}});
    revalidators = std::make_unique<Revalidators>(dp.get(), &pipeline, cfg);
    revalidators->Start();
  }
  ~Rig() {
    revalidators->Stop();
    revalidators.reset();
    dp.reset();
  }

  // What a handler does for one packet; returns the outcome.
  SetupOutcome Setup(const pkt::FlowKey& key, uint32_t limit = 1u << 30) {
    auto r = SetupMegaflow(*dp, pipeline, key, 0, limit, &scratch);
    r.flow->upcall_refs.fetch_sub(1);  // "executed"
    return r.outcome;
  }

  std::vector<cls::Megaflow*> Flows() {
    std::vector<cls::Megaflow*> out;
    std::lock_guard lk(dp->writer_mutex());
    dp->dpcls(0)->ForEach([&](cls::Megaflow* f) { out.push_back(f); });
    return out;
  }

  void Settle() { REQUIRE(revalidators->RevalidateNow(5s)); }

  Pipeline pipeline;
  std::unique_ptr<pmd::Datapath> dp;
  std::unique_ptr<Revalidators> revalidators;
  std::vector<pkt::DpAction> scratch;
};

// The outputs of key under the current tables.
std::vector<uint16_t> Outputs(const Pipeline& p, const pkt::FlowKey& key) {
  pkt::FlowMask wc;
  std::vector<pkt::DpAction> actions;
  p.Translate(key, &wc, &actions);
  std::vector<uint16_t> out;
  for (const auto& a : actions)
    if (a.type == pkt::DpActionType::kOutput) out.push_back(a.port);
  return out;
}

std::vector<uint16_t> Outputs(const cls::Megaflow& f) {
  std::vector<uint16_t> out;
  for (const auto& a : f.Actions())
    if (a.type == pkt::DpActionType::kOutput) out.push_back(a.port);
  return out;
}

}  // namespace

TEST_CASE("revalidation keeps megaflows agreeing with random table changes", "[revalidator]") {
  const unsigned threads = GENERATE(1u, 2u);
  RevalidatorConfig cfg;
  cfg.threads = threads;
  cfg.interval = 10000ms;  // rounds only when asked: the test decides when
  Rig rig(cfg);
  rig.pipeline.AddFlow("priority=0,actions=output:2");
  std::mt19937 rng(42 + threads);
  std::vector<std::string> added;
  auto random_key = [&] {
    return TcpKey(0x0a000000 | (rng() % 4) << 16 | (rng() % 4) << 8 | rng() % 4,
               static_cast<uint16_t>(20 + rng() % 4));
  };
  auto random_rule = [&] {
    const int plen = 8 + 8 * static_cast<int>(rng() % 3);
    const uint32_t net = (0x0a000000 | (rng() % 4) << 16 | (rng() % 4) << 8) &
                         ~((1u << (32 - plen)) - 1);
    std::string match = "ip,nw_dst=" + std::to_string(net >> 24) + "." +
                        std::to_string(net >> 16 & 255) + "." + std::to_string(net >> 8 & 255) +
                        ".0/" + std::to_string(plen);
    if (rng() % 3 == 0) match = "tcp," + match.substr(3) + ",tp_dst=" + std::to_string(20 + rng() % 4);
    return "priority=" + std::to_string(10 + rng() % 5) + "," + match;
  };

  uint64_t revalidated = 0;
  for (int round = 0; round < 40; round++) {
    for (int i = 0; i < 30; i++) rig.Setup(random_key());
    if (added.empty() || rng() % 3) {
      std::string rule = random_rule();
      rig.pipeline.AddFlow(rule + ",actions=output:" + std::to_string(1 + rng() % 4));
      added.push_back(rule);
    } else {
      const size_t i = rng() % added.size();
      rig.pipeline.DelFlows(added[i], true);
      added.erase(added.begin() + static_cast<long>(i));
    }
    rig.Settle();
    // Every megaflow left is right for every packet it covers: sample
    // packets inside it (its key with random bits outside the mask).
    for (cls::Megaflow* f : rig.Flows()) {
      for (int s = 0; s < 4; s++) {
        pkt::FlowKey k = random_key();
        for (uint32_t w = 0; w < pkt::kKeyWords; w++)
          k.SetWord(w, (k.Word(w) & ~f->mask.bits.Word(w)) | f->key.Word(w));
        INFO("round " << round);
        REQUIRE(Outputs(rig.pipeline, k) == Outputs(*f));
      }
    }
    revalidated = rig.revalidators->Stats().kept + rig.revalidators->Stats().modified;
  }
  const auto st = rig.revalidators->Stats();
  CHECK(st.revalidated_version == rig.pipeline.Version());
  CHECK(revalidated > 0);
  CHECK(st.modified > 0);
  CHECK(rig.dp->Deleted(Reason::kRevalidate) > 0);
}

TEST_CASE("a translation older than the tables is used once, not installed", "[revalidator]") {
  RevalidatorConfig cfg;
  cfg.interval = 10000ms;
  Rig rig(cfg);
  rig.pipeline.AddFlow("priority=0,actions=output:2");
  CHECK(rig.Setup(TcpKey(0x0a000001, 80)) == SetupOutcome::kInstalled);
  CHECK(rig.Setup(TcpKey(0x0a000001, 80)) == SetupOutcome::kCollapsed);
  CHECK(rig.Setup(TcpKey(0x0a000002, 80), /*limit=*/1) == SetupOutcome::kNotInstalled);
  CHECK(rig.dp->FlowCount() == 1);
}

TEST_CASE("idle megaflows are deleted after max-idle", "[revalidator]") {
  RevalidatorConfig cfg;
  cfg.max_idle = 200ms;
  Rig rig(cfg);
  rig.pipeline.AddFlow("priority=10,ip,nw_dst=10.0.0.0/24,actions=output:2");
  rig.pipeline.AddFlow("priority=0,actions=output:3");
  for (uint32_t i = 0; i < 5; i++) rig.Setup(TcpKey(0x0a000000 + (i << 8), 80));
  REQUIRE(rig.dp->FlowCount() >= 2);
  rig.Settle();
  CHECK(rig.dp->FlowCount() >= 2);  // not idle yet
  // One flow keeps being hit; the rest go idle.
  cls::Megaflow* busy = rig.Flows().front();
  const auto until = std::chrono::steady_clock::now() + 700ms;
  while (std::chrono::steady_clock::now() < until) {
    busy->used_tsc = rte_rdtsc();
    std::this_thread::sleep_for(5ms);
  }
  rig.Settle();
  const auto left = rig.Flows();
  REQUIRE(left.size() == 1);
  CHECK(left[0] == busy);
  CHECK(rig.dp->Deleted(Reason::kIdle) >= 1);
}

TEST_CASE("over the flow limit idle megaflows are evicted, over twice all", "[revalidator]") {
  RevalidatorConfig cfg;
  cfg.flow_limit = 1000;  // the minimum the adaptation keeps
  cfg.interval = 10000ms;
  Rig rig(cfg);
  // Without port tracking an L4 miss un-wildcards all of tp_dst: every port
  // is its own megaflow.
  cls::OfClassifierOptions no_port_trie;
  no_port_trie.port_tracking = false;
  rig.pipeline.SetClassifierOptions(std::nullopt, no_port_trie);
  rig.pipeline.AddFlow("priority=10,tcp,nw_dst=10.0.0.0/8,tp_dst=7,actions=output:2");
  rig.pipeline.AddFlow("priority=0,actions=output:3");
  REQUIRE(rig.revalidators->flow_limit().load() == 1000);
  auto fill = [&](uint32_t n) {
    for (uint32_t i = 0; i < n; i++) rig.Setup(TcpKey(0x0a000001, static_cast<uint16_t>(100 + i)));
    REQUIRE(rig.dp->FlowCount() == n);
  };
  SECTION("1.5x: idle ones evicted") {
    fill(1500);
    std::this_thread::sleep_for(150ms);
    const auto flows = rig.Flows();
    const uint64_t now = rte_rdtsc();
    for (size_t i = 0; i < 200; i++) flows[i]->used_tsc = now;
    rig.Settle();
    CHECK(rig.dp->FlowCount() == 200);
    CHECK(rig.dp->Deleted(Reason::kFlowLimit) == 1300);
  }
  SECTION("2.5x: everything goes") {
    fill(2500);
    rig.Settle();
    CHECK(rig.dp->FlowCount() == 0);
    CHECK(rig.dp->Deleted(Reason::kFlowLimit) == 2500);
  }
  SECTION("the handler side never installs past the limit") {
    for (uint32_t i = 0; i < 1200; i++)
      rig.Setup(TcpKey(0x0a000001, static_cast<uint16_t>(100 + i)),
                rig.revalidators->flow_limit().load());
    CHECK(rig.dp->FlowCount() == 1000);
  }
}

TEST_CASE("rule statistics arrive through revalidation and the final release",
          "[revalidator]") {
  RevalidatorConfig cfg;
  cfg.interval = 10000ms;
  Rig rig(cfg);
  rig.pipeline.AddFlow("table=0,priority=10,ip,actions=goto_table:1");
  rig.pipeline.AddFlow("table=1,priority=10,tcp,tp_dst=80,actions=output:2");
  rig.pipeline.AddFlow("table=1,priority=5,tcp,actions=output:3");
  rig.Setup(TcpKey(0x0a000001, 80));
  rig.Setup(TcpKey(0x0a000001, 443));
  for (cls::Megaflow* f : rig.Flows()) {
    const bool web = Outputs(*f) == std::vector<uint16_t>{1};
    f->packets += web ? 10 : 3;
    f->bytes += web ? 1000 : 300;
  }
  rig.Settle();
  const std::string dump = rig.pipeline.DumpFlows();
  CHECK(dump.find("n_packets=13, n_bytes=1300") != std::string::npos);  // table 0
  CHECK(dump.find("n_packets=10, n_bytes=1000") != std::string::npos);
  CHECK(dump.find("n_packets=3, n_bytes=300") != std::string::npos);

  // Packets counted after the last round reach the rules when the flow is freed.
  for (cls::Megaflow* f : rig.Flows()) f->packets += 1, f->bytes += 100;
  REQUIRE(rig.dp->FlushFlows() == 2);
  rig.dp->reclaimer().Synchronize();
  const std::string after = rig.pipeline.DumpFlows();
  CHECK(after.find("n_packets=15, n_bytes=1500") != std::string::npos);
  CHECK(after.find("n_packets=11, n_bytes=1100") != std::string::npos);
  CHECK(after.find("n_packets=4, n_bytes=400") != std::string::npos);
}
