// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// printf-style formatting into a std::string for command output (tables of
// counters, where format widths read better than stream manipulators).

#include <chrono>
#include <cstdio>
#include <string>

namespace dpswitch::control {

// One formatted line or cell, at most 511 characters (longer is truncated).
template <class... Args>
std::string Fmt(const char* fmt, Args... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// A duration in milliseconds, for "%.3f ms" columns.
inline double Millis(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

}  // namespace dpswitch::control
