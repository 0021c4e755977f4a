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
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "classifier/left_right.h"
#include "ofproto/flow_syntax.h"
#include "ofproto/flow_table.h"
#include "ofproto/xlate.h"

namespace dpswitch::ofp {
namespace {

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
  uint64_t next_seq = 0;   // Rule::seq source
  uint64_t committed = 0;  // version of the last batch
  // Written by writers right after a batch is published (before the second
  // copy is updated), read by anyone: the version new translations see.
  std::atomic<uint64_t> version{0};

  // Caller holds writer_mu.
  Rule* NewRule(const FlowSpec& spec) {
    CheckTable(spec.table);
    auto rule = std::make_unique<Rule>();
    rule->spec = spec;
    rule->created = std::chrono::steady_clock::now();
    rule->seq = next_seq++;
    Rule* raw = rule.get();
    rules.emplace(raw, std::move(rule));
    return raw;
  }

  // Applies one batch to both copies: edit(State&, std::vector<Rule*>*
  // dropped) changes the state and lists the rules it dropped. It runs
  // twice, on identical copies, so it must be deterministic and must not
  // throw (validate first). Frees the dropped rules afterwards; returns how
  // many there were. Caller holds writer_mu.
  template <class Edit>
  size_t Commit(Edit&& edit) {
    const uint64_t v = committed + 1;
    std::array<std::vector<Rule*>, 2> dropped;
    size_t pass = 0;
    state.Modify(
        [&](State& s) {
          edit(s, &dropped[pass]);
          s.version = v;
          pass++;
        },
        [&] { version.store(v, std::memory_order_release); });
    committed = v;
    return Free(&dropped);
  }

  // Frees the rules both copies dropped. The two lists can only differ by a
  // bug (a non-deterministic edit); then the rules one copy may still reach
  // are leaked rather than freed under a reader.
  size_t Free(std::array<std::vector<Rule*>, 2>* dropped) {
    for (auto& d : *dropped) std::sort(d.begin(), d.end());
    std::vector<Rule*> both;
    std::set_intersection((*dropped)[0].begin(), (*dropped)[0].end(), (*dropped)[1].begin(),
                          (*dropped)[1].end(), std::back_inserter(both));
    if (both.size() != (*dropped)[0].size() || both.size() != (*dropped)[1].size()) {
      spdlog::critical("ofproto: table copies diverged ({} vs {} rules dropped); leaking rules",
                       (*dropped)[0].size(), (*dropped)[1].size());
      assert(false && "LeftRight copies diverged");
    }
    for (const Rule* r : both) rules.erase(r);
    return (*dropped)[0].size();
  }

  size_t AddFlows(std::span<const FlowSpec> specs) {
    std::lock_guard lock(writer_mu);
    std::vector<Rule*> batch;
    batch.reserve(specs.size());
    try {
      for (const FlowSpec& s : specs) batch.push_back(NewRule(s));
    } catch (...) {
      for (const Rule* r : batch) rules.erase(r);
      throw;
    }
    Commit([&](State& s, std::vector<Rule*>* dropped) {
      for (Rule* r : batch)
        if (Rule* old = s.tables[r->spec.table].Add(r)) dropped->push_back(old);
    });
    return specs.size();
  }
};

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
  std::lock_guard lock(impl_->writer_mu);
  return impl_->Commit([&](State& s, std::vector<Rule*>* dropped) {
    for (uint32_t t = 0; t < kNumTables; t++) {
      if (sel.table && *sel.table != t) continue;
      std::vector<Rule*> d = everything ? s.tables[t].Clear() : s.tables[t].Delete(sel, strict);
      dropped->insert(dropped->end(), d.begin(), d.end());
    }
  });
}

std::string Pipeline::DumpFlows(std::optional<uint8_t> table) const {
  std::string out;
  const auto state = impl_->state.Read();
  for (uint32_t t = 0; t < kNumTables; t++) {
    if (table && *table != t) continue;
    for (const Rule* r : state->tables[t].Sorted()) {
      out += FormatFlow(r->spec);
      out += '\n';
    }
  }
  return out;
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
  impl_->Commit([&](State& s, std::vector<Rule*>*) { s.ports.ports = ports; });
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
  impl_->Commit([&](State& s, std::vector<Rule*>*) {
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

XlateStats Pipeline::Translate(const pkt::FlowKey& key, pkt::FlowMask* wc,
                               std::vector<pkt::DpAction>* actions) const {
  const auto state = impl_->state.Read();
  XlateStats stats = Xlate(state->tables.data(), state->ports, key, wc, actions);
  stats.version = state->version;
  return stats;
}

}  // namespace dpswitch::ofp
