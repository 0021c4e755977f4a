// SPDX-License-Identifier: BSD-3-Clause
// dpcls_bench: single-thread lookup rates of the megaflow classifier and the
// EMC, in bursts of 32 as the PMD calls them.
//
// dpcls: for 1, 10, 100 masks x 10, 1000, 100000 megaflows (flows spread
// round-robin over the masks; at least one flow per mask), packets drawn
// uniformly from the flows (so a hit costs (masks + 1) / 2 subtable probes on
// average, no rerank advantage) and, separately, packets that miss every
// subtable. EMC: 8192 entries, hashes precomputed (the PMD takes them from the
// NIC's RSS hash or EmcHash), for working sets that fit, collide and thrash.
//
// No EAL needed: nothing here touches hugepages or lcores. Numbers are for
// one core of whatever machine runs it; compare runs on the same machine.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <vector>

#include "classifier/dpcls.h"
#include "classifier/megaflow.h"
#include "classifier/rcu_reclaimer.h"
#include "packet/flow_key.h"
#include "pmd/emc.h"

namespace {

using dpswitch::cls::Dpcls;
using dpswitch::cls::kMaxBurst;
using dpswitch::cls::Megaflow;
using dpswitch::cls::RcuReclaimer;
using dpswitch::pkt::FlowKey;
using dpswitch::pkt::FlowMask;
using Clock = std::chrono::steady_clock;

constexpr auto kRunTime = std::chrono::milliseconds(250);
constexpr uint32_t kPoolSize = 8192;  // packets cycled through (1 MiB of keys)

FlowKey RandomKey(std::mt19937_64& rng) {
  FlowKey k;
  k.Clear();
  for (uint32_t w = 0; w < dpswitch::pkt::kKeyWords; w++) k.SetWord(w, rng());
  return k;
}

// Mask j: eth_type, all of nw_src, an nw_dst prefix of 1 + j % 32 bits, and
// for j >= 32 progressively tp_dst, nw_proto, tp_src: 128 distinct masks of
// the kind OpenFlow pipelines produce.
FlowMask BenchMask(uint32_t j) {
  FlowMask m;
  m.bits.eth_type = 0xffff;
  m.bits.nw_src = ~0u;
  const uint32_t len = 1 + j % 32;
  m.bits.nw_dst = ~0u << (32 - len);
  if (j / 32 >= 1) m.bits.tp_dst = 0xffff;
  if (j / 32 >= 2) m.bits.nw_proto = 0xff;
  if (j / 32 >= 3) m.bits.tp_src = 0xffff;
  m.Finalize();
  return m;
}

FlowKey Inside(const Megaflow* f, std::mt19937_64& rng) {
  FlowKey noise = RandomKey(rng), p;
  p.Clear();
  for (uint32_t w = 0; w < dpswitch::pkt::kKeyWords; w++)
    p.SetWord(w, f->key.Word(w) | (noise.Word(w) & ~f->mask.bits.Word(w)));
  return p;
}

struct Result {
  double mlookups;   // million keys looked up per second
  double probes;     // subtable probes per key
  double hit_ratio;  // fraction of keys that hit
};

Result RunDpcls(const Dpcls& dpcls, const std::vector<FlowKey>& pool) {
  const FlowKey* keys[kMaxBurst];
  Megaflow* flows[kMaxBurst];
  uint64_t n = 0, hits = 0, probes = 0;
  size_t pos = 0;
  const auto start = Clock::now();
  auto now = start;
  do {
    for (int rep = 0; rep < 256; rep++) {
      for (uint32_t i = 0; i < kMaxBurst; i++) keys[i] = &pool[pos + i];
      pos = (pos + kMaxBurst) % pool.size();
      hits += static_cast<uint64_t>(
          __builtin_popcount(dpcls.LookupBurst(keys, kMaxBurst, ~0u, flows, &probes)));
      n += kMaxBurst;
    }
    now = Clock::now();
  } while (now - start < kRunTime);
  const double secs = std::chrono::duration<double>(now - start).count();
  return {n / secs / 1e6, double(probes) / n, double(hits) / n};
}

void BenchDpcls() {
  std::printf("dpcls LookupBurst, bursts of 32, one thread\n");
  std::printf("%6s %8s | %12s %11s | %13s %11s\n", "masks", "flows", "hit Mlkp/s", "probes/pkt",
              "miss Mlkp/s", "probes/pkt");
  for (uint32_t n_masks : {1u, 10u, 100u}) {
    for (uint32_t n_flows : {10u, 1000u, 100000u}) {
      std::mt19937_64 rng(n_masks * 1000003ull + n_flows);
      RcuReclaimer reclaimer(nullptr);
      Dpcls dpcls(&reclaimer);
      std::vector<Megaflow*> flows;
      const uint32_t total = std::max(n_flows, n_masks);
      for (uint32_t i = 0; i < total; i++) {
        FlowKey k = RandomKey(rng);
        k.eth_type = 0x0800;
        Megaflow* f =
            Megaflow::Create(k, BenchMask(i % n_masks), std::span<const dpswitch::pkt::DpAction>{});
        Megaflow* in = dpcls.Insert(f);
        if (in != f)
          Megaflow::Destroy(f);  // (a 32-bit nw_src collision)
        else
          flows.push_back(f);
      }
      std::vector<FlowKey> hit_pool, miss_pool;
      for (uint32_t i = 0; i < kPoolSize; i++) {
        hit_pool.push_back(Inside(flows[rng() % flows.size()], rng));
        FlowKey m = RandomKey(rng);
        m.eth_type = 0x86dd;  // no megaflow matches this eth_type
        miss_pool.push_back(m);
      }
      const Result hit = RunDpcls(dpcls, hit_pool);
      const Result miss = RunDpcls(dpcls, miss_pool);
      std::printf("%6zu %8zu | %12.1f %11.2f | %13.1f %11.2f%s\n", dpcls.SubtableCount(),
                  dpcls.FlowCount(), hit.mlookups, hit.probes, miss.mlookups, miss.probes,
                  hit.hit_ratio < 0.999 || miss.hit_ratio > 0 ? "  (unexpected hit ratio)" : "");
    }
  }
}

void BenchEmc() {
  using dpswitch::pmd::Emc;
  using dpswitch::pmd::EmcHash;
  std::printf("\nEMC LookupBurst, 8192 entries, bursts of 32, one thread\n");
  std::printf("%10s | %14s %9s | %19s\n", "microflows", "Mlkp/s (hash)", "hit rate",
              "Mlkp/s (+EmcHash)");
  FlowMask mask;
  mask.bits.eth_type = 0xffff;
  mask.Finalize();
  FlowKey any;
  any.Clear();
  Megaflow* flow = Megaflow::Create(any, mask, std::span<const dpswitch::pkt::DpAction>{});
  for (uint32_t n_micro : {1000u, 8192u, 100000u}) {
    std::mt19937_64 rng(n_micro);
    Emc emc(8192, 1);
    std::vector<FlowKey> micro;
    for (uint32_t i = 0; i < n_micro; i++) {
      micro.push_back(RandomKey(rng));
      emc.Insert(micro.back(), EmcHash(micro.back()), flow);
    }
    std::vector<FlowKey> pool;
    std::vector<uint32_t> hashes;
    for (uint32_t i = 0; i < kPoolSize; i++) {
      pool.push_back(micro[rng() % micro.size()]);
      hashes.push_back(EmcHash(pool.back()));
    }
    Megaflow* out[kMaxBurst];
    double rates[2];
    uint64_t hits = 0, n = 0;
    for (int with_hash = 0; with_hash < 2; with_hash++) {
      uint64_t looked = 0;
      size_t pos = 0;
      uint32_t h[kMaxBurst];
      const auto start = Clock::now();
      auto now = start;
      do {
        for (int rep = 0; rep < 256; rep++) {
          const uint32_t* hp = &hashes[pos];
          if (with_hash) {
            for (uint32_t i = 0; i < kMaxBurst; i++) h[i] = EmcHash(pool[pos + i]);
            hp = h;
          }
          const uint32_t got = emc.LookupBurst(&pool[pos], hp, kMaxBurst, out);
          if (!with_hash) {
            hits += static_cast<uint64_t>(__builtin_popcount(got));
            n += kMaxBurst;
          }
          pos = (pos + kMaxBurst) % pool.size();
          looked += kMaxBurst;
        }
        now = Clock::now();
      } while (now - start < kRunTime);
      rates[with_hash] = looked / std::chrono::duration<double>(now - start).count() / 1e6;
    }
    std::printf("%10u | %14.1f %8.1f%% | %19.1f\n", n_micro, rates[0], 100.0 * hits / n, rates[1]);
  }
  Megaflow::Destroy(flow);
}

}  // namespace

int main() {
  BenchDpcls();
  BenchEmc();
  return 0;
}
