// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Parsing mbufs, single- or multi-segment (jumbo frames on ports with rx
// scatter, vhost-user chains).
//
// The parser and the header rewrite only look at the first segment: every
// PacketLayout offset is an offset into it, and the rewrite writes there.
// With the default 2 KiB data room that always holds the headers. A chain
// whose first segment is shorter than the header window (kHeaderWindow
// bytes, or the whole packet if shorter) — only with tiny data rooms or
// drivers that split headers — is first "pulled up": bytes are moved from
// the following segments into the first one, using its tailroom and then
// its headroom down to kKeepHeadroom (room for push_vlan), and emptied
// segments are freed. No allocation, no copy of the payload; the packet's
// bytes and pkt_len are unchanged. The headers the parser reports are then
// contiguous, so the layout the rewrite uses is valid. A chain that cannot
// be pulled up (shared or external first buffer, or a buffer smaller than
// the window) is parsed as far as its first segment goes: later headers
// count as truncated, and nothing outside the first segment is rewritten.
//
// Fast path: the single-segment case is one predictable branch in front of
// ParsePacket; the rest is out of line. noexcept, no allocation.

#include <cstdint>

#include <rte_mbuf.h>

#include "packet/flow_key.h"
#include "packet/parser.h"

namespace dpswitch::pkt {

// Bytes of a chain made contiguous before parsing: covers Ethernet, 8 VLAN
// tags, IPv4 with options or IPv6 with ~150 bytes of extension headers, and
// L4.
inline constexpr uint32_t kHeaderWindow = 256;
// Headroom a pull-up leaves in the first segment (4 VLAN pushes and more).
inline constexpr uint32_t kKeepHeadroom = 32;

// Makes the first min(want, pkt_len) bytes of `m` contiguous in its first
// segment where possible (see above). Returns the first segment's data_len.
uint32_t PullUp(rte_mbuf* m, uint32_t want) noexcept;

// ParseMbuf's multi-segment path.
uint32_t ParseMbufChain(rte_mbuf* m, uint32_t in_port, FlowKey* key,
                        PacketLayout* layout) noexcept;

// Parses the packet in `m` (any number of segments) received on OpenFlow
// port `in_port`. May rearrange a chain's segments (not its bytes).
inline uint32_t ParseMbuf(rte_mbuf* m, uint32_t in_port, FlowKey* key,
                          PacketLayout* layout) noexcept {
  if (m->nb_segs == 1) [[likely]]
    return ParsePacket(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, in_port, key, layout);
  return ParseMbufChain(m, in_port, key, layout);
}

}  // namespace dpswitch::pkt
