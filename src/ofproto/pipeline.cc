// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "classifier/left_right.h"
#include "ofproto/flow_syntax.h"
#include "ofproto/flow_table.h"
#include "ofproto/xlate.h"

namespace dpswitch::ofp {
namespace {

using Clock = std::chrono::steady_clock;

std::string_view Trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// Everything a translation reads: one copy of it per LeftRight side.
struct State {
  std::array<FlowTable, kNumTables> tables;  // rules point into Impl::rules
  XlatePorts ports;
  uint64_t version = 0;  // the batch that produced this content (same in both copies)
};

void CheckTable(uint32_t table) {
  if (table >= kNumTables) throw FlowError("table " + std::to_string(table) + " out of range");
}

// Why `r` has timed out at `now`, if it has. The hard timeout is checked
// first: a rule past both reports kHardTimeout.
std::optional<FlowRemovedReason> ExpiryOf(const Rule& r, Clock::time_point now) {
  using std::chrono::seconds;
  if (r.spec.hard_timeout != 0 && now - r.created >= seconds(r.spec.hard_timeout))
    return FlowRemovedReason::kHardTimeout;
  if (r.spec.idle_timeout != 0 && now - r.counters->Used() >= seconds(r.spec.idle_timeout))
    return FlowRemovedReason::kIdleTimeout;
  return std::nullopt;
}

FlowRemoved RemovedEvent(const Rule& r, FlowRemovedReason reason, Clock::time_point now) {
  return FlowRemoved{r.spec, reason,
                     std::chrono::duration_cast<std::chrono::nanoseconds>(now - r.created),
                     r.counters->packets.load(std::memory_order_relaxed),
                     r.counters->bytes.load(std::memory_order_relaxed)};
}

FlowStatsText StatsOf(const Rule& r, Clock::time_point now) {
  using Seconds = std::chrono::duration<double>;
  // Used() may be a little after `now` (credited since `now` was read).
  return FlowStatsText{std::max(0.0, Seconds(now - r.created).count()),
                       r.counters->packets.load(std::memory_order_relaxed),
                       r.counters->bytes.load(std::memory_order_relaxed),
                       std::max(0.0, Seconds(now - r.counters->Used()).count())};
}

// Flow-removed events gathered under writer_mu and delivered once it is
// released, since the sink may call back into the Pipeline.
struct PendingRemovals {
  std::vector<FlowRemoved> events;
  std::function<void(const FlowRemoved&)> sink;  // copied under writer_mu

  void Deliver() const {
    for (const FlowRemoved& e : events) sink(e);
  }
};

}  // namespace

struct Pipeline::Impl {
  // The tables and ports. Readers (Translate, DumpFlows, FlowCount, ...) take
  // a ReadGuard and never wait; writers change it only in Commit, under
  // writer_mu.
  cls::LeftRight<State> state;

  // Serialises writers; guards the members below it.
  std::mutex writer_mu;
  // Every Rule either copy of the tables can reach. A Rule is created here
  // before the batch that adds it and freed after the batch that drops it
  // has updated both copies (no reader can reach it any more).
  std::unordered_map<const Rule*, std::unique_ptr<Rule>> rules;
  // The rules of `rules` with an idle or hard timeout: what ExpireRules
  // scans, so its cost is the timed rules, not all of them.
  std::unordered_set<const Rule*> timed;
  // Where flow-removed events go (may be empty).
  std::function<void(const FlowRemoved&)> removed_sink;
  uint64_t next_seq = 0;   // Rule::seq source
  uint64_t committed = 0;  // version of the last batch
  // Written by writers right after a batch is published (before the second
  // copy is updated), read by anyone: the version new translations see.
  std::atomic<uint64_t> version{0};

  // A rule for `spec` (table already checked), with fresh counters. Caller
  // holds writer_mu.
  Rule* NewRule(const FlowSpec& spec, Clock::time_point created) {
    auto rule = std::make_unique<Rule>();
    rule->spec = spec;
    rule->created = created;
    rule->seq = next_seq++;
    rule->counters = std::make_shared<RuleCounters>(created);
    Rule* raw = rule.get();
    rules.emplace(raw, std::move(rule));
    if (spec.idle_timeout != 0 || spec.hard_timeout != 0) timed.insert(raw);
    return raw;
  }

  // Frees a rule no copy can reach (or that was never added).
  void Forget(const Rule* r) {
    timed.erase(r);
    rules.erase(r);
  }

  // Applies one batch to both copies: edit(State&, std::vector<const Rule*>*
  // dropped) changes the state and lists the rules it dropped. It runs
  // twice, on identical copies, so it must be deterministic and must not
  // throw (validate first). Frees the dropped rules afterwards, first
  // showing them to on_free(const std::vector<const Rule*>&) if given;
  // returns how many there were. Caller holds writer_mu.
  template <class Edit>
  size_t Commit(Edit&& edit,
                const std::function<void(const std::vector<const Rule*>&)>& on_free = {}) {
    const uint64_t v = committed + 1;
    std::array<std::vector<const Rule*>, 2> dropped;
    size_t pass = 0;
    state.Modify(
        [&](State& s) {
          edit(s, &dropped[pass]);
          s.version = v;
          pass++;
        },
        [&] { version.store(v, std::memory_order_release); });
    committed = v;
    return Free(&dropped, on_free);
  }

  // Frees the rules both copies dropped. The two lists can only differ by a
  // bug (a non-deterministic edit); then the rules one copy may still reach
  // are leaked rather than freed under a reader.
  size_t Free(std::array<std::vector<const Rule*>, 2>* dropped,
              const std::function<void(const std::vector<const Rule*>&)>& on_free) {
    for (auto& d : *dropped) std::sort(d.begin(), d.end());
    std::vector<const Rule*> both;
    std::set_intersection((*dropped)[0].begin(), (*dropped)[0].end(), (*dropped)[1].begin(),
                          (*dropped)[1].end(), std::back_inserter(both));
    if (both.size() != (*dropped)[0].size() || both.size() != (*dropped)[1].size()) {
      spdlog::critical("ofproto: table copies diverged ({} vs {} rules dropped); leaking rules",
                       (*dropped)[0].size(), (*dropped)[1].size());
      assert(false && "LeftRight copies diverged");
    }
    if (on_free && !both.empty()) on_free(both);
    for (const Rule* r : both) Forget(r);
    return (*dropped)[0].size();
  }

  // --- adding ------------------------------------------------------------------
  // Throws FlowError if a spec names a bad table, or has check_overlap and
  // overlaps a rule of its table and priority, or a flow earlier in the
  // batch (which will be in the table by then). An identical match overlaps
  // too, as OpenFlow 1.3 (6.4) defines it, so check_overlap refuses to
  // replace. Caller holds writer_mu, so the published copy is current.
  void Validate(std::span<const FlowSpec> specs) const {
    for (const FlowSpec& spec : specs) CheckTable(spec.table);
    if (std::none_of(specs.begin(), specs.end(),
                     [](const FlowSpec& f) { return (f.flags & kFlowCheckOverlap) != 0; }))
      return;
    const auto st = state.Read();
    // Earlier matches of the batch by (table, priority).
    std::map<std::pair<uint8_t, int32_t>, std::vector<const FlowMatch*>> earlier;
    for (const FlowSpec& spec : specs) {
      auto& same = earlier[{spec.table, spec.priority}];
      if (spec.flags & kFlowCheckOverlap) {
        if (st->tables[spec.table].Overlaps(spec))
          throw FlowError(FormatFlow(spec) + ": overlaps a flow of the same priority in table " +
                          std::to_string(spec.table));
        for (const FlowMatch* m : same)
          if (MatchesOverlap(*m, spec.match))
            throw FlowError(FormatFlow(spec) +
                            ": overlaps a flow of the same priority earlier in the batch");
      }
      same.push_back(&spec.match);
    }
  }

  size_t AddFlows(std::span<const FlowSpec> specs) {
    std::lock_guard lock(writer_mu);
    Validate(specs);
    // One creation time for the batch: its rules appear together.
    const Clock::time_point now = Clock::now();
    std::vector<Rule*> batch;
    batch.reserve(specs.size());
    try {
      for (const FlowSpec& s : specs) batch.push_back(NewRule(s, now));
    } catch (...) {
      for (const Rule* r : batch) Forget(r);
      throw;
    }
    // Replaced rules are dropped silently: an add is not a removal.
    Commit([&](State& s, std::vector<const Rule*>* dropped) {
      for (Rule* r : batch)
        if (Rule* old = s.tables[r->spec.table].Add(r)) dropped->push_back(old);
    });
    return specs.size();
  }

  // --- removing ----------------------------------------------------------------
  // Adds a FlowRemoved for `r` to *out if it asked for one and there is a
  // sink to receive it. Caller holds writer_mu and `r` is still alive.
  void Report(const Rule& r, FlowRemovedReason reason, Clock::time_point now,
              PendingRemovals* out) const {
    if (!removed_sink || !(r.spec.flags & kFlowSendFlowRem)) return;
    if (!out->sink) out->sink = removed_sink;
    out->events.push_back(RemovedEvent(r, reason, now));
  }

  // Reports deleted rules in creation order (`freed` is in address order).
  void ReportDeleted(std::vector<const Rule*> freed, Clock::time_point now,
                     PendingRemovals* out) const {
    std::sort(freed.begin(), freed.end(),
              [](const Rule* a, const Rule* b) { return a->seq < b->seq; });
    for (const Rule* r : freed) Report(*r, FlowRemovedReason::kDelete, now, out);
  }

  size_t DelFlows(const FlowSelector& sel, bool strict, bool everything, PendingRemovals* out) {
    std::lock_guard lock(writer_mu);
    const Clock::time_point now = Clock::now();
    return Commit(
        [&](State& s, std::vector<const Rule*>* dropped) {
          for (uint32_t t = 0; t < kNumTables; t++) {
            if (sel.table && *sel.table != t) continue;
            std::vector<Rule*> d =
                everything ? s.tables[t].Clear() : s.tables[t].Delete(sel, strict);
            dropped->insert(dropped->end(), d.begin(), d.end());
          }
        },
        [&](const std::vector<const Rule*>& freed) { ReportDeleted(freed, now, out); });
  }

  // The timed rules expired at `now`, in creation order (the edit below
  // must see the same list on both copies; the order keeps events stable).
  std::vector<std::pair<const Rule*, FlowRemovedReason>> Expired(Clock::time_point now) const {
    std::vector<std::pair<const Rule*, FlowRemovedReason>> out;
    for (const Rule* r : timed)
      if (const auto reason = ExpiryOf(*r, now)) out.emplace_back(r, *reason);
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first->seq < b.first->seq; });
    return out;
  }

  size_t ExpireRules(Clock::time_point now, PendingRemovals* out) {
    std::lock_guard lock(writer_mu);
    const auto victims = Expired(now);
    if (victims.empty()) return 0;  // no batch: the version stays
    for (const auto& [r, reason] : victims) Report(*r, reason, now, out);
    return Commit([&](State& s, std::vector<const Rule*>* dropped) {
      for (const auto& [r, reason] : victims)
        if (s.tables[r->spec.table].Remove(r)) dropped->push_back(r);
    });
  }
};

const char* FlowRemovedReasonName(FlowRemovedReason reason) noexcept {
  switch (reason) {
    case FlowRemovedReason::kIdleTimeout:
      return "idle_timeout";
    case FlowRemovedReason::kHardTimeout:
      return "hard_timeout";
    case FlowRemovedReason::kDelete:
      return "delete";
    case FlowRemovedReason::kGroupDelete:
      return "group_delete";
    case FlowRemovedReason::kMeterDelete:
      return "meter_delete";
  }
  return "unknown";  // not an enumerator (a cast from the wire)
}

Pipeline::Pipeline() : impl_(std::make_unique<Impl>()) {}
Pipeline::~Pipeline() = default;

void Pipeline::AddFlow(std::string_view text) { AddFlow(ParseFlow(text)); }

void Pipeline::AddFlow(const FlowSpec& spec) { impl_->AddFlows(std::span(&spec, 1)); }

size_t Pipeline::AddFlows(const std::vector<FlowSpec>& specs) { return impl_->AddFlows(specs); }

size_t Pipeline::AddFlowFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw FlowError(path + ": cannot open flow file");
  // Parse everything first so a bad line changes nothing.
  std::vector<FlowSpec> specs;
  std::string line;
  for (size_t n = 1; std::getline(in, line); n++) {
    std::string_view text = line;
    text = Trim(text.substr(0, text.find('#')));
    if (text.empty()) continue;
    try {
      specs.push_back(ParseFlow(text));
    } catch (const FlowError& e) {
      throw FlowError(path + ":" + std::to_string(n) + ": " + e.what());
    }
  }
  impl_->AddFlows(specs);
  spdlog::info("ofproto: {} flows loaded from {}", specs.size(), path);
  return specs.size();
}

size_t Pipeline::DelFlows(std::string_view match_text, bool strict) {
  const FlowSelector sel = ParseFlowSelector(match_text);
  const bool everything = !strict && Trim(match_text).empty();
  PendingRemovals removed;
  const size_t n = impl_->DelFlows(sel, strict, everything, &removed);
  removed.Deliver();  // writer_mu released
  return n;
}

std::string Pipeline::DumpFlows(std::optional<uint8_t> table) const {
  std::string out;
  const auto state = impl_->state.Read();
  const Clock::time_point now = Clock::now();
  for (uint32_t t = 0; t < kNumTables; t++) {
    if (table && *table != t) continue;
    for (const Rule* r : state->tables[t].Sorted()) {
      out += FormatFlow(r->spec, StatsOf(*r, now));
      out += '\n';
    }
  }
  return out;
}

size_t Pipeline::ExpireRules(Clock::time_point now) {
  PendingRemovals removed;
  const size_t n = impl_->ExpireRules(now, &removed);
  removed.Deliver();  // writer_mu released
  return n;
}

void Pipeline::SetFlowRemovedSink(std::function<void(const FlowRemoved&)> sink) {
  std::lock_guard lock(impl_->writer_mu);
  impl_->removed_sink = std::move(sink);
}

size_t Pipeline::FlowCount() const {
  const auto state = impl_->state.Read();
  size_t n = 0;
  for (const FlowTable& t : state->tables) n += t.size();
  return n;
}

void Pipeline::SetPorts(std::vector<PortInfo> ports) {
  std::sort(ports.begin(), ports.end(),
            [](const PortInfo& a, const PortInfo& b) { return a.ofport < b.ofport; });
  std::lock_guard lock(impl_->writer_mu);
  impl_->Commit([&](State& s, std::vector<const Rule*>*) { s.ports.ports = ports; });
}

uint64_t Pipeline::Version() const noexcept {
  return impl_->version.load(std::memory_order_acquire);
}

void Pipeline::SetClassifierOptions(std::optional<uint8_t> table,
                                    const cls::OfClassifierOptions& options) {
  if (table) CheckTable(*table);
  std::vector<cls::OfClassifierOptions> per_table;
  per_table.reserve(kNumTables);
  {
    const auto state = impl_->state.Read();
    for (uint32_t t = 0; t < kNumTables; t++)
      per_table.push_back(!table || *table == t ? options : state->tables[t].options());
  }
  SetClassifierOptions(per_table);
}

void Pipeline::SetClassifierOptions(const std::vector<cls::OfClassifierOptions>& per_table) {
  if (per_table.size() != kNumTables)
    throw FlowError("classifier options for " + std::to_string(per_table.size()) +
                    " tables, expected " + std::to_string(kNumTables));
  // The classifier's own check, on an empty classifier, so that the batch
  // below cannot throw half-way.
  try {
    cls::OfClassifier probe;
    for (const cls::OfClassifierOptions& o : per_table) probe.SetOptions(o);
  } catch (const std::invalid_argument& e) {
    throw FlowError(std::string("bad classifier options: ") + e.what());
  }
  std::lock_guard lock(impl_->writer_mu);
  impl_->Commit([&](State& s, std::vector<const Rule*>*) {
    for (uint32_t t = 0; t < kNumTables; t++)
      if (s.tables[t].options() != per_table[t]) s.tables[t].SetOptions(per_table[t]);
  });
}

cls::OfClassifierOptions Pipeline::ClassifierOptions(uint8_t table) const {
  CheckTable(table);
  return impl_->state.Read()->tables[table].options();
}

std::vector<Pipeline::TableInfo> Pipeline::Tables() const {
  const cls::OfClassifierOptions defaults;
  std::vector<TableInfo> out;
  const auto state = impl_->state.Read();
  for (uint32_t t = 0; t < kNumTables; t++) {
    const FlowTable& ft = state->tables[t];
    if (ft.size() == 0 && ft.options() == defaults) continue;
    out.push_back(TableInfo{static_cast<uint8_t>(t), ft.size(), ft.SubtableCount(),
                            ft.PartitionCount(), ft.TrieNodeCount(), ft.options()});
  }
  return out;
}

namespace {

// The counters of `matched`, each once. Deduplicated by counters rather than
// by rule: a modify may hand one rule's counters to its replacement.
void CountersOf(std::vector<const Rule*>* matched, std::vector<RuleCountersRef>* out) {
  std::sort(matched->begin(), matched->end(),
            [](const Rule* a, const Rule* b) { return a->counters.get() < b->counters.get(); });
  out->clear();
  for (const Rule* r : *matched)
    if (out->empty() || out->back() != r->counters) out->push_back(r->counters);
}

}  // namespace

XlateStats Pipeline::Translate(const pkt::FlowKey& key, pkt::FlowMask* wc,
                               std::vector<pkt::DpAction>* actions,
                               std::vector<RuleCountersRef>* rules) const {
  const auto state = impl_->state.Read();
  std::vector<const Rule*> matched;  // no allocation unless rules are wanted
  XlateStats stats = Xlate(state->tables.data(), state->ports, key, wc, actions,
                           rules != nullptr ? &matched : nullptr);
  stats.version = state->version;
  // Still under the read guard: a rule may be freed once it is released.
  if (rules != nullptr) CountersOf(&matched, rules);
  return stats;
}

}  // namespace dpswitch::ofp
