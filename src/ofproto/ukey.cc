// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/ukey.h"

#include <rte_cycles.h>

namespace dpswitch::ofp {

std::chrono::steady_clock::time_point TscToSteady(uint64_t tsc) noexcept {
  const uint64_t now_tsc = rte_rdtsc();
  const auto now = std::chrono::steady_clock::now();
  const uint64_t ago = now_tsc > tsc ? now_tsc - tsc : 0;
  const uint64_t hz = rte_get_tsc_hz();
  return now - std::chrono::nanoseconds(hz ? static_cast<int64_t>(ago * 1e9 / hz) : 0);
}

void Ukey::PushStats(const cls::Megaflow& flow) noexcept {
  const uint64_t packets = flow.packets.load(std::memory_order_relaxed);
  const uint64_t bytes = flow.bytes.load(std::memory_order_relaxed);
  if (packets == pushed_packets_ && bytes == pushed_bytes_) return;
  const uint64_t d_packets = packets - pushed_packets_, d_bytes = bytes - pushed_bytes_;
  pushed_packets_ = packets;
  pushed_bytes_ = bytes;
  const auto used = TscToSteady(flow.used_tsc.load(std::memory_order_relaxed));
  for (const RuleCountersRef& r : rules_) r->Credit(d_packets, d_bytes, used);
}

void Ukey::Rebind(const cls::Megaflow& flow, uint64_t version,
                  std::vector<RuleCountersRef> rules) noexcept {
  PushStats(flow);
  version_ = version;
  rules_ = std::move(rules);
}

}  // namespace dpswitch::ofp
