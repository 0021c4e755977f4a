// SPDX-License-Identifier: BSD-3-Clause
#include "classifier/of_classifier.h"

#include <algorithm>
#include <map>

#include "classifier/hash.h"

namespace dpswitch::cls {

// The rules of one tuple that share one masked key, best first: descending
// priority, then ascending seq (older first).
struct alignas(64) OfClassifier::Bucket {
  pkt::FlowKey key;                               // the shared masked key
  uint32_t hash;                                  // HashMaskedWords of key over the tuple's map
  std::vector<std::unique_ptr<OfClsRule>> rules;  // never empty while linked
};

// One tuple: every rule with this exact mask.
struct alignas(64) OfClassifier::Subtable {
  pkt::FlowMask mask;        // the tuple's mask
  uint32_t mask_hash = 0;    // key in OfClassifier::by_mask_
  uint64_t id = 0;           // creation order: tie-break of the search order
  int32_t max_priority = 0;  // highest priority of any rule here (search order key)
  // priority -> number of rules with it; rbegin() gives max_priority on removal.
  std::map<int32_t, uint32_t> priorities;
  // masked-key hash -> buckets (collisions resolved with MatchesMasked).
  std::unordered_multimap<uint32_t, std::unique_ptr<Bucket>> buckets;
  // Hooks for the caching-aware issue: per-stage hash tables (staged lookup),
  // per-stage word maps, and the metadata partition tag go here.

  Bucket* FindBucket(const pkt::FlowKey& key, uint32_t hash) const {
    auto [it, end] = buckets.equal_range(hash);
    for (; it != end; ++it)
      if (pkt::MatchesMasked(key, mask, it->second->key)) return it->second.get();
    return nullptr;
  }
};

namespace {

uint32_t MaskHash(const pkt::FlowMask& mask) {
  return HashWords(mask.bits.Words(), pkt::kKeyWords);
}

uint32_t KeyHash(const pkt::FlowKey& key, const pkt::FlowMask& mask) {
  return HashMaskedWords(key.Words(), mask.bits.Words(), mask.map);
}

// Canonical copy of a mask: padding words beyond kKeyWords zero, map right.
pkt::FlowMask Canonical(const pkt::FlowMask& in) {
  pkt::FlowMask m;
  for (uint32_t i = 0; i < pkt::kKeyWords; i++) m.bits.SetWord(i, in.bits.Word(i));
  m.Finalize();
  return m;
}

}  // namespace

OfClassifier::OfClassifier() = default;
OfClassifier::~OfClassifier() = default;

OfClassifier::Subtable* OfClassifier::FindSubtable(const pkt::FlowMask& mask,
                                                   uint32_t mask_hash) const {
  auto [it, end] = by_mask_.equal_range(mask_hash);
  for (; it != end; ++it)
    if (it->second->mask == mask) return it->second.get();
  return nullptr;
}

void OfClassifier::Resort() {
  std::sort(sorted_.begin(), sorted_.end(), [](const Subtable* a, const Subtable* b) {
    if (a->max_priority != b->max_priority) return a->max_priority > b->max_priority;
    return a->id < b->id;
  });
}

void* OfClassifier::Insert(const pkt::FlowKey& key, const pkt::FlowMask& mask_in, int32_t priority,
                           void* user) {
  const pkt::FlowMask mask = Canonical(mask_in);
  const uint32_t mask_hash = MaskHash(mask);
  Subtable* st = FindSubtable(mask, mask_hash);
  if (st == nullptr) {
    auto owned = std::make_unique<Subtable>();
    st = owned.get();
    st->mask = mask;
    st->mask_hash = mask_hash;
    st->id = next_subtable_id_++;
    st->max_priority = priority;
    by_mask_.emplace(mask_hash, std::move(owned));
    sorted_.push_back(st);
    Resort();
  }

  pkt::FlowKey masked;
  pkt::ApplyMask(key, mask, &masked);
  const uint32_t hash = KeyHash(masked, mask);
  Bucket* b = st->FindBucket(masked, hash);
  if (b == nullptr) {
    auto owned = std::make_unique<Bucket>();
    b = owned.get();
    b->key = masked;
    b->hash = hash;
    st->buckets.emplace(hash, std::move(owned));
  }

  // Same match and priority: replace in place (OpenFlow add-flow semantics).
  for (auto& r : b->rules) {
    if (r->priority == priority) {
      void* old = r->user;
      r->user = user;
      return old;
    }
  }

  auto rule = std::make_unique<OfClsRule>();
  rule->key = masked;
  rule->mask = mask;
  rule->priority = priority;
  rule->user = user;
  rule->seq = next_seq_++;
  // Keep best first: before the first rule of lower priority. (Equal
  // priorities cannot meet here: that case was a replacement above.)
  auto pos = std::find_if(b->rules.begin(), b->rules.end(),
                          [&](const auto& r) { return r->priority < priority; });
  b->rules.insert(pos, std::move(rule));

  st->priorities[priority]++;
  n_rules_++;
  if (priority > st->max_priority) {
    st->max_priority = priority;
    Resort();
  }
  return nullptr;
}

void* OfClassifier::Remove(const pkt::FlowKey& key, const pkt::FlowMask& mask_in,
                           int32_t priority) {
  const pkt::FlowMask mask = Canonical(mask_in);
  const uint32_t mask_hash = MaskHash(mask);
  Subtable* st = FindSubtable(mask, mask_hash);
  if (st == nullptr) return nullptr;
  pkt::FlowKey masked;
  pkt::ApplyMask(key, mask, &masked);
  const uint32_t hash = KeyHash(masked, mask);
  Bucket* b = st->FindBucket(masked, hash);
  if (b == nullptr) return nullptr;
  auto it = std::find_if(b->rules.begin(), b->rules.end(),
                         [&](const auto& r) { return r->priority == priority; });
  if (it == b->rules.end()) return nullptr;
  void* user = (*it)->user;
  b->rules.erase(it);
  n_rules_--;

  if (b->rules.empty()) {
    auto [bit, bend] = st->buckets.equal_range(hash);
    for (; bit != bend; ++bit) {
      if (bit->second.get() == b) {
        st->buckets.erase(bit);
        break;
      }
    }
  }

  auto pit = st->priorities.find(priority);
  if (--pit->second == 0) st->priorities.erase(pit);
  if (st->priorities.empty()) {
    sorted_.erase(std::find(sorted_.begin(), sorted_.end(), st));
    auto [sit, send] = by_mask_.equal_range(mask_hash);
    for (; sit != send; ++sit) {
      if (sit->second.get() == st) {
        by_mask_.erase(sit);
        break;
      }
    }
  } else if (st->priorities.rbegin()->first != st->max_priority) {
    st->max_priority = st->priorities.rbegin()->first;
    Resort();
  }
  return user;
}

const OfClsRule* OfClassifier::Find(const pkt::FlowKey& key, const pkt::FlowMask& mask_in,
                                    int32_t priority) const {
  const pkt::FlowMask mask = Canonical(mask_in);
  const Subtable* st = FindSubtable(mask, MaskHash(mask));
  if (st == nullptr) return nullptr;
  pkt::FlowKey masked;
  pkt::ApplyMask(key, mask, &masked);
  const Bucket* b = st->FindBucket(masked, KeyHash(masked, mask));
  if (b == nullptr) return nullptr;
  for (const auto& r : b->rules)
    if (r->priority == priority) return r.get();
  return nullptr;
}

const OfClsRule* OfClassifier::Lookup(const pkt::FlowKey& key, pkt::FlowMask* wc,
                                      uint32_t* n_searched) const {
  const OfClsRule* best = nullptr;
  uint32_t searched = 0;
  for (const Subtable* st : sorted_) {
    // Tuple priority sorting: nothing in this or any later tuple can beat best.
    if (best != nullptr && best->priority >= st->max_priority) break;
    // Hooks for the caching-aware issue, before the probe: skip the tuple when
    // the metadata partition says it cannot match; consult the prefix tries
    // to skip tuples / un-wildcard fewer address bits; then probe stage by
    // stage, OR-ing only the stages reached. Today: one probe, whole mask.
    searched++;
    if (wc != nullptr) wc->Union(st->mask);
    const Bucket* b = st->FindBucket(key, KeyHash(key, st->mask));
    if (b == nullptr) continue;
    const OfClsRule* r = b->rules.front().get();
    if (best == nullptr || r->priority > best->priority) best = r;
  }
  if (n_searched != nullptr) *n_searched += searched;
  return best;
}

void OfClassifier::ForEach(const std::function<void(const OfClsRule&)>& fn) const {
  for (const Subtable* st : sorted_)
    for (const auto& [hash, b] : st->buckets)
      for (const auto& r : b->rules) fn(*r);
}

}  // namespace dpswitch::cls
