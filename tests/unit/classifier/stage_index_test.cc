// SPDX-License-Identifier: BSD-3-Clause
// StageIndex tests: a hand-made wrap-around cluster, then random
// Add/Remove/Contains against std::unordered_map with hashes chosen to
// collide (a small range, multiples of the table size, home slots at the end
// of the table so clusters wrap) to exercise backward-shift deletion.
//
// Every random test uses a fixed seed, so a failure reproduces exactly.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <random>
#include <unordered_map>
#include <vector>

#include <catch2/catch.hpp>

#include "classifier/stage_index.h"

using dpswitch::cls::StageIndex;

namespace {

// Contains() agrees with the reference on every present hash and on
// `probes` absent-or-present candidates.
void CheckAll(const StageIndex& index, const std::unordered_map<uint32_t, int>& ref,
              const std::vector<uint32_t>& probes) {
  REQUIRE(index.size() == ref.size());
  for (const auto& kv : ref) {
    INFO("hash " << kv.first);
    REQUIRE(index.Contains(kv.first));
  }
  for (uint32_t h : probes) {
    INFO("probe " << h);
    REQUIRE(index.Contains(h) == (ref.count(h) > 0));
  }
}

}  // namespace

TEST_CASE("StageIndex: counts and a wrapping cluster", "[stage_index]") {
  StageIndex index;
  REQUIRE_FALSE(index.Contains(0));
  REQUIRE_FALSE(index.Remove(0));
  REQUIRE(index.size() == 0);

  // 8 slots: 7, 15 and 23 all start at slot 7, so 15 and 23 wrap to 0 and 1.
  index.Add(7);
  index.Add(15);
  index.Add(23);
  index.Add(15);  // counted
  REQUIRE(index.size() == 3);
  REQUIRE(index.Remove(7));  // 15 and 23 shift back across the wrap
  REQUIRE_FALSE(index.Contains(7));
  REQUIRE(index.Contains(15));
  REQUIRE(index.Contains(23));
  index.Add(0);               // home 0, behind 23
  REQUIRE(index.Remove(15));  // one of two: stays
  REQUIRE(index.Contains(15));
  REQUIRE(index.Remove(15));
  REQUIRE_FALSE(index.Contains(15));
  REQUIRE_FALSE(index.Remove(15));
  REQUIRE(index.Contains(23));
  REQUIRE(index.Contains(0));
  REQUIRE(index.size() == 2);
  REQUIRE(index.Remove(23));
  REQUIRE(index.Contains(0));
  REQUIRE(index.Remove(0));
  REQUIRE(index.size() == 0);
  REQUIRE_FALSE(index.Contains(0));
  REQUIRE_FALSE(index.Contains(23));

  // Clear, then reuse.
  index.Add(5);
  index.Add(13);
  index.Clear();
  REQUIRE(index.size() == 0);
  REQUIRE_FALSE(index.Contains(5));
  index.Add(13);
  REQUIRE(index.Contains(13));
  REQUIRE_FALSE(index.Contains(5));
}

TEST_CASE("StageIndex matches std::unordered_map on colliding hashes", "[stage_index][random]") {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    // Hashes with few distinct low bits, whatever the table size: home slots
    // pile up, and those ending in ones sit at the table's end and wrap.
    auto draw = [&]() -> uint32_t {
      switch (rng() % 5) {
        case 0:
          return rng() % 48;  // small range
        case 1:
          return (rng() % 64) << (3 + rng() % 8);  // multiples of 8..1024
        case 2:
          return (rng() % 256) << 16 | (0xffff - rng() % 4);  // end of any table
        case 3:
          return (rng() % 1024) << 12 | (rng() % 3);  // start of any table
        default:
          return static_cast<uint32_t>(rng());
      }
    };

    StageIndex index;
    std::unordered_map<uint32_t, int> ref;
    // Grow to a few hundred distinct hashes, then shrink back to none, twice,
    // so that tables of many sizes see long clusters and deletions.
    for (int phase = 0; phase < 4; phase++) {
      const bool growing = phase % 2 == 0;
      for (int op = 0; op < 6000; op++) {
        const uint32_t h = draw();
        const bool add = growing ? rng() % 3 != 0 : rng() % 3 == 0;
        if (add) {
          index.Add(h);
          ref[h]++;
        } else {
          // Mostly remove something present (drawn from a cluster).
          uint32_t victim = h;
          if (!ref.empty() && rng() % 4 != 0) {
            auto it = ref.begin();
            std::advance(it, static_cast<std::ptrdiff_t>(rng() % ref.size()));
            victim = it->first;
          }
          auto it = ref.find(victim);
          const bool present = it != ref.end();
          REQUIRE(index.Remove(victim) == present);
          if (present && --it->second == 0) ref.erase(it);
        }
        REQUIRE(index.size() == ref.size());
        if (op % 64 == 0) {
          std::vector<uint32_t> probes;
          for (int i = 0; i < 64; i++) probes.push_back(draw());
          CheckAll(index, ref, probes);
        }
      }
      CheckAll(index, ref, {});
    }
    // Empty it completely.
    while (!ref.empty()) {
      auto it = ref.begin();
      REQUIRE(index.Remove(it->first));
      if (--it->second == 0) {
        REQUIRE_FALSE(index.Contains(it->first));
        ref.erase(it);
      } else {
        REQUIRE(index.Contains(it->first));
      }
    }
    REQUIRE(index.size() == 0);
    for (int i = 0; i < 256; i++) REQUIRE_FALSE(index.Contains(draw()));
  }
}
