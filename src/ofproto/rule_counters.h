// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// RuleCounters: the statistics of one OpenFlow rule — packets, bytes and when
// it last matched a packet (for idle_timeout and dump-flows).
//
// Packets are never counted per rule on the fast path. A megaflow remembers
// the rules its translation went through (ofproto's ukey holds a reference to
// each rule's counters); revalidators credit every rule with what the
// megaflow counted since the last push, and the ukey credits the remainder
// when the megaflow is freed. So a rule's counts lag the wire by at most one
// revalidation round and are exact once traffic stops.
//
// Shared ownership: the Rule holds one reference and every ukey that went
// through it another, so a push to a rule that was deleted meanwhile is
// harmless. A FLOW_MOD modify (issue: OpenFlow wire) replaces the Rule object
// but may hand the same counters to the replacement, as OpenFlow keeps the
// counters of a modified flow.
//
// Thread safety: Credit may run on any thread (revalidators, the reclaimer);
// readers load relaxed.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace dpswitch::ofp {

struct RuleCounters {
  using Clock = std::chrono::steady_clock;

  explicit RuleCounters(Clock::time_point created) noexcept
      : used_ns(created.time_since_epoch().count()) {}

  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  // Clock time (ns since Clock's epoch) of the last credited packet, or the
  // rule's creation if it never matched one. Only moves forward.
  std::atomic<int64_t> used_ns;

  // Adds a megaflow's delta; `used` is when that megaflow last saw a packet.
  void Credit(uint64_t n_packets, uint64_t n_bytes, Clock::time_point used) noexcept {
    if (n_packets == 0 && n_bytes == 0) return;
    packets.fetch_add(n_packets, std::memory_order_relaxed);
    bytes.fetch_add(n_bytes, std::memory_order_relaxed);
    const int64_t t = used.time_since_epoch().count();
    int64_t cur = used_ns.load(std::memory_order_relaxed);
    while (cur < t && !used_ns.compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
    }
  }

  Clock::time_point Used() const noexcept {
    return Clock::time_point(Clock::duration(used_ns.load(std::memory_order_relaxed)));
  }
};

using RuleCountersRef = std::shared_ptr<RuleCounters>;

}  // namespace dpswitch::ofp
