// SPDX-License-Identifier: BSD-3-Clause
//
// The parser ("miniflow extract") turns packet bytes into a FlowKey.
//
// It is one straight-line pass: Ethernet, VLAN tags, then a branch on the
// ethertype into ARP, IPv4 or IPv6, then a branch on the IP protocol into
// one L4 header. Every read is preceded by a length check against the bytes
// that header may use, so nothing past `len` is ever touched; every load is a
// memcpy (packets are not aligned) followed by a byte swap.
//
// What a rejected header means. Parsing stops at the first header that is
// truncated or malformed; the fields of the headers before it stay filled and
// all later fields stay zero (the key is cleared first), so a classifier
// always sees one deterministic key per byte string. The choices, per header:
//  - Ethernet/VLAN: fewer than 14 bytes, or a tag without its 4 bytes
//    (TCI + next type) → kParseTruncL2. More than kMaxVlanTags tags: the
//    next TPID is reported as eth_type and parsing stops (as OVS does past
//    its tag limit), which bounds the work per packet.
//  - 802.3 length frames (type < 0x600): eth_type 0x05ff, nothing more.
//  - IPv4: fewer than 20 bytes, IHL*4 or total_length beyond the bytes
//    present → kParseTruncL3; version != 4, IHL < 5 or
//    total_length < IHL*4 → kParseBadL3. Either way no L3 field is filled
//    (as OVS's ipv4_sanity_check): a header whose lengths cannot be trusted
//    gives no addresses. Ethernet padding past total_length is ignored.
//  - IPv6: fewer than 40 bytes or payload_length beyond the bytes present →
//    kParseTruncL3, version != 6 → kParseBadL3, no L3 field. An extension
//    header that does not fit in the payload → kParseTruncL3 with the fixed
//    header's fields kept and nw_proto 0.
//  - ARP other than Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4):
//    no ARP field, no error; fewer than 28 bytes → kParseTruncL3.
//  - L4: bounded by the IP datagram, not by the frame. TCP needs 20 bytes
//    and a data offset >= 5 (kParseTruncL4 / kParseBadL4; options beyond
//    the 20 bytes are not read, so they are not checked), UDP 8, SCTP 12,
//    ICMP and ICMPv6 4 (type, code, checksum: what the key and the rewrite
//    use).
//
// Fragments: an IPv4 packet with MF or a non-zero offset, or an IPv6 packet
// whose fragment header has M or a non-zero offset, is kFragAny; a non-zero
// offset adds kFragLater and L4 is not parsed (its header is in the first
// fragment). An IPv6 atomic fragment (offset 0, M clear, RFC 6946) is not a
// fragment. nw_proto of a later IPv6 fragment is the fragment header's next
// header.
//
// Multi-segment frames (ParseFrame): length fields are checked against the
// whole frame, but only the first segment is read, so a header reaching past
// it is "truncated" (kParseTrunc*). ParseMbuf first pulls the first 256
// bytes of a chain into its first segment (packet/mbuf_parse.h), so this
// only happens when the headers are longer than that or the buffer too small.
//
// PacketLayout, which the rewrite code relies on for memory safety:
//  - l3_ofs: where the header after the Ethernet/VLAN headers starts; it is
//    0 when L2 was truncated, or when the ethertype is ARP/IPv4/IPv6 and that
//    header was rejected (for IPv6: its fixed header; a truncated extension
//    header leaves l3_ofs set). So for those three ethertypes, l3_ofs != 0
//    means the whole L3 header (IPv4 with options, IPv6 fixed header, 28-byte
//    ARP) is inside `len`.
//  - l4_ofs: where the IP payload starts (after IPv4 options / IPv6
//    extension headers), for unfragmented packets and first fragments, for
//    any protocol; 0 when L3 was rejected, for later fragments, and when the
//    protocol is TCP/UDP/SCTP/ICMP/ICMPv6 but its header was rejected. So
//    with one of those protocols, l4_ofs != 0 means the header is present.

#include "packet/parser.h"

#include <cstring>

#include <rte_byteorder.h>

#include "packet/protocols.h"

namespace dpswitch::pkt {
namespace {

using namespace proto;  // wire constants shared with the other packet unit

// Tags beyond this many are not skipped (see the essay above).
constexpr uint8_t kMaxVlanTags = 8;

constexpr uint16_t kEthTypeMin = 0x0600;   // smaller values are 802.3 lengths
constexpr uint16_t kEthType8023 = 0x05ff;  // what OVS reports for them

constexpr uint32_t kIpv4MinHeaderLen = 20;
constexpr uint32_t kIpv6HeaderLen = 40;
constexpr uint32_t kIpv6ExtUnit = 8;  // extension header lengths count 8-byte units
constexpr uint32_t kArpLen = 28;      // Ethernet/IPv4 ARP
constexpr uint32_t kTcpMinLen = 20;
constexpr uint32_t kUdpLen = 8;
constexpr uint32_t kSctpCommonLen = 12;
constexpr uint32_t kIcmpMinLen = 4;

constexpr uint16_t kIpv4FragOffsetMask = 0x1fff;
constexpr uint16_t kIpv4MoreFragments = 0x2000;
constexpr uint16_t kIpv6FragOffsetMask = 0xfff8;
constexpr uint16_t kIpv6MoreFragments = 0x0001;

inline uint16_t Load16(const uint8_t* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return rte_be_to_cpu_16(v);
}

inline uint32_t Load32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return rte_be_to_cpu_32(v);
}

inline bool IsVlanTpid(uint16_t type) noexcept {
  return type == kEthTypeVlan || type == kEthTypeQinQ;
}

// Parses the L4 header at `l4` with `avail` bytes of IP payload. `icmp` is
// the ICMP protocol number of this IP version (1 or 58): ICMPv6 inside IPv4
// (or the reverse) is not parsed. Returns ParseError bits; *ok tells the
// caller whether l4_ofs may be published.
inline uint32_t ParseL4(const uint8_t* l4, uint32_t avail, uint8_t proto, uint8_t icmp,
                        FlowKey* key, bool* ok) noexcept {
  *ok = false;
  if (proto == kProtoTcp) {
    if (avail < kTcpMinLen) return kParseTruncL4;
    const uint16_t off_flags = Load16(l4 + 12);
    if ((off_flags >> 12) < kTcpMinLen / 4) return kParseBadL4;
    key->tp_src = Load16(l4);
    key->tp_dst = Load16(l4 + 2);
    key->tcp_flags = off_flags & 0x0fff;
  } else if (proto == kProtoUdp) {
    if (avail < kUdpLen) return kParseTruncL4;
    key->tp_src = Load16(l4);
    key->tp_dst = Load16(l4 + 2);
  } else if (proto == kProtoSctp) {
    if (avail < kSctpCommonLen) return kParseTruncL4;
    key->tp_src = Load16(l4);
    key->tp_dst = Load16(l4 + 2);
  } else if (proto == icmp) {
    if (avail < kIcmpMinLen) return kParseTruncL4;
    key->tp_src = l4[0];
    key->tp_dst = l4[1];
  }
  *ok = true;
  return kParseOk;
}

// `avail`: bytes of the frame from l3 on (what length fields are checked
// against); `readable`: how many of them are at l3 (<= avail).
inline uint32_t ParseIpv4(const uint8_t* l3, uint32_t avail, uint32_t readable, uint32_t l3_ofs,
                          FlowKey* key, PacketLayout* layout) noexcept {
  if (readable < kIpv4MinHeaderLen) return kParseTruncL3;
  const uint8_t ver_ihl = l3[0];
  const uint32_t hlen = (ver_ihl & 0x0fu) * 4;
  if ((ver_ihl >> 4) != 4 || hlen < kIpv4MinHeaderLen) return kParseBadL3;
  if (hlen > readable) return kParseTruncL3;
  const uint32_t total = Load16(l3 + 2);
  if (total < hlen) return kParseBadL3;
  if (total > avail) return kParseTruncL3;

  layout->l3_ofs = static_cast<uint16_t>(l3_ofs);
  key->nw_src = Load32(l3 + 12);
  key->nw_dst = Load32(l3 + 16);
  const uint8_t proto = l3[9];
  key->nw_proto = proto;
  key->nw_tos = l3[1];
  key->nw_ttl = l3[8];
  const uint16_t frag = Load16(l3 + 6);
  if (frag & (kIpv4MoreFragments | kIpv4FragOffsetMask)) {
    key->nw_frag = kFragAny;
    if (frag & kIpv4FragOffsetMask) {
      key->nw_frag = kFragAny | kFragLater;
      return kParseOk;
    }
  }
  bool ok;
  const uint32_t l4_end = total < readable ? total : readable;
  const uint32_t err = ParseL4(l3 + hlen, l4_end - hlen, proto, kProtoIcmp, key, &ok);
  if (ok) layout->l4_ofs = static_cast<uint16_t>(l3_ofs + hlen);
  return err;
}

inline uint32_t ParseIpv6(const uint8_t* l3, uint32_t avail, uint32_t readable, uint32_t l3_ofs,
                          FlowKey* key, PacketLayout* layout) noexcept {
  if (readable < kIpv6HeaderLen) return kParseTruncL3;
  const uint32_t vtc_flow = Load32(l3);
  if ((vtc_flow >> 28) != 6) return kParseBadL3;
  const uint32_t datagram_end = kIpv6HeaderLen + Load16(l3 + 4);  // relative to l3
  if (datagram_end > avail) return kParseTruncL3;
  // Extension and L4 headers are read only up to here.
  const uint32_t end = datagram_end < readable ? datagram_end : readable;

  layout->l3_ofs = static_cast<uint16_t>(l3_ofs);
  key->nw_tos = static_cast<uint8_t>(vtc_flow >> 20);
  key->ipv6_label = vtc_flow & 0xfffff;
  key->nw_ttl = l3[7];
  std::memcpy(key->ipv6_src, l3 + 8, 16);
  std::memcpy(key->ipv6_dst, l3 + 24, 16);

  // Extension headers: each is at least 8 bytes, so the walk ends within
  // payload_length / 8 steps.
  uint8_t next = l3[6];
  uint32_t pos = kIpv6HeaderLen;
  for (;;) {
    if (next == kProtoIpv6HopByHop || next == kProtoIpv6Routing || next == kProtoIpv6DestOpts) {
      if (end - pos < kIpv6ExtUnit) return kParseTruncL3;
      const uint32_t ext_len = (l3[pos + 1] + 1u) * kIpv6ExtUnit;
      if (end - pos < ext_len) return kParseTruncL3;
      next = l3[pos];
      pos += ext_len;
    } else if (next == kProtoIpv6Fragment) {
      if (end - pos < kIpv6ExtUnit) return kParseTruncL3;
      const uint16_t off_flags = Load16(l3 + pos + 2);
      next = l3[pos];
      pos += kIpv6ExtUnit;
      if (off_flags & kIpv6FragOffsetMask) {
        key->nw_frag = kFragAny | kFragLater;
        key->nw_proto = next;
        return kParseOk;
      }
      if (off_flags & kIpv6MoreFragments) key->nw_frag = kFragAny;
    } else {
      break;
    }
  }
  key->nw_proto = next;
  bool ok;
  const uint32_t err = ParseL4(l3 + pos, end - pos, next, kProtoIcmpv6, key, &ok);
  if (ok) layout->l4_ofs = static_cast<uint16_t>(l3_ofs + pos);
  return err;
}

inline uint32_t ParseArp(const uint8_t* l3, uint32_t readable, uint32_t l3_ofs, FlowKey* key,
                         PacketLayout* layout) noexcept {
  if (readable < kArpLen) return kParseTruncL3;
  // htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4, as one 6-byte compare.
  static constexpr uint8_t kEthIpv4Arp[6] = {0x00, 0x01, 0x08, 0x00, 6, 4};
  if (std::memcmp(l3, kEthIpv4Arp, sizeof(kEthIpv4Arp)) != 0) return kParseOk;
  layout->l3_ofs = static_cast<uint16_t>(l3_ofs);
  key->nw_proto = l3[7];  // low byte of the opcode
  std::memcpy(key->arp_sha, l3 + 8, 6);
  key->nw_src = Load32(l3 + 14);
  std::memcpy(key->arp_tha, l3 + 18, 6);
  key->nw_dst = Load32(l3 + 24);
  return kParseOk;
}

// `len` bytes at `data` are readable; the frame is `frame_len` >= len bytes.
inline uint32_t Parse(const uint8_t* data, uint32_t len, uint32_t frame_len, uint32_t in_port,
                      FlowKey* key, PacketLayout* layout) noexcept {
  key->Clear();
  *layout = PacketLayout{};
  key->in_port = in_port;
  // An mbuf segment holds at most 64 KiB; clamping keeps every offset within
  // PacketLayout's 16 bits (bytes past it are treated as absent).
  if (len > UINT16_MAX) len = UINT16_MAX;
  if (frame_len < len) frame_len = len;

  if (len < kEthHeaderLen) return kParseTruncL2;
  std::memcpy(key->eth_dst, data, 6);
  std::memcpy(key->eth_src, data + 6, 6);

  // `ofs` points at the current type field.
  uint32_t ofs = 12;
  uint16_t type = Load16(data + ofs);
  if (IsVlanTpid(type)) {
    if (len < ofs + 2 + kVlanTagLen) return kParseTruncL2;
    key->vlan_tci = Load16(data + ofs + 2) | kVlanPresent;
    ofs += kVlanTagLen;
    type = Load16(data + ofs);
    uint8_t n_vlans = 1;
    while (IsVlanTpid(type) && n_vlans < kMaxVlanTags) {
      if (len < ofs + 2 + kVlanTagLen) {
        layout->n_vlans = n_vlans;
        return kParseTruncL2;
      }
      ofs += kVlanTagLen;
      type = Load16(data + ofs);
      n_vlans++;
    }
    layout->n_vlans = n_vlans;
  }
  const uint32_t l3_ofs = ofs + 2;

  if (type < kEthTypeMin) {
    key->eth_type = kEthType8023;
    layout->l3_ofs = static_cast<uint16_t>(l3_ofs);
    return kParseOk;
  }
  key->eth_type = type;
  const uint8_t* l3 = data + l3_ofs;
  const uint32_t avail = frame_len - l3_ofs;
  const uint32_t readable = len - l3_ofs;
  if (type == kEthTypeIpv4) return ParseIpv4(l3, avail, readable, l3_ofs, key, layout);
  if (type == kEthTypeIpv6) return ParseIpv6(l3, avail, readable, l3_ofs, key, layout);
  if (type == kEthTypeArp) return ParseArp(l3, readable, l3_ofs, key, layout);
  layout->l3_ofs = static_cast<uint16_t>(l3_ofs);
  return kParseOk;
}

}  // namespace

uint32_t ParsePacket(const uint8_t* data, uint32_t len, uint32_t in_port, FlowKey* key,
                     PacketLayout* layout) noexcept {
  return Parse(data, len, len, in_port, key, layout);
}

uint32_t ParseFrame(const uint8_t* data, uint32_t len, uint32_t frame_len, uint32_t in_port,
                    FlowKey* key, PacketLayout* layout) noexcept {
  return Parse(data, len, frame_len, in_port, key, layout);
}

}  // namespace dpswitch::pkt
