// SPDX-License-Identifier: BSD-3-Clause
// The commands about the OpenFlow tables' classifiers: `show tables`,
// `show classifier stats` and `set table`, which changes one classifier
// option of one table or of all of them at run time.
//
// Changing an option changes only how wide the megaflows built from then on
// are; the installed ones stay correct (the pipeline's contract), so nothing
// is flushed here: `flush-megaflows` regenerates them with the new wildcards.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/classifier_config.h"
#include "control/commands.h"
#include "control/text_format.h"
#include "control/switch.h"
#include "ofproto/handler.h"
#include "ofproto/pipeline.h"

namespace dpswitch::control {
namespace {

constexpr const char* kSetUsage = "set table TABLE|all OPTION VALUE";

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string DisabledColumn(const cls::OfClassifierOptions& o) {
  const std::string off = DisabledOptimisations(o);
  return off.empty() ? "-" : off;
}

// Options and how many tables have them.
struct OptionsGroup {
  cls::OfClassifierOptions options;
  size_t tables;
};

void AddToGroups(std::vector<OptionsGroup>* groups, const cls::OfClassifierOptions& o, size_t n) {
  for (auto& g : *groups) {
    if (g.options == o) {
      g.tables += n;
      return;
    }
  }
  groups->push_back({o, n});
}

const OptionsGroup& Largest(const std::vector<OptionsGroup>& groups) {
  return *std::max_element(groups.begin(), groups.end(),
                           [](const auto& a, const auto& b) { return a.tables < b.tables; });
}

// One row per table with rules, one per empty table whose options differ
// from those of most empty tables, and one line for the latter.
CommandResult ShowTables(Switch& sw) {
  const std::vector<ofp::Pipeline::TableInfo> tables = sw.pipeline().Tables();
  std::vector<OptionsGroup> empty;  // options of the tables without rules
  if (tables.size() < ofp::kNumTables) {
    // Tables() leaves out (some) empty tables; they share one set of options.
    uint8_t first_unlisted = 0;
    for (const auto& t : tables)
      if (t.table == first_unlisted) first_unlisted++;
    AddToGroups(&empty, sw.pipeline().ClassifierOptions(first_unlisted),
                ofp::kNumTables - tables.size());
  }
  for (const auto& t : tables)
    if (t.rules == 0) AddToGroups(&empty, t.options, 1);
  const OptionsGroup* other = empty.empty() ? nullptr : &Largest(empty);

  std::vector<const ofp::Pipeline::TableInfo*> rows;
  size_t width = std::string_view("prefixes").size();
  for (const auto& t : tables) {
    if (t.rules == 0 && other && t.options == other->options) continue;
    rows.push_back(&t);
    width = std::max(width, ClassifierOptionValue(t.options, "prefixes").size());
  }
  const int w = static_cast<int>(width);
  std::string out = Fmt("%5s %8s %6s %10s %10s  %-*s  %s\n", "table", "rules", "tuples",
                        "partitions", "trie_nodes", w, "prefixes", "disabled");
  for (const auto* t : rows) {
    out +=
        Fmt("%5u %8zu %6zu %10zu %10zu  %-*s  %s\n", unsigned{t->table}, t->rules, t->tuples,
            t->partitions, t->trie_nodes, w, ClassifierOptionValue(t->options, "prefixes").c_str(),
            DisabledColumn(t->options).c_str());
  }
  if (other) {
    out += Fmt("other tables (%zu): no rules, prefixes %s, disabled %s\n", other->tables,
               ClassifierOptionValue(other->options, "prefixes").c_str(),
               DisabledColumn(other->options).c_str());
  }
  return Ok(out);
}

double PerLookup(uint64_t n, uint64_t lookups) {
  return lookups ? static_cast<double>(n) / static_cast<double>(lookups) : 0.0;
}

CommandResult ShowClassifierStats(Switch& sw) {
  const cls::OfLookupStats s = sw.handlers().LookupStats();
  std::string out;
  out += Fmt("classifier lookups: %" PRIu64 "\n", s.lookups);
  out += Fmt("  hits: %" PRIu64 " (%.1f%%)\n", s.hits, 100.0 * PerLookup(s.hits, s.lookups));
  out += Fmt("  tuples probed: %" PRIu64 " (avg %.2f per lookup)\n", s.tuples_probed,
             PerLookup(s.tuples_probed, s.lookups));
  out += Fmt("  stage exits: %" PRIu64 "\n", s.stage_exits);
  out += Fmt("  tuples skipped by prefix: %" PRIu64 "\n", s.skipped_by_prefix);
  out += Fmt("  tuples skipped by partition: %" PRIu64 "\n", s.skipped_by_partition);
  out += Fmt("  port trie exits: %" PRIu64 "\n", s.port_trie_exits);
  out += Fmt("  early exits (priority sorting): %" PRIu64 " (%.1f%%)\n", s.early_exits,
             100.0 * PerLookup(s.early_exits, s.lookups));
  return Ok(out);
}

// Sets `option` on every table, keeping each table's other options, in one
// batch.
void SetAllTables(ofp::Pipeline& p, const std::string& option, const std::string& value) {
  std::vector<cls::OfClassifierOptions> next;
  for (unsigned t = 0; t < ofp::kNumTables; t++) {
    next.push_back(p.ClassifierOptions(static_cast<uint8_t>(t)));
    SetClassifierOption(&next.back(), option, value);
  }
  p.SetClassifierOptions(next);
}

CommandResult SetTable(Switch& sw, const std::vector<std::string>& args) {
  const std::string options = Join(ClassifierOptionNames());
  if (args.size() < 3) {
    return Error(std::string("set table: usage: ") + kSetUsage + " (options: " + options + ")");
  }
  std::optional<uint8_t> table;
  if (args[0] != "all") {
    table = ParseTableId(args[0]);
    if (!table) return Error("set table: bad table '" + args[0] + "' (0-254 or all)");
  }
  const std::string& option = args[1];
  if (!IsClassifierOption(option))
    return Error("set table: unknown option '" + option + "'; options are " + options);
  const bool is_list = option == "prefixes";
  if (!is_list && args.size() != 3)
    return Error("set table: " + option + " takes one value (on or off)");
  // A prefix list may arrive split on the blanks after its commas.
  const std::string value = is_list ? JoinArgs(args, 2) : args[2];

  cls::OfClassifierOptions check;
  try {
    SetClassifierOption(&check, option, value);  // validate before changing anything
  } catch (const std::invalid_argument& e) {
    return Error("set table: bad value '" + value + "' for " + option + ": " + e.what());
  }
  ofp::Pipeline& p = sw.pipeline();
  try {
    if (table) {
      cls::OfClassifierOptions o = p.ClassifierOptions(*table);
      SetClassifierOption(&o, option, value);
      p.SetClassifierOptions(table, o);
    } else {
      SetAllTables(p, option, value);
    }
  } catch (const std::exception& e) {  // ofp::FlowError: refused by the classifier
    return Error("set table: " + option + " " + value + ": " + e.what());
  }
  sw.OnFlowTableChanged();  // a new version: megaflows get re-translated
  const std::string shown = is_list
                                ? ClassifierOptionValue(check, option)
                                : (ClassifierOptionValue(check, option) == "true" ? "on" : "off");
  return Ok((table ? "table " + std::to_string(*table) : std::string("all tables")) + ": " +
            option + " " + shown +
            "\ninstalled megaflows stay correct and are revalidated; flush-megaflows regenerates "
            "them all with the new wildcards\n");
}

}  // namespace

void RegisterTableCommands(Switch& sw, CommandRegistry& r) {
  r.Register("show tables", "show tables",
             "OpenFlow tables: rules, tuples, partitions, trie nodes, prefixes, options off",
             [&sw](const std::vector<std::string>&) { return ShowTables(sw); });
  r.Register("show classifier stats", "show classifier stats",
             "OpenFlow classifier lookups, hits, tuples probed and skipped, early exits",
             [&sw](const std::vector<std::string>&) { return ShowClassifierStats(sw); });
  r.Register("set table", kSetUsage,
             "change a classifier option (prefixes LIST|none; the others on|off)",
             [&sw](const std::vector<std::string>& args) { return SetTable(sw, args); });
}

}  // namespace dpswitch::control
