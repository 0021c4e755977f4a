// SPDX-License-Identifier: BSD-3-Clause
// Rewrite tests. The oracle for every set-field is threefold:
//  - the bytes: only the field and the checksums that cover it change, and
//    re-parsing the packet gives exactly the key SetField maintained, which
//    is the old key with the field merged as SetFieldMatch merges it;
//  - the checksums: each equals a full recomputation (the builder's
//    independent reference, and DPDK's rte_ipv4_cksum/rte_ipv*_udptcp_cksum);
//  - packets lacking the header are left alone, bytes and key.
// Push/pop VLAN are checked against packets built with and without the tag,
// and DecTtl at its edges.

#include "packet/rewrite.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "packet/field.h"
#include "packet/parser.h"
#include "support/packet_builder.h"

namespace dpswitch::pkt {
namespace {

using test::GetBe16;
using test::GetBe32;
using test::Ip6Addr;
using test::MacAddr;
using test::PacketBuilder;
using test::ParseIp4;
using test::ParseIp6;
using test::ParseMac;
using test::PutBe16;

constexpr uint32_t kInPort = 3;
const uint32_t kIpA = ParseIp4("10.0.0.1");
const uint32_t kIpB = ParseIp4("172.31.255.254");
const Ip6Addr kIp6A = ParseIp6("2001:db8::1");
const Ip6Addr kIp6B = ParseIp6("2001:db8:ffff::abcd");
const MacAddr kMac = ParseMac("00:11:22:33:44:55");

// A packet in an mbuf with the key and layout the parser gave it.
struct Pkt {
  test::MbufPtr m;
  PacketLayout layout;
  FlowKey key;
};

Pkt Load(const std::vector<uint8_t>& bytes, uint16_t headroom = RTE_PKTMBUF_HEADROOM) {
  Pkt p;
  p.m = test::ToMbuf(bytes, headroom);
  REQUIRE(p.m);
  ParsePacket(rte_pktmbuf_mtod(p.m.get(), const uint8_t*), rte_pktmbuf_data_len(p.m.get()), kInPort,
              &p.key, &p.layout);
  return p;
}

std::vector<uint8_t> Bytes(const Pkt& p) { return test::MbufBytes(p.m.get()); }

bool SameKey(const FlowKey& a, const FlowKey& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }
bool SameLayout(const PacketLayout& a, const PacketLayout& b) {
  return a.l3_ofs == b.l3_ofs && a.l4_ofs == b.l4_ofs && a.n_vlans == b.n_vlans;
}

// The key and layout SetField/PushVlan/PopVlan maintained equal a re-parse
// (metadata is not in the packet).
void CheckReparse(const Pkt& p) {
  const auto bytes = Bytes(p);
  FlowKey k;
  PacketLayout l;
  ParsePacket(bytes.data(), static_cast<uint32_t>(bytes.size()), kInPort, &k, &l);
  k.metadata = p.key.metadata;
  CHECK(SameKey(k, p.key));
  CHECK(SameLayout(l, p.layout));
}

DpAction Set(FieldId id, uint64_t value, std::optional<uint64_t> mask = std::nullopt) {
  DpAction a{};
  a.type = DpActionType::kSetField;
  a.field = id;
  a.value.u = value;
  a.mask = mask ? FieldValue{*mask, {}} : FullMask(GetField(id));
  return a;
}

DpAction SetBytes(FieldId id, const uint8_t* value, const uint8_t* mask = nullptr) {
  DpAction a{};
  a.type = DpActionType::kSetField;
  a.field = id;
  const FieldInfo& f = GetField(id);
  std::memcpy(a.value.bytes, value, f.size);
  a.mask = FullMask(f);
  if (mask) std::memcpy(a.mask.bytes, mask, f.size);
  return a;
}

void Apply(Pkt& p, const DpAction& a) { SetField(p.m.get(), &p.layout, &p.key, a); }

// A copy whose first fragment is marked unfragmented, so ChecksumErrors
// checks its L4 checksum too (the builder computed it over the bytes present).
std::vector<uint8_t> Unfragment(std::vector<uint8_t> p) {
  if (p.size() < 14) return p;
  size_t ofs = 12;
  while ((GetBe16(&p[ofs]) == 0x8100 || GetBe16(&p[ofs]) == 0x88a8) && ofs + 6 <= p.size())
    ofs += 4;
  const size_t l3 = ofs + 2;
  if (GetBe16(&p[ofs]) == 0x0800 && p.size() >= l3 + 20 &&
      (GetBe16(&p[l3 + 6]) & 0x3fff) == 0x2000) {
    p[l3 + 6] &= 0xdf;
    p[l3 + 10] = p[l3 + 11] = 0;
    PutBe16(&p[l3 + 10], test::InetChecksum(&p[l3], (p[l3] & 0xfu) * 4));
  } else if (GetBe16(&p[ofs]) == 0x86dd && p.size() >= l3 + 40) {
    uint8_t next = p[l3 + 6];
    size_t pos = l3 + 40;
    while ((next == 0 || next == 43 || next == 60 || next == 44) && pos + 8 <= p.size()) {
      if (next == 44 && (GetBe16(&p[pos + 2]) & 0xfff8) == 0) p[pos + 3] &= 0xfe;
      const size_t len = next == 44 ? 8 : (p[pos + 1] + 1u) * 8;
      next = p[pos];
      pos += len;
    }
  }
  return p;
}

std::string AllChecksumErrors(const std::vector<uint8_t>& p) {
  return test::ChecksumErrors(p) + test::ChecksumErrors(Unfragment(p));
}

// DPDK's full IPv4 header and TCP/UDP checksums equal the stored ones.
// DPDK sums raw (network-order) words, so its results compare with the raw
// stored 16 bits.
uint16_t Raw16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void CheckDpdkChecksums(const std::vector<uint8_t>& bytes, size_t l3, size_t l4) {
  std::vector<uint8_t> p = bytes;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(&p[l3]);
  const uint16_t stored_ip = ip->hdr_checksum;
  ip->hdr_checksum = 0;
  CHECK(rte_ipv4_cksum(ip) == stored_ip);
  ip->hdr_checksum = stored_ip;
  const size_t csum_ofs = ip->next_proto_id == 6 ? 16 : ip->next_proto_id == 17 ? 6 : 0;
  if (csum_ofs == 0) return;
  const uint16_t stored = Raw16(&p[l4 + csum_ofs]);
  if (ip->next_proto_id == 17 && stored == 0) return;
  PutBe16(&p[l4 + csum_ofs], 0);
  CHECK(rte_ipv4_udptcp_cksum(ip, &p[l4]) == stored);
}

void CheckDpdkChecksums6(const std::vector<uint8_t>& bytes, size_t l3, size_t l4) {
  std::vector<uint8_t> p = bytes;
  auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(&p[l3]);
  REQUIRE(l4 == l3 + 40);  // DPDK assumes no extension headers
  const size_t csum_ofs = ip6->proto == 6 ? 16 : 6;
  const uint16_t stored = Raw16(&p[l4 + csum_ofs]);
  PutBe16(&p[l4 + csum_ofs], 0);
  CHECK(rte_ipv6_udptcp_cksum(ip6, &p[l4]) == stored);
}

// ---- checksum helpers -----------------------------------------------------------

TEST_CASE("ChecksumUpdate16/32 follow RFC 1624 and equal a full recomputation", "[rewrite]") {
  // RFC 1624 section 4: eqn. 3 turns 0xdd2f into 0x0000 for 0x5555 -> 0x3285.
  CHECK(ChecksumUpdate16(0xdd2f, 0x5555, 0x3285) == 0x0000);
  std::mt19937_64 rng(1624);
  for (int iter = 0; iter < 5000; iter++) {
    uint8_t buf[24];
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    buf[0] |= 0x40;  // a non-zero word, as every real header has
    buf[10] = buf[11] = 0;
    const uint16_t csum = test::InetChecksum(buf, sizeof(buf));
    const size_t w = 4 * (rng() % 6);
    if (w == 8) continue;  // the checksum's own word
    const uint16_t old16 = GetBe16(buf + w);
    const uint32_t old32 = GetBe32(buf + w);
    const uint16_t new16 = static_cast<uint16_t>(rng());
    const uint32_t new32 = static_cast<uint32_t>(rng());
    uint8_t b16[24], b32[24];
    std::memcpy(b16, buf, 24);
    std::memcpy(b32, buf, 24);
    PutBe16(b16 + w, new16);
    test::PutBe32(b32 + w, new32);
    const uint16_t full16 = test::InetChecksum(b16, 24), full32 = test::InetChecksum(b32, 24);
    REQUIRE(ChecksumUpdate16(csum, old16, new16) == full16);
    REQUIRE(ChecksumUpdate32(csum, old32, new32) == full32);
    // Byte order does not matter as long as it is the same everywhere.
    REQUIRE(ChecksumUpdate16(rte_bswap16(csum), rte_bswap16(old16), rte_bswap16(new16)) ==
            rte_bswap16(full16));
    REQUIRE(ChecksumUpdate32(rte_bswap16(csum), rte_bswap32(old32), rte_bswap32(new32)) ==
            rte_bswap16(full32));
  }
}

// ---- set-field, field by field -----------------------------------------------------

TEST_CASE("set Ethernet addresses", "[rewrite]") {
  Pkt p = Load(test::BuildTcp4(kIpA, kIpB, 1, 2));
  const auto before = Bytes(p);
  Apply(p, SetBytes(FieldId::kEthDst, kMac.data()));
  const uint8_t v[6] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  const uint8_t m[6] = {0xff, 0x00, 0xff, 0x00, 0xf0, 0x0f};
  Apply(p, SetBytes(FieldId::kEthSrc, v, m));
  const auto after = Bytes(p);
  CHECK(std::equal(kMac.begin(), kMac.end(), after.begin()));
  const uint8_t want_src[6] = {0xaa, 0x00, 0xcc, 0x00, 0xe0, 0x01 | 0x0f};
  CHECK(std::memcmp(&after[6], want_src, 6) == 0);
  CHECK(std::equal(after.begin() + 12, after.end(), before.begin() + 12));
  CHECK(std::memcmp(p.key.eth_dst, kMac.data(), 6) == 0);
  CheckReparse(p);
}

TEST_CASE("set VLAN TCI, VID and PCP on the outer tag", "[rewrite]") {
  Pkt p = Load(
      PacketBuilder().Eth().Vlan(0x3001, 0x88a8).Vlan(0x0222).Ipv4(kIpA, kIpB).Udp(1, 2).Build());
  Apply(p, Set(FieldId::kVlanVid, 0x123));
  CHECK(GetBe16(&Bytes(p)[14]) == 0x3123);
  Apply(p, Set(FieldId::kVlanPcp, 6));
  CHECK(GetBe16(&Bytes(p)[14]) == 0xd123);
  // The present bit is not a wire bit: the DEI bit on the wire stays.
  Apply(p, Set(FieldId::kVlanTci, 0x0005));
  CHECK(GetBe16(&Bytes(p)[14]) == 0x1005);
  CHECK(p.key.vlan_tci == (0x0005 | kVlanPresent));
  Apply(p, Set(FieldId::kVlanTci, 0xe00f, 0xf00f));
  CHECK(GetBe16(&Bytes(p)[14]) == 0xf00f);
  CHECK(GetBe16(&Bytes(p)[18]) == 0x0222);  // inner tag untouched
  CheckReparse(p);
  // Untagged packets are left alone (pushing a tag is PushVlan's job).
  Pkt u = Load(test::BuildUdp4(kIpA, kIpB, 1, 2));
  const auto before = Bytes(u);
  const FlowKey key = u.key;
  Apply(u, Set(FieldId::kVlanTci, 0x1064));
  Apply(u, Set(FieldId::kVlanVid, 5));
  CHECK(Bytes(u) == before);
  CHECK(SameKey(u.key, key));
}

TEST_CASE("set IPv4 addresses fixes IP, TCP and UDP checksums", "[rewrite]") {
  struct Case {
    const char* name;
    std::vector<uint8_t> pkt;
  };
  const Case cases[] = {
      {"tcp", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Tcp(1, 2, 0x18).Payload(33).Build()},
      {"udp", test::BuildUdp4(kIpA, kIpB, 1, 2, 7)},
      {"udp no checksum",
       PacketBuilder().Eth().Ipv4(kIpA, kIpB).Udp(1, 2, true).Payload(5).Build()},
      {"icmp", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Icmp4(8, 0, 99).Payload(12).Build()},
      {"sctp", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Sctp(1, 2).Payload(12).Build()},
      {"options",
       PacketBuilder().Eth().Vlan(7).Ipv4(kIpA, kIpB, {.options = {1, 1, 1, 0}}).Tcp(1, 2).Build()},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Pkt p = Load(c.pkt);
    const size_t l3 = p.layout.l3_ofs, l4 = p.layout.l4_ofs;
    Apply(p, Set(FieldId::kNwSrc, ParseIp4("192.0.2.77")));
    Apply(p, Set(FieldId::kNwDst, 0x0a000000, 0xff000000));  // only the top byte
    const auto after = Bytes(p);
    CHECK(GetBe32(&after[l3 + 12]) == ParseIp4("192.0.2.77"));
    CHECK(GetBe32(&after[l3 + 16]) == ((kIpB & 0x00ffffff) | 0x0a000000));
    CHECK(p.key.nw_src == ParseIp4("192.0.2.77"));
    CHECK(AllChecksumErrors(after) == "");
    CheckDpdkChecksums(after, l3, l4);
    CheckReparse(p);
    if (std::string(c.name) == "udp no checksum") CHECK(GetBe16(&after[l4 + 6]) == 0);
  }
}

TEST_CASE("set IPv4 addresses on fragments", "[rewrite]") {
  // First fragment: the L4 checksum still follows its pseudo-header.
  Pkt first =
      Load(PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.mf = true}).Tcp(1, 2).Payload(16).Build());
  Apply(first, Set(FieldId::kNwDst, 0x01020304));
  CHECK(AllChecksumErrors(Bytes(first)) == "");
  CheckReparse(first);
  // Later fragment: only the IP header (the L4 header is elsewhere).
  const auto later_pkt =
      PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.frag_offset = 8, .proto = 6}).Payload(24).Build();
  Pkt later = Load(later_pkt);
  Apply(later, Set(FieldId::kNwSrc, 0x01020304));
  const auto after = Bytes(later);
  CHECK(test::ChecksumErrors(after) == "");
  CHECK(std::equal(after.begin() + 34, after.end(), later_pkt.begin() + 34));
  CheckReparse(later);
}

TEST_CASE("set TOS, DSCP, ECN and TTL on IPv4 and IPv6", "[rewrite]") {
  Pkt v4 = Load(PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.tos = 0x02, .ttl = 9}).Udp(1, 2).Build());
  Apply(v4, Set(FieldId::kIpDscp, 0x2e));
  CHECK(Bytes(v4)[15] == 0xba);
  Apply(v4, Set(FieldId::kNwEcn, 0x3));
  CHECK(Bytes(v4)[15] == 0xbb);
  Apply(v4, Set(FieldId::kNwTos, 0x20));
  CHECK(Bytes(v4)[15] == 0x23);
  Apply(v4, Set(FieldId::kNwTtl, 200));
  CHECK(Bytes(v4)[22] == 200);
  CHECK(v4.key.nw_tos == 0x23);
  CHECK(v4.key.nw_ttl == 200);
  CHECK(AllChecksumErrors(Bytes(v4)) == "");
  CheckDpdkChecksums(Bytes(v4), 14, 34);
  CheckReparse(v4);

  Pkt v6 = Load(PacketBuilder()
                    .Eth()
                    .Ipv6(kIp6A, kIp6B, {.tclass = 0x01, .label = 0xfedcb, .hop_limit = 4})
                    .Udp(1, 2)
                    .Build());
  Apply(v6, Set(FieldId::kIpDscp, 0x3f));
  CHECK(GetBe32(&Bytes(v6)[14]) == (0x60000000u | 0xfdu << 20 | 0xfedcbu));
  Apply(v6, Set(FieldId::kNwEcn, 0x2));
  Apply(v6, Set(FieldId::kNwTtl, 1));
  CHECK(GetBe32(&Bytes(v6)[14]) == (0x60000000u | 0xfeu << 20 | 0xfedcbu));
  CHECK(Bytes(v6)[21] == 1);
  CHECK(AllChecksumErrors(Bytes(v6)) == "");
  CheckReparse(v6);
}

TEST_CASE("set IPv6 addresses and flow label", "[rewrite]") {
  const Ip6Addr new_dst = ParseIp6("fd00::99");
  uint8_t prefix_mask[16] = {};
  std::memset(prefix_mask, 0xff, 8);  // replace the /64 only
  struct Case {
    const char* name;
    std::vector<uint8_t> pkt;
  };
  const Case cases[] = {
      {"tcp", test::BuildTcp6(kIp6A, kIp6B, 1, 2, test::kTcpAck, 40)},
      {"udp", test::BuildUdp6(kIp6A, kIp6B, 1, 2, 3)},
      {"icmpv6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Icmp6(135, 0).Payload(20).Build()},
      {"sctp", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Sctp(1, 2).Payload(4).Build()},
      {"ext headers", PacketBuilder()
                          .Eth()
                          .Vlan(1)
                          .Ipv6(kIp6A, kIp6B)
                          .Ipv6Ext(0)
                          .Ipv6Ext(43, 24, 0)
                          .Ipv6Ext(60, 16)
                          .Udp(1, 2)
                          .Build()},
      {"first fragment",
       PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Ipv6Frag(0, true).Tcp(1, 2).Payload(8).Build()},
  };
  const Ip6Addr src_copy = ParseIp6("2001:db8:1:2:3:4:5:6");
  for (const Case& c : cases) {
    INFO(c.name);
    Pkt p = Load(c.pkt);
    const size_t l3 = p.layout.l3_ofs;
    Apply(p, SetBytes(FieldId::kIpv6Src, src_copy.data()));
    Apply(p, SetBytes(FieldId::kIpv6Dst, new_dst.data(), prefix_mask));
    Apply(p, Set(FieldId::kIpv6Label, 0x54321));
    const auto after = Bytes(p);
    CHECK(std::memcmp(&after[l3 + 8], src_copy.data(), 16) == 0);
    CHECK(std::memcmp(&after[l3 + 24], new_dst.data(), 8) == 0);
    CHECK(std::memcmp(&after[l3 + 32], kIp6B.data() + 8, 8) == 0);
    CHECK((GetBe32(&after[l3]) & 0xfffff) == 0x54321);
    CHECK(p.key.ipv6_label == 0x54321);
    CHECK(AllChecksumErrors(after) == "");
    if (p.layout.l4_ofs == l3 + 40 && (p.key.nw_proto == 6 || p.key.nw_proto == 17))
      CheckDpdkChecksums6(after, l3, p.layout.l4_ofs);
    CheckReparse(p);
  }
}

TEST_CASE("IPv6 destination change under a pending routing header leaves L4 alone", "[rewrite]") {
  // With segments left, the pseudo-header holds the final destination (the
  // last routing address), which the IPv6 destination change does not touch.
  const auto pkt =
      PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Ipv6Ext(43, 24, 1).Tcp(1, 2).Payload(4).Build();
  Pkt p = Load(pkt);
  const size_t l4 = p.layout.l4_ofs;
  const Ip6Addr dst = ParseIp6("2001:db8::77");
  Apply(p, SetBytes(FieldId::kIpv6Dst, dst.data()));
  auto after = Bytes(p);
  CHECK(GetBe16(&after[l4 + 16]) == GetBe16(&pkt[l4 + 16]));
  CheckReparse(p);
  // The source is always in the pseudo-header.
  Apply(p, SetBytes(FieldId::kIpv6Src, dst.data()));
  after = Bytes(p);
  CHECK(GetBe16(&after[l4 + 16]) != GetBe16(&pkt[l4 + 16]));
}

TEST_CASE("set ARP fields", "[rewrite]") {
  Pkt p = Load(test::BuildArp(1, kMac, kIpA, MacAddr{}, kIpB));
  const MacAddr sha = ParseMac("02:00:00:00:00:aa"), tha = ParseMac("02:00:00:00:00:bb");
  Apply(p, Set(FieldId::kArpOp, 2));
  Apply(p, Set(FieldId::kArpSpa, kIpB));
  Apply(p, Set(FieldId::kArpTpa, kIpA));
  Apply(p, SetBytes(FieldId::kArpSha, sha.data()));
  Apply(p, SetBytes(FieldId::kArpTha, tha.data()));
  const auto b = Bytes(p);
  CHECK(GetBe16(&b[20]) == 2);
  CHECK(std::memcmp(&b[22], sha.data(), 6) == 0);
  CHECK(GetBe32(&b[28]) == kIpB);
  CHECK(std::memcmp(&b[32], tha.data(), 6) == 0);
  CHECK(GetBe32(&b[38]) == kIpA);
  CHECK(p.key.nw_proto == 2);
  CheckReparse(p);
  // The opcode's high byte is not part of the field.
  auto odd = test::BuildArp(0x0301, kMac, kIpA, MacAddr{}, kIpB);
  Pkt q = Load(odd);
  Apply(q, Set(FieldId::kArpOp, 2));
  CHECK(GetBe16(&Bytes(q)[20]) == 0x0302);
  CheckReparse(q);
}

TEST_CASE("set TCP, UDP and SCTP ports", "[rewrite]") {
  const std::vector<uint8_t> pkts[] = {
      test::BuildTcp4(kIpA, kIpB, 1000, 2000, test::kTcpSyn, 9),
      test::BuildUdp4(kIpA, kIpB, 1000, 2000, 9),
      PacketBuilder().Eth().Ipv4(kIpA, kIpB).Sctp(1000, 2000).Payload(33).Build(),
      test::BuildTcp6(kIp6A, kIp6B, 1000, 2000),
      test::BuildUdp6(kIp6A, kIp6B, 1000, 2000, 1),
      PacketBuilder()
          .Eth()
          .Vlan(4)
          .Ipv6(kIp6A, kIp6B)
          .Ipv6Ext(60)
          .Sctp(1000, 2000)
          .Payload(7)
          .Build(),
  };
  for (const auto& pkt : pkts) {
    Pkt p = Load(pkt);
    INFO("proto " << int(p.key.nw_proto) << " eth_type " << p.key.eth_type);
    const size_t l4 = p.layout.l4_ofs;
    Apply(p, Set(FieldId::kTpSrc, 65535));
    Apply(p, Set(FieldId::kTpDst, 0x0050, 0x00ff));
    const auto after = Bytes(p);
    CHECK(GetBe16(&after[l4]) == 65535);
    CHECK(GetBe16(&after[l4 + 2]) == ((2000 & 0xff00) | 0x50));
    CHECK(p.key.tp_src == 65535);
    CHECK(AllChecksumErrors(after) == "");
    CheckReparse(p);
  }
}

TEST_CASE("UDP checksums: zero stays zero, a computed zero becomes 0xffff", "[rewrite]") {
  for (bool v6 : {false, true}) {
    INFO((v6 ? "IPv6" : "IPv4"));
    auto build = [&](bool zero) {
      return v6 ? PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Udp(7, 8, zero).Payload(6).Build()
                : PacketBuilder().Eth().Ipv4(kIpA, kIpB).Udp(7, 8, zero).Payload(6).Build();
    };
    Pkt z = Load(build(true));
    const size_t l4 = z.layout.l4_ofs;
    Apply(z, Set(FieldId::kTpSrc, 9999));
    if (v6) {
      Apply(z, SetBytes(FieldId::kIpv6Src, kIp6B.data()));
    } else {
      Apply(z, Set(FieldId::kNwSrc, 12345));
    }
    CHECK(GetBe16(&Bytes(z)[l4 + 6]) == 0);
    CHECK(z.key.tp_src == 9999);

    // Find the source port whose full checksum is 0 (sent as 0xffff).
    const auto base = build(false);
    std::optional<uint16_t> zero_port;
    for (uint32_t port = 0; port < 65536 && !zero_port; port++) {
      auto c = base;
      PutBe16(&c[l4], static_cast<uint16_t>(port));
      PutBe16(&c[l4 + 6], 0);
      const uint32_t pseudo = v6 ? test::PseudoSum6(&c[14], 17, c.size() - l4)
                                 : test::PseudoSum4(&c[14], 17, c.size() - l4);
      if (test::InetChecksum(&c[l4], c.size() - l4, pseudo) == 0)
        zero_port = static_cast<uint16_t>(port);
    }
    REQUIRE(zero_port);
    Pkt p = Load(base);
    Apply(p, Set(FieldId::kTpSrc, *zero_port));
    CHECK(GetBe16(&Bytes(p)[l4 + 6]) == 0xffff);
    CHECK(AllChecksumErrors(Bytes(p)) == "");
    // And from 0xffff onwards the updates stay exact.
    Apply(p, Set(FieldId::kTpDst, 4242));
    CHECK(AllChecksumErrors(Bytes(p)) == "");
    CheckReparse(p);
  }
}

TEST_CASE("SCTP CRC32c is recomputed as other stacks compute it", "[rewrite]") {
  // scapy's INIT (ports 5000/5000, checksum 16 de 25 9a), sent from port 1
  // with a stale checksum: setting the port back must reproduce it exactly.
  const std::vector<uint8_t> scapy_init = {0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x00, 0x00,
                                           0x16, 0xde, 0x25, 0x9a, 0x01, 0x00, 0x00, 0x14,
                                           0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0xa0, 0x00,
                                           0x04, 0x00, 0x04, 0x00, 0x00, 0x00, 0x10, 0x00};
  auto pkt = PacketBuilder()
                 .Eth()
                 .Ipv4(kIpA, kIpB)
                 .Sctp(1, 5000, 0)
                 .Payload(std::vector<uint8_t>(scapy_init.begin() + 12, scapy_init.end()))
                 .PadTo(80)  // padding is outside the CRC
                 .Build();
  pkt[34 + 8] ^= 0xff;
  Pkt p = Load(pkt);
  Apply(p, Set(FieldId::kTpSrc, 5000));
  const auto after = Bytes(p);
  CHECK(std::equal(scapy_init.begin(), scapy_init.end(), after.begin() + 34));

  SECTION("across an mbuf chain") {
    const auto big = PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Sctp(1, 2).Payload(301).Build();
    FlowKey key;
    PacketLayout layout;
    REQUIRE(ParsePacket(big.data(), static_cast<uint32_t>(big.size()), kInPort, &key, &layout) ==
            kParseOk);
    for (size_t split : {size_t{66}, size_t{67}, size_t{100}, big.size() - 1}) {
      INFO("split at " << split);
      test::MbufPtr m = test::ToMbufChain(big, split);
      REQUIRE(m);
      FlowKey k = key;
      PacketLayout l = layout;
      SetField(m.get(), &l, &k, Set(FieldId::kTpDst, 3868));
      const auto b = test::MbufBytes(m.get());
      CHECK(GetBe16(&b[56]) == 3868);
      CHECK(test::ChecksumErrors(b) == "");
    }
  }
}

TEST_CASE("set ICMP and ICMPv6 type and code", "[rewrite]") {
  Pkt v4 = Load(PacketBuilder().Eth().Ipv4(kIpA, kIpB).Icmp4(8, 0, 0x10001).Payload(30).Build());
  Apply(v4, Set(FieldId::kIcmpType, 0));
  Apply(v4, Set(FieldId::kIcmpCode, 0x1f, 0x0f));
  CHECK(Bytes(v4)[34] == 0);
  CHECK(Bytes(v4)[35] == 0x0f);
  CHECK(v4.key.tp_src == 0);
  CHECK(v4.key.tp_dst == 0x0f);
  CHECK(AllChecksumErrors(Bytes(v4)) == "");
  CheckReparse(v4);
  // ICMPv6 fields do not apply to ICMP, and the reverse.
  auto before = Bytes(v4);
  Apply(v4, Set(FieldId::kIcmpv6Type, 1));
  CHECK(Bytes(v4) == before);

  Pkt v6 =
      Load(PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Icmp6(128, 0, 0x10001).Payload(30).Build());
  Apply(v6, Set(FieldId::kIcmpv6Type, 129));
  Apply(v6, Set(FieldId::kIcmpv6Code, 3));
  CHECK(Bytes(v6)[54] == 129);
  CHECK(Bytes(v6)[55] == 3);
  CHECK(AllChecksumErrors(Bytes(v6)) == "");
  CheckReparse(v6);
  before = Bytes(v6);
  Apply(v6, Set(FieldId::kIcmpType, 1));
  CHECK(Bytes(v6) == before);
}

TEST_CASE("metadata is key-only; read-only fields are never written", "[rewrite]") {
  Pkt p = Load(test::BuildTcp4(kIpA, kIpB, 1, 2));
  const auto before = Bytes(p);
  FlowKey key = p.key;
  Apply(p, Set(FieldId::kMetadata, 0x1234567800000000ull, 0xffffffff00000000ull));
  CHECK(p.key.metadata == 0x1234567800000000ull);
  key.metadata = p.key.metadata;
  for (FieldId id : {FieldId::kInPort, FieldId::kEthType, FieldId::kNwProto, FieldId::kNwFrag,
                     FieldId::kTcpFlags, FieldId::kCount}) {
    DpAction a = Set(FieldId::kMetadata, 0xffff, 0xffff);
    a.field = id;
    Apply(p, a);
  }
  CHECK(Bytes(p) == before);
  CHECK(SameKey(p.key, key));
}

// ---- every field on every packet kind, random values and masks ---------------------

struct Sample {
  std::string name;
  std::vector<uint8_t> pkt;
};

std::vector<Sample> Samples() {
  std::vector<Sample> s;
  auto add = [&](const char* name, std::vector<uint8_t> p) { s.push_back({name, std::move(p)}); };
  add("tcp4", PacketBuilder()
                  .Eth()
                  .Ipv4(kIpA, kIpB, {.options = {1, 1}})
                  .Tcp(1, 2, 0x10, 5, 6, 4)
                  .Payload(11)
                  .Build());
  add("udp4", test::BuildUdp4(kIpA, kIpB, 1, 2));
  add("udp4 no csum", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Udp(1, 2, true).Payload(3).Build());
  add("sctp4", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Sctp(1, 2).Payload(20).Build());
  add("icmp4", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Icmp4(3, 1).Payload(28).Build());
  add("gre4", PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.proto = 47}).Payload(28).Build());
  add("first frag4",
      PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.mf = true}).Udp(1, 2).Payload(8).Build());
  add("later frag4",
      PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.frag_offset = 2, .proto = 6}).Payload(24).Build());
  add("vlan tcp4", PacketBuilder().Eth().Vlan(0x2005).Ipv4(kIpA, kIpB).Tcp(1, 2).PadTo(64).Build());
  add("qinq udp6",
      PacketBuilder().Eth().Vlan(1, 0x88a8).Vlan(2).Ipv6(kIp6A, kIp6B).Udp(1, 2).Build());
  add("tcp6", test::BuildTcp6(kIp6A, kIp6B, 1, 2));
  add("udp6 ext", PacketBuilder()
                      .Eth()
                      .Ipv6(kIp6A, kIp6B)
                      .Ipv6Ext(0)
                      .Ipv6Ext(43, 16, 0)
                      .Udp(1, 2)
                      .Payload(5)
                      .Build());
  add("sctp6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Sctp(1, 2).Payload(9).Build());
  add("icmp6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Icmp6(1, 0).Payload(48).Build());
  add("first frag6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Ipv6Frag(0, true).Tcp(1, 2).Build());
  add("later frag6",
      PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Ipv6Frag(3, true, 1, 17).Payload(16).Build());
  add("arp", test::BuildArp(2, kMac, kIpA, kMac, kIpB));
  add("vlan arp", PacketBuilder().Eth().Vlan(9).Arp(1, kMac, kIpA, {}, kIpB).Build());
  add("802.3", PacketBuilder().Eth(kMac, kMac, 46).Payload(46).Build());
  add("lldp", PacketBuilder().Eth(kMac, kMac, 0x88cc).Payload(46).Build());
  // Headers the parser rejected: nothing past L2 may be written.
  auto cut = test::BuildTcp4(kIpA, kIpB, 1, 2);
  cut.resize(30);
  add("truncated ipv4", cut);
  auto bad = test::BuildUdp4(kIpA, kIpB, 1, 2);
  bad[14] = 0x35;
  add("ipv4 version 3", bad);
  auto short_l4 = test::BuildTcp4(kIpA, kIpB, 1, 2, test::kTcpSyn, 0);
  PutBe16(&short_l4[16], 30);  // the IP length leaves 10 bytes of TCP
  short_l4[24] = short_l4[25] = 0;
  PutBe16(&short_l4[24], test::InetChecksum(&short_l4[14], 20));
  add("tcp4 truncated by IP length", short_l4);
  auto ext_cut = PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Ipv6Ext(60, 24).Udp(1, 2).Build();
  PutBe16(&ext_cut[18], 16);
  add("ipv6 ext header truncated", ext_cut);
  auto bad_arp = test::BuildArp(1, kMac, kIpA, kMac, kIpB);
  bad_arp[15] = 6;  // htype 6
  add("non-ethernet arp", bad_arp);
  add("runt", std::vector<uint8_t>(test::kDefaultDstMac.begin(), test::kDefaultDstMac.end()));
  return s;
}

struct Span {
  size_t ofs;
  size_t len;
};

// Where field `id` lives on the wire, or nullopt if the packet lacks it
// (the field table's prerequisites, with the parser's layout as the judge of
// whether a header is there).
std::optional<Span> FieldSpan(FieldId id, const FlowKey& k, const PacketLayout& l, size_t len) {
  const bool ip4 = k.eth_type == 0x0800 && l.l3_ofs;
  const bool ip6 = k.eth_type == 0x86dd && l.l3_ofs;
  const bool arp = k.eth_type == 0x0806 && l.l3_ofs;
  const bool l4 = (ip4 || ip6) && l.l4_ofs;
  const size_t l3o = l.l3_ofs, l4o = l.l4_ofs;
  const uint8_t proto = k.nw_proto;
  switch (id) {
    case FieldId::kMetadata:
      return Span{0, 0};
    case FieldId::kEthDst:
      return len >= 14 ? std::optional<Span>(Span{0, 6}) : std::nullopt;
    case FieldId::kEthSrc:
      return len >= 14 ? std::optional<Span>(Span{6, 6}) : std::nullopt;
    case FieldId::kVlanTci:
    case FieldId::kVlanVid:
    case FieldId::kVlanPcp:
      if (l.n_vlans) return Span{14, 2};
      return std::nullopt;
    case FieldId::kNwSrc:
      if (ip4) return Span{l3o + 12, 4};
      return std::nullopt;
    case FieldId::kNwDst:
      if (ip4) return Span{l3o + 16, 4};
      return std::nullopt;
    case FieldId::kNwTos:
    case FieldId::kIpDscp:
    case FieldId::kNwEcn:
      if (ip4) return Span{l3o + 1, 1};
      if (ip6) return Span{l3o, 2};
      return std::nullopt;
    case FieldId::kNwTtl:
      if (ip4) return Span{l3o + 8, 1};
      if (ip6) return Span{l3o + 7, 1};
      return std::nullopt;
    case FieldId::kIpv6Src:
      if (ip6) return Span{l3o + 8, 16};
      return std::nullopt;
    case FieldId::kIpv6Dst:
      if (ip6) return Span{l3o + 24, 16};
      return std::nullopt;
    case FieldId::kIpv6Label:
      if (ip6) return Span{l3o + 1, 3};
      return std::nullopt;
    case FieldId::kArpOp:
      if (arp) return Span{l3o + 6, 2};
      return std::nullopt;
    case FieldId::kArpSha:
      if (arp) return Span{l3o + 8, 6};
      return std::nullopt;
    case FieldId::kArpSpa:
      if (arp) return Span{l3o + 14, 4};
      return std::nullopt;
    case FieldId::kArpTha:
      if (arp) return Span{l3o + 18, 6};
      return std::nullopt;
    case FieldId::kArpTpa:
      if (arp) return Span{l3o + 24, 4};
      return std::nullopt;
    case FieldId::kTpSrc:
    case FieldId::kTpDst:
      if (l4 && (proto == 6 || proto == 17 || proto == 132))
        return Span{l4o + (id == FieldId::kTpDst ? 2u : 0u), 2};
      return std::nullopt;
    case FieldId::kIcmpType:
    case FieldId::kIcmpCode:
      if (l4 && ip4 && proto == 1) return Span{l4o + (id == FieldId::kIcmpCode ? 1u : 0u), 1};
      return std::nullopt;
    case FieldId::kIcmpv6Type:
    case FieldId::kIcmpv6Code:
      if (l4 && ip6 && proto == 58) return Span{l4o + (id == FieldId::kIcmpv6Code ? 1u : 0u), 1};
      return std::nullopt;
    case FieldId::kInPort:
    case FieldId::kEthType:
    case FieldId::kNwProto:
    case FieldId::kNwFrag:
    case FieldId::kTcpFlags:
    case FieldId::kCount:
      return std::nullopt;
  }
  return std::nullopt;
}

// The checksum bytes a change at L3/L4 may touch.
std::set<size_t> ChecksumBytes(const FlowKey& k, const PacketLayout& l) {
  std::set<size_t> s;
  if (k.eth_type == 0x0800 && l.l3_ofs) s.insert({l.l3_ofs + 10u, l.l3_ofs + 11u});
  if (l.l4_ofs) {
    const size_t o = l.l4_ofs;
    switch (k.nw_proto) {
      case 6:
        s.insert({o + 16, o + 17});
        break;
      case 17:
        s.insert({o + 6, o + 7});
        break;
      case 1:
      case 58:
        s.insert({o + 2, o + 3});
        break;
      case 132:
        s.insert({o + 8, o + 9, o + 10, o + 11});
        break;
      default:
        break;
    }
  }
  return s;
}

TEST_CASE("random set-field on every field and packet kind", "[rewrite]") {
  std::mt19937_64 rng(20240611);
  for (const Sample& s : Samples()) {
    const bool checksums_ok = AllChecksumErrors(s.pkt) == "";
    for (size_t fi = 0; fi < static_cast<size_t>(FieldId::kCount); fi++) {
      const auto id = static_cast<FieldId>(fi);
      const FieldInfo& f = GetField(id);
      if (!f.writable) continue;
      Pkt p = Load(s.pkt);
      const std::string errs_before = AllChecksumErrors(s.pkt);
      const auto span = FieldSpan(id, p.key, p.layout, s.pkt.size());
      for (int iter = 0; iter < 40; iter++) {
        INFO(s.name << ", field " << f.name << ", iteration " << iter);
        DpAction a{};
        a.type = DpActionType::kSetField;
        a.field = id;
        a.value.u = rng();
        a.mask.u = rng() % 2 ? ~0ull : rng();
        for (int i = 0; i < 16; i++) {
          a.value.bytes[i] = static_cast<uint8_t>(rng());
          a.mask.bytes[i] = rng() % 2 ? 0xff : static_cast<uint8_t>(rng());
        }
        const auto before = Bytes(p);
        const FlowKey key_before = p.key;
        const PacketLayout layout_before = p.layout;
        Apply(p, a);
        const auto after = Bytes(p);
        REQUIRE(after.size() == before.size());
        REQUIRE(SameLayout(p.layout, layout_before));

        FlowKey want = key_before;
        if (span) {
          // The key merges value under mask exactly as SetFieldMatch does
          // (except the VLAN present bit, which stays set).
          DpAction m = a;
          if (id == FieldId::kVlanTci) m.mask.u &= ~uint64_t{kVlanPresent};
          FlowKey ignored;
          ignored.Clear();
          SetFieldMatch(f, m.value, m.mask, &want, &ignored);
        }
        REQUIRE(SameKey(p.key, want));
        // Only the field and the checksums over it changed.
        std::set<size_t> allowed = ChecksumBytes(key_before, layout_before);
        if (span)
          for (size_t i = 0; i < span->len; i++) allowed.insert(span->ofs + i);
        for (size_t i = 0; i < after.size(); i++)
          if (!allowed.count(i)) REQUIRE(after[i] == before[i]);
        if (!span) REQUIRE(after == before);
        CHECK(AllChecksumErrors(after) == errs_before);
        CheckReparse(p);
      }
    }
    INFO(s.name);
    if (s.name.find("trunc") == std::string::npos && s.name.find("version") == std::string::npos &&
        s.name != "runt")
      CHECK(checksums_ok);
  }
}

// ---- VLAN push and pop ----------------------------------------------------------------

TEST_CASE("push and pop VLAN tags", "[rewrite]") {
  auto ip = [](PacketBuilder b) { return b.Ipv4(kIpA, kIpB).Tcp(80, 1024).Payload(10).Build(); };
  const auto untagged = ip(PacketBuilder().Eth());
  const auto tagged = ip(PacketBuilder().Eth().Vlan(0xa07b));
  const auto qinq = ip(PacketBuilder().Eth().Vlan(0x0123, 0x88a8).Vlan(0xa07b));

  Pkt p = Load(untagged);
  REQUIRE(PushVlan(p.m.get(), &p.layout, &p.key, 0x8100, 0xa07b));
  CHECK(Bytes(p) == tagged);
  CHECK(p.key.vlan_tci == (0xa07b | kVlanPresent));
  CheckReparse(p);
  REQUIRE(PushVlan(p.m.get(), &p.layout, &p.key, 0x88a8, 0x0123));
  CHECK(Bytes(p) == qinq);
  CHECK(p.layout.n_vlans == 2);
  CheckReparse(p);
  // L3/L4 rewrites still land right after the pushes.
  Apply(p, Set(FieldId::kTpDst, 8080));
  Apply(p, Set(FieldId::kNwSrc, 0x01010101));
  CHECK(AllChecksumErrors(Bytes(p)) == "");
  CheckReparse(p);
  Apply(p, Set(FieldId::kTpDst, 1024));
  Apply(p, Set(FieldId::kNwSrc, kIpA));
  PopVlan(p.m.get(), &p.layout, &p.key);
  CHECK(Bytes(p) == tagged);
  CHECK(p.key.vlan_tci == (0xa07b | kVlanPresent));
  CheckReparse(p);
  PopVlan(p.m.get(), &p.layout, &p.key);
  CHECK(Bytes(p) == untagged);
  CHECK(p.key.vlan_tci == 0);
  CHECK(SameLayout(p.layout, PacketLayout{14, 34, 0, 0}));
  CheckReparse(p);
  // Popping an untagged packet does nothing.
  PopVlan(p.m.get(), &p.layout, &p.key);
  CHECK(Bytes(p) == untagged);
  CheckReparse(p);
}

TEST_CASE("push VLAN needs 4 bytes of headroom and an Ethernet header", "[rewrite]") {
  const auto pkt = test::BuildUdp4(kIpA, kIpB, 1, 2);
  for (uint16_t headroom : {0, 3}) {
    Pkt p = Load(pkt, headroom);
    const FlowKey key = p.key;
    CHECK_FALSE(PushVlan(p.m.get(), &p.layout, &p.key, 0x8100, 5));
    CHECK(Bytes(p) == pkt);
    CHECK(SameKey(p.key, key));
    CHECK(SameLayout(p.layout, PacketLayout{14, 34, 0, 0}));
  }
  Pkt p = Load(pkt, 4);
  CHECK(PushVlan(p.m.get(), &p.layout, &p.key, 0x8100, 5));
  CHECK(rte_pktmbuf_headroom(p.m.get()) == 0);
  CheckReparse(p);
  Pkt runt = Load(std::vector<uint8_t>(13, 0xab));
  CHECK_FALSE(PushVlan(runt.m.get(), &runt.layout, &runt.key, 0x8100, 5));
  CHECK(rte_pktmbuf_data_len(runt.m.get()) == 13);
}

TEST_CASE("push then pop restores every packet kind", "[rewrite]") {
  std::mt19937_64 rng(7);
  for (const Sample& s : Samples()) {
    if (s.pkt.size() < 14) continue;
    for (int iter = 0; iter < 20; iter++) {
      INFO(s.name << " iteration " << iter);
      Pkt p = Load(s.pkt);
      const FlowKey key = p.key;
      const PacketLayout layout = p.layout;
      const auto tci = static_cast<uint16_t>(rng());
      const uint16_t tpid = rng() % 2 ? 0x8100 : 0x88a8;
      REQUIRE(PushVlan(p.m.get(), &p.layout, &p.key, tpid, tci));
      auto b = Bytes(p);
      REQUIRE(b.size() == s.pkt.size() + 4);
      CHECK(GetBe16(&b[12]) == tpid);
      CHECK(GetBe16(&b[14]) == tci);
      CHECK(p.key.vlan_tci == (tci | kVlanPresent));
      CHECK(p.layout.n_vlans == layout.n_vlans + 1);
      CHECK(p.layout.l3_ofs == (layout.l3_ofs ? layout.l3_ofs + 4 : 0));
      CHECK(p.layout.l4_ofs == (layout.l4_ofs ? layout.l4_ofs + 4 : 0));
      CheckReparse(p);
      PopVlan(p.m.get(), &p.layout, &p.key);
      CHECK(Bytes(p) == s.pkt);
      CHECK(SameKey(p.key, key));
      CHECK(SameLayout(p.layout, layout));
    }
  }
}

// ---- TTL decrement --------------------------------------------------------------------

TEST_CASE("DecTtl on IPv4", "[rewrite]") {
  for (uint8_t ttl : {uint8_t{2}, uint8_t{64}, uint8_t{128}, uint8_t{255}}) {
    INFO("ttl " << int(ttl));
    Pkt p = Load(PacketBuilder()
                     .Eth()
                     .Vlan(1)
                     .Ipv4(kIpA, kIpB, {.tos = 0xfc, .ttl = ttl})
                     .Udp(1, 2)
                     .Build());
    CHECK(DecTtl(p.m.get(), p.layout, &p.key));
    const auto b = Bytes(p);
    CHECK(b[18 + 8] == ttl - 1);
    CHECK(p.key.nw_ttl == ttl - 1);
    CHECK(AllChecksumErrors(b) == "");
    CheckDpdkChecksums(b, 18, 38);
    CheckReparse(p);
  }
  for (uint8_t ttl : {uint8_t{0}, uint8_t{1}}) {
    const auto pkt = PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.ttl = ttl}).Udp(1, 2).Build();
    Pkt p = Load(pkt);
    const FlowKey key = p.key;
    CHECK_FALSE(DecTtl(p.m.get(), p.layout, &p.key));
    CHECK(Bytes(p) == pkt);
    CHECK(SameKey(p.key, key));
  }
  // Down to the edge, one step at a time.
  Pkt p = Load(PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.ttl = 255}).Tcp(1, 2).Build());
  int steps = 0;
  while (DecTtl(p.m.get(), p.layout, &p.key)) {
    steps++;
    REQUIRE(AllChecksumErrors(Bytes(p)) == "");
  }
  CHECK(steps == 254);
  CHECK(p.key.nw_ttl == 1);
  CheckReparse(p);
}

TEST_CASE("DecTtl on IPv6 and on packets without IP", "[rewrite]") {
  Pkt p = Load(PacketBuilder().Eth().Ipv6(kIp6A, kIp6B, {.hop_limit = 2}).Udp(1, 2).Build());
  CHECK(DecTtl(p.m.get(), p.layout, &p.key));
  CHECK(Bytes(p)[21] == 1);
  CHECK(p.key.nw_ttl == 1);
  CHECK(AllChecksumErrors(Bytes(p)) == "");
  CheckReparse(p);
  const auto before = Bytes(p);
  CHECK_FALSE(DecTtl(p.m.get(), p.layout, &p.key));
  CHECK(Bytes(p) == before);
  Pkt z = Load(PacketBuilder().Eth().Ipv6(kIp6A, kIp6B, {.hop_limit = 0}).Build());
  CHECK_FALSE(DecTtl(z.m.get(), z.layout, &z.key));

  // Non-IP and rejected IP headers: true, untouched.
  for (const Sample& s : Samples()) {
    if (s.name != "arp" && s.name != "802.3" && s.name != "truncated ipv4" &&
        s.name != "ipv4 version 3" && s.name != "runt")
      continue;
    INFO(s.name);
    Pkt q = Load(s.pkt);
    const FlowKey key = q.key;
    CHECK(DecTtl(q.m.get(), q.layout, &q.key));
    CHECK(Bytes(q) == s.pkt);
    CHECK(SameKey(q.key, key));
  }
}

}  // namespace
}  // namespace dpswitch::pkt
