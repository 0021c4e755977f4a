// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// The ovs-ofctl flow syntax: add-flow lines, del-flows matches and the
// dump-flows format, e.g.
//   table=0,priority=100,ip,nw_dst=10.0.0.0/8,actions=resubmit(,1)
//   cookie=0x0, table=0, priority=100, ip,nw_dst=10.0.0.0/8 actions=resubmit(,1)
//
// Match fields come from the field table (packet/field.h) by name or alias,
// plus the protocol shorthands (ip, ipv6, arp, tcp, udp, sctp, icmp, icmp6,
// tcp6, udp6, sctp6). Tokens are separated by commas or blanks, in any order;
// "actions=" must come last and takes the rest of the line. Prerequisites are
// checked once the whole match is known (so "nw_dst=10.0.0.1,ip" is fine);
// giving a field twice with different values is an error. dl_vlan and
// dl_vlan_pcp also match "a tag is present"; dl_vlan=0xffff matches untagged
// packets (OpenFlow 1.0's OFP_VLAN_NONE, as ovs-ofctl).
//
// FormatFlow/FormatMatch write what ParseFlow reads back to the identical
// FlowSpec, for every match the parser can produce.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ofproto/of_actions.h"
#include "packet/flow_key.h"

namespace dpswitch::ofp {

inline constexpr int32_t kDefaultPriority = 32768;

// OpenFlow 1.3 flow-mod flags (ofp_flow_mod_flags values), as FlowSpec::flags.
// In the text syntax they are bare keywords: send_flow_rem, check_overlap,
// reset_counts, no_packet_counts, no_byte_counts (ovs-ofctl's names), and
// only ParseFlow takes them (they say how to add a flow, not which to select).
inline constexpr uint16_t kFlowSendFlowRem = 1 << 0;     // emit flow-removed on removal
inline constexpr uint16_t kFlowCheckOverlap = 1 << 1;    // refuse an add that overlaps
inline constexpr uint16_t kFlowResetCounts = 1 << 2;     // modify: zero the counters
inline constexpr uint16_t kFlowNoPacketCounts = 1 << 3;  // hint only: we count anyway
inline constexpr uint16_t kFlowNoByteCounts = 1 << 4;    // hint only: we count anyway

// A rule's match: key & mask == key.
struct FlowMatch {
  pkt::FlowKey key;    // masked key
  pkt::FlowMask mask;  // set bits must match

  FlowMatch() noexcept { key.Clear(); }
};
bool operator==(const FlowMatch& a, const FlowMatch& b) noexcept;

// One add-flow line.
struct FlowSpec {
  uint8_t table = 0;                    // 0..254
  int32_t priority = kDefaultPriority;  // 0..65535
  uint64_t cookie = 0;                  // opaque to the switch
  uint16_t idle_timeout = 0;            // seconds without a packet before removal, 0 = none
  uint16_t hard_timeout = 0;            // seconds after adding before removal, 0 = none
  uint16_t flags = 0;                   // kFlow* bits
  FlowMatch match;
  OfInstructions instructions;
};

// One del-flows argument: which rules to delete.
struct FlowSelector {
  std::optional<uint8_t> table;     // nullopt (or table=255): every table
  std::optional<int32_t> priority;  // strict deletes use it (default kDefaultPriority)
  uint64_t cookie = 0;              // cookie=V/M: rule.cookie & cookie_mask == cookie
  uint64_t cookie_mask = 0;         // 0: cookie not matched
  FlowMatch match;
};

// add-flow syntax; "actions=" is required ("actions=drop" or "actions=" drop).
// The statistics dump-flows prints (duration, n_packets, n_bytes, idle_age,
// hard_age) are accepted and ignored, as ovs-ofctl does, so a dump-flows line
// can be fed back.
FlowSpec ParseFlow(std::string_view text);
// del-flows syntax: the match keywords plus table=, priority=, cookie=V/M
// (dump-flows statistics are ignored here too, as ovs-ofctl does).
FlowSelector ParseFlowSelector(std::string_view text);

// The match alone, e.g. "ip,nw_dst=10.0.0.0/8" ("" for match-all).
std::string FormatMatch(const FlowMatch& match);
// A dump-flows line without statistics.
std::string FormatFlow(const FlowSpec& flow);

// What dump-flows adds to a flow: ovs-ofctl prints
//   cookie=0x0, duration=12.345s, table=0, n_packets=3, n_bytes=180,
//   idle_timeout=10, hard_timeout=30, send_flow_rem idle_age=2, priority=...
struct FlowStatsText {
  double duration_s;  // since the rule was added
  uint64_t n_packets;
  uint64_t n_bytes;
  double idle_age_s;  // since it last matched a packet (or was added)
};
// A dump-flows line with statistics (ParseFlow reads it back to the same spec).
// As OVS 3.1 prints it: duration in milliseconds ("12.345s", "5s" when whole),
// idle_age in whole seconds (truncated), flags after the timeouts, then
// "priority=N,match" — the priority always, even the default.
std::string FormatFlow(const FlowSpec& flow, const FlowStatsText& stats);

}  // namespace dpswitch::ofp
