// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// The OpenFlow classifier's options as text: one table of option names
// (priority-sorting, staged-lookup, port-tracking, partitioning, prefixes)
// shared by the configuration file ([classifier] and [table.N] sections) and
// the `set table` command, so both accept the same names and values and print
// them the same way.
//
// Values: the four optimisations are booleans (on/off, true/false, yes/no,
// 1/0, any case); prefixes is a comma-separated list of prefix fields
// (nw_src, nw_dst, ipv6_src, ipv6_dst; spaces around commas are ignored) or
// "none".

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "classifier/of_classifier.h"

namespace dpswitch::control {

// "0".."254" -> OpenFlow table id (decimal digits only); nullopt otherwise.
// Config sections [table.N] and `set table N` both use it.
std::optional<uint8_t> ParseTableId(std::string_view text);

// One option as help shows it.
struct ClassifierOptionInfo {
  const char* name;  // "staged-lookup"
  const char* arg;   // value name for help: "BOOL", "LIST"
  const char* help;  // one line
};

// Every option, in the order help and FormatConfig list them.
const std::vector<ClassifierOptionInfo>& ClassifierOptionInfos();
// Just the names, same order.
std::vector<std::string> ClassifierOptionNames();
bool IsClassifierOption(std::string_view name);

// Sets option `name` of *options from `value`. Throws std::invalid_argument
// whose message says what is expected (or names the bad prefix field); the
// options are unchanged then. `name` must be one of ClassifierOptionNames()
// (std::invalid_argument otherwise).
void SetClassifierOption(cls::OfClassifierOptions* options, std::string_view name,
                         std::string_view value);
// The option's value as SetClassifierOption reads it back ("true", "false",
// "nw_src,nw_dst", "none").
std::string ClassifierOptionValue(const cls::OfClassifierOptions& options, std::string_view name);
// The optimisations that are off, comma-separated ("staged-lookup,partitioning"),
// "" when all are on. (Prefix tracking is not listed: it is on for the
// fields of `prefixes`.)
std::string DisabledOptimisations(const cls::OfClassifierOptions& options);

}  // namespace dpswitch::control
