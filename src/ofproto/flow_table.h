// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// FlowTable: one OpenFlow table — the rules it owns and the classifier that
// finds them. A rule is identified by (match, priority): adding one that
// already exists replaces it (actions, cookie, timeouts, creation time), as
// an OpenFlow add without CHECK_OVERLAP does.
//
// Deletion follows ovs-ofctl del-flows: loose deletes every rule whose match
// is at least as specific as the selector's (every selector bit is matched
// by the rule with the same value), any priority; strict deletes the rule
// with exactly the selector's match and priority. Both honour a cookie mask.
//
// Thread safety: none; Pipeline serialises access.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "classifier/of_classifier.h"
#include "ofproto/flow_syntax.h"

namespace dpswitch::ofp {

struct Rule {
  FlowSpec spec;                                  // match, priority, instructions, cookie...
  std::chrono::steady_clock::time_point created;  // when added (or last replaced)
  uint64_t seq = 0;                               // pipeline-wide creation order (dump ties)
};

class FlowTable final {
 public:
  FlowTable() = default;
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Adds `rule`, replacing a rule with the same match and priority. Returns
  // true when it replaced one.
  bool Add(std::unique_ptr<Rule> rule);
  // Deletes the selected rules (see above); returns how many.
  size_t Delete(const FlowSelector& sel, bool strict);
  size_t Clear();

  // Highest-priority rule matching key; ORs the searched tuples into *wc.
  const Rule* Lookup(const pkt::FlowKey& key, pkt::FlowMask* wc) const {
    const cls::OfClsRule* r = cls_.Lookup(key, wc);
    return r == nullptr ? nullptr : static_cast<const Rule*>(r->user);
  }

  // Rules by descending priority, then creation order.
  std::vector<const Rule*> Sorted() const;
  size_t size() const noexcept { return rules_.size(); }

 private:
  void Erase(const Rule* rule);

  cls::OfClassifier cls_;                                         // finds rules
  std::unordered_map<const Rule*, std::unique_ptr<Rule>> rules_;  // owns them
};

}  // namespace dpswitch::ofp
