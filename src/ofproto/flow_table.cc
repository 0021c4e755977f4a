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

bool FlowTable::Add(std::unique_ptr<Rule> rule) {
  Rule* raw = rule.get();
  const FlowMatch& m = raw->spec.match;
  rules_.emplace(raw, std::move(rule));
  void* old = cls_.Insert(m.key, m.mask, raw->spec.priority, raw);
  if (old == nullptr) return false;
  rules_.erase(static_cast<const Rule*>(old));
  return true;
}

void FlowTable::Erase(const Rule* rule) {
  const FlowMatch& m = rule->spec.match;
  cls_.Remove(m.key, m.mask, rule->spec.priority);
  rules_.erase(rule);
}

size_t FlowTable::Delete(const FlowSelector& sel, bool strict) {
  std::vector<const Rule*> victims;
  if (strict) {
    const cls::OfClsRule* r =
        cls_.Find(sel.match.key, sel.match.mask, sel.priority.value_or(kDefaultPriority));
    if (r != nullptr && CookieSelected(sel, *static_cast<const Rule*>(r->user)))
      victims.push_back(static_cast<const Rule*>(r->user));
  } else {
    for (const auto& [raw, owned] : rules_)
      if (CookieSelected(sel, *raw) && LooselySelected(sel, *raw)) victims.push_back(raw);
  }
  for (const Rule* r : victims) Erase(r);
  return victims.size();
}

size_t FlowTable::Clear() {
  std::vector<const Rule*> all;
  all.reserve(rules_.size());
  for (const auto& [raw, owned] : rules_) all.push_back(raw);
  for (const Rule* r : all) Erase(r);
  return all.size();
}

std::vector<const Rule*> FlowTable::Sorted() const {
  std::vector<const Rule*> out;
  out.reserve(rules_.size());
  for (const auto& [raw, owned] : rules_) out.push_back(raw);
  std::sort(out.begin(), out.end(), [](const Rule* a, const Rule* b) {
    if (a->spec.priority != b->spec.priority) return a->spec.priority > b->spec.priority;
    return a->seq < b->seq;
  });
  return out;
}

}  // namespace dpswitch::ofp
