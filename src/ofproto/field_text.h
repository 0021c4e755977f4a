// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Text form of single field values, ports and numbers in the ovs-ofctl flow
// syntax, plus the OpenFlow prerequisite check of a match. Shared by the
// match parser (flow_syntax), the action parser (of_actions, for set_field)
// and their formatters, so a value is spelled the same way everywhere.
//
// Spellings: IPv4 fields (nw_src, nw_dst, arp_spa, arp_tpa) as dotted quads
// with "/N" or "/a.b.c.d"; IPv6 addresses as inet_pton text with "/N" or an
// address mask; MACs as xx:xx:xx:xx:xx:xx with an optional "/mask"; integers
// in decimal or 0x hex, "value/mask" for maskable ones; in_port also by the
// reserved names (LOCAL, ...). Values are right-aligned as in the field table
// (ip_dscp is 0..63, nw_tos is the TOS byte with the ECN bits clear).
//
// Errors throw FlowError whose message starts with the offending token.

#include <cstdint>
#include <string>
#include <string_view>

#include "ofproto/pipeline.h"
#include "packet/field.h"
#include "packet/flow_key.h"

namespace dpswitch::ofp {

// A value with its mask as written; mask is FullMask(f) when none was given.
struct MaskedValue {
  pkt::FieldValue value;  // right-aligned, already ANDed with mask
  pkt::FieldValue mask;   // right-aligned
};

// Parses "VALUE" or (when allow_mask) "VALUE/MASK" for field f. `token` is
// the whole token, quoted at the start of error messages.
MaskedValue ParseFieldValue(const pkt::FieldInfo& f, std::string_view text, bool allow_mask,
                            std::string_view token);
// "VALUE" when mask is full, else "VALUE/MASK" (CIDR "/N" for prefix masks of
// address fields). Parses back to the same value and mask.
std::string FormatFieldValue(const pkt::FieldInfo& f, const pkt::FieldValue& value,
                             const pkt::FieldValue& mask);

bool IsFullMask(const pkt::FieldInfo& f, const pkt::FieldValue& mask) noexcept;
bool IsZeroMask(const pkt::FieldInfo& f, const pkt::FieldValue& mask) noexcept;
bool SameValue(const pkt::FieldInfo& f, const pkt::FieldValue& a,
               const pkt::FieldValue& b) noexcept;

// Decimal or 0x-hex unsigned number no greater than max.
uint64_t ParseNumber(std::string_view text, uint64_t max, std::string_view token);
// A port number or reserved name (in_port, table, normal, flood, all,
// controller, local, any; any case).
uint32_t ParsePort(std::string_view text, std::string_view token);
// Reserved ports by their OVS name (IN_PORT, LOCAL, ...), others in decimal.
std::string FormatPort(uint32_t port);

// Empty when the match (key, mask) satisfies f's prerequisites, else what is
// missing ("ip", "tcp, udp or sctp", ...). With match_aliases, IPv4 address
// fields and nw_proto are also accepted on ARP matches (ovs-ofctl treats
// nw_src/nw_dst/nw_proto as arp_spa/arp_tpa/arp_op there).
std::string UnmetPrereq(const pkt::FieldInfo& f, const pkt::FlowKey& key, const pkt::FlowMask& mask,
                        bool match_aliases);

// The storage bits of f as a FlowKey-shaped mask (all field bits set).
pkt::FlowKey FieldBits(const pkt::FieldInfo& f) noexcept;

}  // namespace dpswitch::ofp
