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
  uint16_t idle_timeout = 0;            // seconds, 0 = none (stored; enforced later)
  uint16_t hard_timeout = 0;            // seconds, 0 = none (stored; enforced later)
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
FlowSpec ParseFlow(std::string_view text);
// del-flows syntax: the match keywords plus table=, priority=, cookie=V/M.
FlowSelector ParseFlowSelector(std::string_view text);

// The match alone, e.g. "ip,nw_dst=10.0.0.0/8" ("" for match-all).
std::string FormatMatch(const FlowMatch& match);
// A dump-flows line without statistics.
std::string FormatFlow(const FlowSpec& flow);

}  // namespace dpswitch::ofp
