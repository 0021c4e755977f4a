// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/revalidate.h"

#include <algorithm>

#include "ofproto/pipeline.h"

namespace dpswitch::ofp {

void Revalidate(const Pipeline& pipeline, const cls::Megaflow& flow, RevalidateResult* out) {
  pkt::FlowMask wc;
  wc.bits.in_port = 0xffffffff;  // as the handler: dpcls is per in_port
  out->actions.clear();
  const XlateStats xs = pipeline.Translate(flow.key, &wc, &out->actions, &out->rules);
  out->version = xs.version;
  for (uint32_t i = 0; i < pkt::kKeyWords; i++) {
    if (wc.bits.Word(i) & ~flow.mask.bits.Word(i)) {
      out->verdict = RevalidateVerdict::kDelete;
      return;
    }
  }
  out->verdict = pkt::SameActions(flow.Actions(), out->actions) ? RevalidateVerdict::kKeep
                                                                : RevalidateVerdict::kModify;
}

uint32_t NextFlowLimit(uint32_t limit, std::chrono::nanoseconds round, size_t n_flows,
                       uint32_t ceiling) noexcept {
  const uint64_t ms = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(round).count());
  uint64_t next = limit;
  if (ms > 2000) {
    next /= ms / 1000;
  } else if (ms > 1300) {
    next = next * 3 / 4;
  } else if (ms < 1000 && n_flows > 2000 && next < n_flows * 1000 / ms) {
    next += 1000;
  }
  return static_cast<uint32_t>(std::min<uint64_t>(ceiling, std::max<uint64_t>(next, 1000)));
}

uint32_t InitialFlowLimit(uint32_t ceiling) noexcept { return std::min<uint32_t>(ceiling, 10000); }

}  // namespace dpswitch::ofp
