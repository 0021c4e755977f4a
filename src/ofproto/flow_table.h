// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// FlowTable: one OpenFlow table — the classifier that finds its rules. A
// rule is identified by (match, priority): adding one that already exists
// replaces it (actions, cookie, timeouts, creation time), as an OpenFlow add
// without CHECK_OVERLAP does.
//
// Deletion follows ovs-ofctl del-flows: loose deletes every rule whose match
// is at least as specific as the selector's (every selector bit is matched
// by the rule with the same value), any priority; strict deletes the rule
// with exactly the selector's match and priority. Both honour a cookie mask.
//
// Ownership: a FlowTable does not own its rules. Pipeline keeps two copies
// of every table (cls::LeftRight) pointing at the same Rule objects, and
// frees a rule once both copies have dropped it; Add, Delete and Clear hand
// back the rules they dropped for that purpose (Remove's caller knows it).
// Every operation depends only on the table's contents and its arguments, so
// applying the same sequence to two identical tables drops the same rules.
//
// Thread safety: none; Pipeline keeps writers and readers apart. Const
// members may run concurrently with each other.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "classifier/of_classifier.h"
#include "ofproto/flow_syntax.h"
#include "ofproto/rule_counters.h"

namespace dpswitch::ofp {

// Immutable once added (a replace adds a new Rule); shared by both copies
// of the tables. Only *counters changes.
struct Rule {
  FlowSpec spec;                                  // match, priority, instructions, cookie...
  std::chrono::steady_clock::time_point created;  // when added (or last replaced)
  uint64_t seq = 0;                               // pipeline-wide creation order (dump ties)
  RuleCountersRef counters;                       // never null
};

// True if some packet matches both: every key bit both masks care about has
// the same value in both keys. (FlowTable::Overlaps adds the priority.)
bool MatchesOverlap(const FlowMatch& a, const FlowMatch& b) noexcept;

class FlowTable final {
 public:
  FlowTable() = default;
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Adds `rule`, replacing a rule with the same match and priority. Returns
  // the replaced rule, or nullptr.
  Rule* Add(Rule* rule);
  // Deletes the selected rules (see above); returns them (no particular order).
  std::vector<Rule*> Delete(const FlowSelector& sel, bool strict);
  // Removes this very rule (timeouts). Returns false if it is not here.
  bool Remove(const Rule* rule);
  // True if a rule of the same priority overlaps `spec`'s match: some packet
  // could match both (every bit both masks care about has the same value).
  // A rule with the identical match overlaps too (OpenFlow 1.3, 6.4). Cost:
  // every rule of the table (control path only).
  bool Overlaps(const FlowSpec& spec) const;
  std::vector<Rule*> Clear();

  // Highest-priority rule matching key; ORs the searched tuples into *wc and
  // adds what the classifier did to *stats (if non-null).
  const Rule* Lookup(const pkt::FlowKey& key, pkt::FlowMask* wc, cls::OfLookupStats* stats) const {
    const cls::OfClsRule* r = cls_.Lookup(key, wc, stats);
    return r == nullptr ? nullptr : static_cast<const Rule*>(r->user);
  }

  // Rules by descending priority, then creation order.
  std::vector<const Rule*> Sorted() const;
  size_t size() const noexcept { return cls_.size(); }

  // Classifier optimisations (see cls::OfClassifierOptions). SetOptions
  // throws std::invalid_argument for a bad prefix field list.
  void SetOptions(const cls::OfClassifierOptions& options) { cls_.SetOptions(options); }
  const cls::OfClassifierOptions& options() const noexcept { return cls_.options(); }
  size_t SubtableCount() const noexcept { return cls_.SubtableCount(); }
  size_t PartitionCount() const noexcept { return cls_.PartitionCount(); }
  size_t TrieNodeCount() const noexcept { return cls_.TrieNodeCount(); }

 private:
  std::vector<Rule*> All() const;
  void Erase(const Rule* rule);

  cls::OfClassifier cls_;  // finds rules; OfClsRule::user is the Rule*
};

}  // namespace dpswitch::ofp
