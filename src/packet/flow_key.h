// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// FlowKey: the parsed form of a packet that every classifier in dpswitch
// matches on (EMC, dpcls, the OpenFlow tables).
//
// The key is a flat array of 64-bit words, ordered by lookup stage:
//   words 0-1   metadata  (OpenFlow metadata, in_port)
//   words 2-3   L2        (MACs, VLAN TCI, Ethernet type)
//   words 4-11  L3        (IPv4/ARP addresses, proto, TOS, TTL, frag, IPv6, ARP MACs)
//   words 12    L4        (ports / ICMP type+code, TCP flags)
// so "the fields of stages 0..s" is always a prefix of words. A FlowMask has
// the same layout; a classifier subtable hashes and compares only the words
// its mask's word map names.
//
// Representation: integers (eth_type, vlan_tci, IPv4 addresses, ports...) are
// stored in host byte order so masks and CIDR prefixes are plain integer
// arithmetic; MAC and IPv6 addresses are byte arrays in network order. Fields
// a packet does not have are zero. The parser writes every word (including
// padding) so whole-word hashing and comparison are valid.
//
// Conventions shared with Open vSwitch: vlan_tci has bit 0x1000 (CFI) set iff
// the packet carried an 802.1Q tag; eth_type is the type after any VLAN tag
// (0x05ff for 802.3 length frames); ARP uses nw_src/nw_dst for SPA/TPA and
// nw_proto for the opcode's low byte; ICMP type/code live in tp_src/tp_dst.

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dpswitch::pkt {

// Number of 64-bit words that carry fields; the struct is padded to 128 bytes.
inline constexpr uint32_t kKeyWords = 13;

enum class Stage : uint8_t { kMetadata = 0, kL2 = 1, kL3 = 2, kL4 = 3 };
inline constexpr uint32_t kNumStages = 4;
// One past the last word of each stage: stage s covers words [0, kStageEnd[s]).
inline constexpr uint8_t kStageEnd[kNumStages] = {2, 4, 12, 13};

// nw_frag bits (as OVS's FLOW_NW_FRAG_*).
inline constexpr uint8_t kFragAny = 0x01;    // the packet is a fragment
inline constexpr uint8_t kFragLater = 0x02;  // ... and not the first one

// vlan_tci bit that says "a tag is present" (the CFI/DEI position, as OVS).
inline constexpr uint16_t kVlanPresent = 0x1000;

struct alignas(64) FlowKey {
  // --- stage 0: metadata ------------------------------------------------------
  uint64_t metadata;  // w0: OpenFlow metadata (0 on ingress; write_metadata sets it)
  uint32_t in_port;   // w1: OpenFlow ingress port number
  uint32_t pad1;      // w1: reserved (tunnel / recirculation id); always 0

  // --- stage 1: L2 ------------------------------------------------------------
  uint8_t eth_dst[6];  // w2
  uint16_t vlan_tci;   // w2: TCI | kVlanPresent, or 0 when untagged
  uint8_t eth_src[6];  // w3
  uint16_t eth_type;   // w3: ethertype after the VLAN tag

  // --- stage 2: L3 ------------------------------------------------------------
  uint32_t nw_src;      // w4: IPv4 source / ARP SPA
  uint32_t nw_dst;      // w4: IPv4 destination / ARP TPA
  uint8_t nw_proto;     // w5: IP protocol / IPv6 next header (after ext hdrs) / ARP opcode
  uint8_t nw_tos;       // w5: IPv4 TOS / IPv6 traffic class (DSCP << 2 | ECN)
  uint8_t nw_ttl;       // w5: IPv4 TTL / IPv6 hop limit
  uint8_t nw_frag;      // w5: kFragAny | kFragLater
  uint32_t ipv6_label;  // w5: IPv6 flow label (20 bits)
  uint8_t ipv6_src[16];  // w6-7
  uint8_t ipv6_dst[16];  // w8-9
  uint8_t arp_sha[6];    // w10: ARP source hardware address
  uint16_t pad10;        // w10
  uint8_t arp_tha[6];    // w11: ARP target hardware address
  uint16_t pad11;        // w11

  // --- stage 3: L4 ------------------------------------------------------------
  uint16_t tp_src;     // w12: TCP/UDP/SCTP source port, ICMP type
  uint16_t tp_dst;     // w12: TCP/UDP/SCTP destination port, ICMP code
  uint16_t tcp_flags;  // w12: TCP flags (12 bits)
  uint16_t pad12;      // w12

  uint64_t reserved[3];  // w13-15: padding to two cache lines; always 0

  uint64_t Word(uint32_t i) const noexcept {
    uint64_t w;
    std::memcpy(&w, reinterpret_cast<const uint8_t*>(this) + i * 8, 8);
    return w;
  }
  void SetWord(uint32_t i, uint64_t w) noexcept {
    std::memcpy(reinterpret_cast<uint8_t*>(this) + i * 8, &w, 8);
  }
  const uint64_t* Words() const noexcept { return reinterpret_cast<const uint64_t*>(this); }
  uint64_t* Words() noexcept { return reinterpret_cast<uint64_t*>(this); }
  void Clear() noexcept { std::memset(this, 0, sizeof(*this)); }
};
static_assert(sizeof(FlowKey) == 128, "FlowKey must stay two cache lines");
static_assert(offsetof(FlowKey, eth_dst) == 16 && offsetof(FlowKey, nw_src) == 32 &&
                  offsetof(FlowKey, ipv6_src) == 48 && offsetof(FlowKey, arp_sha) == 80 &&
                  offsetof(FlowKey, tp_src) == 96,
              "FlowKey word layout is part of the stage contract");

// Bitmap of words (bit i = word i).
using WordMap = uint32_t;

// A mask in FlowKey layout plus the map of its non-zero words. A set bit
// means "this key bit matters".
struct alignas(64) FlowMask {
  FlowKey bits;     // the mask itself
  WordMap map = 0;  // bit i set iff bits.Word(i) != 0; kept in sync by Finalize()

  FlowMask() noexcept { bits.Clear(); }
  // Recomputes `map` from `bits`; call after editing bits directly.
  void Finalize() noexcept {
    map = 0;
    for (uint32_t i = 0; i < kKeyWords; i++)
      if (bits.Word(i)) map |= WordMap{1} << i;
  }
  // this |= other (un-wildcarding), keeps the map right.
  void Union(const FlowMask& other) noexcept {
    for (uint32_t i = 0; i < kKeyWords; i++) bits.SetWord(i, bits.Word(i) | other.bits.Word(i));
    map |= other.map;
  }
  // this |= other restricted to words [0, end_word).
  void UnionPrefix(const FlowMask& other, uint32_t end_word) noexcept {
    for (uint32_t i = 0; i < end_word; i++)
      bits.SetWord(i, bits.Word(i) | other.bits.Word(i));
    map |= other.map & ((WordMap{1} << end_word) - 1);
  }
  bool operator==(const FlowMask& o) const noexcept {
    return map == o.map && std::memcmp(&bits, &o.bits, kKeyWords * 8) == 0;
  }
};

// key & mask into out (all words).
inline void ApplyMask(const FlowKey& key, const FlowMask& mask, FlowKey* out) noexcept {
  out->Clear();
  for (uint32_t i = 0; i < kKeyWords; i++) out->SetWord(i, key.Word(i) & mask.bits.Word(i));
}

// True iff (key & mask) == masked_key on every word of the mask.
inline bool MatchesMasked(const FlowKey& key, const FlowMask& mask,
                          const FlowKey& masked_key) noexcept {
  uint64_t diff = 0;
  for (uint32_t i = 0; i < kKeyWords; i++)
    diff |= (key.Word(i) & mask.bits.Word(i)) ^ masked_key.Word(i);
  return diff == 0;
}

}  // namespace dpswitch::pkt
