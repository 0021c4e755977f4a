// SPDX-License-Identifier: BSD-3-Clause
//
// Header rewrite for the datapath action executor.
//
// Each set-field reads the header field as it is on the wire, merges the
// action's value under its mask (header = (header & ~mask) | (value & mask),
// with the mask restricted to the field's bits from the field table), writes
// it back, fixes every checksum that covers it, and stores the new value in
// the FlowKey, so the key always equals what re-parsing the packet would
// give.
//
// Checksums are updated incrementally (RFC 1624 eqn. 3, HC' = ~(~HC + ~m +
// m')). One's complement sums do not depend on byte order, so old and new
// values are used exactly as loaded from the packet, with no byte swaps.
// For a checksum that started canonical (as a full computation leaves it),
// the result equals a full recomputation bit for bit: the running sum never
// becomes +0 because every header covered has a non-zero word.
//  - IPv4 header checksum: TOS, TTL, addresses.
//  - TCP/UDP: ports, and IPv4/IPv6 addresses through the pseudo-header. A UDP
//    checksum of 0 means "none" and stays 0; an updated one that comes out 0
//    is sent as 0xffff (RFC 768). Over IPv6 with a Routing header that still
//    has segments left, the pseudo-header holds the final destination, not
//    the IPv6 destination field, so changing that field leaves L4 alone.
//  - ICMPv4: type/code (no pseudo-header). ICMPv6: type/code, and addresses
//    through the pseudo-header.
//  - SCTP: CRC32c is not incremental; changing a port recomputes it over
//    the whole SCTP packet (bounded by the IP length, following the mbuf
//    chain) with rte_hash_crc, stored as RFC 4960 appendix B says (the
//    complemented CRC in little-endian byte order).
//
// Safety: a field is written only when the key says the packet has the
// header (eth_type / nw_proto, the field table's prerequisites) and the
// layout says the parser accepted it (l3_ofs / l4_ofs, see parser.cc); the
// offsets are also checked against the segment length, so a stale layout
// cannot write out of bounds. Later fragments have no L4 header
// (l4_ofs == 0), so L4 sets are no-ops on them.

#include "packet/rewrite.h"

#include <cstring>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>

#include "packet/protocols.h"

namespace dpswitch::pkt {
namespace {

using namespace proto;  // wire constants shared with the other packet unit

constexpr uint32_t kMacBytes = 12;  // destination + source MAC

// Offsets of checksums inside their L4 headers.
constexpr uint32_t kTcpCsumOfs = 16;
constexpr uint32_t kUdpCsumOfs = 6;
constexpr uint32_t kIcmpCsumOfs = 2;
constexpr uint32_t kSctpCsumOfs = 8;

// Raw (network-order) 16/32-bit loads and stores: checksum arithmetic uses
// them as they are.
inline uint16_t Raw16(const uint8_t* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void PutRaw16(uint8_t* p, uint16_t v) noexcept { std::memcpy(p, &v, 2); }
inline uint32_t Raw32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint16_t Be16(const uint8_t* p) noexcept { return rte_be_to_cpu_16(Raw16(p)); }
inline void PutBe16(uint8_t* p, uint16_t v) noexcept { PutRaw16(p, rte_cpu_to_be_16(v)); }
inline uint32_t Be32(const uint8_t* p) noexcept { return rte_be_to_cpu_32(Raw32(p)); }
inline void PutBe32(uint8_t* p, uint32_t v) noexcept {
  const uint32_t be = rte_cpu_to_be_32(v);
  std::memcpy(p, &be, 4);
}

inline uint32_t Fold(uint32_t sum) noexcept {
  sum = (sum & 0xffff) + (sum >> 16);
  return (sum & 0xffff) + (sum >> 16);
}

// Sum of ~old + new over `n` bytes (n even): the delta eqn. 3 adds to ~HC.
inline uint32_t DeltaBytes(const uint8_t* old_bytes, const uint8_t* new_bytes,
                           uint32_t n) noexcept {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < n; i += 2)
    sum += static_cast<uint16_t>(~Raw16(old_bytes + i)) + Raw16(new_bytes + i);
  return sum;
}

inline uint16_t ApplyDelta(uint16_t csum, uint32_t delta) noexcept {
  return static_cast<uint16_t>(~Fold(static_cast<uint16_t>(~csum) + Fold(delta)));
}

// Adds `delta` to the checksum at `p`.
inline void PatchCsum(uint8_t* p, uint32_t delta) noexcept {
  PutRaw16(p, ApplyDelta(Raw16(p), delta));
}

// As PatchCsum for a UDP checksum: 0 (none) stays 0, a computed 0 is 0xffff.
inline void PatchUdpCsum(uint8_t* p, uint32_t delta) noexcept {
  const uint16_t c = Raw16(p);
  if (c == 0) return;
  const uint16_t n = ApplyDelta(c, delta);
  PutRaw16(p, n == 0 ? 0xffff : n);
}

// value/mask of an integer field, merged into its storage representation.
inline uint64_t Merge(const FieldInfo& f, uint64_t storage, const DpAction& a) noexcept {
  const uint64_t m = (a.mask.u << f.shift) & f.bits;
  return (storage & ~m) | ((a.value.u << f.shift) & m);
}

inline void MergeBytes(uint8_t* dst, const DpAction& a, uint32_t n) noexcept {
  for (uint32_t i = 0; i < n; i++)
    dst[i] =
        static_cast<uint8_t>((dst[i] & ~a.mask.bytes[i]) | (a.value.bytes[i] & a.mask.bytes[i]));
}

// The packet's first segment.
struct Seg {
  uint8_t* data;
  uint32_t len;
};

inline Seg FirstSeg(rte_mbuf* m) noexcept {
  return {rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m)};
}

// The IPv4 header, when the packet is IPv4 and the parser accepted it.
inline uint8_t* Ipv4Header(const Seg& s, const PacketLayout& l, const FlowKey& k) noexcept {
  if (k.eth_type != kEthTypeIpv4 || l.l3_ofs == 0) return nullptr;
  uint8_t* ip = s.data + l.l3_ofs;
  if (l.l3_ofs + 20u > s.len || l.l3_ofs + (ip[0] & 0x0fu) * 4 > s.len) return nullptr;
  return ip;
}

inline uint8_t* Ipv6Header(const Seg& s, const PacketLayout& l, const FlowKey& k) noexcept {
  if (k.eth_type != kEthTypeIpv6 || l.l3_ofs == 0 || l.l3_ofs + 40u > s.len) return nullptr;
  return s.data + l.l3_ofs;
}

inline uint8_t* ArpHeader(const Seg& s, const PacketLayout& l, const FlowKey& k) noexcept {
  if (k.eth_type != kEthTypeArp || l.l3_ofs == 0 || l.l3_ofs + 28u > s.len) return nullptr;
  return s.data + l.l3_ofs;
}

// The L4 header of protocol `proto` if present with at least `need` bytes.
inline uint8_t* L4Header(const Seg& s, const PacketLayout& l, const FlowKey& k, uint8_t proto,
                         uint32_t need) noexcept {
  if (k.nw_proto != proto || l.l4_ofs == 0 || l.l4_ofs + need > s.len) return nullptr;
  if (k.eth_type != kEthTypeIpv4 && k.eth_type != kEthTypeIpv6) return nullptr;
  return s.data + l.l4_ofs;
}

// Applies `delta` (a pseudo-header change) to the TCP, UDP or (over IPv6)
// ICMPv6 checksum, whichever the packet carries.
inline void PatchPseudoHeader(const Seg& s, const PacketLayout& l, const FlowKey& k,
                              uint32_t delta) noexcept {
  if (uint8_t* tcp = L4Header(s, l, k, kProtoTcp, 20)) {
    PatchCsum(tcp + kTcpCsumOfs, delta);
  } else if (uint8_t* udp = L4Header(s, l, k, kProtoUdp, 8)) {
    PatchUdpCsum(udp + kUdpCsumOfs, delta);
  } else if (k.eth_type == kEthTypeIpv6) {
    if (uint8_t* icmp = L4Header(s, l, k, kProtoIcmpv6, 4)) PatchCsum(icmp + kIcmpCsumOfs, delta);
  }
}

// True if an IPv6 Routing header with segments left sits between the fixed
// header and L4: the pseudo-header then uses the final destination.
bool RoutingPending(const uint8_t* ip6, uint32_t ext_end) noexcept {
  uint8_t next = ip6[6];
  uint32_t pos = 40;
  while (pos + 8 <= ext_end) {
    if (next == kProtoIpv6Routing) {
      if (ip6[pos + 3] != 0) return true;
    } else if (next != kProtoIpv6HopByHop && next != kProtoIpv6DestOpts &&
               next != kProtoIpv6Fragment) {
      return false;
    }
    const uint32_t ext_len = next == kProtoIpv6Fragment ? 8u : (ip6[pos + 1] + 1u) * 8;
    next = ip6[pos];
    pos += ext_len;
  }
  return false;
}

// Recomputes the SCTP CRC32c over [l4_ofs, IP end) of the whole chain.
void FixSctpCrc(rte_mbuf* m, const Seg& s, const PacketLayout& l, const FlowKey& k) noexcept {
  const uint8_t* ip = s.data + l.l3_ofs;
  uint32_t end =
      k.eth_type == kEthTypeIpv4 ? l.l3_ofs + Be16(ip + 2) : l.l3_ofs + 40u + Be16(ip + 4);
  if (end > rte_pktmbuf_pkt_len(m)) end = rte_pktmbuf_pkt_len(m);
  uint8_t* sctp = s.data + l.l4_ofs;
  // The checksum field counts as zero.
  uint32_t crc = rte_hash_crc(sctp, kSctpCsumOfs, 0xffffffff);
  crc = rte_hash_crc_4byte(0, crc);
  uint32_t ofs = l.l4_ofs + kSctpCsumOfs + 4;  // offset in the packet
  uint32_t seg_start = 0;
  for (const rte_mbuf* seg = m; seg != nullptr && ofs < end; seg = seg->next) {
    const uint32_t seg_end = seg_start + seg->data_len;
    if (ofs < seg_end) {
      const uint32_t stop = end < seg_end ? end : seg_end;
      crc = rte_hash_crc(rte_pktmbuf_mtod_offset(seg, const uint8_t*, ofs - seg_start), stop - ofs,
                         crc);
      ofs = stop;
    }
    seg_start = seg_end;
  }
  const uint32_t le = rte_cpu_to_le_32(~crc);
  std::memcpy(sctp + kSctpCsumOfs, &le, 4);
}

void SetVlan(const Seg& s, const PacketLayout& l, FlowKey* k, const FieldInfo& f,
             const DpAction& a) noexcept {
  // Only an existing tag is edited: the present bit is not a wire bit (it is
  // DEI's position, which the wire keeps), and adding or removing a tag is
  // PushVlan/PopVlan's job.
  if (l.n_vlans == 0 || s.len < kEthHeaderLen + kVlanTagLen) return;
  uint8_t* p = s.data + kMacBytes + 2;
  const uint16_t old_tci = Be16(p);
  DpAction wire = a;
  wire.mask.u &= ~(static_cast<uint64_t>(kVlanPresent) >> f.shift);
  const auto tci = static_cast<uint16_t>(Merge(f, old_tci, wire));
  PutBe16(p, tci);
  k->vlan_tci = tci | kVlanPresent;
}

void SetIpv4Addr(const Seg& s, const PacketLayout& l, FlowKey* k, const FieldInfo& f,
                 const DpAction& a, uint32_t hdr_ofs, uint32_t* key_field) noexcept {
  uint8_t* ip = Ipv4Header(s, l, *k);
  if (ip == nullptr) return;
  uint8_t* p = ip + hdr_ofs;
  const uint32_t old_raw = Raw32(p);
  const auto addr = static_cast<uint32_t>(Merge(f, Be32(p), a));
  PutBe32(p, addr);
  const uint32_t delta = DeltaBytes(reinterpret_cast<const uint8_t*>(&old_raw), p, 4);
  PatchCsum(ip + 10, delta);
  PatchPseudoHeader(s, l, *k, delta);
  *key_field = addr;
}

void SetTos(const Seg& s, const PacketLayout& l, FlowKey* k, const FieldInfo& f,
            const DpAction& a) noexcept {
  if (uint8_t* ip = Ipv4Header(s, l, *k)) {
    const uint16_t old_word = Raw16(ip);
    ip[1] = static_cast<uint8_t>(Merge(f, ip[1], a));
    PatchCsum(ip + 10, DeltaBytes(reinterpret_cast<const uint8_t*>(&old_word), ip, 2));
    k->nw_tos = ip[1];
  } else if (uint8_t* ip6 = Ipv6Header(s, l, *k)) {
    const uint32_t w = Be32(ip6);
    const auto tc = static_cast<uint8_t>(Merge(f, (w >> 20) & 0xff, a));
    PutBe32(ip6, (w & 0xf00fffff) | (static_cast<uint32_t>(tc) << 20));
    k->nw_tos = tc;
  }
}

void SetTtl(const Seg& s, const PacketLayout& l, FlowKey* k, const FieldInfo& f,
            const DpAction& a) noexcept {
  if (uint8_t* ip = Ipv4Header(s, l, *k)) {
    const uint16_t old_word = Raw16(ip + 8);
    ip[8] = static_cast<uint8_t>(Merge(f, ip[8], a));
    PatchCsum(ip + 10, DeltaBytes(reinterpret_cast<const uint8_t*>(&old_word), ip + 8, 2));
    k->nw_ttl = ip[8];
  } else if (uint8_t* ip6 = Ipv6Header(s, l, *k)) {
    ip6[7] = static_cast<uint8_t>(Merge(f, ip6[7], a));
    k->nw_ttl = ip6[7];
  }
}

void SetIpv6Addr(const Seg& s, const PacketLayout& l, FlowKey* k, const DpAction& a,
                 bool dst) noexcept {
  uint8_t* ip6 = Ipv6Header(s, l, *k);
  if (ip6 == nullptr) return;
  uint8_t* p = ip6 + (dst ? 24 : 8);
  uint8_t old_addr[16];
  std::memcpy(old_addr, p, 16);
  MergeBytes(p, a, 16);
  std::memcpy(dst ? k->ipv6_dst : k->ipv6_src, p, 16);
  if (dst && l.l4_ofs != 0 && RoutingPending(ip6, l.l4_ofs - l.l3_ofs)) return;
  PatchPseudoHeader(s, l, *k, DeltaBytes(old_addr, p, 16));
}

void SetIpv6Label(const Seg& s, const PacketLayout& l, FlowKey* k, const FieldInfo& f,
                  const DpAction& a) noexcept {
  uint8_t* ip6 = Ipv6Header(s, l, *k);
  if (ip6 == nullptr) return;
  const uint32_t w = Be32(ip6);
  const auto label = static_cast<uint32_t>(Merge(f, w & 0xfffff, a));
  PutBe32(ip6, (w & 0xfff00000) | label);
  k->ipv6_label = label;
}

void SetArp(const Seg& s, const PacketLayout& l, FlowKey* k, const FieldInfo& f,
            const DpAction& a) noexcept {
  uint8_t* arp = ArpHeader(s, l, *k);
  if (arp == nullptr) return;
  if (a.field == FieldId::kArpOp) {
    // The key keeps the opcode's low byte (the field's bits); the high byte
    // on the wire is left as it is.
    const auto op = static_cast<uint16_t>(Merge(f, Be16(arp + 6), a));
    PutBe16(arp + 6, op);
    k->nw_proto = static_cast<uint8_t>(op);
  } else if (a.field == FieldId::kArpSpa) {
    k->nw_src = static_cast<uint32_t>(Merge(f, Be32(arp + 14), a));
    PutBe32(arp + 14, k->nw_src);
  } else if (a.field == FieldId::kArpTpa) {
    k->nw_dst = static_cast<uint32_t>(Merge(f, Be32(arp + 24), a));
    PutBe32(arp + 24, k->nw_dst);
  } else if (a.field == FieldId::kArpSha) {
    MergeBytes(arp + 8, a, 6);
    std::memcpy(k->arp_sha, arp + 8, 6);
  } else if (a.field == FieldId::kArpTha) {
    MergeBytes(arp + 18, a, 6);
    std::memcpy(k->arp_tha, arp + 18, 6);
  }
}

void SetPort(rte_mbuf* m, const Seg& s, const PacketLayout& l, FlowKey* k, const FieldInfo& f,
             const DpAction& a, bool dst) noexcept {
  const uint32_t port_ofs = dst ? 2 : 0;
  uint16_t* key_field = dst ? &k->tp_dst : &k->tp_src;
  if (uint8_t* tcp = L4Header(s, l, *k, kProtoTcp, 20)) {
    const uint16_t old_raw = Raw16(tcp + port_ofs);
    *key_field = static_cast<uint16_t>(Merge(f, Be16(tcp + port_ofs), a));
    PutBe16(tcp + port_ofs, *key_field);
    PatchCsum(tcp + kTcpCsumOfs,
              DeltaBytes(reinterpret_cast<const uint8_t*>(&old_raw), tcp + port_ofs, 2));
  } else if (uint8_t* udp = L4Header(s, l, *k, kProtoUdp, 8)) {
    const uint16_t old_raw = Raw16(udp + port_ofs);
    *key_field = static_cast<uint16_t>(Merge(f, Be16(udp + port_ofs), a));
    PutBe16(udp + port_ofs, *key_field);
    PatchUdpCsum(udp + kUdpCsumOfs,
                 DeltaBytes(reinterpret_cast<const uint8_t*>(&old_raw), udp + port_ofs, 2));
  } else if (uint8_t* sctp = L4Header(s, l, *k, kProtoSctp, 12)) {
    const uint16_t old_port = Be16(sctp + port_ofs);
    *key_field = static_cast<uint16_t>(Merge(f, old_port, a));
    if (*key_field == old_port) return;  // the CRC pass is not free
    PutBe16(sctp + port_ofs, *key_field);
    FixSctpCrc(m, s, l, *k);
  }
}

void SetIcmp(const Seg& s, const PacketLayout& l, FlowKey* k, const FieldInfo& f, const DpAction& a,
             bool v6, bool code) noexcept {
  if (k->eth_type != (v6 ? kEthTypeIpv6 : kEthTypeIpv4)) return;
  uint8_t* icmp = L4Header(s, l, *k, v6 ? kProtoIcmpv6 : kProtoIcmp, 4);
  if (icmp == nullptr) return;
  const uint16_t old_word = Raw16(icmp);
  const auto v = static_cast<uint8_t>(Merge(f, icmp[code ? 1 : 0], a));
  icmp[code ? 1 : 0] = v;
  PatchCsum(icmp + kIcmpCsumOfs, DeltaBytes(reinterpret_cast<const uint8_t*>(&old_word), icmp, 2));
  (code ? k->tp_dst : k->tp_src) = v;
}

}  // namespace

uint16_t ChecksumUpdate16(uint16_t csum, uint16_t old_val, uint16_t new_val) noexcept {
  return ApplyDelta(csum, static_cast<uint16_t>(~old_val) + uint32_t{new_val});
}

uint16_t ChecksumUpdate32(uint16_t csum, uint32_t old_val, uint32_t new_val) noexcept {
  const uint32_t delta = static_cast<uint16_t>(~(old_val >> 16)) + static_cast<uint16_t>(~old_val) +
                         (new_val >> 16) + (new_val & 0xffff);
  return ApplyDelta(csum, delta);
}

void SetField(rte_mbuf* m, PacketLayout* layout, FlowKey* key, const DpAction& a) noexcept {
  if (a.field >= FieldId::kCount) return;  // not a field: GetField would read past its table
  const Seg s = FirstSeg(m);
  const PacketLayout& l = *layout;
  const FieldInfo& f = GetField(a.field);
  switch (a.field) {
    case FieldId::kMetadata:
      key->metadata = Merge(f, key->metadata, a);
      return;
    case FieldId::kEthDst:
    case FieldId::kEthSrc: {
      if (s.len < kEthHeaderLen) return;
      const bool is_dst = a.field == FieldId::kEthDst;
      uint8_t* p = s.data + (is_dst ? 0 : 6);
      MergeBytes(p, a, 6);
      std::memcpy(is_dst ? key->eth_dst : key->eth_src, p, 6);
      return;
    }
    case FieldId::kVlanTci:
    case FieldId::kVlanVid:
    case FieldId::kVlanPcp:
      SetVlan(s, l, key, f, a);
      return;
    case FieldId::kNwSrc:
      SetIpv4Addr(s, l, key, f, a, 12, &key->nw_src);
      return;
    case FieldId::kNwDst:
      SetIpv4Addr(s, l, key, f, a, 16, &key->nw_dst);
      return;
    case FieldId::kNwTos:
    case FieldId::kIpDscp:
    case FieldId::kNwEcn:
      SetTos(s, l, key, f, a);
      return;
    case FieldId::kNwTtl:
      SetTtl(s, l, key, f, a);
      return;
    case FieldId::kIpv6Src:
      SetIpv6Addr(s, l, key, a, false);
      return;
    case FieldId::kIpv6Dst:
      SetIpv6Addr(s, l, key, a, true);
      return;
    case FieldId::kIpv6Label:
      SetIpv6Label(s, l, key, f, a);
      return;
    case FieldId::kArpOp:
    case FieldId::kArpSpa:
    case FieldId::kArpTpa:
    case FieldId::kArpSha:
    case FieldId::kArpTha:
      SetArp(s, l, key, f, a);
      return;
    case FieldId::kTpSrc:
      SetPort(m, s, l, key, f, a, false);
      return;
    case FieldId::kTpDst:
      SetPort(m, s, l, key, f, a, true);
      return;
    case FieldId::kIcmpType:
      SetIcmp(s, l, key, f, a, false, false);
      return;
    case FieldId::kIcmpCode:
      SetIcmp(s, l, key, f, a, false, true);
      return;
    case FieldId::kIcmpv6Type:
      SetIcmp(s, l, key, f, a, true, false);
      return;
    case FieldId::kIcmpv6Code:
      SetIcmp(s, l, key, f, a, true, true);
      return;
    // Not writable (the field table says so): xlate never emits these.
    case FieldId::kInPort:
    case FieldId::kEthType:
    case FieldId::kNwProto:
    case FieldId::kNwFrag:
    case FieldId::kTcpFlags:
    case FieldId::kCount:
      return;
  }
}

bool PushVlan(rte_mbuf* m, PacketLayout* layout, FlowKey* key, uint16_t tpid,
              uint16_t tci) noexcept {
  if (rte_pktmbuf_data_len(m) < kEthHeaderLen) return false;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVlanTagLen));
  if (p == nullptr) return false;
  std::memmove(p, p + kVlanTagLen, kMacBytes);
  PutBe16(p + kMacBytes, tpid);
  PutBe16(p + kMacBytes + 2, tci);
  if (layout->l3_ofs != 0) layout->l3_ofs += kVlanTagLen;
  if (layout->l4_ofs != 0) layout->l4_ofs += kVlanTagLen;
  if (layout->n_vlans != UINT8_MAX) layout->n_vlans++;
  key->vlan_tci = tci | kVlanPresent;
  return true;
}

void PopVlan(rte_mbuf* m, PacketLayout* layout, FlowKey* key) noexcept {
  if (layout->n_vlans == 0) return;
  Seg s = FirstSeg(m);
  if (s.len < kEthHeaderLen + kVlanTagLen) return;
  const uint16_t tpid = Be16(s.data + kMacBytes);
  if (tpid != kEthTypeVlan && tpid != kEthTypeQinQ) return;
  std::memmove(s.data + kVlanTagLen, s.data, kMacBytes);
  rte_pktmbuf_adj(m, kVlanTagLen);
  s = FirstSeg(m);
  if (layout->l3_ofs != 0) layout->l3_ofs -= kVlanTagLen;
  if (layout->l4_ofs != 0) layout->l4_ofs -= kVlanTagLen;
  layout->n_vlans--;
  key->vlan_tci = 0;
  if (layout->n_vlans != 0 && s.len >= kEthHeaderLen + kVlanTagLen)
    key->vlan_tci = Be16(s.data + kMacBytes + 2) | kVlanPresent;
}

bool DecTtl(rte_mbuf* m, const PacketLayout& layout, FlowKey* key) noexcept {
  const Seg s = FirstSeg(m);
  if (uint8_t* ip = Ipv4Header(s, layout, *key)) {
    if (ip[8] <= 1) return false;
    const uint16_t old_word = Raw16(ip + 8);
    ip[8]--;
    PatchCsum(ip + 10, DeltaBytes(reinterpret_cast<const uint8_t*>(&old_word), ip + 8, 2));
    key->nw_ttl = ip[8];
  } else if (uint8_t* ip6 = Ipv6Header(s, layout, *key)) {
    if (ip6[7] <= 1) return false;
    ip6[7]--;
    key->nw_ttl = ip6[7];
  }
  return true;
}

}  // namespace dpswitch::pkt
