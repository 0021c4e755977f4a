// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <mutex>

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

}  // namespace

struct Pipeline::Impl {
  // Writers (flow changes, SetPorts) take it exclusively; Translate, DumpFlows
  // and FlowCount share it. Issue 3 replaces it with versioned rules.
  mutable std::shared_mutex mu;
  std::array<FlowTable, kNumTables> tables;  // guarded by mu
  XlatePorts ports;                          // guarded by mu
  uint64_t next_seq = 0;                     // Rule::seq source; guarded by mu (writers)
  std::atomic<uint64_t> version{0};          // bumped by writers under mu; read by anyone

  // Caller holds mu exclusively.
  void AddLocked(const FlowSpec& spec) {
    auto rule = std::make_unique<Rule>();
    rule->spec = spec;
    rule->created = std::chrono::steady_clock::now();
    rule->seq = next_seq++;
    tables[spec.table].Add(std::move(rule));
  }
};

Pipeline::Pipeline() : impl_(std::make_unique<Impl>()) {}
Pipeline::~Pipeline() = default;

void Pipeline::AddFlow(std::string_view text) { AddFlow(ParseFlow(text)); }

void Pipeline::AddFlow(const FlowSpec& spec) {
  std::unique_lock lock(impl_->mu);
  impl_->AddLocked(spec);
  impl_->version.fetch_add(1, std::memory_order_release);
}

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
  {
    std::unique_lock lock(impl_->mu);
    for (const FlowSpec& s : specs) impl_->AddLocked(s);
    impl_->version.fetch_add(1, std::memory_order_release);
  }
  spdlog::info("ofproto: {} flows loaded from {}", specs.size(), path);
  return specs.size();
}

size_t Pipeline::DelFlows(std::string_view match_text, bool strict) {
  const FlowSelector sel = ParseFlowSelector(match_text);
  const bool everything = !strict && Trim(match_text).empty();
  size_t n = 0;
  std::unique_lock lock(impl_->mu);
  for (uint32_t t = 0; t < kNumTables; t++) {
    if (sel.table && *sel.table != t) continue;
    n += everything ? impl_->tables[t].Clear() : impl_->tables[t].Delete(sel, strict);
  }
  impl_->version.fetch_add(1, std::memory_order_release);
  return n;
}

std::string Pipeline::DumpFlows(std::optional<uint8_t> table) const {
  std::string out;
  std::shared_lock lock(impl_->mu);
  for (uint32_t t = 0; t < kNumTables; t++) {
    if (table && *table != t) continue;
    for (const Rule* r : impl_->tables[t].Sorted()) {
      out += FormatFlow(r->spec);
      out += '\n';
    }
  }
  return out;
}

size_t Pipeline::FlowCount() const {
  std::shared_lock lock(impl_->mu);
  size_t n = 0;
  for (const FlowTable& t : impl_->tables) n += t.size();
  return n;
}

void Pipeline::SetPorts(std::vector<PortInfo> ports) {
  std::sort(ports.begin(), ports.end(),
            [](const PortInfo& a, const PortInfo& b) { return a.ofport < b.ofport; });
  std::unique_lock lock(impl_->mu);
  impl_->ports.ports = std::move(ports);
  impl_->version.fetch_add(1, std::memory_order_release);
}

uint64_t Pipeline::Version() const noexcept {
  return impl_->version.load(std::memory_order_acquire);
}

XlateStats Pipeline::Translate(const pkt::FlowKey& key, pkt::FlowMask* wc,
                               std::vector<pkt::DpAction>* actions) const {
  std::shared_lock lock(impl_->mu);
  return Xlate(impl_->tables.data(), impl_->ports, key, wc, actions);
}

}  // namespace dpswitch::ofp
