// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Header rewrites used by the datapath action executor: set-field on
// Ethernet, VLAN, IPv4, IPv6 and L4 fields with incremental checksum updates
// (RFC 1624) for IPv4 header, TCP, UDP (a zero UDP checksum stays zero) and
// ICMPv6/TCP/UDP pseudo-headers over IPv6; VLAN push/pop; TTL decrement.
//
// They act on the packet's first segment (the parser only looks there too)
// and on the PacketLayout the parser produced; the functions that change the
// header length (push/pop VLAN) update the layout. Fast path: noexcept, no
// allocation.

#include <cstdint>

#include "packet/dp_actions.h"
#include "packet/parser.h"

struct rte_mbuf;

namespace dpswitch::pkt {

// Applies a kSetField action. `key` is the packet's current parsed key (used
// for the L3/L4 type); it is updated to the new value too, so later actions
// see the modified packet. No-op if the packet lacks the header.
void SetField(rte_mbuf* m, PacketLayout* layout, FlowKey* key, const DpAction& a) noexcept;

// Pushes an 802.1Q/802.1ad tag. Returns false (packet untouched) if there is
// no headroom.
bool PushVlan(rte_mbuf* m, PacketLayout* layout, FlowKey* key, uint16_t tpid,
              uint16_t tci) noexcept;
// Pops the outermost tag; no-op if untagged.
void PopVlan(rte_mbuf* m, PacketLayout* layout, FlowKey* key) noexcept;
// Decrements the IPv4 TTL (fixing the header checksum) or IPv6 hop limit.
// Returns false if the TTL was <= 1 (packet untouched; the caller stops).
// Non-IP packets: returns true, untouched.
bool DecTtl(rte_mbuf* m, const PacketLayout& layout, FlowKey* key) noexcept;

// Incremental checksum helpers (exposed for tests): RFC 1624 eqn. 3.
uint16_t ChecksumUpdate16(uint16_t csum, uint16_t old_val, uint16_t new_val) noexcept;
uint16_t ChecksumUpdate32(uint16_t csum, uint32_t old_val, uint32_t new_val) noexcept;

}  // namespace dpswitch::pkt
