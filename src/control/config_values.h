// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// The value parsers of configuration loading (config.cc): integers in a
// range, powers of two, booleans, log levels, lcore lists, and the "did you
// mean" suggestion for a mistyped key. Internal to the control module; each
// throws BadValue with the reason, and the caller adds the key and where the
// setting came from.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dpswitch::control::config_values {

inline constexpr unsigned kMaxLcore = 1023;

// A bad value; the caller adds the key and where it came from.
struct BadValue {
  std::string reason;
};

std::string Trim(std::string_view s);
std::string Lower(std::string s);
// Decimal, no sign, no spaces, no overflow.
std::optional<uint64_t> ParseU64(std::string_view s);
uint64_t ParseRange(const std::string& s, uint64_t min, uint64_t max);
uint32_t ParsePowerOfTwo(const std::string& s, uint32_t min, uint32_t max);
// true/false, yes/no, on/off, 1/0 (any case).
bool ParseBool(const std::string& s);
// spdlog's level names ("warning" and "err" accepted).
std::string CanonicalLogLevel(const std::string& s);
// "1,3-5" -> {1,3,4,5}: no duplicates, no backwards ranges, <= kMaxLcore.
std::vector<unsigned> CoreList(const std::string& text);
std::vector<std::string> SplitSpaces(const std::string& s);
std::string Join(const std::vector<std::string>& v, const char* sep);
std::size_t EditDistance(std::string_view a, std::string_view b);
// " (did you mean 'x'?)" when a candidate is within two edits, else "".
std::string Suggest(std::string_view wrong, const std::vector<std::string>& candidates);

}  // namespace dpswitch::control::config_values
