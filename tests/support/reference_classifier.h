// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// ReferenceMegaflowClassifier: the brute-force model dpcls is checked against
// (as OVS's tests/test-classifier.c checks its classifier against a trivial
// one). A plain vector of megaflows searched linearly with MatchesMasked over
// all key words: obviously right, and too slow for anything but tests.
//
// It follows dpcls's contract: megaflows do not overlap (callers use
// OverlapsAny before inserting), dead megaflows never match, and inserting a
// flow with the same mask and masked key as a live one returns the existing
// one. It does not own the megaflows.
//
// Also usable by other tests (the megaflow invariant checks, the OpenFlow
// pipeline tests) through the free functions below.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "classifier/megaflow.h"
#include "packet/flow_key.h"

namespace dpswitch::test {

// True iff some packet matches both (k1, m1) and (k2, m2): the keys agree on
// every bit both masks care about. Keys must already be masked.
inline bool MegaflowsOverlap(const pkt::FlowKey& k1, const pkt::FlowMask& m1,
                             const pkt::FlowKey& k2, const pkt::FlowMask& m2) {
  for (uint32_t i = 0; i < pkt::kKeyWords; i++)
    if ((k1.Word(i) ^ k2.Word(i)) & m1.bits.Word(i) & m2.bits.Word(i)) return false;
  return true;
}

// A packet inside (key, mask): key on the masked bits, `noise` elsewhere.
inline pkt::FlowKey PacketInside(const pkt::FlowKey& masked_key, const pkt::FlowMask& mask,
                                 const pkt::FlowKey& noise) {
  pkt::FlowKey p;
  p.Clear();
  for (uint32_t i = 0; i < pkt::kKeyWords; i++)
    p.SetWord(i, masked_key.Word(i) | (noise.Word(i) & ~mask.bits.Word(i)));
  return p;
}

class ReferenceMegaflowClassifier {
 public:
  // Inserts f unless a live flow with the same mask and masked key exists,
  // which is returned instead (dpcls semantics).
  cls::Megaflow* Insert(cls::Megaflow* f) {
    if (cls::Megaflow* same = FindExact(f->key, f->mask)) return same;
    flows_.push_back(f);
    return f;
  }
  // Removes f; false if it is not here.
  bool Remove(const cls::Megaflow* f) {
    auto it = std::find(flows_.begin(), flows_.end(), f);
    if (it == flows_.end()) return false;
    flows_.erase(it);
    return true;
  }

  // The live megaflow that key matches, or nullptr. With non-overlapping
  // flows there is at most one; if the caller broke that rule, the first
  // inserted wins (use LookupAll to detect it).
  cls::Megaflow* Lookup(const pkt::FlowKey& key) const {
    for (cls::Megaflow* f : flows_)
      if (Live(f) && pkt::MatchesMasked(key, f->mask, f->key)) return f;
    return nullptr;
  }
  std::vector<cls::Megaflow*> LookupAll(const pkt::FlowKey& key) const {
    std::vector<cls::Megaflow*> out;
    for (cls::Megaflow* f : flows_)
      if (Live(f) && pkt::MatchesMasked(key, f->mask, f->key)) out.push_back(f);
    return out;
  }
  // The live flow with exactly this mask and masked key.
  cls::Megaflow* FindExact(const pkt::FlowKey& masked_key, const pkt::FlowMask& mask) const {
    for (cls::Megaflow* f : flows_)
      if (Live(f) && f->mask == mask && SameWords(f->key, masked_key)) return f;
    return nullptr;
  }
  // True iff (masked_key, mask) overlaps a live flow here.
  bool OverlapsAny(const pkt::FlowKey& masked_key, const pkt::FlowMask& mask) const {
    for (const cls::Megaflow* f : flows_)
      if (Live(f) && MegaflowsOverlap(f->key, f->mask, masked_key, mask)) return true;
    return false;
  }

  // Distinct masks among the live flows (what dpcls's SubtableCount should be).
  size_t MaskCount() const {
    std::vector<const pkt::FlowMask*> masks;
    for (const cls::Megaflow* f : flows_) {
      if (!Live(f)) continue;
      if (std::none_of(masks.begin(), masks.end(),
                       [f](const pkt::FlowMask* m) { return *m == f->mask; }))
        masks.push_back(&f->mask);
    }
    return masks.size();
  }

  size_t size() const { return flows_.size(); }
  const std::vector<cls::Megaflow*>& flows() const { return flows_; }

 private:
  static bool Live(const cls::Megaflow* f) { return !f->dead.load(std::memory_order_acquire); }
  static bool SameWords(const pkt::FlowKey& a, const pkt::FlowKey& b) {
    for (uint32_t i = 0; i < pkt::kKeyWords; i++)
      if (a.Word(i) != b.Word(i)) return false;
    return true;
  }

  std::vector<cls::Megaflow*> flows_;  // insertion order
};

}  // namespace dpswitch::test
