// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// dpcls internals: one Subtable per distinct megaflow mask, and the immutable
// array of subtables (SubtableVec) a Dpcls publishes to its readers.
//
// A subtable's lookup is the tuple-space-search step for one mask, done for a
// whole burst in three passes so that memory latency overlaps across packets
// (as OVS's cmap_find_batch and DPDK's l3fwd bulk lookups do):
//   1. hash (key & mask) over the mask's word map and prefetch the bucket;
//   2. pick the first slot whose signature matches and prefetch that megaflow;
//   3. verify: the megaflow is live and (key & mask) equals its key on the
//      mask's words; on a signature collision, walk the rest of the chain.
// Only the words in the mask's map are hashed or compared: a megaflow's key is
// already masked, and words outside the map are zero on both sides.
//
// Sharing: the mask is immutable; the hash table follows RcuHashTable's
// single-writer protocol; `hits_` is bumped by every PMD (one relaxed add per
// burst) and read by the writer in Rerank — it sits on its own cache line so
// those adds do not evict the read-mostly lines of other PMDs.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>

#include <rte_prefetch.h>

#include "classifier/dpcls.h"
#include "classifier/hash.h"
#include "classifier/megaflow.h"
#include "classifier/rcu_hash_table.h"
#include "packet/flow_key.h"

namespace dpswitch::cls {

using MegaflowTable = RcuHashTable<Megaflow>;

// (key & mask) == masked on every word of map (words outside map are ignored).
inline bool MaskedWordsEqual(const uint64_t* key, const uint64_t* mask, const uint64_t* masked,
                             pkt::WordMap map) noexcept {
  uint64_t diff = 0;
  while (map) {
    const uint32_t i = static_cast<uint32_t>(std::countr_zero(map));
    map &= map - 1;
    diff |= (key[i] & mask[i]) ^ masked[i];
  }
  return diff == 0;
}

class alignas(64) Subtable final {
 public:
  Subtable(const pkt::FlowMask& mask, RcuReclaimer* reclaimer)
      : mask_(mask), table_(reclaimer), prefetch_key_tail_((mask.map >> kFirstTailWord) != 0) {}

  // Looks up keys[i] for each bit i of wanted (< kMaxBurst); returns the hit
  // bitmap and fills flows[i] for hits. RCU reader; no allocation or locks.
  uint32_t LookupBurst(const pkt::FlowKey* const keys[], uint32_t wanted,
                       Megaflow* flows[]) noexcept {
    const MegaflowTable::Body* body = table_.Acquire();
    const uint64_t* mw = mask_.bits.Words();
    const pkt::WordMap map = mask_.map;
    uint32_t hashes[kMaxBurst];
    Megaflow* cand[kMaxBurst];

    for (uint32_t m = wanted; m; m &= m - 1) {
      const uint32_t i = static_cast<uint32_t>(std::countr_zero(m));
      hashes[i] = HashMaskedWords(keys[i]->Words(), mw, map);
      MegaflowTable::PrefetchBucket(body, hashes[i]);
    }
    for (uint32_t m = wanted; m; m &= m - 1) {
      const uint32_t i = static_cast<uint32_t>(std::countr_zero(m));
      Megaflow* f = MegaflowTable::FirstCandidate(body, hashes[i]);
      cand[i] = f;
      if (f != nullptr) {
        const auto* line = reinterpret_cast<const char*>(f);
        rte_prefetch0(line);  // dead flag
        rte_prefetch0(line + offsetof(Megaflow, key));
        if (prefetch_key_tail_) rte_prefetch0(line + offsetof(Megaflow, key) + 64);
      }
    }
    uint32_t hits = 0;
    for (uint32_t m = wanted; m; m &= m - 1) {
      const uint32_t i = static_cast<uint32_t>(std::countr_zero(m));
      Megaflow* f = cand[i];
      if (f == nullptr) continue;
      const uint64_t* kw = keys[i]->Words();
      auto match = [kw, mw, map](const Megaflow* g) noexcept {
        return MaskedWordsEqual(kw, mw, g->key.Words(), map) &&
               !g->dead.load(std::memory_order_acquire);
      };
      if (!match(f)) {
        f = MegaflowTable::Find(body, hashes[i], match);
        if (f == nullptr) continue;
      }
      flows[i] = f;
      hits |= uint32_t{1} << i;
    }
    if (hits) hits_.fetch_add(std::popcount(hits), std::memory_order_relaxed);
    return hits;
  }

  const pkt::FlowMask& mask() const noexcept { return mask_; }
  MegaflowTable& table() noexcept { return table_; }
  const MegaflowTable& table() const noexcept { return table_; }
  uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
  uint64_t& hits_at_rerank() noexcept { return hits_at_rerank_; }

 private:
  // First key word that lives on the megaflow key's second cache line.
  static constexpr uint32_t kFirstTailWord = 8;

  // --- read by every PMD on every burst; written only at construction -------
  pkt::FlowMask mask_;  // the mask every megaflow here has; its map drives hash and compare
  // --- slots written by the writer, read by PMDs (RcuHashTable protocol) ---
  MegaflowTable table_;     // (key & mask) -> megaflow
  bool prefetch_key_tail_;  // the mask uses words >= 8: prefetch the key's second line too
  // --- written by every PMD (relaxed add per burst), read by the writer ------
  alignas(64) std::atomic<uint64_t> hits_{0};  // packets that hit here, ever
  uint64_t hits_at_rerank_ = 0;                // writer only: hits_ at the last Rerank
};
static_assert(sizeof(Subtable) == 320, "mask (3 lines) + table (1) + hit counter (1)");
static_assert(offsetof(Megaflow, key) == 64, "the prefetch pattern assumes the key on lines 1-2");

// The array of subtables readers walk, in search order. Immutable once
// published: the writer builds a new one for every change (add/remove a
// subtable, rerank), publishes it with a release store and retires the old.
struct SubtableVec {
  uint32_t n;         // subtables in items[]
  Subtable* items[];  // search order; each non-null

  static SubtableVec* New(uint32_t n) {
    void* mem = ::operator new(sizeof(SubtableVec) + n * sizeof(Subtable*));
    auto* v = new (mem) SubtableVec;
    v->n = n;
    return v;
  }
  static void Free(SubtableVec* v) noexcept { ::operator delete(v); }
};

}  // namespace dpswitch::cls
