// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// The decisions a revalidator makes, as plain functions (unit-tested without
// threads): is a megaflow still right for the current tables, and what
// should the flow limit be after a round that took so long.

#include <chrono>
#include <cstdint>
#include <vector>

#include "classifier/megaflow.h"
#include "ofproto/rule_counters.h"
#include "packet/dp_actions.h"

namespace dpswitch::ofp {

class Pipeline;

enum class RevalidateVerdict {
  kKeep,    // same actions; the megaflow's mask covers every bit now consulted
  kModify,  // the mask still covers every bit consulted, but the actions changed
  kDelete,  // the translation now depends on bits the megaflow wildcards
};

struct RevalidateResult {
  RevalidateVerdict verdict = RevalidateVerdict::kDelete;
  uint64_t version = 0;                 // pipeline version of the re-translation
  std::vector<pkt::DpAction> actions;   // the current actions (kModify: install these)
  std::vector<RuleCountersRef> rules;   // the rules the re-translation went through
};

// Re-translates the megaflow's (masked) key through the current tables.
// Every packet of the megaflow agrees with that key on the megaflow's mask;
// if the new translation consulted only bits inside that mask, it is the
// translation of every such packet, so the megaflow (with the new actions
// if they differ) is still exact. Otherwise some of its packets may now
// translate differently and it must go.
void Revalidate(const Pipeline& pipeline, const cls::Megaflow& flow, RevalidateResult* out);

// The flow limit after a revalidation round, as OVS's udpif_revalidator
// adapts it: a round over 2 s divides it by the seconds taken, over 1.3 s
// takes a quarter off, and a round under 1 s with more than 2,000 flows adds
// 1,000 while the limit is below what that pace could revalidate in a
// second. Never below 1,000 nor above `ceiling`.
uint32_t NextFlowLimit(uint32_t limit, std::chrono::nanoseconds round, size_t n_flows,
                       uint32_t ceiling) noexcept;

// The flow limit a switch starts with (OVS: 10,000, or the ceiling if lower).
uint32_t InitialFlowLimit(uint32_t ceiling) noexcept;

}  // namespace dpswitch::ofp
