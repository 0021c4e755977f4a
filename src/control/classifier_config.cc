// SPDX-License-Identifier: BSD-3-Clause
#include "control/classifier_config.h"

#include <cctype>

#include "classifier/prefix_field.h"

namespace dpswitch::control {
namespace {

// The boolean options: name and the member it sets.
struct BoolOption {
  const char* name;
  bool cls::OfClassifierOptions::*member;
};

constexpr BoolOption kBoolOptions[] = {
    {"priority-sorting", &cls::OfClassifierOptions::priority_sorting},
    {"staged-lookup", &cls::OfClassifierOptions::staged_lookup},
    {"port-tracking", &cls::OfClassifierOptions::port_tracking},
    {"partitioning", &cls::OfClassifierOptions::partitioning},
};
constexpr std::string_view kPrefixes = "prefixes";

const BoolOption* FindBool(std::string_view name) {
  for (const auto& b : kBoolOptions)
    if (name == b.name) return &b;
  return nullptr;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ParseBool(std::string_view text) {
  const std::string v = Lower(text);
  if (v == "on" || v == "true" || v == "yes" || v == "1") return true;
  if (v == "off" || v == "false" || v == "no" || v == "0") return false;
  throw std::invalid_argument("expected on/off, true/false, yes/no or 1/0");
}

// "nw_src , nw_dst" -> "nw_src,nw_dst": blanks around entries are not part
// of the field names.
std::string StripBlanks(std::string_view text) {
  std::string out;
  for (char c : text)
    if (c != ' ' && c != '\t') out += c;
  return out;
}

}  // namespace

std::optional<uint8_t> ParseTableId(std::string_view text) {
  constexpr unsigned kMaxTable = 254;  // 255 is OFPTT_ALL
  if (text.empty() || text.size() > 3) return std::nullopt;
  unsigned v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > kMaxTable) return std::nullopt;
  return static_cast<uint8_t>(v);
}

const std::vector<ClassifierOptionInfo>& ClassifierOptionInfos() {
  static const std::vector<ClassifierOptionInfo> infos = {
      {"priority-sorting", "BOOL",
       "search tuples by descending max priority and stop early (tuple priority sorting)"},
      {"staged-lookup", "BOOL",
       "probe tuples stage by stage (metadata, L2, L3, L4) so misses un-wildcard less"},
      {"port-tracking", "BOOL", "per-tuple tp_src/tp_dst trie narrowing L4 misses"},
      {"partitioning", "BOOL", "skip tuples by exact-match metadata"},
      {"prefixes", "LIST",
       "fields with a prefix trie: up to 4 of nw_src,nw_dst,ipv6_src,ipv6_dst, or none"},
  };
  return infos;
}

std::vector<std::string> ClassifierOptionNames() {
  std::vector<std::string> names;
  for (const auto& i : ClassifierOptionInfos()) names.emplace_back(i.name);
  return names;
}

bool IsClassifierOption(std::string_view name) {
  return name == kPrefixes || FindBool(name) != nullptr;
}

void SetClassifierOption(cls::OfClassifierOptions* options, std::string_view name,
                         std::string_view value) {
  if (const BoolOption* b = FindBool(name)) {
    options->*b->member = ParseBool(value);
    return;
  }
  if (name != kPrefixes) throw std::invalid_argument("unknown option '" + std::string(name) + "'");
  const std::string text = StripBlanks(value);
  if (text.empty()) throw std::invalid_argument("expected a list of prefix fields or none");
  std::vector<pkt::FieldId> fields = cls::ParsePrefixFields(text);
  if (fields.size() > cls::kMaxPrefixFields) {
    throw std::invalid_argument("at most " + std::to_string(cls::kMaxPrefixFields) +
                                " prefix fields");
  }
  options->prefix_fields = std::move(fields);
}

std::string ClassifierOptionValue(const cls::OfClassifierOptions& options, std::string_view name) {
  if (const BoolOption* b = FindBool(name)) return options.*b->member ? "true" : "false";
  if (name == kPrefixes) return cls::FormatPrefixFields(options.prefix_fields);
  throw std::invalid_argument("unknown option '" + std::string(name) + "'");
}

std::string DisabledOptimisations(const cls::OfClassifierOptions& options) {
  std::string out;
  for (const auto& b : kBoolOptions) {
    if (options.*b.member) continue;
    if (!out.empty()) out += ',';
    out += b.name;
  }
  return out;
}

}  // namespace dpswitch::control
