// SPDX-License-Identifier: BSD-3-Clause
#include "pmd/pmd_thread.h"

#include <stdexcept>
#include <string>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "packet/mbuf_parse.h"
#include "pmd/upcall.h"

namespace dpswitch::pmd {

using cls::kMaxBurst;

PmdThread::PmdThread(Datapath* dp, uint16_t index, unsigned lcore, rte_rcu_qsbr* qsbr,
                     uint32_t emc_entries, uint32_t emc_insert_inv_prob)
    : dp_(dp),
      index_(index),
      lcore_(lcore),
      qsbr_(qsbr),
      emc_(emc_entries, emc_insert_inv_prob),
      tx_(index),
      exec_{&tx_, dp->pool(), &stats_} {}

void PmdThread::Launch() {
  const int rc = rte_eal_remote_launch(&PmdThread::Main, this, lcore_);
  if (rc != 0)
    throw std::runtime_error("cannot launch PMD on lcore " + std::to_string(lcore_) +
                             " (is it in the EAL core list and not the main lcore?)");
  launched_ = true;
}

void PmdThread::Stop() noexcept {
  if (!launched_) return;
  stop_.store(true, std::memory_order_release);
  rte_eal_wait_lcore(lcore_);
  launched_ = false;
}

int PmdThread::Main(void* self) {
  static_cast<PmdThread*>(self)->Run();
  return 0;
}

void PmdThread::Run() noexcept {
  while (!go_.load(std::memory_order_acquire)) {
    if (stop_.load(std::memory_order_acquire)) return;
    rte_pause();
  }
  rte_rcu_qsbr_thread_online(qsbr_, index_);
  rte_mbuf* pkts[kMaxBurst];
  while (!stop_.load(std::memory_order_relaxed)) {
    const uint64_t t0 = rte_rdtsc();
    uint32_t work = 0;
    // Returned upcalls first: packets of a new flow that were sent up go out
    // before later packets of that flow that now hit the installed megaflow
    // (narrows, but cannot close, the reordering window on flow setup).
    for (unsigned h = 0; h < dp_->n_handlers(); h++) {
      rte_ring* ring = dp_->completion_ring(index_, h);
      if (rte_ring_empty(ring)) continue;
      ProcessCompletions(ring);
      work = 1;
    }
    for (const PmdRxq& q : rxqs_) {
      const uint16_t n = rte_eth_rx_burst(q.eth_port, q.queue, pkts, kMaxBurst);
      if (n == 0) continue;
      Bump(stats_.packets, n);
      ProcessBurst(q, pkts, n);
      work += n;
    }
    tx_.FlushAll();
    // Megaflows removed since we last looked may still sit in the EMC; drop
    // them before telling RCU we hold no references (see RcuReclaimer).
    const uint64_t gen = dp_->removal_generation();
    if (gen != seen_removal_gen_) [[unlikely]] {
      emc_.SweepDead();
      seen_removal_gen_ = gen;
    }
    rte_rcu_qsbr_quiescent(qsbr_, index_);
    const uint64_t dt = rte_rdtsc() - t0;
    Bump(work ? stats_.busy_cycles : stats_.idle_cycles, dt);
    Bump(stats_.iterations);
  }
  tx_.FlushAll();
  rte_rcu_qsbr_thread_offline(qsbr_, index_);
}

void PmdThread::ProcessBurst(const PmdRxq& q, rte_mbuf** pkts, uint32_t n) noexcept {
  pkt::FlowKey keys[kMaxBurst];
  pkt::PacketLayout layouts[kMaxBurst];
  uint32_t hashes[kMaxBurst];
  cls::Megaflow* flows[kMaxBurst];
  const pkt::FlowKey* key_ptrs[kMaxBurst];

  for (uint32_t i = 0; i < n && i < 4; i++) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  uint32_t parse_errors = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (i + 4 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void*));
    rte_mbuf* m = pkts[i];
    parse_errors += pkt::ParseMbuf(m, q.ofport, &keys[i], &layouts[i]) != pkt::kParseOk;
    hashes[i] = EmcHash(keys[i]);
    key_ptrs[i] = &keys[i];
  }
  if (parse_errors) Bump(stats_.parse_errors, parse_errors);

  const uint32_t all = n == 32 ? ~0u : (1u << n) - 1;
  const uint32_t emc_hits = emc_.LookupBurst(keys, hashes, n, flows);
  uint32_t miss = all & ~emc_hits;
  uint32_t mf_hits = 0;
  if (miss) {
    uint64_t lookups = 0;
    mf_hits = dp_->dpcls(q.dp_port)->LookupBurst(key_ptrs, n, miss, flows, &lookups);
    Bump(stats_.subtable_lookups, lookups);
    for (uint32_t b = mf_hits; b; b &= b - 1) {
      const uint32_t i = static_cast<uint32_t>(__builtin_ctz(b));
      emc_.MaybeInsert(keys[i], hashes[i], flows[i]);
    }
    miss &= ~mf_hits;
    for (uint32_t b = miss; b; b &= b - 1) {
      const uint32_t i = static_cast<uint32_t>(__builtin_ctz(b));
      Upcall(q, pkts[i], hashes[i]);
    }
  }
  Bump(stats_.emc_hits, static_cast<uint64_t>(__builtin_popcount(emc_hits)));
  Bump(stats_.megaflow_hits, static_cast<uint64_t>(__builtin_popcount(mf_hits)));

  // Execute, folding stats of consecutive packets of the same megaflow into
  // one update.
  const uint64_t now = rte_rdtsc();
  cls::Megaflow* cur = nullptr;
  uint64_t cur_pkts = 0, cur_bytes = 0;
  for (uint32_t b = emc_hits | mf_hits; b; b &= b - 1) {
    const uint32_t i = static_cast<uint32_t>(__builtin_ctz(b));
    cls::Megaflow* f = flows[i];
    if (f != cur) {
      if (cur) {
        cur->packets.fetch_add(cur_pkts, std::memory_order_relaxed);
        cur->bytes.fetch_add(cur_bytes, std::memory_order_relaxed);
        cur->used_tsc.store(now, std::memory_order_relaxed);
      }
      cur = f;
      cur_pkts = cur_bytes = 0;
    }
    cur_pkts++;
    cur_bytes += pkts[i]->pkt_len;
    ExecuteActions(exec_, pkts[i], &keys[i], &layouts[i], f->Actions());
  }
  if (cur) {
    cur->packets.fetch_add(cur_pkts, std::memory_order_relaxed);
    cur->bytes.fetch_add(cur_bytes, std::memory_order_relaxed);
    cur->used_tsc.store(now, std::memory_order_relaxed);
  }
}

void PmdThread::Upcall(const PmdRxq& q, rte_mbuf* m, uint32_t hash) noexcept {
  UpcallMeta* meta = GetUpcallMeta(m);
  meta->flow = nullptr;
  meta->ofport = q.ofport;
  meta->pmd = index_;
  meta->dp_port = q.dp_port;
  rte_ring* ring = dp_->upcall_ring(hash % dp_->n_handlers());
  if (rte_ring_mp_enqueue(ring, m) != 0) [[unlikely]] {
    rte_pktmbuf_free(m);
    Bump(stats_.lost);
    return;
  }
  Bump(stats_.upcalls);
}

void PmdThread::ProcessCompletions(rte_ring* ring) noexcept {
  rte_mbuf* pkts[kMaxBurst];
  const unsigned n =
      rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(pkts), kMaxBurst, nullptr);
  const uint64_t now = rte_rdtsc();
  for (unsigned i = 0; i < n; i++) {
    rte_mbuf* m = pkts[i];
    const UpcallMeta* meta = GetUpcallMeta(m);
    cls::Megaflow* f = meta->flow;
    pkt::FlowKey key;
    pkt::PacketLayout layout;
    pkt::ParseMbuf(m, meta->ofport, &key, &layout);
    f->packets.fetch_add(1, std::memory_order_relaxed);
    f->bytes.fetch_add(m->pkt_len, std::memory_order_relaxed);
    f->used_tsc.store(now, std::memory_order_relaxed);
    ExecuteActions(exec_, m, &key, &layout, f->Actions());
    f->upcall_refs.fetch_sub(1, std::memory_order_release);
  }
  Bump(stats_.completions, n);
}

}  // namespace dpswitch::pmd
