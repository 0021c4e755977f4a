// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Per-PMD counters. Each PMD is the only writer of its own block (plain
// load+store, no lock prefix: Bump below); the control side reads with
// relaxed loads and subtracts a baseline for "clear".

#include <atomic>
#include <cstdint>

namespace dpswitch::pmd {

struct alignas(64) PmdStats {
  std::atomic<uint64_t> packets{0};           // received from rx queues
  std::atomic<uint64_t> emc_hits{0};          // found in the EMC
  std::atomic<uint64_t> megaflow_hits{0};     // found in dpcls
  std::atomic<uint64_t> subtable_lookups{0};  // dpcls subtables probed (for avg per hit)
  std::atomic<uint64_t> upcalls{0};           // sent to a handler (misses)
  std::atomic<uint64_t> lost{0};              // misses dropped: upcall ring full
  std::atomic<uint64_t> completions{0};       // upcalled packets executed on return
  std::atomic<uint64_t> parse_errors{0};      // truncated / malformed headers (still forwarded)
  std::atomic<uint64_t> tx_dropped{0};        // tx queue full or copy failed
  std::atomic<uint64_t> busy_cycles{0};       // TSC cycles of iterations that did work
  std::atomic<uint64_t> idle_cycles{0};       // TSC cycles of empty iterations
  std::atomic<uint64_t> iterations{0};        // poll loop iterations
};

// Single-writer increment: no atomic RMW needed.
inline void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// A plain copy of PmdStats for reporting.
struct PmdStatsSnapshot {
  uint64_t packets, emc_hits, megaflow_hits, subtable_lookups, upcalls, lost, completions,
      parse_errors, tx_dropped, busy_cycles, idle_cycles, iterations;
};

inline PmdStatsSnapshot Snapshot(const PmdStats& s) noexcept {
  auto l = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return {l(s.packets),     l(s.emc_hits),     l(s.megaflow_hits), l(s.subtable_lookups),
          l(s.upcalls),     l(s.lost),         l(s.completions),   l(s.parse_errors),
          l(s.tx_dropped),  l(s.busy_cycles),  l(s.idle_cycles),   l(s.iterations)};
}

inline PmdStatsSnapshot operator-(const PmdStatsSnapshot& a, const PmdStatsSnapshot& b) noexcept {
  return {a.packets - b.packets,         a.emc_hits - b.emc_hits,
          a.megaflow_hits - b.megaflow_hits, a.subtable_lookups - b.subtable_lookups,
          a.upcalls - b.upcalls,         a.lost - b.lost,
          a.completions - b.completions, a.parse_errors - b.parse_errors,
          a.tx_dropped - b.tx_dropped,   a.busy_cycles - b.busy_cycles,
          a.idle_cycles - b.idle_cycles, a.iterations - b.iterations};
}

}  // namespace dpswitch::pmd
