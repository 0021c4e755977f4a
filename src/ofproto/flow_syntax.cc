// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/flow_syntax.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "ofproto/field_text.h"
#include "ofproto/pipeline.h"

namespace dpswitch::ofp {
namespace {

using pkt::FieldId;
using pkt::FieldInfo;
using pkt::FieldValue;

[[noreturn]] void Fail(std::string_view token, const std::string& why) {
  throw FlowError(std::string(token) + ": " + why);
}

bool IsSep(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

struct Shorthand {
  const char* name;
  uint16_t eth_type;
  int nw_proto;  // -1: none
};
constexpr Shorthand kShorthands[] = {
    {"ip", 0x0800, -1},    {"icmp", 0x0800, 1},    {"tcp", 0x0800, 6},    {"udp", 0x0800, 17},
    {"sctp", 0x0800, 132}, {"ipv6", 0x86dd, -1},   {"icmp6", 0x86dd, 58}, {"tcp6", 0x86dd, 6},
    {"udp6", 0x86dd, 17},  {"sctp6", 0x86dd, 132}, {"arp", 0x0806, -1},
};

// Flow-mod flags: bit and ovs-ofctl keyword, in the order ovs-ofctl prints them.
struct FlagName {
  uint16_t bit;
  const char* name;
};
constexpr FlagName kFlagNames[] = {
    {kFlowSendFlowRem, "send_flow_rem"},   {kFlowCheckOverlap, "check_overlap"},
    {kFlowResetCounts, "reset_counts"},    {kFlowNoPacketCounts, "no_packet_counts"},
    {kFlowNoByteCounts, "no_byte_counts"},
};

// What dump-flows adds to a flow. Accepted and ignored (ovs-ofctl does the
// same in every mode) so a dump-flows line can be fed back.
constexpr const char* kStatsKeys[] = {"duration", "n_packets", "n_bytes", "idle_age", "hard_age"};

bool IsStatsKey(std::string_view name) {
  return std::find(std::begin(kStatsKeys), std::end(kStatsKeys), name) != std::end(kStatsKeys);
}

// Which keywords besides match fields a caller accepts.
enum class Mode { kAdd, kSelect };

// If `name` is a flag keyword, sets its bit in *flags and returns true.
// Flags say how to add a flow, so selecting flows with one is an error.
bool ParseFlag(std::string_view name, Mode mode, std::string_view token, uint16_t* flags) {
  for (const FlagName& f : kFlagNames) {
    if (name != f.name) continue;
    if (mode != Mode::kAdd) Fail(token, "flags are only allowed when adding flows");
    *flags |= f.bit;
    return true;
  }
  return false;
}

// Accumulates a match token by token, checking conflicts as it goes and
// prerequisites at the end.
class MatchBuilder {
 public:
  // Adds f = value/mask. Bits already set by an earlier token must agree.
  void Set(const FieldInfo& f, const FieldValue& value, const FieldValue& mask,
           std::string_view token) {
    pkt::FlowKey k, m;
    k.Clear();
    m.Clear();
    pkt::SetFieldMatch(f, value, mask, &k, &m);
    for (uint32_t i = 0; i < pkt::kKeyWords; i++) {
      const uint64_t overlap = m.Word(i) & match_.mask.bits.Word(i);
      if ((k.Word(i) & overlap) != (match_.key.Word(i) & overlap))
        Fail(token, "conflicts with an earlier match field");
    }
    pkt::SetFieldMatch(f, value, mask, &match_.key, &match_.mask.bits);
  }

  void SetInt(FieldId id, uint64_t value, uint64_t mask, std::string_view token) {
    FieldValue v, m;
    v.u = value;
    m.u = mask;
    Set(pkt::GetField(id), v, m, token);
  }

  void AddField(const FieldInfo& f, std::string_view value_text, std::string_view token) {
    if (f.id == FieldId::kVlanVid && (value_text == "0xffff" || value_text == "65535")) {
      SetInt(FieldId::kVlanTci, 0, 0xffff, token);  // OFP_VLAN_NONE: untagged only
      return;
    }
    const MaskedValue mv = ParseFieldValue(f, value_text, f.maskable, token);
    Set(f, mv.value, mv.mask, token);
    if (f.prereq == pkt::Prereq::kVlan)
      SetInt(FieldId::kVlanTci, pkt::kVlanPresent, pkt::kVlanPresent, token);
    else
      checks_.push_back({&f, std::string(token)});
  }

  FlowMatch Finish() {
    for (const auto& [f, token] : checks_) {
      const std::string need = UnmetPrereq(*f, match_.key, match_.mask, /*match_aliases=*/true);
      if (!need.empty()) Fail(token, "prerequisite not met (needs " + need + ")");
    }
    match_.mask.Finalize();
    return match_;
  }

  const FlowMatch& match() const { return match_; }

 private:
  FlowMatch match_;
  std::vector<std::pair<const FieldInfo*, std::string>> checks_;  // fields to check prereqs of
};

// What the flow text held besides the match.
struct Parsed {
  FlowSpec spec;
  FlowSelector sel;
  bool has_actions = false;
  std::string_view actions;
};

Parsed ParseText(std::string_view text, Mode mode) {
  Parsed p;
  MatchBuilder mb;
  size_t i = 0;
  while (i < text.size()) {
    if (IsSep(text[i])) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !IsSep(text[j])) j++;
    const std::string_view token = text.substr(i, j - i);
    const size_t eq = token.find('=');
    const std::string_view name = token.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : token.substr(eq + 1);
    if (name == "actions" || name == "action") {
      if (eq == std::string_view::npos) Fail(token, "expected actions=...");
      p.has_actions = true;
      p.actions = text.substr(i + eq + 1);
      break;
    }
    i = j;
    if (eq == std::string_view::npos) {
      if (ParseFlag(name, mode, token, &p.spec.flags)) continue;
      bool found = false;
      for (const auto& s : kShorthands) {
        if (name != s.name) continue;
        mb.SetInt(FieldId::kEthType, s.eth_type, 0xffff, token);
        if (s.nw_proto >= 0) mb.SetInt(FieldId::kNwProto, s.nw_proto, 0xff, token);
        found = true;
      }
      if (!found) Fail(token, "unknown keyword '" + std::string(name) + "'");
      continue;
    }
    if (value.empty()) Fail(token, "missing value");
    if (name == "table") {
      const uint64_t t = ParseNumber(value, mode == Mode::kSelect ? 255 : kNumTables - 1, token);
      p.spec.table = static_cast<uint8_t>(t);
      if (t != 255) p.sel.table = static_cast<uint8_t>(t);
    } else if (name == "priority") {
      p.spec.priority = static_cast<int32_t>(ParseNumber(value, 0xffff, token));
      p.sel.priority = p.spec.priority;
    } else if (name == "cookie") {
      const size_t slash = value.find('/');
      if (slash != std::string_view::npos && mode == Mode::kAdd)
        Fail(token, "cookie mask only allowed when deleting flows");
      p.spec.cookie = ParseNumber(value.substr(0, slash), ~0ull, token);
      p.sel.cookie_mask = slash == std::string_view::npos
                              ? ~0ull
                              : ParseNumber(value.substr(slash + 1), ~0ull, token);
      p.sel.cookie = p.spec.cookie & p.sel.cookie_mask;
    } else if ((name == "idle_timeout" || name == "hard_timeout") && mode == Mode::kAdd) {
      const auto t = static_cast<uint16_t>(ParseNumber(value, 0xffff, token));
      (name == "idle_timeout" ? p.spec.idle_timeout : p.spec.hard_timeout) = t;
    } else if (IsStatsKey(name)) {
      // dump-flows statistics: ignored (see kStatsKeys)
    } else if (const FieldInfo* f = pkt::FindField(name)) {
      mb.AddField(*f, value, token);
    } else {
      Fail(token, "unknown field '" + std::string(name) + "'");
    }
  }
  p.spec.match = mb.Finish();
  p.sel.match = p.spec.match;
  return p;
}

// --- formatting --------------------------------------------------------------

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Appends "name=value[/mask]" for f if the match uses any of its bits.
void AddField(const FlowMatch& m, FieldId id, std::vector<std::string>* parts) {
  const FieldInfo& f = pkt::GetField(id);
  const FieldValue mask = pkt::GetFieldValue(f, m.mask.bits);
  if (IsZeroMask(f, mask)) return;
  parts->push_back(std::string(f.name) + "=" +
                   FormatFieldValue(f, pkt::GetFieldValue(f, m.key), mask));
}

void FormatVlan(const FlowMatch& m, std::vector<std::string>* parts) {
  const uint16_t tm = m.mask.bits.vlan_tci;
  const uint16_t tv = m.key.vlan_tci;
  if (tm == 0) return;
  const bool tagged = (tm & pkt::kVlanPresent) && (tv & pkt::kVlanPresent);
  const bool vid = (tm & 0x0fff) == 0x0fff;
  const bool pcp = (tm & 0xe000) == 0xe000;
  if (tagged && (tm == 0x1fff || tm == 0xf000 || tm == 0xffff)) {
    if (vid) parts->push_back("dl_vlan=" + std::to_string(tv & 0x0fff));
    if (pcp) parts->push_back("dl_vlan_pcp=" + std::to_string(tv >> 13));
    return;
  }
  char buf[32];
  if (tm == 0xffff)
    std::snprintf(buf, sizeof(buf), "vlan_tci=0x%04x", tv);
  else
    std::snprintf(buf, sizeof(buf), "vlan_tci=0x%04x/0x%04x", tv, tm);
  parts->push_back(buf);
}

// "idle_timeout=10, hard_timeout=30, send_flow_rem check_overlap ": what
// both dump formats print between the table and the priority. ovs-ofctl ends
// each flag with a blank rather than a comma; ParseFlow accepts either.
std::string TimeoutsAndFlags(const FlowSpec& f) {
  std::string out;
  if (f.idle_timeout) out += "idle_timeout=" + std::to_string(f.idle_timeout) + ", ";
  if (f.hard_timeout) out += "hard_timeout=" + std::to_string(f.hard_timeout) + ", ";
  for (const FlagName& flag : kFlagNames)
    if (f.flags & flag.bit) out += std::string(flag.name) + " ";
  return out;
}

// ovs-ofctl's duration: millisecond precision (as OVS keeps time), three
// decimals, none for a whole number of seconds ("12.345s", "5s").
std::string FormatDuration(double seconds) {
  const long long ms = seconds > 0 ? std::llround(seconds * 1000) : 0;
  char buf[32];
  if (ms % 1000 == 0)
    std::snprintf(buf, sizeof(buf), "%llds", ms / 1000);
  else
    std::snprintf(buf, sizeof(buf), "%lld.%03llds", ms / 1000, ms % 1000);
  return buf;
}

// Whole seconds, truncated, as ovs-ofctl prints idle_age.
uint64_t WholeSeconds(double seconds) { return seconds > 0 ? static_cast<uint64_t>(seconds) : 0; }

}  // namespace

bool operator==(const FlowMatch& a, const FlowMatch& b) noexcept {
  return a.mask == b.mask && std::memcmp(&a.key, &b.key, pkt::kKeyWords * 8) == 0;
}

FlowSpec ParseFlow(std::string_view text) {
  Parsed p = ParseText(text, Mode::kAdd);
  if (!p.has_actions) Fail(text, "missing actions= (use actions=drop to drop)");
  p.spec.instructions =
      ParseActions(p.actions, p.spec.table, &p.spec.match.key, &p.spec.match.mask);
  return std::move(p.spec);
}

FlowSelector ParseFlowSelector(std::string_view text) {
  Parsed p = ParseText(text, Mode::kSelect);
  if (p.has_actions) Fail(p.actions, "actions are not allowed when selecting flows");
  return std::move(p.sel);
}

std::string FormatMatch(const FlowMatch& m) {
  std::vector<std::string> parts;
  const pkt::FlowKey& k = m.key;
  const pkt::FlowKey& mk = m.mask.bits;
  const bool type_exact = mk.eth_type == 0xffff;
  const bool proto_exact = mk.nw_proto == 0xff;
  const bool arp = type_exact && k.eth_type == 0x0806;
  bool proto_done = false;
  bool icmp4 = false, icmp6 = false;
  if (type_exact) {
    const char* shorthand = nullptr;
    for (const auto& s : kShorthands) {
      if (s.eth_type != k.eth_type) continue;
      if (s.nw_proto < 0 && shorthand == nullptr) shorthand = s.name;
      if (s.nw_proto >= 0 && proto_exact && k.nw_proto == s.nw_proto) {
        shorthand = s.name;
        proto_done = true;
        break;
      }
    }
    if (shorthand != nullptr)
      parts.emplace_back(shorthand);
    else
      parts.push_back("dl_type=" + Hex(k.eth_type));
    icmp4 = proto_done && k.eth_type == 0x0800 && k.nw_proto == 1;
    icmp6 = proto_done && k.eth_type == 0x86dd && k.nw_proto == 58;
  } else if (mk.eth_type != 0) {
    // Not producible by the parser (dl_type is not maskable); best effort.
    parts.push_back("dl_type=" + Hex(k.eth_type));
  }
  AddField(m, FieldId::kInPort, &parts);
  AddField(m, FieldId::kMetadata, &parts);
  AddField(m, FieldId::kEthSrc, &parts);
  AddField(m, FieldId::kEthDst, &parts);
  FormatVlan(m, &parts);
  AddField(m, arp ? FieldId::kArpSpa : FieldId::kNwSrc, &parts);
  AddField(m, arp ? FieldId::kArpTpa : FieldId::kNwDst, &parts);
  if (!proto_done) AddField(m, arp ? FieldId::kArpOp : FieldId::kNwProto, &parts);
  AddField(m, FieldId::kNwTos, &parts);
  AddField(m, FieldId::kNwEcn, &parts);
  AddField(m, FieldId::kNwTtl, &parts);
  AddField(m, FieldId::kNwFrag, &parts);
  AddField(m, FieldId::kIpv6Src, &parts);
  AddField(m, FieldId::kIpv6Dst, &parts);
  AddField(m, FieldId::kIpv6Label, &parts);
  AddField(m, FieldId::kArpSha, &parts);
  AddField(m, FieldId::kArpTha, &parts);
  if (icmp4) {
    AddField(m, FieldId::kIcmpType, &parts);
    AddField(m, FieldId::kIcmpCode, &parts);
  } else if (icmp6) {
    AddField(m, FieldId::kIcmpv6Type, &parts);
    AddField(m, FieldId::kIcmpv6Code, &parts);
  } else {
    AddField(m, FieldId::kTpSrc, &parts);
    AddField(m, FieldId::kTpDst, &parts);
  }
  AddField(m, FieldId::kTcpFlags, &parts);

  std::string out;
  for (const auto& s : parts) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

std::string FormatFlow(const FlowSpec& f) {
  std::string out = "cookie=" + Hex(f.cookie) + ", table=" + std::to_string(f.table) + ", ";
  out += TimeoutsAndFlags(f);
  out += "priority=" + std::to_string(f.priority);
  const std::string match = FormatMatch(f.match);
  if (!match.empty()) out += ", " + match;
  out += " actions=" + FormatActions(f.instructions);
  return out;
}

// The field order of OVS 3.1's ofputil_flow_stats_format with statistics.
// Unlike ovs-ofctl we print the priority even when it is the default, as
// FormatFlow without statistics does.
std::string FormatFlow(const FlowSpec& f, const FlowStatsText& stats) {
  std::string out = "cookie=" + Hex(f.cookie) + ", duration=" + FormatDuration(stats.duration_s) +
                    ", table=" + std::to_string(f.table) +
                    ", n_packets=" + std::to_string(stats.n_packets) +
                    ", n_bytes=" + std::to_string(stats.n_bytes) + ", ";
  out += TimeoutsAndFlags(f);
  out += "idle_age=" + std::to_string(WholeSeconds(stats.idle_age_s)) + ", ";
  out += "priority=" + std::to_string(f.priority);
  const std::string match = FormatMatch(f.match);
  if (!match.empty()) out += "," + match;
  out += " actions=" + FormatActions(f.instructions);
  return out;
}

}  // namespace dpswitch::ofp
