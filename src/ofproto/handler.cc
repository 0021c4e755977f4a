// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/handler.h"

#include <array>
#include <chrono>
#include <mutex>
#include <vector>

#include <pthread.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "classifier/megaflow.h"
#include "ofproto/flow_setup.h"
#include "ofproto/pipeline.h"
#include "packet/mbuf_parse.h"
#include "pmd/datapath.h"
#include "pmd/upcall.h"

namespace dpswitch::ofp {
namespace {

// The fields of cls::OfLookupStats, in the order Handlers::LookupCounters
// mirrors them. The static_assert catches a field added there but not here.
constexpr std::array kLookupFields = {
    &cls::OfLookupStats::lookups,           &cls::OfLookupStats::hits,
    &cls::OfLookupStats::tuples_probed,     &cls::OfLookupStats::stage_exits,
    &cls::OfLookupStats::skipped_by_prefix, &cls::OfLookupStats::skipped_by_partition,
    &cls::OfLookupStats::port_trie_exits,   &cls::OfLookupStats::early_exits,
};
static_assert(sizeof(cls::OfLookupStats) == kLookupFields.size() * sizeof(uint64_t),
              "OfLookupStats changed: update kLookupFields");

}  // namespace

Handlers::Handlers(pmd::Datapath* dp, const Pipeline* pipeline,
                   const std::atomic<uint32_t>* flow_limit)
    : dp_(dp),
      pipeline_(pipeline),
      flow_limit_(flow_limit),
      n_lookup_(dp->n_handlers()),
      lookup_(std::make_unique<LookupCounters[]>(n_lookup_)) {}

cls::OfLookupStats Handlers::LookupStats() const noexcept {
  cls::OfLookupStats sum;
  for (unsigned h = 0; h < n_lookup_; h++)
    for (size_t f = 0; f < kLookupFields.size(); f++)
      sum.*kLookupFields[f] += lookup_[h].field[f].load(std::memory_order_relaxed);
  return sum;
}

Handlers::~Handlers() { Stop(); }

void Handlers::Start() {
  for (unsigned i = 0; i < dp_->n_handlers(); i++) {
    threads_.emplace_back([this, i] { Run(i); });
    pthread_setname_np(threads_.back().native_handle(), ("handler" + std::to_string(i)).c_str());
  }
}

void Handlers::Stop() {
  stop_.store(true, std::memory_order_release);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void Handlers::Run(unsigned index) {
  rte_ring* ring = dp_->upcall_ring(index);
  rte_mbuf* pkts[cls::kMaxBurst];
  std::vector<pkt::DpAction> actions;
  unsigned idle = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    const unsigned n =
        rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(pkts), cls::kMaxBurst, nullptr);
    if (n == 0) {
      // Spin briefly, then sleep with growing intervals (up to 1 ms).
      if (++idle > 64)
        std::this_thread::sleep_for(std::chrono::microseconds(idle > 1000 ? 1000 : idle));
      continue;
    }
    idle = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const uint32_t flow_limit = flow_limit_->load(std::memory_order_relaxed);
    cls::OfLookupStats lookup;  // this burst's classifier work
    for (unsigned i = 0; i < n; i++) {
      rte_mbuf* m = pkts[i];
      pmd::UpcallMeta* meta = pmd::GetUpcallMeta(m);
      pkt::FlowKey key;
      pkt::PacketLayout layout;
      pkt::ParseMbuf(m, meta->ofport, &key, &layout);
      const SetupResult r = SetupMegaflow(*dp_, *pipeline_, key, meta->dp_port, flow_limit,
                                          &actions);
      lookup += r.xlate.lookup;
      stats_.upcalls.fetch_add(1, std::memory_order_relaxed);
      switch (r.outcome) {
        case SetupOutcome::kInstalled:
          stats_.installed.fetch_add(1, std::memory_order_relaxed);
          break;
        case SetupOutcome::kCollapsed:
          stats_.collapsed.fetch_add(1, std::memory_order_relaxed);
          break;
        case SetupOutcome::kNotInstalled:
          stats_.not_installed.fetch_add(1, std::memory_order_relaxed);
          break;
      }
      meta->flow = r.flow;
      if (rte_ring_sp_enqueue(dp_->completion_ring(meta->pmd, index), m) != 0) {
        r.flow->upcall_refs.fetch_sub(1, std::memory_order_release);
        rte_pktmbuf_free(m);
        stats_.completion_full.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (index < n_lookup_) {
      LookupCounters& mine = lookup_[index];  // single writer: no RMW needed
      for (size_t f = 0; f < kLookupFields.size(); f++)
        mine.field[f].store(
            mine.field[f].load(std::memory_order_relaxed) + lookup.*kLookupFields[f],
            std::memory_order_relaxed);
    }
    stats_.busy_ns.fetch_add(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - t0)
                                  .count()),
        std::memory_order_relaxed);
    dp_->reclaimer().Poll();
  }
}

}  // namespace dpswitch::ofp
