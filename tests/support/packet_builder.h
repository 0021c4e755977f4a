// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Test packets, built layer by layer with correct lengths and checksums.
//
//   auto pkt = PacketBuilder()
//                  .Eth(ParseMac("00:00:00:00:00:02"), ParseMac("00:00:00:00:00:01"))
//                  .Vlan(0x2064)                      // outermost tag first
//                  .Ipv4(ParseIp4("10.0.0.1"), ParseIp4("10.0.0.2"), {.ttl = 5})
//                  .Udp(1000, 2000)
//                  .Payload(32)
//                  .Build();
//
// Layers are appended in wire order; every "next type" field (ethertype,
// VLAN inner type, IP protocol, IPv6 next header) is derived from the layer
// that follows, unless overridden. Build() then fills the IPv4 total length,
// IPv6 payload length and UDP length (each covers everything after its
// header, up to the end of the last layer), and the IPv4 header, TCP, UDP,
// ICMP, ICMPv6 and SCTP (CRC32c) checksums, innermost first. PadTo() adds
// Ethernet padding that no length covers. Malformed packets are made by
// editing the bytes Build() returns.
//
// Also here: independent reference checksums (ChecksumErrors() re-parses a
// frame with its own tiny parser and recomputes every checksum in full),
// and mbuf helpers for tests that run the datapath. Header-only so any test
// executable can use it with just test_support_inc. Test code: errors throw.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

namespace dpswitch::test {

using MacAddr = std::array<uint8_t, 6>;
using Ip6Addr = std::array<uint8_t, 16>;

inline constexpr MacAddr kDefaultDstMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
inline constexpr MacAddr kDefaultSrcMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline constexpr MacAddr kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// TCP flag bits (as in the 12-bit FlowKey::tcp_flags).
inline constexpr uint16_t kTcpFin = 0x001;
inline constexpr uint16_t kTcpSyn = 0x002;
inline constexpr uint16_t kTcpRst = 0x004;
inline constexpr uint16_t kTcpPsh = 0x008;
inline constexpr uint16_t kTcpAck = 0x010;
inline constexpr uint16_t kTcpUrg = 0x020;
inline constexpr uint16_t kTcpEce = 0x040;
inline constexpr uint16_t kTcpCwr = 0x080;
inline constexpr uint16_t kTcpNs = 0x100;

// "00:11:22:33:44:55" → bytes. Throws std::invalid_argument.
inline MacAddr ParseMac(std::string_view text) {
  MacAddr m{};
  unsigned b[6];
  char tail;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                  &tail) != 6)
    throw std::invalid_argument("bad MAC " + s);
  for (int i = 0; i < 6; i++) {
    if (b[i] > 0xff) throw std::invalid_argument("bad MAC " + s);
    m[i] = static_cast<uint8_t>(b[i]);
  }
  return m;
}

// "10.0.0.1" → host-order integer (FlowKey's representation).
inline uint32_t ParseIp4(std::string_view text) {
  in_addr a{};
  if (inet_pton(AF_INET, std::string(text).c_str(), &a) != 1)
    throw std::invalid_argument("bad IPv4 " + std::string(text));
  return ntohl(a.s_addr);
}

// "2001:db8::1" → network-order bytes.
inline Ip6Addr ParseIp6(std::string_view text) {
  Ip6Addr a{};
  if (inet_pton(AF_INET6, std::string(text).c_str(), a.data()) != 1)
    throw std::invalid_argument("bad IPv6 " + std::string(text));
  return a;
}

inline void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutBe32(uint8_t* p, uint32_t v) {
  PutBe16(p, static_cast<uint16_t>(v >> 16));
  PutBe16(p + 2, static_cast<uint16_t>(v));
}
inline uint16_t GetBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t GetBe32(const uint8_t* p) {
  return static_cast<uint32_t>(GetBe16(p)) << 16 | GetBe16(p + 2);
}

// ---- reference checksums ----------------------------------------------------

// One's complement sum of big-endian 16-bit words (an odd last byte is
// padded with zero), added to `sum`, not folded.
inline uint32_t SumBytes(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += GetBe16(p + i);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  return sum;
}

// The Internet checksum (RFC 1071) of `n` bytes plus a partial sum; host
// order, to be stored with PutBe16.
inline uint16_t InetChecksum(const uint8_t* p, size_t n, uint32_t init = 0) {
  uint64_t sum = SumBytes(p, n, 0) + static_cast<uint64_t>(init);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// CRC32c (Castagnoli, reflected 0x82f63b78), bit by bit: the reference the
// rte_hash_crc based SCTP code is checked against. CRC32c("123456789") is
// 0xe3069283.
inline uint32_t Crc32c(const uint8_t* p, size_t n) {
  uint32_t crc = 0xffffffff;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int b = 0; b < 8; b++) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
  }
  return ~crc;
}

// The SCTP checksum of a whole SCTP packet (its checksum field counted as
// zero), as the 4 bytes to put at offset 8 (RFC 4960 appendix B: the CRC
// in little-endian byte order).
inline std::array<uint8_t, 4> SctpChecksumBytes(const uint8_t* sctp, size_t n) {
  std::vector<uint8_t> copy(sctp, sctp + n);
  if (n >= 12) std::memset(copy.data() + 8, 0, 4);
  const uint32_t crc = Crc32c(copy.data(), n);
  return {static_cast<uint8_t>(crc), static_cast<uint8_t>(crc >> 8),
          static_cast<uint8_t>(crc >> 16), static_cast<uint8_t>(crc >> 24)};
}

// IPv4 pseudo-header partial sum.
inline uint32_t PseudoSum4(const uint8_t* ip, uint8_t proto, size_t l4_len) {
  return SumBytes(ip + 12, 8) + proto + static_cast<uint32_t>(l4_len);
}
// IPv6 pseudo-header partial sum (dst as in the fixed header).
inline uint32_t PseudoSum6(const uint8_t* ip6, uint8_t proto, size_t l4_len) {
  return SumBytes(ip6 + 8, 32) + proto + static_cast<uint32_t>(l4_len >> 16) +
         static_cast<uint32_t>(l4_len & 0xffff);
}

// Re-parses an Ethernet frame (VLAN tags, IPv4, IPv6 with hop-by-hop/
// routing/destination-options/fragment headers) and recomputes in full the
// IPv4 header checksum and the TCP, UDP, ICMP, ICMPv6 or SCTP checksum.
// Returns "" when every one present is exactly right (UDP over IPv4 may be
// 0), else what is wrong. Fragments' L4 checksums are not checked (they
// cover the reassembled datagram); IPv6 pseudo-headers use the fixed
// header's destination even with a Routing header.
inline std::string ChecksumErrors(const uint8_t* p, size_t n) {
  char buf[160];
  auto mismatch = [&](const char* what, unsigned got, unsigned want) {
    std::snprintf(buf, sizeof(buf), "%s checksum 0x%04x, expected 0x%04x", what, got, want);
    return std::string(buf);
  };
  if (n < 14) return "short Ethernet frame";
  size_t ofs = 12;
  uint16_t type = GetBe16(p + ofs);
  while (type == 0x8100 || type == 0x88a8) {
    if (n < ofs + 6) return "short VLAN tag";
    ofs += 4;
    type = GetBe16(p + ofs);
  }
  const size_t l3 = ofs + 2;
  const uint8_t* ip = p + l3;
  uint8_t proto;
  size_t l4, end;
  uint32_t pseudo;
  bool v6 = false;
  if (type == 0x0800) {
    if (n < l3 + 20) return "short IPv4 header";
    const size_t hlen = (ip[0] & 0x0fu) * 4;
    end = l3 + GetBe16(ip + 2);
    if (hlen < 20 || n < l3 + hlen || end > n || end < l3 + hlen) return "bad IPv4 lengths";
    std::vector<uint8_t> h(ip, ip + hlen);
    h[10] = h[11] = 0;
    const uint16_t want = InetChecksum(h.data(), hlen);
    if (GetBe16(ip + 10) != want) return mismatch("IPv4 header", GetBe16(ip + 10), want);
    if (GetBe16(ip + 6) & 0x3fff) return "";  // fragment
    proto = ip[9];
    l4 = l3 + hlen;
    pseudo = PseudoSum4(ip, proto, end - l4);
  } else if (type == 0x86dd) {
    v6 = true;
    if (n < l3 + 40) return "short IPv6 header";
    end = l3 + 40 + GetBe16(ip + 4);
    if (end > n) return "bad IPv6 payload length";
    proto = ip[6];
    l4 = l3 + 40;
    while (proto == 0 || proto == 43 || proto == 60 || proto == 44) {
      if (end < l4 + 8) return "short IPv6 extension header";
      if (proto == 44) {
        if (GetBe16(p + l4 + 2) & 0xfff9) return "";  // fragment
        proto = p[l4];
        l4 += 8;
      } else {
        const size_t len = (p[l4 + 1] + 1u) * 8;
        if (end < l4 + len) return "short IPv6 extension header";
        proto = p[l4];
        l4 += len;
      }
    }
    pseudo = PseudoSum6(ip, proto, end - l4);
  } else {
    return "";
  }
  const uint8_t* h = p + l4;
  const size_t len = end - l4;
  std::vector<uint8_t> copy(h, h + len);
  if (proto == 6) {
    if (len < 20) return "short TCP header";
    copy[16] = copy[17] = 0;
    const uint16_t want = InetChecksum(copy.data(), len, pseudo);
    if (GetBe16(h + 16) != want) return mismatch("TCP", GetBe16(h + 16), want);
  } else if (proto == 17) {
    if (len < 8) return "short UDP header";
    if (GetBe16(h + 4) != len) return "bad UDP length";
    if (!v6 && GetBe16(h + 6) == 0) return "";
    copy[6] = copy[7] = 0;
    uint16_t want = InetChecksum(copy.data(), len, pseudo);
    if (want == 0) want = 0xffff;
    if (GetBe16(h + 6) != want) return mismatch("UDP", GetBe16(h + 6), want);
  } else if ((proto == 1 && !v6) || (proto == 58 && v6)) {
    if (len < 4) return "short ICMP header";
    copy[2] = copy[3] = 0;
    const uint16_t want = InetChecksum(copy.data(), len, v6 ? pseudo : 0);
    if (GetBe16(h + 2) != want) return mismatch(v6 ? "ICMPv6" : "ICMP", GetBe16(h + 2), want);
  } else if (proto == 132) {
    if (len < 12) return "short SCTP header";
    const auto want = SctpChecksumBytes(h, len);
    if (std::memcmp(h + 8, want.data(), 4) != 0)
      return mismatch("SCTP (first 16 bits)", GetBe16(h + 8), GetBe16(want.data()));
  }
  return "";
}

inline std::string ChecksumErrors(const std::vector<uint8_t>& pkt) {
  return ChecksumErrors(pkt.data(), pkt.size());
}

inline std::string HexDump(const uint8_t* p, size_t n) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < n; i++) {
    std::snprintf(b, sizeof(b), "%02x", p[i]);
    s += b;
    s += (i % 16 == 15) ? "\n" : " ";
  }
  return s;
}
inline std::string HexDump(const std::vector<uint8_t>& v) { return HexDump(v.data(), v.size()); }

// ---- the builder ----------------------------------------------------------------

struct Ipv4Opts {
  uint8_t tos = 0;
  uint8_t ttl = 64;
  uint16_t id = 0;
  bool df = false;
  bool mf = false;                              // more fragments
  uint16_t frag_offset = 0;                     // in 8-byte units
  std::vector<uint8_t> options = {};            // zero-padded to a multiple of 4 (<= 40 bytes)
  std::optional<uint8_t> proto = std::nullopt;  // default: from the next layer, else 253
};

struct Ipv6Opts {
  uint8_t tclass = 0;
  uint32_t label = 0;  // 20 bits
  uint8_t hop_limit = 64;
  std::optional<uint8_t> next_header = std::nullopt;  // default: from the next layer, else 253
};

// Where Build() put things.
struct Offsets {
  size_t l3 = 0;      // header after Ethernet/VLAN tags (0: no Eth layer)
  size_t l4 = 0;      // first header after the outermost IP header and its
                      // extension headers (0: none)
  size_t l3_end = 0;  // end of the last layer = frame length without padding
};

class PacketBuilder {
 public:
  // Ethernet; `type` overrides the ethertype derived from the next layer.
  PacketBuilder& Eth(const MacAddr& dst = kDefaultDstMac, const MacAddr& src = kDefaultSrcMac,
                     std::optional<uint16_t> type = std::nullopt) {
    Layer& l = Add(Kind::kEth, 14);
    std::memcpy(l.hdr.data(), dst.data(), 6);
    std::memcpy(l.hdr.data() + 6, src.data(), 6);
    l.type_override = type;
    return *this;
  }
  // A VLAN tag (0x8100 802.1Q or 0x88a8 802.1ad). Call once per tag, outermost
  // first; `type` overrides the inner ethertype.
  PacketBuilder& Vlan(uint16_t tci, uint16_t tpid = 0x8100,
                      std::optional<uint16_t> type = std::nullopt) {
    Layer& l = Add(Kind::kVlan, 4);
    PutBe16(l.hdr.data(), tci);
    l.number = tpid;
    l.type_override = type;
    return *this;
  }
  // Ethernet/IPv4 ARP; addresses as ParseMac/ParseIp4 give them.
  PacketBuilder& Arp(uint16_t op, const MacAddr& sha, uint32_t spa, const MacAddr& tha,
                     uint32_t tpa) {
    Layer& l = Add(Kind::kArp, 28);
    uint8_t* h = l.hdr.data();
    PutBe16(h, 1);
    PutBe16(h + 2, 0x0800);
    h[4] = 6;
    h[5] = 4;
    PutBe16(h + 6, op);
    std::memcpy(h + 8, sha.data(), 6);
    PutBe32(h + 14, spa);
    std::memcpy(h + 18, tha.data(), 6);
    PutBe32(h + 24, tpa);
    return *this;
  }
  PacketBuilder& Ipv4(uint32_t src, uint32_t dst, const Ipv4Opts& o = {}) {
    if (o.options.size() > 40) throw std::invalid_argument("IPv4 options > 40 bytes");
    const size_t hlen = 20 + (o.options.size() + 3) / 4 * 4;
    Layer& l = Add(Kind::kIpv4, hlen);
    uint8_t* h = l.hdr.data();
    h[0] = static_cast<uint8_t>(0x40 | hlen / 4);
    h[1] = o.tos;
    PutBe16(h + 4, o.id);
    PutBe16(h + 6, static_cast<uint16_t>((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) |
                                         (o.frag_offset & 0x1fff)));
    h[8] = o.ttl;
    PutBe32(h + 12, src);
    PutBe32(h + 16, dst);
    std::copy(o.options.begin(), o.options.end(), h + 20);
    if (o.proto) l.type_override = *o.proto;
    return *this;
  }
  PacketBuilder& Ipv6(const Ip6Addr& src, const Ip6Addr& dst, const Ipv6Opts& o = {}) {
    Layer& l = Add(Kind::kIpv6, 40);
    uint8_t* h = l.hdr.data();
    PutBe32(h, 0x60000000u | static_cast<uint32_t>(o.tclass) << 20 | (o.label & 0xfffff));
    h[7] = o.hop_limit;
    std::memcpy(h + 8, src.data(), 16);
    std::memcpy(h + 24, dst.data(), 16);
    if (o.next_header) l.type_override = *o.next_header;
    return *this;
  }
  // An IPv6 hop-by-hop (0), routing (43) or destination-options (60)
  // header of `len` bytes (a multiple of 8, >= 8), zero-filled (PadN). For
  // a routing header, `segments_left` goes in byte 3 (routing type 4, SRH).
  // `next_header` overrides the one derived from the next layer.
  PacketBuilder& Ipv6Ext(uint8_t type, size_t len = 8, uint8_t segments_left = 0,
                         std::optional<uint8_t> next_header = std::nullopt) {
    if (len < 8 || len % 8 || len > 2048) throw std::invalid_argument("bad IPv6 ext length");
    if (type != 0 && type != 43 && type != 60) throw std::invalid_argument("bad IPv6 ext type");
    Layer& l = Add(Kind::kIpv6Ext, len);
    l.number = type;
    if (next_header) l.type_override = *next_header;
    l.hdr[1] = static_cast<uint8_t>(len / 8 - 1);
    if (type == 43) {
      l.hdr[2] = 4;
      l.hdr[3] = segments_left;
    }
    return *this;
  }
  // An IPv6 fragment header; `offset` in 8-byte units. `next_header`
  // overrides the one derived from the next layer (later fragments carry
  // no L4 header but still name its protocol).
  PacketBuilder& Ipv6Frag(uint16_t offset, bool more, uint32_t id = 1,
                          std::optional<uint8_t> next_header = std::nullopt) {
    Layer& l = Add(Kind::kIpv6Frag, 8);
    if (next_header) l.type_override = *next_header;
    PutBe16(l.hdr.data() + 2, static_cast<uint16_t>(offset << 3 | (more ? 1 : 0)));
    PutBe32(l.hdr.data() + 4, id);
    return *this;
  }
  // TCP with `flags` (12 bits) and `option_bytes` of NOP options (rounded up
  // to a multiple of 4, <= 40).
  PacketBuilder& Tcp(uint16_t sport, uint16_t dport, uint16_t flags = kTcpSyn, uint32_t seq = 1,
                     uint32_t ack = 0, size_t option_bytes = 0) {
    if (option_bytes > 40) throw std::invalid_argument("TCP options > 40 bytes");
    const size_t hlen = 20 + (option_bytes + 3) / 4 * 4;
    Layer& l = Add(Kind::kTcp, hlen);
    uint8_t* h = l.hdr.data();
    PutBe16(h, sport);
    PutBe16(h + 2, dport);
    PutBe32(h + 4, seq);
    PutBe32(h + 8, ack);
    PutBe16(h + 12, static_cast<uint16_t>((hlen / 4) << 12 | (flags & 0x0fff)));
    PutBe16(h + 14, 8192);
    std::memset(h + 20, 1, hlen - 20);
    return *this;
  }
  // UDP; `zero_checksum` leaves the checksum 0 ("none").
  PacketBuilder& Udp(uint16_t sport, uint16_t dport, bool zero_checksum = false) {
    Layer& l = Add(Kind::kUdp, 8);
    PutBe16(l.hdr.data(), sport);
    PutBe16(l.hdr.data() + 2, dport);
    l.zero_checksum = zero_checksum;
    return *this;
  }
  // SCTP common header; follow it with Payload() for chunks.
  PacketBuilder& Sctp(uint16_t sport, uint16_t dport, uint32_t vtag = 0x01020304) {
    Layer& l = Add(Kind::kSctp, 12);
    PutBe16(l.hdr.data(), sport);
    PutBe16(l.hdr.data() + 2, dport);
    PutBe32(l.hdr.data() + 4, vtag);
    return *this;
  }
  // ICMP (over IPv4) / ICMPv6 header: type, code, checksum and the 4-byte
  // rest of header (e.g. echo id << 16 | seq).
  PacketBuilder& Icmp4(uint8_t type, uint8_t code, uint32_t rest = 0) {
    return Icmp(Kind::kIcmp4, type, code, rest);
  }
  PacketBuilder& Icmp6(uint8_t type, uint8_t code, uint32_t rest = 0) {
    return Icmp(Kind::kIcmp6, type, code, rest);
  }
  // `n` bytes of a deterministic pattern.
  PacketBuilder& Payload(size_t n, uint8_t seed = 0) {
    Layer& l = Add(Kind::kPayload, n);
    for (size_t i = 0; i < n; i++) l.hdr[i] = static_cast<uint8_t>(seed + i * 7 + 1);
    return *this;
  }
  PacketBuilder& Payload(const std::vector<uint8_t>& bytes) {
    Add(Kind::kPayload, 0).hdr = bytes;
    return *this;
  }
  // Zero Ethernet padding up to `frame_len` bytes (no length field covers it).
  PacketBuilder& PadTo(size_t frame_len) {
    pad_to_ = frame_len;
    return *this;
  }

  std::vector<uint8_t> Build(Offsets* offsets = nullptr) const {
    const size_t n = layers_.size();
    std::vector<size_t> at(n + 1, 0);
    for (size_t i = 0; i < n; i++) at[i + 1] = at[i] + layers_[i].hdr.size();
    const size_t total = at[n];
    std::vector<uint8_t> pkt;
    pkt.reserve(std::max(total, pad_to_));
    for (const Layer& l : layers_) pkt.insert(pkt.end(), l.hdr.begin(), l.hdr.end());

    Offsets o;
    bool l4_found = false;
    for (size_t i = 0; i < n; i++) {
      const Layer& l = layers_[i];
      uint8_t* h = pkt.data() + at[i];
      const Layer* next = i + 1 < n ? &layers_[i + 1] : nullptr;
      switch (l.kind) {
        case Kind::kEth:
          PutBe16(h + 12, l.type_override.value_or(EtherTypeOf(next)));
          o.l3 = at[i + 1];
          break;
        case Kind::kVlan:
          PutBe16(h + 2, l.type_override.value_or(EtherTypeOf(next)));
          o.l3 = at[i + 1];
          break;
        case Kind::kIpv4:
          PutBe16(h + 2, static_cast<uint16_t>(total - at[i]));
          h[9] = static_cast<uint8_t>(l.type_override.value_or(ProtoOf(next)));
          if (!l4_found) o.l4 = at[i + 1];
          l4_found = true;
          break;
        case Kind::kIpv6:
          PutBe16(h + 4, static_cast<uint16_t>(total - at[i] - 40));
          h[6] = static_cast<uint8_t>(l.type_override.value_or(ProtoOf(next)));
          if (!l4_found) o.l4 = at[i + 1];
          l4_found = true;
          break;
        case Kind::kIpv6Ext:
        case Kind::kIpv6Frag:
          h[0] = static_cast<uint8_t>(l.type_override.value_or(ProtoOf(next)));
          if (o.l4 == at[i]) o.l4 = at[i + 1];
          break;
        case Kind::kUdp:
          PutBe16(h + 4, static_cast<uint16_t>(total - at[i]));
          break;
        case Kind::kArp:
        case Kind::kTcp:
        case Kind::kSctp:
        case Kind::kIcmp4:
        case Kind::kIcmp6:
        case Kind::kPayload:
          break;
      }
    }
    // Checksums, innermost first so outer ones cover final inner bytes.
    for (size_t i = n; i-- > 0;) {
      const Kind k = layers_[i].kind;
      uint8_t* h = pkt.data() + at[i];
      const size_t len = total - at[i];
      if (k == Kind::kIpv4) {
        PutBe16(h + 10, 0);
        PutBe16(h + 10, InetChecksum(h, layers_[i].hdr.size()));
        continue;
      }
      if (k != Kind::kTcp && k != Kind::kUdp && k != Kind::kIcmp4 && k != Kind::kIcmp6 &&
          k != Kind::kSctp)
        continue;
      // The nearest IP header before this one gives the pseudo-header.
      size_t ip = n;
      for (size_t j = i; j-- > 0;)
        if (layers_[j].kind == Kind::kIpv4 || layers_[j].kind == Kind::kIpv6) {
          ip = j;
          break;
        }
      const uint8_t proto = ProtoOf(&layers_[i]);
      uint32_t pseudo = 0;
      if (ip != n)
        pseudo = layers_[ip].kind == Kind::kIpv4 ? PseudoSum4(pkt.data() + at[ip], proto, len)
                                                 : PseudoSum6(pkt.data() + at[ip], proto, len);
      if (k == Kind::kTcp) {
        PutBe16(h + 16, InetChecksum(h, len, pseudo));
      } else if (k == Kind::kUdp) {
        if (layers_[i].zero_checksum) continue;
        const uint16_t c = InetChecksum(h, len, pseudo);
        PutBe16(h + 6, c == 0 ? 0xffff : c);
      } else if (k == Kind::kIcmp4) {
        PutBe16(h + 2, InetChecksum(h, len));
      } else if (k == Kind::kIcmp6) {
        PutBe16(h + 2, InetChecksum(h, len, pseudo));
      } else {
        const auto c = SctpChecksumBytes(h, len);
        std::memcpy(h + 8, c.data(), 4);
      }
    }
    if (pad_to_ > total) pkt.resize(pad_to_, 0);
    o.l3_end = total;
    if (offsets) *offsets = o;
    return pkt;
  }

 private:
  enum class Kind {
    kEth,
    kVlan,
    kArp,
    kIpv4,
    kIpv6,
    kIpv6Ext,
    kIpv6Frag,
    kTcp,
    kUdp,
    kSctp,
    kIcmp4,
    kIcmp6,
    kPayload
  };
  struct Layer {
    Kind kind;
    std::vector<uint8_t> hdr;               // the layer's bytes, lengths/checksums 0
    std::optional<uint16_t> type_override;  // ethertype / IP protocol to use
    uint16_t number = 0;                    // VLAN TPID, IPv6 extension type
    bool zero_checksum = false;             // UDP: leave the checksum 0
  };

  Layer& Add(Kind kind, size_t len) {
    layers_.push_back(Layer{kind, std::vector<uint8_t>(len, 0), std::nullopt, 0, false});
    return layers_.back();
  }
  PacketBuilder& Icmp(Kind kind, uint8_t type, uint8_t code, uint32_t rest) {
    Layer& l = Add(kind, 8);
    l.hdr[0] = type;
    l.hdr[1] = code;
    PutBe32(l.hdr.data() + 4, rest);
    return *this;
  }
  static uint16_t EtherTypeOf(const Layer* l) {
    if (l == nullptr) return 0x88b5;  // IEEE local experimental
    switch (l->kind) {
      case Kind::kVlan:
        return l->number;
      case Kind::kArp:
        return 0x0806;
      case Kind::kIpv4:
        return 0x0800;
      case Kind::kIpv6:
        return 0x86dd;
      default:
        return 0x88b5;
    }
  }
  static uint8_t ProtoOf(const Layer* l) {
    if (l == nullptr) return 253;  // RFC 3692 experimental
    switch (l->kind) {
      case Kind::kIpv4:
        return 4;
      case Kind::kIpv6:
        return 41;
      case Kind::kIpv6Ext:
        return static_cast<uint8_t>(l->number);
      case Kind::kIpv6Frag:
        return 44;
      case Kind::kTcp:
        return 6;
      case Kind::kUdp:
        return 17;
      case Kind::kSctp:
        return 132;
      case Kind::kIcmp4:
        return 1;
      case Kind::kIcmp6:
        return 58;
      default:
        return 253;
    }
  }

  std::vector<Layer> layers_;  // in wire order
  size_t pad_to_ = 0;          // minimum frame length (zero padding)
};

// ---- one-liners for the common cases ---------------------------------------------

inline std::vector<uint8_t> BuildUdp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                                      size_t payload_len = 18) {
  return PacketBuilder().Eth().Ipv4(src, dst).Udp(sport, dport).Payload(payload_len).Build();
}
inline std::vector<uint8_t> BuildTcp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                                      uint16_t flags = kTcpSyn, size_t payload_len = 6) {
  return PacketBuilder().Eth().Ipv4(src, dst).Tcp(sport, dport, flags).Payload(payload_len).Build();
}
inline std::vector<uint8_t> BuildUdp6(const Ip6Addr& src, const Ip6Addr& dst, uint16_t sport,
                                      uint16_t dport, size_t payload_len = 18) {
  return PacketBuilder().Eth().Ipv6(src, dst).Udp(sport, dport).Payload(payload_len).Build();
}
inline std::vector<uint8_t> BuildTcp6(const Ip6Addr& src, const Ip6Addr& dst, uint16_t sport,
                                      uint16_t dport, uint16_t flags = kTcpSyn,
                                      size_t payload_len = 6) {
  return PacketBuilder().Eth().Ipv6(src, dst).Tcp(sport, dport, flags).Payload(payload_len).Build();
}
// ARP padded to 60 bytes; requests (op 1) go to broadcast, others to `tha`.
inline std::vector<uint8_t> BuildArp(uint16_t op, const MacAddr& sha, uint32_t spa,
                                     const MacAddr& tha, uint32_t tpa) {
  return PacketBuilder()
      .Eth(op == 1 ? kBroadcastMac : tha, sha)
      .Arp(op, sha, spa, tha, tpa)
      .PadTo(60)
      .Build();
}

// ---- mbufs -----------------------------------------------------------------------

// A pktmbuf pool for tests (created on first use, needs the EAL; never freed).
inline rte_mempool* TestPktPool() {
  static rte_mempool* pool = rte_pktmbuf_pool_create("dps_test_pkt_pool", 4095, 0, 0,
                                                     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return pool;
}

struct MbufFree {
  void operator()(rte_mbuf* m) const { rte_pktmbuf_free(m); }
};
using MbufPtr = std::unique_ptr<rte_mbuf, MbufFree>;

// One-segment mbuf holding `bytes` after `headroom` bytes; nullptr if the
// pool is empty or it does not fit.
inline MbufPtr ToMbuf(const std::vector<uint8_t>& bytes, uint16_t headroom = RTE_PKTMBUF_HEADROOM,
                      rte_mempool* pool = TestPktPool()) {
  rte_mbuf* m = pool ? rte_pktmbuf_alloc(pool) : nullptr;
  if (m == nullptr) return nullptr;
  MbufPtr owned(m);
  if (static_cast<size_t>(headroom) + bytes.size() > m->buf_len) return nullptr;
  m->data_off = headroom;
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
  if (p == nullptr) return nullptr;
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return owned;
}

// Two-segment mbuf: the first `first_len` bytes, then the rest.
inline MbufPtr ToMbufChain(const std::vector<uint8_t>& bytes, size_t first_len,
                           rte_mempool* pool = TestPktPool()) {
  if (first_len > bytes.size()) return nullptr;
  MbufPtr head = ToMbuf(std::vector<uint8_t>(bytes.begin(), bytes.begin() + first_len),
                        RTE_PKTMBUF_HEADROOM, pool);
  MbufPtr tail = ToMbuf(std::vector<uint8_t>(bytes.begin() + first_len, bytes.end()),
                        RTE_PKTMBUF_HEADROOM, pool);
  if (!head || !tail || rte_pktmbuf_chain(head.get(), tail.get()) != 0) return nullptr;
  tail.release();
  return head;
}

// A chain of `seg_len`-byte segments (the last one shorter), as a device
// with rx scatter delivers a frame larger than its buffers; `first_len`
// (if non-zero) sets the first segment's length instead.
inline MbufPtr ToMbufSegments(const std::vector<uint8_t>& bytes, size_t seg_len,
                              size_t first_len = 0, rte_mempool* pool = TestPktPool()) {
  if (seg_len == 0) return nullptr;
  MbufPtr head;
  size_t ofs = 0;
  while (ofs < bytes.size() || !head) {
    const size_t len = std::min(bytes.size() - ofs, (!head && first_len) ? first_len : seg_len);
    MbufPtr seg = ToMbuf(std::vector<uint8_t>(bytes.begin() + ofs, bytes.begin() + ofs + len),
                         RTE_PKTMBUF_HEADROOM, pool);
    if (!seg) return nullptr;
    if (!head) {
      head = std::move(seg);
    } else {
      if (rte_pktmbuf_chain(head.get(), seg.get()) != 0) return nullptr;
      seg.release();
    }
    ofs += len;
  }
  return head;
}

// All bytes of a (possibly chained) mbuf.
inline std::vector<uint8_t> MbufBytes(const rte_mbuf* m) {
  std::vector<uint8_t> out(rte_pktmbuf_pkt_len(m));
  if (out.empty()) return out;
  // rte_pktmbuf_read copies only when the bytes are not contiguous.
  const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(out.size()), out.data());
  if (p != nullptr && p != out.data()) std::memcpy(out.data(), p, out.size());
  return out;
}

}  // namespace dpswitch::test
