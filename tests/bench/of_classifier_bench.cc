// SPDX-License-Identifier: BSD-3-Clause
// of_classifier_bench: single-thread lookup and update rates of the OpenFlow
// classifier (one table), as the upcall handlers use it.
//
// Run:  build/tests/bench/of_classifier_bench [--no-priority-sorting]
//       [--no-staged] [--no-port-tracking] [--no-partitioning] [--no-tries]
//       [--all-off] [--quick]
// Built with the project, never run by `meson test`. No EAL: OfClassifier
// hashes with rte_hash_crc, a header-only helper.
//
// Tables: 10, 100, 1000 and 10000 rules spread round-robin over 1, 10 or 100
// tuples (combinations with fewer rules than tuples are skipped). The 100
// masks of the kind routing and ACL tables make: eth_type exact, an nw_dst
// prefix of /32 down to /8, and for three quarters of them also nw_src /32,
// nw_proto + tp_dst, or both; n tuples take every (100/n)-th of them so that
// every mix has some of each. Rule values are random; priorities are distinct,
// in one band per tuple (tuples ranked at random, as longer prefixes and more
// specific ACL entries usually rank higher), so priority sorting can stop at
// the first hit.
//
// Lookups: packets cycled from a pool of 8192 keys, 3 in 4 made from a random
// rule (its fields, random bits where it is wildcarded: a hit), 1 in 4 random
// (mostly misses). Each lookup starts from a cleared wildcard mask, as xlate
// does, and its statistics are summed for "tuples probed per lookup" (a
// tuple counts once its hash index is probed, even if a trie then skips its
// L3 stage) and "trie-skip" (tuples skipped by a prefix trie per lookup).
// "wc bits" is the average number of key bits a lookup un-wildcarded (32 for
// in_port included): what the optimisations buy in megaflow width, measured in
// a separate, untimed pass.
// Updates: the table is built rule by rule (inserts/s), then emptied in random
// order (removes/s), repeated until the timing is stable.
//
// Numbers are for one core of whatever machine runs it; compare runs on the
// same machine and build.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "classifier/of_classifier.h"
#include "packet/flow_key.h"

namespace {

using dpswitch::cls::OfClassifier;
using dpswitch::cls::OfClassifierOptions;
using dpswitch::cls::OfLookupStats;
using dpswitch::pkt::FlowKey;
using dpswitch::pkt::FlowMask;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kMaskKinds = 100;  // distinct masks BenchMask() makes
constexpr uint32_t kPoolSize = 8192;  // lookup keys cycled through
constexpr uint16_t kEthIp = 0x0800;
constexpr uint8_t kTcp = 6;

struct BenchOptions {
  OfClassifierOptions cls;                    // what the tables use
  std::chrono::milliseconds run{250};         // per lookup measurement
  std::chrono::milliseconds update_run{200};  // per update measurement
};

struct Rule {
  FlowKey key;
  FlowMask mask;
  int32_t priority;
};

struct Row {
  size_t rules;       // rules in the table
  size_t tuples;      // subtables (distinct masks)
  double mlookups;    // million lookups per second
  double probed;      // tuples probed per lookup
  double trie_skips;  // tuples skipped by a prefix trie per lookup
  double wc_bits;     // un-wildcarded key bits per lookup (megaflow narrowness)
  double hit_ratio;   // fraction of lookups that found a rule
  double inserts;     // rule inserts per second
  double removes;     // rule removes per second
};

// Mask kind j (0..99): eth_type, nw_dst /(32 - j % 25), and by j / 25:
// nothing more, nw_src /32, nw_proto + tp_dst, or nw_src + nw_proto + tp_dst.
FlowMask BenchMask(uint32_t j) {
  FlowMask m;
  m.bits.eth_type = 0xffff;
  const uint32_t len = 32 - j % 25;
  m.bits.nw_dst = ~0u << (32 - len);
  const uint32_t extra = j / 25;
  if (extra & 1) m.bits.nw_src = ~0u;
  if (extra & 2) {
    m.bits.nw_proto = 0xff;
    m.bits.tp_dst = 0xffff;
  }
  m.Finalize();
  return m;
}

// A packet key: IPv4/TCP with random addresses and ports, other fields zero
// (as the parser leaves absent fields).
FlowKey RandomPacket(std::mt19937_64& rng) {
  FlowKey k;
  k.Clear();
  k.in_port = 1;
  k.eth_type = kEthIp;
  k.nw_src = static_cast<uint32_t>(rng());
  k.nw_dst = static_cast<uint32_t>(rng());
  k.nw_proto = kTcp;
  k.nw_ttl = 64;
  k.tp_src = static_cast<uint16_t>(rng());
  k.tp_dst = static_cast<uint16_t>(rng());
  return k;
}

// `rules` rules over `tuples` masks, priorities banded per tuple.
std::vector<Rule> MakeRules(uint32_t rules, uint32_t tuples, std::mt19937_64& rng) {
  std::vector<uint32_t> rank(tuples);
  std::iota(rank.begin(), rank.end(), 0u);
  std::shuffle(rank.begin(), rank.end(), rng);
  const uint32_t per_tuple = (rules + tuples - 1) / tuples;
  std::vector<std::vector<int32_t>> prios(tuples);  // distinct priorities per tuple, shuffled
  for (uint32_t t = 0; t < tuples; t++) {
    for (uint32_t k = 0; k < per_tuple; k++)
      prios[t].push_back(static_cast<int32_t>(1 + rank[t] * per_tuple + k));
    std::shuffle(prios[t].begin(), prios[t].end(), rng);
  }
  std::vector<Rule> out;
  for (uint32_t i = 0; i < rules; i++) {
    const uint32_t t = i % tuples;
    Rule r;
    r.mask = BenchMask(t * (kMaskKinds / tuples));
    dpswitch::pkt::ApplyMask(RandomPacket(rng), r.mask, &r.key);
    r.priority = prios[t][i / tuples];
    out.push_back(r);
  }
  return out;
}

// A key that the rule matches: the rule's bits where it matches, a random
// packet's elsewhere.
FlowKey Inside(const Rule& r, std::mt19937_64& rng) {
  const FlowKey noise = RandomPacket(rng);
  FlowKey p;
  p.Clear();
  for (uint32_t w = 0; w < dpswitch::pkt::kKeyWords; w++)
    p.SetWord(w, r.key.Word(w) | (noise.Word(w) & ~r.mask.bits.Word(w)));
  return p;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Inserts then removes (in random order) every rule, until `run` has passed.
void MeasureUpdates(const std::vector<Rule>& rules, const BenchOptions& opt, std::mt19937_64& rng,
                    Row* row) {
  std::vector<uint32_t> order(rules.size());
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), rng);
  Clock::duration ins{}, rem{};
  uint64_t rounds = 0;
  int sink = 0;
  do {
    OfClassifier cls(opt.cls);
    const auto t0 = Clock::now();
    for (const Rule& r : rules) cls.Insert(r.key, r.mask, r.priority, const_cast<Rule*>(&r));
    const auto t1 = Clock::now();
    for (uint32_t i : order)
      sink += cls.Remove(rules[i].key, rules[i].mask, rules[i].priority) != nullptr;
    const auto t2 = Clock::now();
    ins += t1 - t0;
    rem += t2 - t1;
    rounds++;
  } while (ins + rem < opt.update_run);
  if (sink != static_cast<int>(rounds * rules.size()))
    std::fprintf(stderr, "warning: %d of %zu removes found their rule\n", sink,
                 static_cast<size_t>(rounds * rules.size()));
  row->inserts = static_cast<double>(rounds * rules.size()) / Seconds(ins);
  row->removes = static_cast<double>(rounds * rules.size()) / Seconds(rem);
}

void MeasureLookups(const OfClassifier& cls, const std::vector<FlowKey>& pool,
                    const BenchOptions& opt, Row* row) {
  OfLookupStats stats;
  uint64_t n = 0;
  size_t pos = 0;
  const auto start = Clock::now();
  auto now = start;
  do {
    for (int rep = 0; rep < 1024; rep++) {
      FlowMask wc;  // cleared, as xlate starts each translation
      wc.bits.in_port = ~0u;
      wc.Finalize();
      cls.Lookup(pool[pos], &wc, &stats);
      pos = (pos + 1) % pool.size();
    }
    n += 1024;
    now = Clock::now();
  } while (now - start < opt.run);
  const double secs = Seconds(now - start);
  row->mlookups = static_cast<double>(n) / secs / 1e6;
  row->probed = static_cast<double>(stats.tuples_probed) / static_cast<double>(stats.lookups);
  row->hit_ratio = static_cast<double>(stats.hits) / static_cast<double>(stats.lookups);
  row->trie_skips =
      static_cast<double>(stats.skipped_by_prefix) / static_cast<double>(stats.lookups);
  // Megaflow width, untimed: bits a megaflow built from each lookup would match.
  uint64_t bits = 0;
  for (const FlowKey& k : pool) {
    FlowMask wc;
    wc.bits.in_port = ~0u;
    wc.Finalize();
    cls.Lookup(k, &wc, nullptr);
    for (uint32_t w = 0; w < dpswitch::pkt::kKeyWords; w++)
      bits += static_cast<uint64_t>(__builtin_popcountll(wc.bits.Word(w)));
  }
  row->wc_bits = static_cast<double>(bits) / static_cast<double>(pool.size());
}

Row Bench(uint32_t n_rules, uint32_t n_tuples, const BenchOptions& opt) {
  std::mt19937_64 rng(n_rules * 1000003ull + n_tuples);  // deterministic per row
  const std::vector<Rule> rules = MakeRules(n_rules, n_tuples, rng);
  Row row{};
  MeasureUpdates(rules, opt, rng, &row);

  OfClassifier cls(opt.cls);
  for (const Rule& r : rules) cls.Insert(r.key, r.mask, r.priority, const_cast<Rule*>(&r));
  row.rules = cls.size();
  row.tuples = cls.SubtableCount();
  std::vector<FlowKey> pool;
  for (uint32_t i = 0; i < kPoolSize; i++)
    pool.push_back(i % 4 == 3 ? RandomPacket(rng) : Inside(rules[rng() % rules.size()], rng));
  MeasureLookups(cls, pool, opt, &row);
  return row;
}

bool ParseArgs(int argc, char** argv, BenchOptions* opt) {
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    if (!std::strcmp(a, "--no-priority-sorting")) {
      opt->cls.priority_sorting = false;
    } else if (!std::strcmp(a, "--no-staged")) {
      opt->cls.staged_lookup = false;
    } else if (!std::strcmp(a, "--no-port-tracking")) {
      opt->cls.port_tracking = false;
    } else if (!std::strcmp(a, "--no-partitioning")) {
      opt->cls.partitioning = false;
    } else if (!std::strcmp(a, "--no-tries")) {
      opt->cls.prefix_fields.clear();
    } else if (!std::strcmp(a, "--all-off")) {
      opt->cls = OfClassifierOptions{false, false, false, false, {}};
    } else if (!std::strcmp(a, "--quick")) {
      opt->run = std::chrono::milliseconds(50);
      opt->update_run = std::chrono::milliseconds(50);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--no-priority-sorting] [--no-staged] [--no-port-tracking] "
                   "[--no-partitioning] [--no-tries] [--all-off] [--quick]\n",
                   argv[0]);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions opt;
  if (!ParseArgs(argc, argv, &opt)) return 2;
  const OfClassifierOptions& o = opt.cls;
  std::printf(
      "OfClassifier, one thread; priority-sorting %s, staged-lookup %s, port-tracking %s, "
      "partitioning %s, prefix tries on %zu field(s)\n",
      o.priority_sorting ? "on" : "off", o.staged_lookup ? "on" : "off",
      o.port_tracking ? "on" : "off", o.partitioning ? "on" : "off", o.prefix_fields.size());
  std::printf("%6s | %6s | %10s | %9s | %13s | %9s | %7s | %5s | %10s | %10s\n", "rules", "tuples",
              "Mlookups/s", "ns/lookup", "probed/lookup", "trie-skip", "wc bits", "hit%",
              "inserts/s", "removes/s");
  for (uint32_t rules : {10u, 100u, 1000u, 10000u}) {
    for (uint32_t tuples : {1u, 10u, 100u}) {
      if (rules < tuples) continue;
      const Row r = Bench(rules, tuples, opt);
      std::printf(
          "%6zu | %6zu | %10.2f | %9.1f | %13.2f | %9.2f | %7.1f | %5.1f | %10.0f | %10.0f\n",
          r.rules, r.tuples, r.mlookups, 1e3 / r.mlookups, r.probed, r.trie_skips, r.wc_bits,
          100.0 * r.hit_ratio, r.inserts, r.removes);
      std::fflush(stdout);
    }
  }
  return 0;
}
