// SPDX-License-Identifier: BSD-3-Clause
// Tx queue routes: which queue of a port each PMD transmits on, when it must
// lock it, and dropping (with a count, never queueing) when a port has no
// usable queue — a vhost port without a guest.
#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include <rte_mempool.h>

#include "pmd/datapath.h"
#include "pmd/tx_batch.h"
#include "support/packet_builder.h"

namespace {

namespace pmd = dpswitch::pmd;
using pmd::Datapath;
using pmd::kRouteLocked;
using pmd::kRouteNone;

}  // namespace

TEST_CASE("one queue per PMD: private queues, no locks", "[tx_routes]") {
  CHECK(Datapath::ComputeTxRoutes(2, 2, {0, 1}) == std::vector<uint32_t>{0, 1});
  CHECK(Datapath::ComputeTxRoutes(1, 4, {0, 1, 2, 3}) == std::vector<uint32_t>{0});
}

TEST_CASE("more PMDs than queues: shared queues are locked, only those", "[tx_routes]") {
  CHECK(Datapath::ComputeTxRoutes(3, 2, {0, 1}) ==
        std::vector<uint32_t>{0 | kRouteLocked, 1, 0 | kRouteLocked});
  CHECK(Datapath::ComputeTxRoutes(4, 2, {0, 1}) ==
        std::vector<uint32_t>{0 | kRouteLocked, 1 | kRouteLocked, 0 | kRouteLocked,
                              1 | kRouteLocked});
}

TEST_CASE("a guest that enabled fewer queues: PMDs move onto enabled ones", "[tx_routes]") {
  // Queue 0 disabled: PMD 0 moves to queue 1, which PMD 1 owns: both lock.
  CHECK(Datapath::ComputeTxRoutes(2, 2, {1}) ==
        std::vector<uint32_t>{1 | kRouteLocked, 1 | kRouteLocked});
  // Four queues, guest enabled two: every PMD lands on 0 or 2.
  const auto r = Datapath::ComputeTxRoutes(4, 4, {0, 2});
  for (uint32_t route : r) {
    const uint32_t q = route & pmd::kRouteQueueMask;
    CHECK((q == 0 || q == 2));
    CHECK((route & kRouteNone) == 0);
  }
  // Enabled ids beyond the port's queues and duplicates are ignored.
  CHECK(Datapath::ComputeTxRoutes(2, 2, {1, 1, 7}) ==
        std::vector<uint32_t>{1 | kRouteLocked, 1 | kRouteLocked});
}

TEST_CASE("no usable queue: every PMD drops", "[tx_routes]") {
  CHECK(Datapath::ComputeTxRoutes(3, 2, {}) ==
        std::vector<uint32_t>{kRouteNone, kRouteNone, kRouteNone});
  CHECK(Datapath::ComputeTxRoutes(2, 0, {0}) == std::vector<uint32_t>{kRouteNone, kRouteNone});
}

TEST_CASE("a batch to a port without a route is freed and counted, not queued",
          "[tx_routes]") {
  rte_mempool* pool = dpswitch::test::TestPktPool();
  REQUIRE(pool != nullptr);
  const unsigned before = rte_mempool_avail_count(pool);
  auto tx = std::make_unique<pmd::TxBatches>(0);
  tx->SetPort(3, /*eth_port=*/0);  // never transmitted on: the route says drop
  tx->SetRoute(3, kRouteNone);
  for (int i = 0; i < 40; i++) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    REQUIRE(m != nullptr);
    tx->Enqueue(3, m);
  }
  tx->FlushAll();
  CHECK(tx->Dropped(3) == 40);
  CHECK(rte_mempool_avail_count(pool) == before);
}
