// SPDX-License-Identifier: BSD-3-Clause
// dpcls tests: the lock-free hash table on its own (forced hash collisions),
// dpcls against the brute-force ReferenceMegaflowClassifier on random
// non-overlapping megaflows, the writer-side behaviours (duplicate collapse,
// dead flows, subtable removal, rerank), and one writer racing RCU readers on
// a real rte_rcu_qsbr with freed megaflows detected by a canary.
//
// Every random test uses a fixed seed, so a failure reproduces exactly.

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <catch2/catch.hpp>
#include <rte_rcu_qsbr.h>

#include "classifier/dpcls.h"
#include "classifier/hash.h"
#include "classifier/megaflow.h"
#include "classifier/rcu_hash_table.h"
#include "classifier/rcu_reclaimer.h"
#include "packet/flow_key.h"
#include "support/reference_classifier.h"

// ---------------------------------------------------------------------------
// Use-after-free detection for the concurrency test. Megaflows (and every
// other 64-byte-aligned object) are allocated through the aligned operator
// new; while tracking is on, freeing a megaflow the test registered does not
// return its memory to malloc: the block is poisoned (its created_tsc field,
// which the test sets to a "live" canary, becomes kFreedCanary) and kept in a
// bounded quarantine. A reader that still holds it reads allocated memory and
// sees the poison, instead of reading recycled memory that may look valid.

namespace {

constexpr uint64_t kLiveCanary = 0x11fe11fe11fe11feull;
constexpr uint64_t kFreedCanary = 0xdeadbeefdeadbeefull;
constexpr size_t kQuarantineCap = size_t{1} << 16;

std::atomic<bool> g_track{false};
std::mutex g_track_mu;                           // guards the two containers below
std::unordered_set<void*>* g_tracked = nullptr;  // live megaflows of the concurrency test
std::deque<void*>* g_quarantine = nullptr;       // "freed" tracked megaflows, oldest first
std::atomic<uint64_t> g_tracked_frees{0};        // tracked megaflows freed so far

uint64_t* CanaryOf(void* megaflow) {
  return reinterpret_cast<uint64_t*>(static_cast<char*>(megaflow) +
                                     offsetof(dpswitch::cls::Megaflow, created_tsc));
}

}  // namespace

void* operator new(std::size_t n, std::align_val_t al) {
  const size_t a = static_cast<size_t>(al);
  void* p = std::aligned_alloc(a, (n + a - 1) / a * a);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void operator delete(void* p, std::align_val_t) noexcept {
  if (p != nullptr && g_track.load(std::memory_order_acquire)) {
    std::lock_guard lk(g_track_mu);
    if (g_tracked->erase(p) != 0) {
      std::atomic_ref<uint64_t>(*CanaryOf(p)).store(kFreedCanary, std::memory_order_release);
      g_quarantine->push_back(p);
      if (g_quarantine->size() > kQuarantineCap) {
        std::free(g_quarantine->front());
        g_quarantine->pop_front();
      }
      g_tracked_frees.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  std::free(p);
}

void operator delete(void* p, std::size_t, std::align_val_t al) noexcept { operator delete(p, al); }

namespace dpswitch::cls {
namespace {

using pkt::FlowKey;
using pkt::FlowMask;
using test::PacketInside;
using test::ReferenceMegaflowClassifier;

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t Next() { return g_(); }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(g_() % n); }
  bool Chance(uint32_t percent) { return Below(100) < percent; }

 private:
  std::mt19937_64 g_;
};

FlowKey RandomKey(Rng& rng) {
  FlowKey k;
  k.Clear();
  for (uint32_t w = 0; w < pkt::kKeyWords; w++) k.SetWord(w, rng.Next());
  return k;
}

uint32_t Prefix32(uint32_t len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }

// A random 64-bit pattern: all ones, dense, sparse, or a low-bits prefix.
uint64_t RandomBits(Rng& rng) {
  switch (rng.Below(4)) {
    case 0:
      return ~uint64_t{0};
    case 1:
      return rng.Next();
    case 2:
      return rng.Next() & rng.Next() & rng.Next();
    default:
      return ~uint64_t{0} >> rng.Below(64);
  }
}

// Masks on random word subsets and bits. Most include all of eth_src (a
// 48-bit "discriminator", random per flow) so thousands of flows over many
// masks can coexist without overlapping; the others are narrower and hold
// few flows.
FlowMask RandomMask(Rng& rng, bool discriminator) {
  FlowMask m;
  if (discriminator) std::memset(m.bits.eth_src, 0xff, sizeof(m.bits.eth_src));
  if (rng.Chance(50)) m.bits.nw_dst = Prefix32(1 + rng.Below(32));
  if (rng.Chance(25)) m.bits.nw_src = Prefix32(1 + rng.Below(32));
  if (rng.Chance(30)) m.bits.eth_type = 0xffff;
  if (rng.Chance(20)) m.bits.tp_dst = 0xffff;
  for (uint32_t w : {0u, 1u, 2u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u})
    if (rng.Chance(15)) m.bits.SetWord(w, m.bits.Word(w) | RandomBits(rng));
  m.Finalize();
  return m;
}

std::vector<FlowMask> DistinctMasks(Rng& rng, uint32_t n) {
  std::vector<FlowMask> masks;
  while (masks.size() < n) {
    FlowMask m = RandomMask(rng, masks.empty() || rng.Chance(90));
    if (m.map != 0 &&
        std::none_of(masks.begin(), masks.end(), [&](const FlowMask& o) { return o == m; }))
      masks.push_back(m);
  }
  return masks;
}

Megaflow* NewFlow(const FlowKey& key, const FlowMask& mask) {
  return Megaflow::Create(key, mask, std::span<const pkt::DpAction>{});
}

// A set bit of a non-zero word, chosen at random.
uint64_t RandomSetBit(Rng& rng, uint64_t w) {
  const uint32_t k = rng.Below(static_cast<uint32_t>(std::popcount(w)));
  for (uint32_t i = 0; i < k; i++) w &= w - 1;
  return w & (~w + 1);
}

Megaflow* const kUntouched = reinterpret_cast<Megaflow*>(uintptr_t{0x40});

// Drives one Dpcls and the reference side by side.
class Harness {
 public:
  Harness(uint64_t seed, uint32_t n_masks)
      : rng_(seed),
        reclaimer_(nullptr),
        dpcls_(&reclaimer_),
        masks_(DistinctMasks(rng_, n_masks)) {}

  // Inserts a random flow that overlaps no live one; false if none was found.
  bool InsertRandom() {
    for (int attempt = 0; attempt < 50; attempt++) {
      const FlowMask& mask = masks_[rng_.Below(static_cast<uint32_t>(masks_.size()))];
      Megaflow* f = NewFlow(RandomKey(rng_), mask);
      if (ref_.OverlapsAny(f->key, f->mask)) {
        Megaflow::Destroy(f);
        continue;
      }
      Megaflow* got = dpcls_.Insert(f);
      REQUIRE(got == f);
      ref_.Insert(f);
      return true;
    }
    return false;
  }

  // Inserting a flow with the same mask and masked key returns the existing.
  void InsertDuplicate() {
    if (ref_.size() == 0) return;
    Megaflow* f = RandomLive();
    Megaflow* dup = NewFlow(PacketInside(f->key, f->mask, RandomKey(rng_)), f->mask);
    const size_t before = dpcls_.FlowCount();
    REQUIRE(dpcls_.Insert(dup) == f);
    REQUIRE(dpcls_.FlowCount() == before);
    Megaflow::Destroy(dup);
  }

  void RemoveRandom() {
    if (ref_.size() == 0) return;
    Megaflow* f = RandomLive();
    if (removed_.size() == 256) removed_.pop_front();
    removed_.push_back({f->key, f->mask});
    ref_.Remove(f);
    dpcls_.Remove(f);  // freed on a later Poll: no pointer to it is kept
  }

  FlowKey RandomPacket() {
    const uint32_t kind = rng_.Below(10);
    if (kind < 4 && ref_.size() != 0) {  // inside a live flow
      Megaflow* f = RandomLive();
      return PacketInside(f->key, f->mask, RandomKey(rng_));
    }
    if (kind < 6 && ref_.size() != 0) {  // one masked bit away from a live flow
      Megaflow* f = RandomLive();
      FlowKey p = PacketInside(f->key, f->mask, RandomKey(rng_));
      const uint32_t nwords = static_cast<uint32_t>(std::popcount(f->mask.map));
      pkt::WordMap map = f->mask.map;
      for (uint32_t k = rng_.Below(nwords); k > 0; k--) map &= map - 1;
      const uint32_t w = static_cast<uint32_t>(std::countr_zero(map));
      p.SetWord(w, p.Word(w) ^ RandomSetBit(rng_, f->mask.bits.Word(w)));
      return p;
    }
    if (kind < 7 && !removed_.empty()) {  // inside a removed flow
      const auto& [key, mask] = removed_[rng_.Below(static_cast<uint32_t>(removed_.size()))];
      return PacketInside(key, mask, RandomKey(rng_));
    }
    return RandomKey(rng_);
  }

  // One burst of random size and todo bitmap, checked against the reference.
  void CheckBurst() {
    const uint32_t n = 1 + rng_.Below(kMaxBurst);
    FlowKey pkts[kMaxBurst];
    const FlowKey* keys[kMaxBurst];
    Megaflow* flows[kMaxBurst];
    for (uint32_t i = 0; i < kMaxBurst; i++) {
      pkts[i] = RandomPacket();
      keys[i] = &pkts[i];
      flows[i] = kUntouched;
    }
    // Bits at or beyond n must be ignored.
    const uint32_t todo = rng_.Chance(30) ? ~uint32_t{0} : static_cast<uint32_t>(rng_.Next());
    const uint32_t valid = n == 32 ? todo : todo & ((uint32_t{1} << n) - 1);
    uint64_t probes = 0;
    const uint32_t hits = dpcls_.LookupBurst(keys, n, todo, flows, &probes);

    std::ostringstream err;
    if (hits & ~valid) err << "hit bits outside todo/n: " << std::hex << (hits & ~valid) << "\n";
    for (uint32_t i = 0; i < kMaxBurst; i++) {
      const bool hit = (hits >> i) & 1;
      if ((valid >> i) & 1) {
        Megaflow* want = ref_.Lookup(pkts[i]);
        Megaflow* got = hit ? flows[i] : nullptr;
        if (got != want) err << "packet " << i << ": got " << got << " want " << want << "\n";
        n_hits_ += want != nullptr;
        n_misses_ += want == nullptr;
      }
      if (!hit && flows[i] != kUntouched) err << "flows[" << i << "] written on a miss\n";
    }
    const uint64_t asked = static_cast<uint64_t>(std::popcount(valid));
    const uint64_t subtables = dpcls_.SubtableCount();
    if (probes > asked * subtables || (subtables != 0 && probes < asked))
      err << "subtable probes " << probes << " for " << asked << " keys, " << subtables
          << " subtables\n";
    INFO(err.str());
    REQUIRE(err.str().empty());
  }

  void CheckCounts() {
    REQUIRE(dpcls_.FlowCount() == ref_.size());
    REQUIRE(dpcls_.SubtableCount() == ref_.MaskCount());
  }

  Megaflow* RandomLive() { return ref_.flows()[rng_.Below(static_cast<uint32_t>(ref_.size()))]; }

  Rng rng_;
  RcuReclaimer reclaimer_;  // no qsbr: retired objects are freed on the next Polls
  Dpcls dpcls_;             // declared after the reclaimer: destroyed first
  ReferenceMegaflowClassifier ref_;
  std::vector<FlowMask> masks_;
  std::deque<std::pair<FlowKey, FlowMask>> removed_;  // copies: the flows themselves are freed
  uint64_t n_hits_ = 0;
  uint64_t n_misses_ = 0;
};

// ---------------------------------------------------------------------------

struct Item {
  uint32_t id;
};

TEST_CASE("RcuHashTable: colliding hashes, overflow chains, grow and shrink", "[dpcls][hash]") {
  RcuReclaimer reclaimer(nullptr);
  Rng rng(7);
  constexpr uint32_t kN = 600;
  std::vector<Item> items(kN);
  std::vector<uint32_t> hashes(kN);
  for (uint32_t i = 0; i < kN; i++) {
    items[i].id = i;
    // A third share one hash (one long chain through many buckets), a third
    // share their low bits (same home bucket), the rest are random.
    hashes[i] = i % 3 == 0   ? 0x1234567u
                : i % 3 == 1 ? (static_cast<uint32_t>(rng.Next()) << 12) | 0x567u
                             : static_cast<uint32_t>(rng.Next());
  }
  {
    RcuHashTable<Item> t(&reclaimer);
    auto find = [&](uint32_t i) {
      const Item* want = &items[i];
      return RcuHashTable<Item>::Find(t.Acquire(), hashes[i],
                                      [want](const Item* it) noexcept { return it == want; });
    };
    REQUIRE(t.n_buckets() == 1);
    for (uint32_t i = 0; i < kN; i++) {
      t.Insert(hashes[i], &items[i]);
      REQUIRE(find(i) == &items[i]);
    }
    REQUIRE(t.size() == kN);
    const uint32_t grown = t.n_buckets();
    REQUIRE(grown * RcuHashTable<Item>::kSlots * 3 >= kN * 4);  // load <= 75%
    for (uint32_t i = 0; i < kN; i++) REQUIRE(find(i) == &items[i]);

    size_t visited = 0;
    t.ForEach([&](uint32_t h, Item* it) {
      visited++;
      REQUIRE(h == hashes[it->id]);
    });
    REQUIRE(visited == kN);

    // Remove every other one: the rest stay reachable through the chains.
    for (uint32_t i = 0; i < kN; i += 2) REQUIRE(t.Remove(hashes[i], &items[i]));
    REQUIRE_FALSE(t.Remove(hashes[0], &items[0]));
    for (uint32_t i = 0; i < kN; i++) REQUIRE(find(i) == (i % 2 ? &items[i] : nullptr));

    // Reinsert into the holes, then drain: the table shrinks back.
    for (uint32_t i = 0; i < kN; i += 2) t.Insert(hashes[i], &items[i]);
    for (uint32_t i = 0; i < kN; i++) REQUIRE(find(i) == &items[i]);
    for (uint32_t i = 0; i < kN; i++) {
      REQUIRE(t.Remove(hashes[i], &items[i]));
      if (i + 1 < kN) REQUIRE(find(i + 1) == &items[i + 1]);
    }
    REQUIRE(t.size() == 0);
    REQUIRE(t.n_buckets() < grown);
    REQUIRE(t.n_buckets() == 1);
    REQUIRE(reclaimer.Pending() > 0);  // outgrown arrays were retired, not freed
  }
  reclaimer.Synchronize();
  REQUIRE(reclaimer.Pending() == 0);
}

TEST_CASE("Dpcls matches a brute-force reference on random megaflows", "[dpcls][random]") {
  struct Config {
    uint32_t masks;
    uint32_t flows;
    uint64_t seed;
  };
  const Config configs[] = {{1, 1500, 101}, {3, 2000, 202}, {17, 3000, 303}, {64, 4000, 404}};
  for (const Config& c : configs) {
    INFO("masks " << c.masks << " flows " << c.flows << " seed " << c.seed);
    Harness h(c.seed, c.masks);

    // Fill.
    for (uint32_t i = 0; i < c.flows; i++) {
      h.InsertRandom();
      if (i % 100 == 0) {
        for (int b = 0; b < 20; b++) h.CheckBurst();
        h.CheckCounts();
      }
    }
    REQUIRE(h.ref_.size() >= c.flows * 9 / 10);  // the generator does make thousands
    for (int b = 0; b < 200; b++) h.CheckBurst();
    h.CheckCounts();

    // Churn: interleaved inserts, removes, duplicates, reranks, reclamation.
    for (int step = 0; step < 20000; step++) {
      const uint32_t op = h.rng_.Below(100);
      if (op < 35) {
        h.InsertRandom();
      } else if (op < 70) {
        h.RemoveRandom();
      } else if (op < 75) {
        h.InsertDuplicate();
      } else if (op < 78) {
        h.dpcls_.Rerank();
      } else if (op < 83) {
        h.reclaimer_.Poll();
      } else {
        h.CheckBurst();
      }
      if (step % 1000 == 0) h.CheckCounts();
    }
    h.CheckCounts();

    // Drain: subtables disappear as they empty.
    while (h.ref_.size() != 0) {
      h.RemoveRandom();
      if (h.ref_.size() % 100 == 0) {
        for (int b = 0; b < 20; b++) h.CheckBurst();
        h.CheckCounts();
      }
    }
    h.CheckCounts();
    REQUIRE(h.dpcls_.SubtableCount() == 0);
    for (int b = 0; b < 20; b++) h.CheckBurst();  // everything misses now
    INFO("checked " << h.n_hits_ << " hits and " << h.n_misses_ << " misses");
    REQUIRE(h.n_hits_ > 10000);
    REQUIRE(h.n_misses_ > 20000);
    h.reclaimer_.Synchronize();
    REQUIRE(h.reclaimer_.Pending() == 0);
  }
}

// Two keys of one mask whose masked hashes collide (found by birthday search).
std::pair<uint64_t, uint64_t> CollidingEthSrc(const FlowMask& mask) {
  Rng rng(99);
  std::unordered_map<uint32_t, uint64_t> seen;
  for (;;) {
    const uint64_t v = rng.Next() & 0xffffffffffffull;
    FlowKey k;
    k.Clear();
    k.SetWord(3, v);
    const uint32_t h = HashMasked(k, mask);
    auto [it, fresh] = seen.emplace(h, v);
    if (!fresh && it->second != v) return {it->second, v};
  }
}

TEST_CASE("Dpcls resolves hash-signature collisions by comparing keys", "[dpcls]") {
  RcuReclaimer reclaimer(nullptr);
  {
    Dpcls dpcls(&reclaimer);
    FlowMask mask;
    std::memset(mask.bits.eth_src, 0xff, 6);
    mask.Finalize();
    const auto [a, b] = CollidingEthSrc(mask);
    FlowKey ka, kb;
    ka.Clear();
    kb.Clear();
    ka.SetWord(3, a);
    kb.SetWord(3, b);
    Megaflow* fa = NewFlow(ka, mask);
    Megaflow* fb = NewFlow(kb, mask);
    REQUIRE(fa->hash == fb->hash);
    REQUIRE(dpcls.Insert(fa) == fa);
    REQUIRE(dpcls.Insert(fb) == fb);  // not a duplicate: same hash, other key
    REQUIRE(dpcls.FlowCount() == 2);

    Megaflow* dup = NewFlow(kb, mask);
    REQUIRE(dpcls.Insert(dup) == fb);
    Megaflow::Destroy(dup);

    const FlowKey* keys[2] = {&ka, &kb};
    Megaflow* flows[2] = {};
    REQUIRE(dpcls.LookupBurst(keys, 2, 0x3, flows, nullptr) == 0x3);
    REQUIRE(flows[0] == fa);
    REQUIRE(flows[1] == fb);

    // The first candidate of the chain is dead: skipped, the other still found.
    fa->dead.store(true);
    flows[0] = flows[1] = nullptr;
    REQUIRE(dpcls.LookupBurst(keys, 2, 0x3, flows, nullptr) == 0x2);
    REQUIRE(flows[1] == fb);
    dpcls.Remove(fa);
    REQUIRE(dpcls.LookupBurst(keys, 2, 0x3, flows, nullptr) == 0x2);
  }
  reclaimer.Synchronize();
}

FlowMask PrefixMask(uint32_t nw_dst_len, bool with_tp_dst) {
  FlowMask m;
  m.bits.eth_type = 0xffff;
  m.bits.nw_dst = Prefix32(nw_dst_len);
  if (with_tp_dst) m.bits.tp_dst = 0xffff;
  m.Finalize();
  return m;
}

FlowKey IpKey(uint32_t nw_dst, uint16_t tp_dst) {
  FlowKey k;
  k.Clear();
  k.eth_type = 0x0800;
  k.nw_dst = nw_dst;
  k.tp_dst = tp_dst;
  return k;
}

TEST_CASE("Dpcls never returns dead megaflows", "[dpcls]") {
  RcuReclaimer reclaimer(nullptr);
  Dpcls dpcls(&reclaimer);
  const FlowMask mask = PrefixMask(24, false);
  Megaflow* f = NewFlow(IpKey(0x0a000100, 0), mask);
  REQUIRE(dpcls.Insert(f) == f);
  const FlowKey p = IpKey(0x0a000177, 80);
  const FlowKey* keys[1] = {&p};
  Megaflow* flows[1] = {};
  REQUIRE(dpcls.LookupBurst(keys, 1, 1, flows, nullptr) == 1);
  REQUIRE(flows[0] == f);

  // Marked dead but still linked (a remove in progress): a miss, and a new
  // flow with the same key is not collapsed into it.
  f->dead.store(true);
  REQUIRE(dpcls.LookupBurst(keys, 1, 1, flows, nullptr) == 0);
  Megaflow* g = NewFlow(IpKey(0x0a000100, 0), mask);
  REQUIRE(dpcls.Insert(g) == g);
  REQUIRE(dpcls.LookupBurst(keys, 1, 1, flows, nullptr) == 1);
  REQUIRE(flows[0] == g);
  dpcls.Remove(f);
  REQUIRE(dpcls.FlowCount() == 1);

  // Remove marks dead before unlinking.
  dpcls.Remove(g);
  REQUIRE(g->dead.load());  // still allocated: the reclaimer has not been polled
  REQUIRE(dpcls.LookupBurst(keys, 1, 1, flows, nullptr) == 0);
  REQUIRE(dpcls.FlowCount() == 0);
  REQUIRE(dpcls.SubtableCount() == 0);
  reclaimer.Synchronize();
}

TEST_CASE("Dpcls drops emptied subtables and retires them", "[dpcls]") {
  RcuReclaimer reclaimer(nullptr);
  Dpcls dpcls(&reclaimer);
  std::vector<Megaflow*> a, b;
  for (uint32_t i = 0; i < 3; i++) {
    a.push_back(NewFlow(IpKey(0x0a000000 + (i << 8), 0), PrefixMask(24, false)));
    REQUIRE(dpcls.Insert(a.back()) == a.back());
  }
  b.push_back(NewFlow(IpKey(0x0b000000, 22), PrefixMask(8, true)));
  REQUIRE(dpcls.Insert(b.back()) == b.back());
  REQUIRE(dpcls.SubtableCount() == 2);
  REQUIRE(dpcls.FlowCount() == 4);

  reclaimer.Synchronize();
  dpcls.Remove(b[0]);
  REQUIRE(dpcls.SubtableCount() == 1);
  // The megaflow, the old subtable array and the subtable itself wait for
  // grace periods (the subtable's hash table may add a shrink).
  REQUIRE(reclaimer.Pending() >= 3);
  const FlowKey p = IpKey(0x0b010203, 22);
  const FlowKey* keys[1] = {&p};
  Megaflow* flows[1] = {};
  uint64_t probes = 0;
  REQUIRE(dpcls.LookupBurst(keys, 1, 1, flows, &probes) == 0);
  REQUIRE(probes == 1);  // only the /24 subtable is left to search

  dpcls.Remove(a[1]);
  REQUIRE(dpcls.SubtableCount() == 1);
  dpcls.Remove(a[0]);
  dpcls.Remove(a[2]);
  REQUIRE(dpcls.SubtableCount() == 0);
  REQUIRE(dpcls.FlowCount() == 0);
  probes = 0;
  REQUIRE(dpcls.LookupBurst(keys, 1, 1, flows, &probes) == 0);
  REQUIRE(probes == 0);
  reclaimer.Synchronize();
  REQUIRE(reclaimer.Pending() == 0);
}

TEST_CASE("Dpcls Rerank searches hot subtables first and keeps results", "[dpcls]") {
  RcuReclaimer reclaimer(nullptr);
  Dpcls dpcls(&reclaimer);
  // Four masks inserted in order; traffic only hits the last one.
  const FlowMask masks[4] = {PrefixMask(8, true), PrefixMask(16, true), PrefixMask(24, false),
                             PrefixMask(32, false)};
  // Distinct, non-overlapping keys: the first byte of nw_dst tells the mask.
  auto flow_key = [](uint32_t m, uint32_t i) {
    switch (m) {
      case 0:
        return IpKey(0x10u << 24, static_cast<uint16_t>(1000 + i));
      case 1:
        return IpKey(0x11u << 24, static_cast<uint16_t>(1000 + i));
      case 2:
        return IpKey(0x12u << 24 | i << 8, 0);
      default:
        return IpKey(0x13u << 24 | i, 0);
    }
  };
  std::vector<Megaflow*> flows_by_mask[4];
  for (uint32_t m = 0; m < 4; m++) {
    for (uint32_t i = 0; i < 8; i++) {
      Megaflow* f = NewFlow(flow_key(m, i), masks[m]);
      REQUIRE(dpcls.Insert(f) == f);
      flows_by_mask[m].push_back(f);
    }
  }
  FlowKey pkts[kMaxBurst];
  const FlowKey* keys[kMaxBurst];
  for (uint32_t i = 0; i < kMaxBurst; i++) {
    pkts[i] = IpKey(0x13u << 24 | (i % 8), static_cast<uint16_t>(i));
    keys[i] = &pkts[i];
  }
  auto run = [&](uint64_t* probes, Megaflow* out[]) {
    return dpcls.LookupBurst(keys, kMaxBurst, ~0u, out, probes);
  };
  Megaflow* before[kMaxBurst];
  uint64_t probes = 0;
  REQUIRE(run(&probes, before) == ~0u);
  REQUIRE(probes == 4 * kMaxBurst);  // every packet tried all four subtables
  for (uint32_t i = 0; i < kMaxBurst; i++) REQUIRE(before[i] == flows_by_mask[3][i % 8]);

  dpcls.Rerank();
  Megaflow* after[kMaxBurst];
  probes = 0;
  REQUIRE(run(&probes, after) == ~0u);
  REQUIRE(probes == kMaxBurst);  // the hot subtable is now first
  for (uint32_t i = 0; i < kMaxBurst; i++) REQUIRE(after[i] == before[i]);

  // Hits are counted since the last rerank: traffic moves to mask 1.
  for (uint32_t i = 0; i < kMaxBurst; i++)
    pkts[i] = IpKey(0x11u << 24 | 0x00ff00 | i, static_cast<uint16_t>(1000 + i % 8));
  for (int r = 0; r < 3; r++) REQUIRE(run(nullptr, after) == ~0u);
  dpcls.Rerank();
  probes = 0;
  REQUIRE(run(&probes, after) == ~0u);
  REQUIRE(probes == kMaxBurst);
  for (uint32_t i = 0; i < kMaxBurst; i++) REQUIRE(after[i] == flows_by_mask[1][i % 8]);
  REQUIRE(dpcls.SubtableCount() == 4);
}

TEST_CASE("Dpcls ForEach visits live flows and allows Remove", "[dpcls]") {
  RcuReclaimer reclaimer(nullptr);
  Dpcls dpcls(&reclaimer);
  std::unordered_set<Megaflow*> inserted;
  for (uint32_t i = 0; i < 50; i++) {
    Megaflow* f =
        NewFlow(IpKey(0x0a000000 | i << 8, static_cast<uint16_t>(i)), PrefixMask(24, i % 2 == 0));
    REQUIRE(dpcls.Insert(f) == f);
    inserted.insert(f);
  }
  std::unordered_set<Megaflow*> seen;
  dpcls.ForEach([&](Megaflow* f) { seen.insert(f); });
  REQUIRE(seen == inserted);
  dpcls.ForEach([&](Megaflow* f) { dpcls.Remove(f); });
  REQUIRE(dpcls.FlowCount() == 0);
  REQUIRE(dpcls.SubtableCount() == 0);
  size_t n = 0;
  dpcls.ForEach([&](Megaflow*) { n++; });
  REQUIRE(n == 0);
  reclaimer.Synchronize();
}

TEST_CASE("Dpcls catch-all megaflow (empty mask) matches everything", "[dpcls]") {
  RcuReclaimer reclaimer(nullptr);
  Dpcls dpcls(&reclaimer);
  FlowMask none;
  none.Finalize();
  Rng rng(5);
  Megaflow* f = NewFlow(RandomKey(rng), none);
  REQUIRE(dpcls.Insert(f) == f);
  FlowKey pkts[kMaxBurst];
  const FlowKey* keys[kMaxBurst];
  Megaflow* flows[kMaxBurst] = {};
  for (uint32_t i = 0; i < kMaxBurst; i++) {
    pkts[i] = RandomKey(rng);
    keys[i] = &pkts[i];
  }
  REQUIRE(dpcls.LookupBurst(keys, 20, 0xfffff0f0u, flows, nullptr) == 0x000ff0f0u);
  for (uint32_t i = 0; i < 20; i++) REQUIRE(flows[i] == ((0x000ff0f0u >> i) & 1 ? f : nullptr));
}

// ---------------------------------------------------------------------------
// Concurrency: one writer inserting and removing continuously, two RCU
// readers looking up and checking every result.

struct Template {
  FlowKey key;    // masked
  uint32_t mask;  // index into the mask list
};

TEST_CASE("Dpcls: concurrent writer and RCU readers", "[dpcls][rcu]") {
  constexpr uint32_t kReaders = 2;
  constexpr auto kRunTime = std::chrono::milliseconds(1500);
  const size_t qsz = (rte_rcu_qsbr_get_memsize(kReaders) + 63) / 64 * 64;
  auto* qsbr = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(64, qsz));
  REQUIRE(qsbr != nullptr);
  REQUIRE(rte_rcu_qsbr_init(qsbr, kReaders) == 0);

  // Masks with very different populations: singletons (their subtables keep
  // vanishing and coming back) up to hundreds (their tables grow and shrink).
  // All include the eth_src discriminator, unique per template: templates
  // never overlap.
  Rng setup(2024);
  std::vector<FlowMask> masks;
  while (masks.size() < 12) {
    const FlowMask m = RandomMask(setup, true);
    if (std::none_of(masks.begin(), masks.end(), [&](const FlowMask& o) { return o == m; }))
      masks.push_back(m);
  }
  std::vector<Template> templates;
  const uint32_t population[] = {1, 1, 2, 3, 5, 8, 40, 100, 300, 600, 900, 1200};
  for (uint32_t m = 0; m < masks.size(); m++) {
    for (uint32_t i = 0; i < population[m % 12]; i++) {
      FlowKey k = RandomKey(setup);
      const uint64_t id = templates.size() + 1;  // unique eth_src per template
      std::memcpy(k.eth_src, &id, 6);
      FlowKey masked;
      pkt::ApplyMask(k, masks[m], &masked);
      templates.push_back({masked, m});
    }
  }

  g_tracked = new std::unordered_set<void*>();
  g_quarantine = new std::deque<void*>();
  g_tracked_frees = 0;
  g_track.store(true);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0}, lookups{0}, hits{0};
  std::atomic<uint64_t> frees_while_reading{0};
  {
    RcuReclaimer reclaimer(qsbr);
    Dpcls dpcls(&reclaimer);

    auto reader = [&](uint32_t tid) {
      rte_rcu_qsbr_thread_register(qsbr, tid);
      rte_rcu_qsbr_thread_online(qsbr, tid);
      Rng rng(1000 + tid);
      FlowKey pkts[kMaxBurst];
      const FlowKey* keys[kMaxBurst];
      Megaflow* flows[kMaxBurst];
      Megaflow* held[2 * kMaxBurst];
      uint64_t my_lookups = 0, my_hits = 0, my_errors = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        uint32_t n_held = 0;
        for (int round = 0; round < 2; round++) {
          const uint32_t n = 1 + rng.Below(kMaxBurst);
          for (uint32_t i = 0; i < n; i++) {
            if (rng.Chance(90)) {
              const Template& t = templates[rng.Below(static_cast<uint32_t>(templates.size()))];
              pkts[i] = PacketInside(t.key, masks[t.mask], RandomKey(rng));
            } else {
              pkts[i] = RandomKey(rng);
            }
            keys[i] = &pkts[i];
          }
          const uint32_t todo = static_cast<uint32_t>(rng.Next()) | 1;
          const uint32_t got = dpcls.LookupBurst(keys, n, todo, flows, nullptr);
          my_lookups += static_cast<uint64_t>(std::popcount(todo & ((uint64_t{1} << n) - 1)));
          for (uint32_t m = got; m; m &= m - 1) {
            const uint32_t i = static_cast<uint32_t>(std::countr_zero(m));
            Megaflow* f = flows[i];
            my_hits++;
            if (std::atomic_ref<uint64_t>(*CanaryOf(f)).load(std::memory_order_acquire) !=
                    kLiveCanary ||
                !pkt::MatchesMasked(pkts[i], f->mask, f->key))
              my_errors++;
            held[n_held++] = f;
          }
        }
        // Still inside the read-side critical section: nothing found in it
        // may have been freed yet.
        for (uint32_t i = 0; i < n_held; i++)
          if (std::atomic_ref<uint64_t>(*CanaryOf(held[i])).load(std::memory_order_acquire) !=
              kLiveCanary)
            my_errors++;
        rte_rcu_qsbr_quiescent(qsbr, tid);
      }
      rte_rcu_qsbr_thread_offline(qsbr, tid);
      rte_rcu_qsbr_thread_unregister(qsbr, tid);
      errors += my_errors;
      lookups += my_lookups;
      hits += my_hits;
    };

    std::vector<std::thread> readers;
    for (uint32_t t = 0; t < kReaders; t++) readers.emplace_back(reader, t);

    Rng rng(77);
    std::vector<Megaflow*> live(templates.size(), nullptr);
    size_t n_live = 0;
    uint64_t ops = 0, writer_errors = 0;
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (now - start > kRunTime) break;
      // Alternate filling and draining phases of ~100 ms.
      const bool filling =
          (std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count() / 100) % 2 ==
          0;
      for (int burst = 0; burst < 64; burst++, ops++) {
        const uint32_t t = rng.Below(static_cast<uint32_t>(templates.size()));
        if (live[t] == nullptr) {
          if (rng.Chance(filling ? 80 : 20)) {
            Megaflow* f = NewFlow(templates[t].key, masks[templates[t].mask]);
            f->created_tsc = kLiveCanary;
            {
              std::lock_guard lk(g_track_mu);
              g_tracked->insert(f);
            }
            writer_errors += dpcls.Insert(f) != f;
            live[t] = f;
            n_live++;
          }
        } else if (rng.Chance(filling ? 20 : 80)) {
          dpcls.Remove(live[t]);
          live[t] = nullptr;
          n_live--;
        }
      }
      writer_errors += dpcls.FlowCount() != n_live;
      if (ops % 4096 < 64) dpcls.Rerank();
      reclaimer.Poll();
      // Let readers quiesce when the backlog grows (a shared, busy machine).
      while (reclaimer.Pending() > 50000) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        reclaimer.Poll();
      }
    }
    frees_while_reading = g_tracked_frees.load();
    stop = true;
    for (auto& th : readers) th.join();

    INFO("writer ops " << ops << ", reader lookups " << lookups << ", hits " << hits
                       << ", megaflows freed while readers ran " << frees_while_reading);
    REQUIRE(writer_errors == 0);
    REQUIRE(errors == 0);
    REQUIRE(hits > 1000);
    REQUIRE(lookups > hits);
    REQUIRE(frees_while_reading > 100);  // reclamation made progress under readers
  }                                      // ~Dpcls retires the rest, ~RcuReclaimer frees everything

  g_track.store(false);
  {
    std::lock_guard lk(g_track_mu);
    for (void* p : *g_quarantine) std::free(p);
    delete g_quarantine;
    delete g_tracked;
    g_quarantine = nullptr;
    g_tracked = nullptr;
  }
  std::free(qsbr);
}

}  // namespace
}  // namespace dpswitch::cls
