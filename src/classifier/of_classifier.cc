// SPDX-License-Identifier: BSD-3-Clause
#include "classifier/of_classifier.h"

#include <algorithm>
#include <bit>
#include <map>
#include <stdexcept>
#include <string>

#include "classifier/hash.h"
#include "classifier/stage_index.h"

namespace dpswitch::cls {
namespace {

using pkt::FlowKey;
using pkt::FlowMask;
using pkt::WordMap;

// Tag of a tuple that partitioning never skips (its metadata is not exact).
constexpr uint64_t kTagAll = ~uint64_t{0};
constexpr uint32_t kPortsWord = offsetof(FlowKey, tp_src) / 8;

// The words of stage s alone.
constexpr WordMap StageWords(uint32_t s) {
  const uint32_t begin = s == 0 ? 0 : pkt::kStageEnd[s - 1];
  return ((WordMap{1} << pkt::kStageEnd[s]) - 1) & ~((WordMap{1} << begin) - 1);
}

uint32_t MaskHash(const FlowMask& mask) { return HashWords(mask.bits.Words(), pkt::kKeyWords); }

uint32_t KeyHash(const FlowKey& key, const FlowMask& mask) {
  return HashMaskedWords(key.Words(), mask.bits.Words(), mask.map);
}

// Canonical copy of a mask: padding words beyond kKeyWords zero, map right.
FlowMask Canonical(const FlowMask& in) {
  FlowMask m;
  for (uint32_t i = 0; i < pkt::kKeyWords; i++) m.bits.SetWord(i, in.bits.Word(i));
  m.Finalize();
  return m;
}

// wc |= mask on the words of `map`.
void UnionWords(FlowMask* wc, const FlowMask& mask, WordMap map) {
  wc->map |= map & mask.map;
  while (map) {
    const uint32_t i = static_cast<uint32_t>(std::countr_zero(map));
    map &= map - 1;
    wc->bits.SetWord(i, wc->bits.Word(i) | mask.bits.Word(i));
  }
}

// The first n bits of a 32-bit string.
uint32_t Prefix32(unsigned n) { return n == 0 ? 0 : ~uint32_t{0} << (32 - n); }

void ValidatePrefixFields(const std::vector<pkt::FieldId>& fields) {
  if (fields.size() > kMaxPrefixFields)
    throw std::invalid_argument("at most " + std::to_string(kMaxPrefixFields) + " prefix fields");
  for (size_t i = 0; i < fields.size(); i++) {
    const char* name = pkt::GetField(fields[i]).name;
    if (!IsPrefixField(fields[i]))
      throw std::invalid_argument(std::string(name) +
                                  " cannot have a prefix trie (nw_src, nw_dst, ipv6_src, ipv6_dst)");
    for (size_t j = 0; j < i; j++)
      if (fields[j] == fields[i]) throw std::invalid_argument(std::string(name) + " listed twice");
  }
}

}  // namespace

OfLookupStats& OfLookupStats::operator+=(const OfLookupStats& o) noexcept {
  lookups += o.lookups;
  hits += o.hits;
  tuples_probed += o.tuples_probed;
  stage_exits += o.stage_exits;
  skipped_by_prefix += o.skipped_by_prefix;
  skipped_by_partition += o.skipped_by_partition;
  port_trie_exits += o.port_trie_exits;
  early_exits += o.early_exits;
  return *this;
}

// The rules of one tuple that share one masked key, best first: descending
// priority, then ascending seq (older first).
struct alignas(64) OfClassifier::Bucket {
  FlowKey key;                                    // the shared masked key
  uint32_t hash;                                  // HashMaskedWords of key over the tuple's map
  std::vector<std::unique_ptr<OfClsRule>> rules;  // never empty while linked
};

// One tuple: every rule with this exact mask. Grouped by who reads what:
// the lookup reads the first block; only writers touch the last.
struct alignas(64) OfClassifier::Subtable {
  // --- read by every lookup that reaches the tuple ---------------------------
  int32_t max_priority = 0;        // highest priority of any rule here (search order key)
  uint8_t n_probes = 1;            // hash probes: one per non-empty stage (1 if not staged)
  uint8_t trie_probes = 0;         // bit i: some trie is checked before probe i
  uint64_t tag = kTagAll;          // partition tag bit, or kTagAll
  WordMap probe_maps[pkt::kNumStages] = {};      // words each probe adds (disjoint, ascending)
  uint8_t trie_plen[kMaxPrefixFields] = {};      // prefix length on trie j's field (0: unused)
  uint8_t trie_probe[kMaxPrefixFields] = {};     // probe before which trie j is checked
  uint32_t ports_mask = 0;                       // tp_src.tp_dst mask bits when ports_trie is kept
  uint8_t ports_len = 0;                         // length of the ports strings in ports_trie
  StageIndex indices[pkt::kNumStages - 1];       // stage hashes of probes 0..n_probes-2
  FlowMask mask;                                 // the tuple's mask
  // masked-key hash -> buckets (collisions resolved with MatchesMasked).
  std::unordered_multimap<uint32_t, std::unique_ptr<Bucket>> buckets;
  std::unique_ptr<PrefixTrie> ports_trie;        // (ports & ports_mask) of every bucket

  // --- writers only -----------------------------------------------------------
  uint32_t mask_hash = 0;  // key in OfClassifier::by_mask_
  uint64_t id = 0;         // creation order: tie-break of the search order, tag bit
  // priority -> number of rules with it; rbegin() gives max_priority on removal.
  std::map<int32_t, uint32_t> priorities;

  Bucket* FindBucket(const FlowKey& key, uint32_t hash) const {
    auto [it, end] = buckets.equal_range(hash);
    for (; it != end; ++it)
      if (pkt::MatchesMasked(key, mask, it->second->key)) return it->second.get();
    return nullptr;
  }
};

// The tuples holding rules for one exact metadata value.
struct OfClassifier::Partition {
  uint64_t tags = 0;                                  // OR of their tag bits
  std::vector<std::pair<uint8_t, uint32_t>> counts;  // tag bit -> buckets with it
};

// One packet's answer from prefix trie j, computed on first need.
struct OfClassifier::TrieContext {
  bool done = false;
  unsigned nbits = 0;     // leading bits the trie walk examined
  PrefixLengths plens;  // prefix lengths with a rule matching the packet
};

OfClassifier::OfClassifier(OfClassifierOptions options) {
  ValidatePrefixFields(options.prefix_fields);
  options_ = std::move(options);
  for (pkt::FieldId f : options_.prefix_fields)
    tries_.emplace_back(pkt::FieldWidth(pkt::GetField(f)));
}

OfClassifier::~OfClassifier() = default;

void OfClassifier::SetOptions(OfClassifierOptions options) {
  ValidatePrefixFields(options.prefix_fields);
  options_ = std::move(options);
  RebuildIndexes();
}

size_t OfClassifier::TrieNodeCount() const noexcept {
  size_t n = 0;
  for (const PrefixTrie& t : tries_) n += t.NodeCount();
  for (const Subtable* st : sorted_)
    if (st->ports_trie) n += st->ports_trie->NodeCount();
  return n;
}

OfClassifier::Subtable* OfClassifier::FindSubtable(const FlowMask& mask,
                                                   uint32_t mask_hash) const {
  auto [it, end] = by_mask_.equal_range(mask_hash);
  for (; it != end; ++it)
    if (it->second->mask == mask) return it->second.get();
  return nullptr;
}

void OfClassifier::ConfigureSubtable(Subtable* st) const {
  const FlowMask& m = st->mask;
  st->n_probes = 0;
  if (options_.staged_lookup) {
    for (uint32_t s = 0; s < pkt::kNumStages; s++) {
      const WordMap words = m.map & StageWords(s);
      if (words) st->probe_maps[st->n_probes++] = words;
    }
  }
  if (st->n_probes == 0) st->probe_maps[st->n_probes++] = m.map;  // not staged, or match-all
  for (uint32_t i = st->n_probes; i < pkt::kNumStages; i++) st->probe_maps[i] = 0;

  st->trie_probes = 0;
  for (size_t j = 0; j < kMaxPrefixFields; j++) {
    st->trie_plen[j] = 0;
    st->trie_probe[j] = 0;
    if (j >= options_.prefix_fields.size()) continue;
    const pkt::FieldId f = options_.prefix_fields[j];
    const std::optional<unsigned> plen = PrefixFieldMaskLen(m, f);
    if (!plen || *plen == 0) continue;  // not a CIDR mask, or wildcarded: no trie
    const WordMap field_word = WordMap{1} << (pkt::GetField(f).offset / 8);
    uint8_t probe = 0;
    while (!(st->probe_maps[probe] & field_word)) probe++;
    st->trie_plen[j] = static_cast<uint8_t>(*plen);
    st->trie_probe[j] = probe;
    st->trie_probes |= static_cast<uint8_t>(1u << probe);
  }

  // The ports trie replaces the last probe's un-wildcarding, so it needs the
  // ports in the last probe (always true: L4 is the last stage).
  const uint32_t ports = PortsBits(m.bits);
  const bool ports_last = (st->probe_maps[st->n_probes - 1] >> kPortsWord) & 1;
  st->ports_mask = options_.port_tracking && ports && ports_last ? ports : 0;
  st->ports_len = st->ports_mask ? static_cast<uint8_t>(32 - std::countr_zero(st->ports_mask)) : 0;
  st->ports_trie = st->ports_mask ? std::make_unique<PrefixTrie>(32) : nullptr;

  st->tag = options_.partitioning && m.bits.metadata == ~uint64_t{0}
                ? uint64_t{1} << (st->id % 64)
                : kTagAll;
}

void OfClassifier::IndexBucket(Subtable* st, const Bucket& b, int delta) {
  const uint64_t* kw = b.key.Words();
  const uint64_t* mw = st->mask.bits.Words();
  uint32_t hash = kHashBasis;
  for (uint32_t i = 0; i + 1 < st->n_probes; i++) {
    hash = HashMaskedWords(kw, mw, st->probe_maps[i], hash);
    if (delta > 0) {
      st->indices[i].Add(hash);
    } else {
      st->indices[i].Remove(hash);
    }
  }

  for (size_t j = 0; j < options_.prefix_fields.size(); j++) {
    if (st->trie_plen[j] == 0) continue;
    const PrefixValue v = PrefixFieldValue(b.key, options_.prefix_fields[j]);
    if (delta > 0) {
      tries_[j].Insert(v, st->trie_plen[j]);
    } else {
      tries_[j].Remove(v, st->trie_plen[j]);
    }
  }

  if (st->ports_trie) {
    const PrefixValue v = PortsValue(PortsBits(b.key) & st->ports_mask);
    if (delta > 0) {
      st->ports_trie->Insert(v, st->ports_len);
    } else {
      st->ports_trie->Remove(v, st->ports_len);
    }
  }

  if (st->tag != kTagAll) {
    const uint8_t bit = static_cast<uint8_t>(std::countr_zero(st->tag));
    Partition& p = partitions_[b.key.metadata];
    auto it = std::find_if(p.counts.begin(), p.counts.end(),
                           [bit](const auto& c) { return c.first == bit; });
    if (delta > 0) {
      if (it == p.counts.end()) {
        p.counts.emplace_back(bit, 1);
      } else {
        it->second++;
      }
      p.tags |= st->tag;
    } else if (it != p.counts.end() && --it->second == 0) {
      p.counts.erase(it);
      p.tags &= ~st->tag;
      if (p.counts.empty()) partitions_.erase(b.key.metadata);
    }
  }
}

void OfClassifier::RebuildIndexes() {
  tries_.clear();
  for (pkt::FieldId f : options_.prefix_fields)
    tries_.emplace_back(pkt::FieldWidth(pkt::GetField(f)));
  partitions_.clear();
  for (Subtable* st : sorted_) {
    for (StageIndex& idx : st->indices) idx.Clear();
    ConfigureSubtable(st);
    for (const auto& [hash, b] : st->buckets) IndexBucket(st, *b, +1);
  }
}

OfClassifier::Subtable* OfClassifier::CreateSubtable(const FlowMask& mask, uint32_t mask_hash,
                                                     int32_t priority) {
  auto owned = std::make_unique<Subtable>();
  Subtable* st = owned.get();
  st->mask = mask;
  st->mask_hash = mask_hash;
  st->id = next_subtable_id_++;
  st->max_priority = priority;
  ConfigureSubtable(st);
  by_mask_.emplace(mask_hash, std::move(owned));
  sorted_.push_back(st);
  Reposition(st);
  return st;
}

void OfClassifier::DestroySubtable(Subtable* st) {
  sorted_.erase(std::find(sorted_.begin(), sorted_.end(), st));
  auto [it, end] = by_mask_.equal_range(st->mask_hash);
  for (; it != end; ++it) {
    if (it->second.get() == st) {
      by_mask_.erase(it);
      return;
    }
  }
}

void OfClassifier::Reposition(Subtable* st) {
  sorted_.erase(std::find(sorted_.begin(), sorted_.end(), st));
  const auto before = [](const Subtable* a, const Subtable* b) {
    if (a->max_priority != b->max_priority) return a->max_priority > b->max_priority;
    return a->id < b->id;
  };
  sorted_.insert(std::lower_bound(sorted_.begin(), sorted_.end(), st, before), st);
}

void* OfClassifier::Insert(const FlowKey& key, const FlowMask& mask_in, int32_t priority,
                           void* user) {
  const FlowMask mask = Canonical(mask_in);
  const uint32_t mask_hash = MaskHash(mask);
  Subtable* st = FindSubtable(mask, mask_hash);
  if (st == nullptr) st = CreateSubtable(mask, mask_hash, priority);

  FlowKey masked;
  pkt::ApplyMask(key, mask, &masked);
  const uint32_t hash = KeyHash(masked, mask);
  Bucket* b = st->FindBucket(masked, hash);
  if (b == nullptr) {
    auto owned = std::make_unique<Bucket>();
    b = owned.get();
    b->key = masked;
    b->hash = hash;
    st->buckets.emplace(hash, std::move(owned));
    IndexBucket(st, *b, +1);
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
    Reposition(st);
  }
  return nullptr;
}

void* OfClassifier::Remove(const FlowKey& key, const FlowMask& mask_in, int32_t priority) {
  const FlowMask mask = Canonical(mask_in);
  Subtable* st = FindSubtable(mask, MaskHash(mask));
  if (st == nullptr) return nullptr;
  FlowKey masked;
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
    IndexBucket(st, *b, -1);
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
    DestroySubtable(st);
  } else if (st->priorities.rbegin()->first != st->max_priority) {
    st->max_priority = st->priorities.rbegin()->first;
    Reposition(st);
  }
  return user;
}

const OfClsRule* OfClassifier::Find(const FlowKey& key, const FlowMask& mask_in,
                                    int32_t priority) const {
  const FlowMask mask = Canonical(mask_in);
  const Subtable* st = FindSubtable(mask, MaskHash(mask));
  if (st == nullptr) return nullptr;
  FlowKey masked;
  pkt::ApplyMask(key, mask, &masked);
  const Bucket* b = st->FindBucket(masked, KeyHash(masked, mask));
  if (b == nullptr) return nullptr;
  for (const auto& r : b->rules)
    if (r->priority == priority) return r.get();
  return nullptr;
}

const OfClsRule* OfClassifier::SearchSubtable(const Subtable& st, const FlowKey& key,
                                              FlowMask* wc, TrieContext* tries,
                                              OfLookupStats* stats) const {
  const uint64_t* kw = key.Words();
  const uint64_t* mw = st.mask.bits.Words();
  uint32_t hash = kHashBasis;
  WordMap reached = 0;  // words of the probes made so far
  uint32_t passed = 0;  // bit j: trie j was checked and let the tuple through
  for (uint32_t i = 0; i < st.n_probes; i++) {
    // Prefix tracking, just before the probe that would hash the field.
    if ((st.trie_probes >> i) & 1) {
      for (size_t j = 0; j < tries_.size(); j++) {
        if (st.trie_plen[j] == 0 || st.trie_probe[j] != i) continue;
        TrieContext& t = tries[j];
        const pkt::FieldId field = options_.prefix_fields[j];
        if (!t.done) {
          t.nbits = tries_[j].Lookup(PrefixFieldValue(key, field), &t.plens);
          t.done = true;
        }
        const unsigned plen = st.trie_plen[j];
        if (!t.plens.Has(plen)) {
          // No rule anywhere in the table has this tuple's prefix length and
          // the packet's first plen bits; that depends on at most the bits
          // the walk examined, and on no more than plen bits. The stages
          // probed so far are folded in too (see the header).
          // Tries checked before that let the tuple through did so on their
          // first plen bits; folding those in keeps the path stable too.
          if (wc != nullptr) {
            UnionWords(wc, st.mask, reached);
            UnwildcardPrefix(wc, field, std::min(t.nbits, plen));
            for (size_t k = 0; k < j; k++)
              if ((passed >> k) & 1) UnwildcardPrefix(wc, options_.prefix_fields[k], st.trie_plen[k]);
          }
          stats->skipped_by_prefix++;
          return nullptr;
        }
        passed |= 1u << j;
      }
    }
    if (i == 0) stats->tuples_probed++;
    hash = HashMaskedWords(kw, mw, st.probe_maps[i], hash);
    reached |= st.probe_maps[i];
    if (i + 1 < st.n_probes && !st.indices[i].Contains(hash)) {
      if (wc != nullptr) UnionWords(wc, st.mask, reached);
      stats->stage_exits++;
      return nullptr;
    }
  }

  const Bucket* b = st.FindBucket(key, hash);
  if (b != nullptr) {
    if (wc != nullptr) wc->Union(st.mask);
    return b->rules.front().get();
  }
  if (st.ports_trie != nullptr && wc != nullptr) {
    PrefixLengths plens;
    const uint32_t value = PortsBits(key) & st.ports_mask;
    const unsigned nbits = st.ports_trie->Lookup(PortsValue(value), &plens);
    if (!plens.Has(st.ports_len)) {
      // No rule of the tuple has these ports: the port bits the walk
      // examined explain the miss, with the stages that led here.
      UnionWords(wc, st.mask, reached & ~st.probe_maps[st.n_probes - 1]);
      UnwildcardPorts(wc, st.ports_mask & Prefix32(nbits));
      // The tries that let the tuple through (already in `reached` when
      // staged; not when the only probe is this one).
      for (size_t j = 0; j < tries_.size(); j++)
        if ((passed >> j) & 1) UnwildcardPrefix(wc, options_.prefix_fields[j], st.trie_plen[j]);
      stats->port_trie_exits++;
      return nullptr;
    }
  }
  if (wc != nullptr) wc->Union(st.mask);
  return nullptr;
}

const OfClsRule* OfClassifier::Lookup(const FlowKey& key, FlowMask* wc,
                                      OfLookupStats* stats) const {
  OfLookupStats local;
  OfLookupStats* s = stats != nullptr ? stats : &local;
  s->lookups++;

  // Partitioning: the tags of the tuples that have rules for this metadata;
  // none when no rule matches this metadata exactly.
  uint64_t tags = kTagAll;
  if (options_.partitioning && !partitions_.empty()) {
    auto it = partitions_.find(key.metadata);
    tags = it == partitions_.end() ? 0 : it->second.tags;
  }

  TrieContext tries[kMaxPrefixFields];
  const OfClsRule* best = nullptr;
  for (const Subtable* st : sorted_) {
    // Tuple priority sorting: nothing in this or any later tuple can beat best.
    if (best != nullptr && best->priority >= st->max_priority && options_.priority_sorting) {
      s->early_exits++;
      break;
    }
    if (st->tag != kTagAll && (st->tag & tags) == 0) {
      s->skipped_by_partition++;
      continue;
    }
    const OfClsRule* r = SearchSubtable(*st, key, wc, tries, s);
    if (r != nullptr && (best == nullptr || r->priority > best->priority)) best = r;
  }
  if (best != nullptr) s->hits++;
  return best;
}

void OfClassifier::ForEach(const std::function<void(const OfClsRule&)>& fn) const {
  for (const Subtable* st : sorted_)
    for (const auto& [hash, b] : st->buckets)
      for (const auto& r : b->rules) fn(*r);
}

}  // namespace dpswitch::cls
