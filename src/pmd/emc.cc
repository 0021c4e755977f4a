// SPDX-License-Identifier: BSD-3-Clause
#include "pmd/emc.h"

#include <algorithm>
#include <atomic>
#include <limits>

#include <rte_prefetch.h>

#include "classifier/hash.h"

// Implementation notes.
//  - Slots: the first candidate is hash & mask, the second is the hash rotated
//    by 16 bits & mask (the same as hash >> 16 for up to 65536 entries, and it
//    still uses every bit of the hash beyond that).
//  - Lookup is two passes over the burst: prefetch both lines of both slots
//    for every packet, then compare hash, then the 13 key words.
//  - Replacement ("the colder slot"): an empty or dead slot first; otherwise
//    the one not hit since it was last considered (a one-bit clock); if both
//    or neither were hit, the one with the smaller stored hash — an arbitrary
//    but unbiased choice, as OVS makes. Choosing clears the survivor's bit,
//    so a slot kept once must be hit again to be kept next time.
//  - The random source is xorshift32 with a fixed seed: deterministic tests,
//    and no syscall or shared state on the fast path.

namespace dpswitch::pmd {

namespace {

constexpr uint32_t kMaxBurst = 32;
constexpr uint32_t kRngSeed = 0x2545f491u;

bool KeyEquals(const uint64_t* a, const uint64_t* b) noexcept {
  uint64_t diff = 0;
  for (uint32_t i = 0; i < pkt::kKeyWords; i++) diff |= a[i] ^ b[i];
  return diff == 0;
}

bool Live(const cls::Megaflow* f) noexcept {
  return f != nullptr && !f->dead.load(std::memory_order_acquire);
}

uint32_t RoundUpPow2(uint32_t n) noexcept {
  n = std::clamp<uint32_t>(n, 2, uint32_t{1} << 30);
  uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

Emc::Emc(uint32_t entries, uint32_t insert_inv_prob)
    : entries_(new Entry[RoundUpPow2(entries)]()),
      mask_(RoundUpPow2(entries) - 1),
      insert_inv_prob_(insert_inv_prob),
      insert_threshold_(
          insert_inv_prob == 0 ? 0 : std::numeric_limits<uint32_t>::max() / insert_inv_prob),
      rng_(kRngSeed) {}

uint32_t Emc::LookupBurst(const pkt::FlowKey keys[], const uint32_t hashes[], uint32_t n,
                          cls::Megaflow* flows[]) noexcept {
  n = std::min(n, kMaxBurst);
  for (uint32_t i = 0; i < n; i++) {
    const auto* a = reinterpret_cast<const char*>(Slot1(hashes[i]));
    const auto* b = reinterpret_cast<const char*>(Slot2(hashes[i]));
    rte_prefetch0(a);
    rte_prefetch0(a + 64);
    rte_prefetch0(b);
    rte_prefetch0(b + 64);
  }
  uint32_t hits = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t h = hashes[i];
    const uint64_t* kw = keys[i].Words();
    Entry* e = Slot1(h);
    if (!(e->flow != nullptr && e->hash == h && KeyEquals(e->key, kw))) {
      e = Slot2(h);
      if (!(e->flow != nullptr && e->hash == h && KeyEquals(e->key, kw))) continue;
    }
    if (!Live(e->flow)) continue;  // dead: a miss; SweepDead clears it
    flows[i] = e->flow;
    if (!e->referenced) e->referenced = 1;  // write only on change: keep the line clean
    hits |= uint32_t{1} << i;
  }
  return hits;
}

void Emc::MaybeInsert(const pkt::FlowKey& key, uint32_t hash, cls::Megaflow* flow) noexcept {
  if (insert_inv_prob_ == 0) return;
  if (insert_inv_prob_ != 1) {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    if (rng_ > insert_threshold_) return;
  }
  Insert(key, hash, flow);
}

void Emc::Insert(const pkt::FlowKey& key, uint32_t hash, cls::Megaflow* flow) noexcept {
  const uint64_t* kw = key.Words();
  Entry* a = Slot1(hash);
  Entry* b = Slot2(hash);
  // Already cached (e.g. its megaflow was replaced): refresh in place.
  for (Entry* e : {a, b}) {
    if (e->flow != nullptr && e->hash == hash && KeyEquals(e->key, kw)) {
      e->flow = flow;
      return;
    }
  }
  Entry* victim;
  if (!Live(a->flow)) {
    victim = a;
  } else if (!Live(b->flow)) {
    victim = b;
  } else if (a->referenced != b->referenced) {
    victim = a->referenced ? b : a;
  } else {
    victim = a->hash <= b->hash ? a : b;
  }
  Entry* survivor = victim == a ? b : a;
  survivor->referenced = 0;
  victim->flow = flow;
  victim->hash = hash;
  victim->referenced = 0;
  std::copy(kw, kw + pkt::kKeyWords, victim->key);
}

uint32_t Emc::SweepDead() noexcept {
  uint32_t n = 0;
  for (uint32_t i = 0; i <= mask_; i++) {
    Entry& e = entries_[i];
    if (e.flow != nullptr && !Live(e.flow)) {
      e.flow = nullptr;
      e.referenced = 0;
      n++;
    }
  }
  return n;
}

void Emc::Clear() noexcept {
  for (uint32_t i = 0; i <= mask_; i++) {
    entries_[i].flow = nullptr;
    entries_[i].referenced = 0;
  }
}

uint32_t Emc::Used() const noexcept {
  uint32_t n = 0;
  for (uint32_t i = 0; i <= mask_; i++) n += entries_[i].flow != nullptr;
  return n;
}

uint32_t EmcHash(const pkt::FlowKey& key) noexcept {
  return cls::HashWords(key.Words(), pkt::kKeyWords);
}

}  // namespace dpswitch::pmd
