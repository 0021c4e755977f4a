// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Pipeline: the OpenFlow tables (0..254) of one switch and the translation of
// a packet key through them into datapath actions ("xlate").
//
// Control side (console, control socket, flow file; later OpenFlow) changes
// flows; handler threads translate concurrently. Translation records every
// key bit any classifier or action consulted in `wc`, so the megaflow built
// from (key & wc, wc, actions) is correct for every packet it matches.
//
// Thread safety: all public methods may be called from any thread.
// Versioning: the tables and ports live in a cls::LeftRight pair of copies.
// Every change (one flow, a flow file, one del-flows, a port list, classifier
// options) is one batch: it is applied to the copy no reader uses, published
// with one atomic store, then replayed on the other copy once its last reader
// has left. A translation (or dump) therefore sees exactly one version from
// start to end, sees a batch entirely or not at all, and never waits; writers
// serialise among themselves and wait only for translations in flight. Rule
// objects are shared by both copies and freed once neither can reach them;
// they are immutable once published: a modify (OpenFlow FLOW_MOD modify)
// must replace a Rule with a new object, never edit it in place.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "classifier/of_classifier.h"
#include "ofproto/flow_syntax.h"
#include "ofproto/rule_counters.h"
#include "packet/dp_actions.h"
#include "packet/flow_key.h"

namespace dpswitch::ofp {

// Reserved OpenFlow port numbers (OpenFlow 1.3 values, as ovs-ofctl prints).
inline constexpr uint32_t kPortMax = 0xffffff00;
inline constexpr uint32_t kPortInPort = 0xfffffff8;
inline constexpr uint32_t kPortTable = 0xfffffff9;
inline constexpr uint32_t kPortNormal = 0xfffffffa;
inline constexpr uint32_t kPortFlood = 0xfffffffb;
inline constexpr uint32_t kPortAll = 0xfffffffc;
inline constexpr uint32_t kPortController = 0xfffffffd;
inline constexpr uint32_t kPortLocal = 0xfffffffe;
inline constexpr uint32_t kPortAny = 0xffffffff;

inline constexpr uint8_t kNumTables = 255;

// A switch port as translation sees it.
struct PortInfo {
  uint32_t ofport;    // OpenFlow port number
  uint16_t dp_index;  // datapath port index (what kOutput carries)
  bool up;            // link and admin state: FLOOD/ALL skip ports that are down
  std::string name;
};

// Bad flow text, bad flow file line, unknown table... The message names the
// offending token (and, for files, the line).
class FlowError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct XlateStats {
  uint64_t version = 0;           // the pipeline version the translation saw
  cls::OfLookupStats lookup;      // what the table classifiers did
  uint32_t tables_visited = 0;    // classifier lookups made
  bool depth_exceeded = false;    // resubmit/goto recursion hit the limit (packet dropped)
  bool too_many_lookups = false;  // more than kMaxXlateLookups lookups (packet dropped)
};

// Why a rule left its table (OpenFlow 1.3 ofp_flow_removed_reason values).
enum class FlowRemovedReason : uint8_t {
  kIdleTimeout = 0,
  kHardTimeout = 1,
  kDelete = 2,
  kGroupDelete = 3,
  kMeterDelete = 4,
};
const char* FlowRemovedReasonName(FlowRemovedReason reason) noexcept;  // "idle_timeout"...

// A removed rule that asked for it (kFlowSendFlowRem): what an OpenFlow
// FLOW_REMOVED message carries. Counts are what had been credited when the
// rule was removed (see RuleCounters).
struct FlowRemoved {
  FlowSpec spec;  // table, priority, cookie, timeouts, flags, match
  FlowRemovedReason reason;
  std::chrono::nanoseconds duration;  // from add to removal
  uint64_t packets;
  uint64_t bytes;
};

class Pipeline final {
 public:
  Pipeline();
  ~Pipeline();

  // --- control side --------------------------------------------------------
  // ovs-ofctl add-flow syntax; replaces a rule with identical match+priority
  // (the replacement starts with zero counters and a new duration, as an
  // OpenFlow add does, and no flow-removed is reported for the old rule). A
  // flow with check_overlap that overlaps a rule of the same priority in its
  // table, or a flow before it in the same batch, is refused (FlowError
  // "overlaps"), and in a batch nothing is added. An identical match
  // overlaps too (OpenFlow 1.3, 6.4), so check_overlap never replaces.
  void AddFlow(std::string_view text);
  // The same for an already parsed flow (the OpenFlow codec's entry point).
  void AddFlow(const FlowSpec& spec);
  // Several flows as one batch (visible together); returns how many.
  size_t AddFlows(const std::vector<FlowSpec>& specs);
  // A flow file: one flow per line, '#' comments, blank lines; all or nothing.
  // Returns the number of flows added. Errors name the file line.
  size_t AddFlowFile(const std::string& path);
  // ovs-ofctl del-flows: "" deletes everything; otherwise a match (with
  // optional table=) deleting every flow whose match is at least as specific
  // (loose) or identical incl. priority (strict). Returns flows deleted.
  // Deleted rules with send_flow_rem are reported (reason kDelete).
  size_t DelFlows(std::string_view match_text, bool strict = false);
  // ovs-ofctl dump-flows text with statistics (FormatFlow with FlowStatsText),
  // one line per flow, ordered by table then descending priority.
  std::string DumpFlows(std::optional<uint8_t> table = std::nullopt) const;

  // Removes every rule whose hard_timeout has passed since it was added, or
  // whose idle_timeout has passed since it last matched a packet (as credited
  // by revalidation), as one batch. Rules with send_flow_rem are reported
  // (kHardTimeout / kIdleTimeout). Returns the number removed. Cost: the rules
  // that have a timeout, not all rules. `now` is a parameter so tests can
  // move the clock.
  size_t ExpireRules(std::chrono::steady_clock::time_point now);
  // Receives the FlowRemoved of every removal that asked for one (delete or
  // expiry). Called on the thread that removed the rules, after the batch
  // is committed and with no pipeline lock held; it may call back into the
  // Pipeline. Set once, before changes start.
  void SetFlowRemovedSink(std::function<void(const FlowRemoved&)> sink);
  size_t FlowCount() const;
  // Replaces the port list (for FLOOD/ALL/in_port and ofport -> dp index).
  void SetPorts(std::vector<PortInfo> ports);
  // Incremented by every change of flows, ports or classifier options; the
  // version new translations see.
  uint64_t Version() const noexcept;

  // Classifier optimisations of one table, or of every table (nullopt).
  // Megaflows stay correct across a change (only their width changes), so
  // nothing is flushed. Throws FlowError for a bad prefix field list.
  void SetClassifierOptions(std::optional<uint8_t> table, const cls::OfClassifierOptions& options);
  // Every table's options at once (kNumTables entries), as one batch.
  void SetClassifierOptions(const std::vector<cls::OfClassifierOptions>& per_table);
  cls::OfClassifierOptions ClassifierOptions(uint8_t table) const;

  struct TableInfo {
    uint8_t table;
    size_t rules;
    size_t tuples;
    size_t partitions;
    size_t trie_nodes;
    cls::OfClassifierOptions options;
  };
  // Tables that hold rules or differ from the default options, ascending.
  std::vector<TableInfo> Tables() const;

  // --- handler / revalidator side -------------------------------------------
  // Translates `key` (in_port set) through the tables starting at table 0.
  // ORs every consulted key bit into *wc (caller initialises it, normally with
  // in_port exact) and appends datapath actions to *actions. If `rules` is
  // given, it is set to the counters of every rule the translation matched
  // (each once, any order), for crediting the megaflow's packets later.
  XlateStats Translate(const pkt::FlowKey& key, pkt::FlowMask* wc,
                       std::vector<pkt::DpAction>* actions,
                       std::vector<RuleCountersRef>* rules = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dpswitch::ofp
