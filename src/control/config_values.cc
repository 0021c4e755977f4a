// SPDX-License-Identifier: BSD-3-Clause
#include "control/config_values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <sstream>

namespace dpswitch::control::config_values {

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<uint64_t> ParseU64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

uint64_t ParseRange(const std::string& s, uint64_t min, uint64_t max) {
  const auto v = ParseU64(s);
  if (!v || *v < min || *v > max) {
    throw BadValue{"expected an integer between " + std::to_string(min) + " and " +
                   std::to_string(max)};
  }
  return *v;
}

uint32_t ParsePowerOfTwo(const std::string& s, uint32_t min, uint32_t max) {
  const auto v = ParseU64(s);
  if (!v || *v < min || *v > max || (*v & (*v - 1)) != 0) {
    throw BadValue{"expected a power of two between " + std::to_string(min) + " and " +
                   std::to_string(max)};
  }
  return static_cast<uint32_t>(*v);
}

bool ParseBool(const std::string& s) {
  const std::string v = Lower(s);
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  throw BadValue{"expected true/false, yes/no, on/off or 1/0"};
}

std::string CanonicalLogLevel(const std::string& s) {
  const std::string v = Lower(s);
  if (v == "warning") return "warn";
  if (v == "err") return "error";
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (v == level) return v;
  }
  throw BadValue{"expected one of trace, debug, info, warn, error, critical, off"};
}

std::vector<unsigned> CoreList(const std::string& text) {
  const std::string where_hint = "expected lcore ids like \"1\", \"1,2\" or \"1-3\"";
  std::vector<unsigned> cores;
  std::set<unsigned> seen;
  std::stringstream in(text);
  std::string item;
  bool any = false;
  while (std::getline(in, item, ',')) {
    any = true;
    item = Trim(item);
    const auto dash = item.find('-');
    const auto first = ParseU64(item.substr(0, dash));
    const auto last = dash == std::string::npos ? first : ParseU64(item.substr(dash + 1));
    if (!first || !last) throw BadValue{where_hint};
    if (*first > *last) throw BadValue{"range '" + item + "' runs backwards"};
    if (*last > kMaxLcore)
      throw BadValue{"lcore " + std::to_string(*last) + " is above " + std::to_string(kMaxLcore)};
    for (uint64_t c = *first; c <= *last; ++c) {
      if (!seen.insert(static_cast<unsigned>(c)).second) {
        throw BadValue{"lcore " + std::to_string(c) + " is listed twice"};
      }
      cores.push_back(static_cast<unsigned>(c));
    }
  }
  if (!any || text.back() == ',') throw BadValue{where_hint};
  return cores;
}

std::vector<std::string> SplitSpaces(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string Suggest(std::string_view wrong, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& c : candidates) {
    const std::size_t d = EditDistance(wrong, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

}  // namespace dpswitch::control::config_values
