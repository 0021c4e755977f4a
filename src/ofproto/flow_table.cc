// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/flow_table.h"

#include <algorithm>

namespace dpswitch::ofp {
namespace {

bool CookieSelected(const FlowSelector& sel, const Rule& r) {
  return (r.spec.cookie & sel.cookie_mask) == sel.cookie;
}

// Loose: the rule matches every selector bit with the selector's value.
bool LooselySelected(const FlowSelector& sel, const Rule& r) {
  const FlowMatch& rm = r.spec.match;
  for (uint32_t i = 0; i < pkt::kKeyWords; i++) {
    const uint64_t sm = sel.match.mask.bits.Word(i);
    if ((rm.mask.bits.Word(i) & sm) != sm) return false;
    if ((rm.key.Word(i) & sm) != sel.match.key.Word(i)) return false;
  }
  return true;
}

}  // namespace

bool MatchesOverlap(const FlowMatch& a, const FlowMatch& b) noexcept {
  for (uint32_t i = 0; i < pkt::kKeyWords; i++) {
    const uint64_t both = a.mask.bits.Word(i) & b.mask.bits.Word(i);
    if ((a.key.Word(i) & both) != (b.key.Word(i) & both)) return false;
  }
  return true;
}

Rule* FlowTable::Add(Rule* rule) {
  const FlowMatch& m = rule->spec.match;
  return static_cast<Rule*>(cls_.Insert(m.key, m.mask, rule->spec.priority, rule));
}

void FlowTable::Erase(const Rule* rule) {
  const FlowMatch& m = rule->spec.match;
  cls_.Remove(m.key, m.mask, rule->spec.priority);
}

std::vector<Rule*> FlowTable::All() const {
  std::vector<Rule*> out;
  out.reserve(cls_.size());
  cls_.ForEach([&](const cls::OfClsRule& r) { out.push_back(static_cast<Rule*>(r.user)); });
  return out;
}

std::vector<Rule*> FlowTable::Delete(const FlowSelector& sel, bool strict) {
  std::vector<Rule*> victims;
  if (strict) {
    const cls::OfClsRule* r =
        cls_.Find(sel.match.key, sel.match.mask, sel.priority.value_or(kDefaultPriority));
    if (r != nullptr && CookieSelected(sel, *static_cast<const Rule*>(r->user)))
      victims.push_back(static_cast<Rule*>(r->user));
  } else {
    for (Rule* r : All())
      if (CookieSelected(sel, *r) && LooselySelected(sel, *r)) victims.push_back(r);
  }
  for (const Rule* r : victims) Erase(r);
  return victims;
}

bool FlowTable::Remove(const Rule* rule) {
  const FlowMatch& m = rule->spec.match;
  const cls::OfClsRule* r = cls_.Find(m.key, m.mask, rule->spec.priority);
  // The same match and priority may hold a newer rule that replaced this one.
  if (r == nullptr || r->user != rule) return false;
  Erase(rule);
  return true;
}

bool FlowTable::Overlaps(const FlowSpec& spec) const {
  bool overlaps = false;
  cls_.ForEach([&](const cls::OfClsRule& r) {
    if (!overlaps && r.priority == spec.priority)
      overlaps = MatchesOverlap(static_cast<const Rule*>(r.user)->spec.match, spec.match);
  });
  return overlaps;
}

std::vector<Rule*> FlowTable::Clear() {
  std::vector<Rule*> all = All();
  for (const Rule* r : all) Erase(r);
  return all;
}

std::vector<const Rule*> FlowTable::Sorted() const {
  std::vector<Rule*> all = All();
  std::vector<const Rule*> out(all.begin(), all.end());
  std::sort(out.begin(), out.end(), [](const Rule* a, const Rule* b) {
    if (a->spec.priority != b->spec.priority) return a->spec.priority > b->spec.priority;
    return a->seq < b->seq;
  });
  return out;
}

}  // namespace dpswitch::ofp
