// SPDX-License-Identifier: BSD-3-Clause
// PrefixTrie tests: the NSDI'15 example by hand, then random inserts,
// removes and lookups checked against a brute-force reference (a counted set
// of (prefix, length) pairs scanned linearly), including the property that
// justifies un-wildcarding only n bits: every value agreeing with the looked-up
// one on its first n bits gets exactly the same prefix lengths.
//
// Every random test uses a fixed seed, so a failure reproduces exactly.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "classifier/prefix_trie.h"

using dpswitch::cls::PrefixLengths;
using dpswitch::cls::PrefixTrie;
using dpswitch::cls::PrefixValue;

namespace {

PrefixValue Ip4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return PrefixValue{static_cast<uint64_t>(a << 24 | b << 16 | c << 8 | d) << 32, 0};
}

constexpr PrefixValue kOnes{~uint64_t{0}, ~uint64_t{0}};

// value's first n bits, then rest's bits.
PrefixValue Splice(const PrefixValue& value, unsigned n, const PrefixValue& rest) {
  const PrefixValue m = kOnes.Truncated(n);
  return {(value.hi & m.hi) | (rest.hi & ~m.hi), (value.lo & m.lo) | (rest.lo & ~m.lo)};
}

bool SameLengths(const PrefixLengths& a, const PrefixLengths& b) {
  return a.w[0] == b.w[0] && a.w[1] == b.w[1];
}

// The brute-force reference: every distinct stored prefix with its count.
class ReferenceTrie {
 public:
  void Insert(const PrefixValue& v, unsigned len) { counts_[Key(v.Truncated(len), len)]++; }
  bool Remove(const PrefixValue& v, unsigned len) {
    auto it = counts_.find(Key(v.Truncated(len), len));
    if (it == counts_.end()) return false;
    if (--it->second == 0) counts_.erase(it);
    return true;
  }
  PrefixLengths Lookup(const PrefixValue& v) const {
    PrefixLengths plens;
    for (const auto& [k, count] : counts_) {
      const auto& [hi, lo, len] = k;
      if (v.Truncated(len) == PrefixValue{hi, lo}) plens.Set(len);
    }
    return plens;
  }
  size_t distinct() const { return counts_.size(); }
  size_t size() const {
    size_t n = 0;
    for (const auto& kv : counts_) n += kv.second;
    return n;
  }
  // The i-th distinct prefix (for drawing stored prefixes at random).
  std::pair<PrefixValue, unsigned> Nth(size_t i) const {
    auto it = counts_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(i));
    const auto& [hi, lo, len] = it->first;
    return {PrefixValue{hi, lo}, len};
  }

 private:
  using KeyT = std::tuple<uint64_t, uint64_t, unsigned>;
  static KeyT Key(const PrefixValue& v, unsigned len) { return {v.hi, v.lo, len}; }
  std::map<KeyT, int> counts_;
};

// Random bit strings that share structure, so that prefixes nest, collide
// and branch: a few base values, each mutated in a few random bits.
class ValueGen {
 public:
  ValueGen(uint32_t seed, unsigned width) : rng_(seed), width_(width) {
    for (int i = 0; i < 6; i++) bases_.push_back(Random());
  }
  PrefixValue Random() { return {rng_(), rng_()}; }
  PrefixValue Near() {
    PrefixValue v = bases_[rng_() % bases_.size()];
    const int flips = static_cast<int>(rng_() % 4);
    for (int i = 0; i < flips; i++) Flip(&v, static_cast<unsigned>(rng_() % width_));
    return v;
  }
  PrefixValue Any() { return rng_() % 8 == 0 ? Random() : Near(); }
  unsigned Len() {
    // Half of the lengths short, so that there are many nested prefixes.
    return rng_() % 2 ? 1 + static_cast<unsigned>(rng_() % width_)
                      : 1 + static_cast<unsigned>(rng_() % std::min(width_, 12u));
  }
  uint64_t Next() { return rng_(); }

  static void Flip(PrefixValue* v, unsigned bit) {
    if (bit < 64)
      v->hi ^= uint64_t{1} << (63 - bit);
    else
      v->lo ^= uint64_t{1} << (127 - bit);
  }

 private:
  std::mt19937_64 rng_;
  unsigned width_;
  std::vector<PrefixValue> bases_;
};

// How often lookups hit the interesting cases, so that a generator change
// that made them rare would fail the test instead of silently weakening it.
struct Coverage {
  int lookups = 0;
  int hits = 0;     // plens not empty
  int multi = 0;    // two or more lengths (nested prefixes)
  int partial = 0;  // 0 < n < width: the walk stopped early
  int deep = 0;     // a length over width / 2 matched
};

// Looks `v` up in both and checks plens, the bound on n, and the n property
// on random values agreeing with v on the first n bits.
void CheckLookup(const PrefixTrie& trie, const ReferenceTrie& ref, const PrefixValue& v,
                 ValueGen* gen, Coverage* cov) {
  PrefixLengths plens;
  const unsigned n = trie.Lookup(v, &plens);
  cov->lookups++;
  cov->hits += !plens.Empty();
  cov->multi += std::popcount(plens.w[0]) + std::popcount(plens.w[1]) >= 2;
  cov->partial += n > 0 && n < trie.width();
  for (unsigned len = trie.width() / 2 + 1; len <= trie.width(); len++) {
    if (plens.Has(len)) {
      cov->deep++;
      break;
    }
  }
  const PrefixLengths expected = ref.Lookup(v);
  INFO("value " << std::hex << v.hi << ":" << v.lo << std::dec << " n " << n);
  REQUIRE(SameLengths(plens, expected));
  REQUIRE(n <= trie.width());
  if (ref.distinct() == 0) REQUIRE(n == 0);

  for (int i = 0; i < 8; i++) {
    // Half fully random tails, half tails taken from a stored prefix (the
    // values that would expose a too-small n), with one bit flipped.
    PrefixValue rest = gen->Random();
    if (i % 2 && ref.distinct() > 0) {
      rest = ref.Nth(gen->Next() % ref.distinct()).first;
      ValueGen::Flip(&rest, static_cast<unsigned>(gen->Next() % trie.width()));
    }
    const PrefixValue w = Splice(v, n, rest);
    PrefixLengths other;
    const unsigned n2 = trie.Lookup(w, &other);
    INFO("agreeing value " << std::hex << w.hi << ":" << w.lo);
    REQUIRE(SameLengths(other, plens));
    REQUIRE(n2 == n);  // the walk itself is the same, so n is too
    REQUIRE(SameLengths(ref.Lookup(w), expected));

    // What OfClassifier relies on when it skips a tuple of prefix length L:
    // un-wildcarding min(n, L) bits gives every such value the same answer
    // for L and the same min(n, L).
    const unsigned len = 1 + static_cast<unsigned>(gen->Next() % trie.width());
    const unsigned m = std::min(n, len);
    const PrefixValue x = Splice(v, m, rest);
    PrefixLengths xl;
    const unsigned nx = trie.Lookup(x, &xl);
    INFO("length " << len << " value " << std::hex << x.hi << ":" << x.lo);
    REQUIRE(std::min(nx, len) == m);
    REQUIRE(xl.Has(len) == plens.Has(len));
  }
}

void RunRandom(unsigned width, uint32_t seed, int ops) {
  ValueGen gen(seed, width);
  PrefixTrie trie(width);
  ReferenceTrie ref;
  Coverage cov;
  // Lookup values: a third are a stored prefix with a random tail (deep
  // hits), the rest near or far from the stored ones.
  auto probe = [&] {
    if (gen.Next() % 3 == 0 && ref.distinct() > 0) {
      const auto [v, len] = ref.Nth(gen.Next() % ref.distinct());
      return Splice(v, len, gen.Random());
    }
    return gen.Any();
  };
  std::vector<std::pair<PrefixValue, unsigned>> inserted;  // for removes that hit

  for (int op = 0; op < ops; op++) {
    const uint64_t r = gen.Next() % 100;
    if (r < 45) {
      PrefixValue v = gen.Any();
      unsigned len = gen.Len();
      if (r < 10 && !inserted.empty()) std::tie(v, len) = inserted[gen.Next() % inserted.size()];
      trie.Insert(v, len);
      ref.Insert(v, len);
      inserted.emplace_back(v, len);
    } else if (r < 75) {
      PrefixValue v = gen.Any();
      unsigned len = gen.Len();
      if (r < 65 && !inserted.empty()) {
        // Same prefix with different bits past its length: still a hit.
        const size_t i = gen.Next() % inserted.size();
        std::tie(v, len) = inserted[i];
        v = Splice(v, len, gen.Random());
        inserted[i] = inserted.back();
        inserted.pop_back();
      }
      const bool expected = ref.Remove(v, len);
      REQUIRE(trie.Remove(v, len) == expected);
    } else {
      CheckLookup(trie, ref, probe(), &gen, &cov);
    }
    REQUIRE(trie.size() == ref.size());
    REQUIRE(trie.NodeCount() <= 2 * ref.distinct());
  }

  // Lookups on the final trie, then empty it completely.
  for (int i = 0; i < 2000; i++) CheckLookup(trie, ref, probe(), &gen, &cov);
  while (ref.distinct() > 0) {
    const auto [v, len] = ref.Nth(gen.Next() % ref.distinct());
    REQUIRE(ref.Remove(v, len));
    REQUIRE(trie.Remove(v, len));
    REQUIRE(trie.NodeCount() <= 2 * ref.distinct());
    if (gen.Next() % 16 == 0) CheckLookup(trie, ref, gen.Any(), &gen, &cov);
  }
  REQUIRE(trie.size() == 0);
  REQUIRE(trie.NodeCount() == 0);
  INFO("lookups " << cov.lookups << " hits " << cov.hits << " multi " << cov.multi << " partial "
                  << cov.partial << " deep " << cov.deep);
  REQUIRE(cov.hits * 4 > cov.lookups);
  REQUIRE(cov.multi * 10 > cov.lookups);
  // (At width 5 almost every walk reaches a full-length leaf.)
  if (width >= 32) REQUIRE(cov.partial * 4 > cov.lookups);
  REQUIRE(cov.deep * 10 > cov.lookups);
  PrefixLengths plens;
  REQUIRE(trie.Lookup(gen.Any(), &plens) == 0);
  REQUIRE(plens.Empty());
}

}  // namespace

TEST_CASE("PrefixValue Truncated and FirstDifference", "[prefix_trie]") {
  const PrefixValue v{0x0123456789abcdefull, 0xfedcba9876543210ull};
  REQUIRE(v.Truncated(0) == PrefixValue{});
  REQUIRE(v.Truncated(4) == PrefixValue{0x0000000000000000ull, 0});
  REQUIRE(v.Truncated(8) == PrefixValue{0x0100000000000000ull, 0});
  REQUIRE(v.Truncated(64) == PrefixValue{v.hi, 0});
  REQUIRE(v.Truncated(65) == PrefixValue{v.hi, 0x8000000000000000ull});
  REQUIRE(v.Truncated(127) == PrefixValue{v.hi, 0xfedcba9876543210ull});
  REQUIRE(v.Truncated(120) == PrefixValue{v.hi, 0xfedcba9876543200ull});
  REQUIRE(v.Truncated(128) == v);

  REQUIRE(PrefixValue::FirstDifference(v, v) == 128);
  REQUIRE(PrefixValue::FirstDifference(PrefixValue{}, PrefixValue{1ull << 63, 0}) == 0);
  REQUIRE(PrefixValue::FirstDifference(PrefixValue{}, PrefixValue{1, 0}) == 63);
  REQUIRE(PrefixValue::FirstDifference(PrefixValue{}, PrefixValue{0, 1ull << 63}) == 64);
  REQUIRE(PrefixValue::FirstDifference(v, PrefixValue{v.hi, v.lo ^ 1}) == 127);
  REQUIRE(PrefixValue::FirstDifference(Ip4(10, 5, 6, 7), Ip4(10, 1, 2, 3)) == 13);
}

TEST_CASE("PrefixTrie: the 10/8 and 10.1.2.3/32 example", "[prefix_trie]") {
  PrefixTrie trie(32);
  PrefixLengths plens;
  REQUIRE(trie.Lookup(Ip4(10, 1, 2, 3), &plens) == 0);
  REQUIRE(plens.Empty());

  trie.Insert(Ip4(10, 0, 0, 0), 8);
  trie.Insert(Ip4(10, 1, 2, 3), 32);
  REQUIRE(trie.size() == 2);
  REQUIRE(trie.NodeCount() == 2);

  SECTION("a miss below 10/8 depends on 14 bits") {
    REQUIRE(trie.Lookup(Ip4(10, 5, 6, 7), &plens) == 14);
    REQUIRE(plens.w[0] == uint64_t{1} << 7);  // exactly {8}
    REQUIRE(plens.w[1] == 0);
  }
  SECTION("an exact hit depends on all 32 bits") {
    REQUIRE(trie.Lookup(Ip4(10, 1, 2, 3), &plens) == 32);
    REQUIRE(plens.w[0] == ((uint64_t{1} << 7) | (uint64_t{1} << 31)));  // {8, 32}
    REQUIRE(plens.w[1] == 0);
  }
  SECTION("11.0.0.1 leaves 10/8 at bit 7") {
    REQUIRE(trie.Lookup(Ip4(11, 0, 0, 1), &plens) == 8);
    REQUIRE(plens.Empty());
  }
  SECTION("removing 10/8 leaves only the /32") {
    REQUIRE(trie.Remove(Ip4(10, 0, 0, 0), 8));
    REQUIRE_FALSE(trie.Remove(Ip4(10, 0, 0, 0), 8));
    REQUIRE(trie.NodeCount() == 1);
    REQUIRE(trie.Lookup(Ip4(10, 5, 6, 7), &plens) == 14);
    REQUIRE(plens.Empty());
  }
}

TEST_CASE("PrefixTrie: branching nodes, counts and bad arguments", "[prefix_trie]") {
  PrefixTrie trie(32);
  // 10.0.0/17 and 10.0.128/17 first differ at bit 16, so a branching node
  // 10.0/16 (count 0) holds both.
  trie.Insert(Ip4(10, 0, 0, 0), 17);
  trie.Insert(Ip4(10, 0, 128, 0), 17);
  REQUIRE(trie.NodeCount() == 3);
  PrefixLengths plens;
  // A hit on the leaf 10.0.0/17, which has no children: 17 bits decide.
  REQUIRE(trie.Lookup(Ip4(10, 0, 64, 0), &plens) == 17);
  REQUIRE(plens.w[0] == uint64_t{1} << 16);
  plens = {};
  // The branching node itself is not a stored prefix.
  REQUIRE_FALSE(trie.Remove(Ip4(10, 0, 0, 0), 16));
  REQUIRE(trie.Lookup(Ip4(10, 1, 0, 0), &plens) == 16);  // leaves at bit 15
  REQUIRE(plens.Empty());

  // Counted: two inserts need two removes; bits past the length are ignored.
  trie.Insert(Ip4(10, 0, 0, 255), 17);
  REQUIRE(trie.size() == 3);
  REQUIRE(trie.NodeCount() == 3);
  REQUIRE(trie.Remove(Ip4(10, 0, 1, 2), 17));
  REQUIRE(trie.Remove(Ip4(10, 0, 0, 0), 17));
  REQUIRE_FALSE(trie.Remove(Ip4(10, 0, 0, 0), 17));
  // The branching node went with its child: one node left.
  REQUIRE(trie.NodeCount() == 1);
  REQUIRE(trie.Lookup(Ip4(10, 0, 200, 0), &plens) == 17);
  REQUIRE(plens.w[0] == uint64_t{1} << 16);

  // A length-0 branching node at the root: 0/1 and 128/1.
  PrefixTrie halves(32);
  halves.Insert(Ip4(0, 0, 0, 0), 1);
  halves.Insert(Ip4(128, 0, 0, 0), 1);
  REQUIRE(halves.NodeCount() == 3);
  plens = {};
  REQUIRE(halves.Lookup(Ip4(200, 0, 0, 0), &plens) == 1);
  REQUIRE(plens.w[0] == 1);
  REQUIRE(halves.Remove(Ip4(0, 0, 0, 0), 1));
  REQUIRE(halves.NodeCount() == 1);
  plens = {};
  REQUIRE(halves.Lookup(Ip4(1, 0, 0, 0), &plens) == 1);
  REQUIRE(plens.Empty());

  REQUIRE_THROWS_AS(trie.Insert(Ip4(1, 2, 3, 4), 0), std::invalid_argument);
  REQUIRE_THROWS_AS(trie.Insert(Ip4(1, 2, 3, 4), 33), std::invalid_argument);
  REQUIRE_FALSE(trie.Remove(Ip4(1, 2, 3, 4), 33));
  REQUIRE_THROWS_AS(PrefixTrie(0), std::invalid_argument);
  REQUIRE_THROWS_AS(PrefixTrie(129), std::invalid_argument);

  // Moving transfers everything; Clear empties.
  PrefixTrie moved(std::move(trie));
  REQUIRE(moved.size() == 1);
  REQUIRE(moved.NodeCount() == 1);
  moved.Clear();
  REQUIRE(moved.size() == 0);
  REQUIRE(moved.NodeCount() == 0);
  REQUIRE(moved.Lookup(Ip4(10, 0, 0, 0), &plens) == 0);
}

TEST_CASE("PrefixTrie matches a brute-force reference, width 32", "[prefix_trie][random]") {
  for (uint32_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    RunRandom(32, seed, 4000);
  }
}

TEST_CASE("PrefixTrie matches a brute-force reference, width 128", "[prefix_trie][random]") {
  for (uint32_t seed : {11u, 12u, 13u}) {
    INFO("seed " << seed);
    RunRandom(128, seed, 4000);
  }
}

TEST_CASE("PrefixTrie matches a brute-force reference, narrow width", "[prefix_trie][random]") {
  // Width 5: few values, so nearly every prefix is shared or nested.
  RunRandom(5, 21, 3000);
}
