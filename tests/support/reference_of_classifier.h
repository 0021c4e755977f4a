// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// ReferenceOfClassifier: the obviously-correct model of an OpenFlow table
// classifier — a list of rules scanned linearly. Tests check OfClassifier
// against it (as OVS's tests/test-classifier.c checks lib/classifier.c).
//
// OpenFlow leaves the winner among overlapping rules of equal priority
// undefined, so Lookup reports every matching rule of the best priority and
// tests accept any of them.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "packet/flow_key.h"

namespace dpswitch::test {

class ReferenceOfClassifier {
 public:
  struct Rule {
    pkt::FlowKey key;  // masked
    pkt::FlowMask mask;
    int32_t priority;
    void* user;
  };

  // Same contract as OfClassifier::Insert: replaces an identical
  // (match, priority) rule and returns the old user pointer.
  void* Insert(const pkt::FlowKey& key, const pkt::FlowMask& mask, int32_t priority, void* user) {
    Rule r;
    pkt::ApplyMask(key, mask, &r.key);
    r.mask = mask;
    r.mask.Finalize();
    r.priority = priority;
    r.user = user;
    for (Rule& old : rules_) {
      if (Same(old, r)) {
        void* prev = old.user;
        old.user = user;
        return prev;
      }
    }
    rules_.push_back(r);
    return nullptr;
  }

  void* Remove(const pkt::FlowKey& key, const pkt::FlowMask& mask, int32_t priority) {
    Rule r;
    pkt::ApplyMask(key, mask, &r.key);
    r.mask = mask;
    r.mask.Finalize();
    r.priority = priority;
    for (auto it = rules_.begin(); it != rules_.end(); ++it) {
      if (Same(*it, r)) {
        void* user = it->user;
        rules_.erase(it);
        return user;
      }
    }
    return nullptr;
  }

  // Every matching rule of the highest matching priority (empty on a miss).
  std::vector<const Rule*> Lookup(const pkt::FlowKey& key) const {
    std::vector<const Rule*> best;
    for (const Rule& r : rules_) {
      if (!pkt::MatchesMasked(key, r.mask, r.key)) continue;
      if (!best.empty() && r.priority < best.front()->priority) continue;
      if (!best.empty() && r.priority > best.front()->priority) best.clear();
      best.push_back(&r);
    }
    return best;
  }

  const std::vector<Rule>& rules() const { return rules_; }
  size_t size() const { return rules_.size(); }

 private:
  static bool Same(const Rule& a, const Rule& b) {
    if (a.priority != b.priority || !(a.mask == b.mask)) return false;
    for (uint32_t i = 0; i < pkt::kKeyWords; i++)
      if (a.key.Word(i) != b.key.Word(i)) return false;
    return true;
  }

  std::vector<Rule> rules_;
};

}  // namespace dpswitch::test
