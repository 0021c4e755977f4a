// SPDX-License-Identifier: BSD-3-Clause
// OfClassifier against the brute-force ReferenceOfClassifier on random rules
// and packets, plus the megaflow property of the wildcards it reports: every
// key that agrees with the looked-up key on wc gets the same rule and wc.
#include "classifier/of_classifier.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "packet/field.h"
#include "support/reference_of_classifier.h"

namespace {

using dpswitch::cls::OfClassifier;
using dpswitch::cls::OfClassifierOptions;
using dpswitch::cls::OfLookupStats;
using dpswitch::cls::OfClsRule;
using dpswitch::pkt::FieldId;
using dpswitch::pkt::FieldInfo;
using dpswitch::pkt::FieldValue;
using dpswitch::pkt::FlowKey;
using dpswitch::pkt::FlowMask;
using dpswitch::test::ReferenceOfClassifier;
namespace pkt = dpswitch::pkt;

// The fields random rules match on, and how their masks are drawn.
enum class MaskStyle { kExact, kPrefix, kBitwise };
struct FieldPlan {
  FieldId id;
  MaskStyle style;
};
constexpr FieldPlan kPlan[] = {
    {FieldId::kInPort, MaskStyle::kExact},    {FieldId::kMetadata, MaskStyle::kBitwise},
    {FieldId::kEthDst, MaskStyle::kBitwise},  {FieldId::kEthSrc, MaskStyle::kBitwise},
    {FieldId::kVlanTci, MaskStyle::kBitwise}, {FieldId::kEthType, MaskStyle::kExact},
    {FieldId::kNwSrc, MaskStyle::kPrefix},    {FieldId::kNwDst, MaskStyle::kPrefix},
    {FieldId::kNwProto, MaskStyle::kExact},   {FieldId::kNwTos, MaskStyle::kExact},
    {FieldId::kIpv6Src, MaskStyle::kPrefix},  {FieldId::kIpv6Dst, MaskStyle::kPrefix},
    {FieldId::kArpSha, MaskStyle::kBitwise},  {FieldId::kTpSrc, MaskStyle::kBitwise},
    {FieldId::kTpDst, MaskStyle::kBitwise},   {FieldId::kTcpFlags, MaskStyle::kBitwise},
};
constexpr size_t kPlanSize = std::size(kPlan);

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {
    for (size_t i = 0; i < kPlanSize; i++)
      for (int j = 0; j < 3; j++) pools_[i].push_back(RandomValue(pkt::GetField(kPlan[i].id)));
  }

  uint64_t U64() { return rng_(); }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool Chance(uint32_t percent) { return Below(100) < percent; }

  FieldValue RandomValue(const FieldInfo& f) {
    FieldValue v;
    if (f.is_int) {
      v.u = rng_() & pkt::FullMask(f).u;
    } else {
      for (uint32_t i = 0; i < f.size; i++) v.bytes[i] = static_cast<uint8_t>(rng_());
    }
    return v;
  }

  FieldValue RandomMask(const FieldInfo& f, MaskStyle style) {
    const uint32_t width = pkt::FieldWidth(f);
    FieldValue m = pkt::FullMask(f);
    if (style == MaskStyle::kExact || (style == MaskStyle::kBitwise && Chance(40))) return m;
    if (style == MaskStyle::kPrefix) {
      const uint32_t n = 1 + Below(width);
      if (f.is_int) {
        m.u = (m.u >> (width - n)) << (width - n);
      } else {
        std::memset(m.bytes, 0, sizeof(m.bytes));
        for (uint32_t i = 0; i < n; i++) m.bytes[i / 8] |= 0x80 >> (i % 8);
      }
      return m;
    }
    const FieldValue r = RandomValue(f);  // arbitrary bitwise mask, never empty
    if (f.is_int) return r.u != 0 ? r : m;
    for (uint32_t i = 0; i < f.size; i++)
      if (r.bytes[i] != 0) return r;
    return m;
  }

  // A mask shape: a random subset of the plan's fields with random masks.
  FlowMask RandomShape() {
    FlowKey dummy;
    dummy.Clear();
    FlowMask mask;
    const uint32_t n_fields = Chance(5) ? 0 : 1 + Below(3);  // 0 = the catch-all tuple
    for (uint32_t k = 0; k < n_fields; k++) {
      const FieldPlan& p = kPlan[Below(kPlanSize)];
      const FieldInfo& f = pkt::GetField(p.id);
      pkt::SetFieldMatch(f, FieldValue{}, RandomMask(f, p.style), &dummy, &mask.bits);
    }
    mask.Finalize();
    return mask;
  }

  // A key whose plan fields come from small pools (so rules and packets
  // collide), everything else random.
  FlowKey PoolKey() {
    FlowKey k;
    k.Clear();
    for (uint32_t i = 0; i < pkt::kKeyWords; i++) k.SetWord(i, rng_());
    for (size_t i = 0; i < kPlanSize; i++) {
      if (Chance(50)) continue;
      const FieldInfo& f = pkt::GetField(kPlan[i].id);
      FlowKey dummy;
      dummy.Clear();
      pkt::SetFieldMatch(f, pools_[i][Below(3)], pkt::FullMask(f), &k, &dummy);
    }
    return k;
  }

  // `key` with every bit outside `keep` re-randomised.
  FlowKey Perturb(const FlowKey& key, const FlowMask& keep) {
    FlowKey p = key;
    for (uint32_t i = 0; i < pkt::kKeyWords; i++)
      p.SetWord(i, (key.Word(i) & keep.bits.Word(i)) | (rng_() & ~keep.bits.Word(i)));
    return p;
  }

 private:
  std::mt19937_64 rng_;
  std::vector<FieldValue> pools_[kPlanSize];
};

struct RuleDef {
  FlowKey key;
  FlowMask mask;
  int32_t priority;
};

// Looks `key` up in both; checks the result, then the wc property. The
// samples keep metadata: partitioning relies on it being pipeline state
// (of_classifier.h), and xlate never varies it within a megaflow.
void CheckLookup(const OfClassifier& cls, const ReferenceOfClassifier& ref, const FlowKey& key,
                 Gen* gen, int wc_samples, bool exact_winner) {
  FlowMask wc;
  const OfClsRule* got = cls.Lookup(key, &wc);
  const auto want = ref.Lookup(key);
  if (want.empty()) {
    REQUIRE(got == nullptr);
  } else {
    REQUIRE(got != nullptr);
    REQUIRE(got->priority == want.front()->priority);
    const bool among =
        std::any_of(want.begin(), want.end(), [&](const auto* r) { return r->user == got->user; });
    REQUIRE(among);
    if (exact_winner) REQUIRE(want.size() == 1);
    REQUIRE(pkt::MatchesMasked(key, got->mask, got->key));
    // The winner's own bits are always part of the megaflow.
    for (uint32_t i = 0; i < pkt::kKeyWords; i++)
      REQUIRE((wc.bits.Word(i) & got->mask.bits.Word(i)) == got->mask.bits.Word(i));
  }
  FlowMask keep = wc;
  keep.bits.metadata = ~uint64_t{0};
  for (int s = 0; s < wc_samples; s++) {
    const FlowKey p = gen->Perturb(key, keep);
    FlowMask wc2;
    const OfClsRule* again = cls.Lookup(p, &wc2);
    REQUIRE(again == got);
    REQUIRE(wc2 == wc);
  }
}

void RunRandom(uint64_t seed, int n_shapes, int n_rules, int n_packets, bool distinct_prio,
               const OfClassifierOptions& options = {}) {
  Gen gen(seed);
  std::vector<FlowMask> shapes;
  for (int i = 0; i < n_shapes; i++) shapes.push_back(gen.RandomShape());
  std::vector<int32_t> prios(static_cast<size_t>(n_rules));
  std::iota(prios.begin(), prios.end(), 1);
  std::shuffle(prios.begin(), prios.end(), std::mt19937_64(seed));

  OfClassifier cls(options);
  ReferenceOfClassifier ref;
  std::vector<RuleDef> defs;
  std::vector<int> users(static_cast<size_t>(n_rules));  // addresses serve as user pointers
  for (int i = 0; i < n_rules; i++) {
    RuleDef d;
    d.mask = shapes[gen.Below(static_cast<uint32_t>(shapes.size()))];
    pkt::ApplyMask(gen.PoolKey(), d.mask, &d.key);
    d.priority = distinct_prio ? prios[static_cast<size_t>(i)] : static_cast<int32_t>(gen.Below(8));
    void* user = &users[static_cast<size_t>(i)];
    void* old_cls = cls.Insert(d.key, d.mask, d.priority, user);
    void* old_ref = ref.Insert(d.key, d.mask, d.priority, user);
    REQUIRE(old_cls == old_ref);
    defs.push_back(d);
  }
  REQUIRE(cls.size() == ref.size());

  auto check_packets = [&](int n) {
    for (int i = 0; i < n; i++) {
      FlowKey key;
      const uint32_t kind = gen.Below(100);
      if (kind < 15) {
        key.Clear();
        key = gen.Perturb(key, FlowMask());  // fully random: mostly misses
      } else if (kind < 75 && !defs.empty()) {
        // Near a rule: inside it, the rest random or from the pools.
        const RuleDef& d = defs[gen.Below(static_cast<uint32_t>(defs.size()))];
        const FlowKey base = gen.Chance(50) ? gen.PoolKey() : gen.Perturb(d.key, FlowMask());
        key = base;
        for (uint32_t w = 0; w < pkt::kKeyWords; w++)
          key.SetWord(w, (base.Word(w) & ~d.mask.bits.Word(w)) | d.key.Word(w));
      } else {
        key = gen.PoolKey();
      }
      CheckLookup(cls, ref, key, &gen, 8, /*exact_winner=*/distinct_prio);
    }
  };
  check_packets(n_packets);

  // Churn: remove half the rules (some twice), then check again.
  for (size_t i = 0; i < defs.size(); i += 2) {
    const RuleDef& d = defs[i];
    void* a = cls.Remove(d.key, d.mask, d.priority);
    void* b = ref.Remove(d.key, d.mask, d.priority);
    REQUIRE(a == b);
    REQUIRE(cls.Remove(d.key, d.mask, d.priority) == nullptr);
  }
  REQUIRE(cls.size() == ref.size());
  check_packets(n_packets);

  // Rebuilding the indexes with other options changes no answer.
  OfClassifierOptions flipped = options;
  flipped.staged_lookup = !flipped.staged_lookup;
  flipped.partitioning = !flipped.partitioning;
  cls.SetOptions(flipped);
  check_packets(n_packets / 4);
  cls.SetOptions(options);
  check_packets(n_packets / 4);
}

}  // namespace

TEST_CASE("OfClassifier matches the reference with distinct priorities", "[of_classifier]") {
  for (uint64_t seed = 1; seed <= 20; seed++) {
    CAPTURE(seed);
    RunRandom(seed, 12, 300, 1500, /*distinct_prio=*/true);
  }
}

TEST_CASE("OfClassifier matches the reference with priority ties", "[of_classifier]") {
  for (uint64_t seed = 100; seed <= 115; seed++) {
    CAPTURE(seed);
    RunRandom(seed, 8, 200, 1500, /*distinct_prio=*/false);
  }
}

// Every combination of the caching-aware optimisations (and no tries at all)
// gives the reference's answers and honest wildcards.
TEST_CASE("OfClassifier matches the reference under every optimisation mix", "[of_classifier]") {
  for (uint32_t combo = 0; combo < 32; combo++) {
    OfClassifierOptions o;
    o.priority_sorting = combo & 1;
    o.staged_lookup = combo & 2;
    o.port_tracking = combo & 4;
    o.partitioning = combo & 8;
    if (combo & 16) o.prefix_fields.clear();
    for (uint64_t seed = 300; seed < 302; seed++) {
      CAPTURE(combo, seed);
      RunRandom(seed + combo * 7, 16, 250, 600, /*distinct_prio=*/(combo & 1) != 0, o);
    }
  }
}

TEST_CASE("OfClassifier many tuples, few rules each", "[of_classifier]") {
  for (uint64_t seed = 7; seed <= 9; seed++) {
    CAPTURE(seed);
    RunRandom(seed, 150, 400, 2000, /*distinct_prio=*/true);
  }
}

TEST_CASE("OfClassifier replace, remove, find", "[of_classifier]") {
  OfClassifier cls;
  FlowKey k;
  k.Clear();
  k.nw_dst = 0x0a000001;
  FlowMask m;
  m.bits.nw_dst = 0xff000000;
  m.Finalize();
  int a = 0, b = 0;
  REQUIRE(cls.Insert(k, m, 10, &a) == nullptr);
  REQUIRE(cls.Insert(k, m, 10, &b) == &a);  // same match+priority: replaced
  REQUIRE(cls.size() == 1);
  const OfClsRule* r = cls.Find(k, m, 10);
  REQUIRE(r != nullptr);
  REQUIRE(r->user == &b);
  REQUIRE(r->key.nw_dst == 0x0a000000);  // stored masked
  REQUIRE(cls.Find(k, m, 11) == nullptr);
  REQUIRE(cls.Insert(k, m, 11, &a) == nullptr);
  REQUIRE(cls.size() == 2);
  REQUIRE(cls.SubtableCount() == 1);
  FlowKey pkt_key;
  pkt_key.Clear();
  pkt_key.nw_dst = 0x0a010203;
  REQUIRE(cls.Lookup(pkt_key, nullptr)->user == &a);  // priority 11 wins
  REQUIRE(cls.Remove(k, m, 11) == &a);
  REQUIRE(cls.Lookup(pkt_key, nullptr)->user == &b);
  REQUIRE(cls.Remove(k, m, 10) == &b);
  REQUIRE(cls.size() == 0);
  REQUIRE(cls.SubtableCount() == 0);
  REQUIRE(cls.Lookup(pkt_key, nullptr) == nullptr);
}

TEST_CASE("OfClassifier priority sorting keeps wildcards narrow", "[of_classifier]") {
  // High priority on nw_dst, low priority on tp_dst: a packet that hits the
  // high-priority rule must not un-wildcard tp_dst (early exit).
  OfClassifier cls;
  int hi = 0, lo = 0;
  FlowKey k;
  k.Clear();
  k.nw_dst = 0x0a000000;
  FlowMask m1;
  m1.bits.nw_dst = 0xff000000;
  m1.Finalize();
  cls.Insert(k, m1, 100, &hi);
  FlowKey k2;
  k2.Clear();
  k2.tp_dst = 80;
  FlowMask m2;
  m2.bits.tp_dst = 0xffff;
  m2.Finalize();
  cls.Insert(k2, m2, 50, &lo);

  FlowKey p;
  p.Clear();
  p.nw_dst = 0x0a0b0c0d;
  p.tp_dst = 80;
  FlowMask wc;
  OfLookupStats stats;
  REQUIRE(cls.Lookup(p, &wc, &stats)->user == &hi);
  REQUIRE(stats.tuples_probed == 1);
  REQUIRE(stats.early_exits == 1);
  REQUIRE(wc.bits.tp_dst == 0);
  REQUIRE(wc.bits.nw_dst == 0xff000000);

  // A miss in the first tuple searches the second, so both are in wc.
  p.nw_dst = 0x0b000000;
  FlowMask wc2;
  REQUIRE(cls.Lookup(p, &wc2)->user == &lo);
  REQUIRE(wc2.bits.tp_dst == 0xffff);
  REQUIRE(wc2.bits.nw_dst == 0xff000000);

  // Raising the tp_dst tuple's priority reorders the search.
  cls.Insert(k2, m2, 200, &lo);
  p.nw_dst = 0x0a000000;
  p.tp_dst = 81;
  FlowMask wc3;
  REQUIRE(cls.Lookup(p, &wc3)->user == &hi);
  REQUIRE(wc3.bits.tp_dst == 0xffff);
}
