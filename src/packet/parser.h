// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Packet parser ("miniflow extract"): fills a FlowKey from packet bytes.
//
// Parses Ethernet, one or more 802.1Q/802.1ad tags (the outermost goes into
// vlan_tci), ARP, IPv4 (with options and fragments), IPv6 (hop-by-hop,
// routing, destination-options and fragment extension headers), TCP (with
// flags), UDP, SCTP, ICMP and ICMPv6. A header that is truncated or malformed
// stops parsing at that point: the fields before it are filled, the rest are
// zero, and a ParseError bit says why. Nothing past `len` is ever read.
//
// Fast path: no allocation, no logging, branch-light, noexcept.

#include <cstdint>

#include "packet/flow_key.h"

namespace dpswitch::pkt {

// Why parsing stopped early (bit set), 0 if the packet parsed fully.
enum ParseError : uint32_t {
  kParseOk = 0,
  kParseTruncL2 = 1u << 0,   // shorter than an Ethernet (+VLAN) header
  kParseTruncL3 = 1u << 1,   // L3 header truncated (incl. ARP, IPv6 ext headers)
  kParseBadL3 = 1u << 2,     // IPv4 version/IHL/total length inconsistent, IPv6 bad version
  kParseTruncL4 = 1u << 3,   // L4 header truncated
  kParseBadL4 = 1u << 4,     // TCP data offset < 5
};

// Where the headers start, for the action executor. The rewrite code relies
// on these for memory safety (details in parser.cc):
struct PacketLayout {
  // Offset of the header after the Ethernet/VLAN headers; 0 if L2 was
  // truncated or an ARP/IPv4/IPv6 header there was rejected (so for those
  // ethertypes l3_ofs != 0 means the whole L3 header is present).
  uint16_t l3_ofs = 0;
  // Offset of the IP payload (after IPv4 options / IPv6 extension headers);
  // 0 for later fragments, a rejected L3, or a rejected TCP/UDP/SCTP/ICMP/
  // ICMPv6 header (so for those protocols l4_ofs != 0 means it is present).
  uint16_t l4_ofs = 0;
  uint8_t n_vlans = 0;  // VLAN tags seen
  uint8_t pad = 0;
};

// Parses `len` bytes at `data` received on OpenFlow port `in_port`.
// Writes every word of *key. Returns a ParseError bitmap.
uint32_t ParsePacket(const uint8_t* data, uint32_t len, uint32_t in_port, FlowKey* key,
                     PacketLayout* layout) noexcept;

// As ParsePacket for a frame of `frame_len` bytes of which only the first
// `len` are at `data` (the first segment of an mbuf chain): IPv4/IPv6 length
// fields are checked against frame_len, headers are read from the first
// `len` bytes only, and a header that does not fit in them counts as
// truncated. ParsePacket(d, n, ...) == ParseFrame(d, n, n, ...). mbufs go
// through ParseMbuf (packet/mbuf_parse.h), which calls one or the other.
uint32_t ParseFrame(const uint8_t* data, uint32_t len, uint32_t frame_len, uint32_t in_port,
                    FlowKey* key, PacketLayout* layout) noexcept;

}  // namespace dpswitch::pkt
