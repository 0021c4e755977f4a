// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Ukey: what ofproto remembers about one installed megaflow (OVS's "udpif
// key") — the pipeline version it was translated against and the rules the
// translation went through — attached to the megaflow it describes.
//
// It exists for two jobs: revalidation (is the megaflow older than the
// tables?) and statistics (credit the megaflow's packets to its rules). The
// megaflow owns it (cls::MegaflowAttachment) and Release()s it when freed,
// which credits the packets counted since the last push; so every packet a
// megaflow counted reaches its rules exactly once.
//
// Thread safety: one thread at a time. The handler fills it before the
// megaflow is published; afterwards only the revalidator that owns the
// megaflow in the current round touches it (rounds are separated by a
// barrier); Release runs after the RCU grace periods that follow the
// megaflow's removal, i.e. after every revalidator let go of it.

#include <chrono>
#include <cstdint>
#include <vector>

#include "classifier/megaflow.h"
#include "ofproto/rule_counters.h"

namespace dpswitch::ofp {

class Ukey final : public cls::MegaflowAttachment {
 public:
  Ukey(uint64_t version, std::vector<RuleCountersRef> rules) noexcept
      : version_(version), rules_(std::move(rules)) {}

  // The ukey of a megaflow, or nullptr if it has none.
  static Ukey* Of(const cls::Megaflow& flow) noexcept {
    return static_cast<Ukey*>(flow.attachment);
  }

  uint64_t version() const noexcept { return version_; }
  const std::vector<RuleCountersRef>& rules() const noexcept { return rules_; }

  // Credits the rules with what `flow` counted since the last push.
  void PushStats(const cls::Megaflow& flow) noexcept;
  // After a re-translation that kept the megaflow: stats so far go to the
  // old rules (pushed first), later ones to the new.
  void Rebind(const cls::Megaflow& flow, uint64_t version,
              std::vector<RuleCountersRef> rules) noexcept;

  void Release(const cls::Megaflow& flow) noexcept override { PushStats(flow); }

 private:
  uint64_t version_;                   // pipeline version of the translation
  std::vector<RuleCountersRef> rules_;  // rules it matched, each once
  uint64_t pushed_packets_ = 0;        // megaflow counts already credited
  uint64_t pushed_bytes_ = 0;
};

// The steady_clock time of a TSC reading (megaflows record rte_rdtsc()).
std::chrono::steady_clock::time_point TscToSteady(uint64_t tsc) noexcept;

}  // namespace dpswitch::ofp
