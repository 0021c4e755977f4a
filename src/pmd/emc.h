// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Exact-match cache: per PMD thread, a fixed-size table from a packet's full
// FlowKey (and its hash) to the megaflow that packet hit last time, so the
// megaflow search is paid once per microflow rather than once per packet.
//
// Each key hashes to two candidate slots (hash and hash >> 16); a lookup
// checks both. Insertion is probabilistic (1 in insert_inv_prob misses; 1 =
// always, 0 = never) so short flows do not thrash it, and replaces a dead or
// the colder of the two slots. Entries whose megaflow is dead are misses;
// SweepDead() clears them — the PMD runs it before reporting an RCU
// quiescent state whenever megaflows were removed, which is what makes the
// stored pointers safe (see RcuReclaimer).
//
// Owned by one PMD: no atomics, no locks. Fast path: noexcept, no allocation
// after construction.

#include <cstdint>
#include <memory>

#include "classifier/megaflow.h"
#include "packet/flow_key.h"

namespace dpswitch::pmd {

class Emc final {
 public:
  // entries: rounded up to a power of two (>= 2).
  Emc(uint32_t entries, uint32_t insert_inv_prob);

  // For each i < n: looks up keys[i] with hashes[i]; on a live hit stores the
  // megaflow in flows[i] and sets bit i of the result.
  uint32_t LookupBurst(const pkt::FlowKey keys[], const uint32_t hashes[], uint32_t n,
                       cls::Megaflow* flows[]) noexcept;
  // Called on a megaflow hit that missed the EMC: inserts with probability
  // 1/insert_inv_prob.
  void MaybeInsert(const pkt::FlowKey& key, uint32_t hash, cls::Megaflow* flow) noexcept;
  // Inserts unconditionally (tests, warm-up).
  void Insert(const pkt::FlowKey& key, uint32_t hash, cls::Megaflow* flow) noexcept;
  // Clears entries pointing at dead megaflows. Returns how many.
  uint32_t SweepDead() noexcept;
  // Clears everything.
  void Clear() noexcept;

  uint32_t Capacity() const noexcept { return mask_ + 1; }
  uint32_t Used() const noexcept;

 private:
  // One cached microflow, two cache lines; the hash and pointer come first so
  // a hash mismatch is decided on the first line. The key is stored as its
  // kKeyWords words (a FlowKey's padding would make the entry three lines).
  // Only the owning PMD reads or writes entries.
  struct alignas(64) Entry {
    cls::Megaflow* flow;           // nullptr = empty; may point at a dead megaflow until SweepDead
    uint32_t hash;                 // EmcHash of key (compared before the key)
    uint32_t referenced;           // set on a hit, cleared when it survives an eviction choice
    uint64_t key[pkt::kKeyWords];  // the full parsed key
  };
  static_assert(sizeof(Entry) == 128, "an EMC entry is two cache lines");

  // The two candidate slots of a hash (may coincide).
  Entry* Slot1(uint32_t hash) const noexcept { return &entries_[hash & mask_]; }
  Entry* Slot2(uint32_t hash) const noexcept {
    return &entries_[((hash >> 16) | (hash << 16)) & mask_];
  }

  std::unique_ptr<Entry[]> entries_;  // Capacity() entries, zeroed at construction
  uint32_t mask_;                     // capacity - 1
  uint32_t insert_inv_prob_;          // 0 = never insert
  uint32_t insert_threshold_;         // insert when the next random value is <= this
  uint32_t rng_;                      // xorshift state for probabilistic insertion
};

// Full-key hash used for the EMC (all kKeyWords words).
uint32_t EmcHash(const pkt::FlowKey& key) noexcept;

}  // namespace dpswitch::pmd
