// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// The key fields prefix tracking works on, seen as bit strings for
// PrefixTrie: the four address fields a table can keep a trie for (nw_src,
// nw_dst, ipv6_src, ipv6_dst), and the 32-bit "ports" string tp_src.tp_dst
// (source port first) that a tuple's ports trie uses.
//
// arp_spa/arp_tpa share nw_src/nw_dst's storage (as in OVS), so the nw_src
// and nw_dst tries hold ARP rules' prefixes too; that is still correct: a
// trie only ever talks about the stored bits, whatever the packet type.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "classifier/prefix_trie.h"
#include "packet/field.h"
#include "packet/flow_key.h"

namespace dpswitch::cls {

// True for the fields a table may keep a prefix trie for.
bool IsPrefixField(pkt::FieldId id) noexcept;
// nw_src, nw_dst, ipv6_src, ipv6_dst: the default per table (as OVS's
// recommended prefixes, plus IPv6).
std::vector<pkt::FieldId> DefaultPrefixFields();
// "nw_src,ipv6_dst" / "none" (empty list) -> fields. Throws
// std::invalid_argument naming the bad entry (unknown, not a prefix field,
// listed twice, empty) or when there are more than 4 entries. Names and
// aliases as in pkt::FindField; spaces around entries are ignored.
std::vector<pkt::FieldId> ParsePrefixFields(std::string_view text);
// The inverse: "nw_src,nw_dst" or "none".
std::string FormatPrefixFields(const std::vector<pkt::FieldId>& fields);

// The field's value in `key` as a bit string (FieldWidth bits).
PrefixValue PrefixFieldValue(const pkt::FlowKey& key, pkt::FieldId id) noexcept;
// If the mask on the field is its first n bits (n = 0 when wildcarded),
// returns n; std::nullopt when the mask is not a prefix (e.g. 0.255.0.255).
std::optional<unsigned> PrefixFieldMaskLen(const pkt::FlowMask& mask, pkt::FieldId id) noexcept;
// Un-wildcards the first n bits of the field in *wc (Finalize()s the map).
void UnwildcardPrefix(pkt::FlowMask* wc, pkt::FieldId id, unsigned n) noexcept;

// The ports string: (tp_src << 16 | tp_dst), 32 bits.
inline uint32_t PortsBits(const pkt::FlowKey& key) noexcept {
  return static_cast<uint32_t>(key.tp_src) << 16 | key.tp_dst;
}
inline PrefixValue PortsValue(uint32_t bits) noexcept {
  return PrefixValue{static_cast<uint64_t>(bits) << 32, 0};
}
// ORs `bits` (in the ports string layout) into wc's tp_src/tp_dst.
void UnwildcardPorts(pkt::FlowMask* wc, uint32_t bits) noexcept;

}  // namespace dpswitch::cls
