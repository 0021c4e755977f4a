// SPDX-License-Identifier: BSD-3-Clause
// Parser tests: every header kind gives the key the FlowKey essay describes;
// malformed and truncated headers stop parsing with the right error and
// keep the earlier fields; and nothing past `len` is read. Every parse goes
// through an exact-size heap copy, so running this binary under ASan or
// valgrind turns any over-read into a failure.

#include "packet/parser.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "packet/field.h"
#include "support/packet_builder.h"

namespace dpswitch::pkt {
namespace {

using test::GetBe16;
using test::Ip6Addr;
using test::MacAddr;
using test::Offsets;
using test::PacketBuilder;
using test::ParseIp4;
using test::ParseIp6;
using test::ParseMac;
using test::PutBe16;

constexpr uint32_t kInPort = 7;

const uint32_t kIpA = ParseIp4("10.0.0.1");
const uint32_t kIpB = ParseIp4("192.168.1.254");
const Ip6Addr kIp6A = ParseIp6("2001:db8::1");
const Ip6Addr kIp6B = ParseIp6("fe80::1:2:3:4");

struct Result {
  FlowKey key;
  PacketLayout layout;
  uint32_t err;
};

// Parses the first `n` bytes from an exact-size heap copy; the key and
// layout start as garbage so a word the parser forgets shows up.
Result Parse(const std::vector<uint8_t>& p, size_t n = SIZE_MAX, uint32_t in_port = kInPort) {
  n = std::min(n, p.size());
  std::unique_ptr<uint8_t[]> buf(new uint8_t[n]);
  if (n) std::memcpy(buf.get(), p.data(), n);
  Result r;
  std::memset(&r.key, 0xa5, sizeof(r.key));
  r.layout = PacketLayout{0x5a5a, 0x5a5a, 0x5a, 0x5a};
  r.err = ParsePacket(buf.get(), static_cast<uint32_t>(n), in_port, &r.key, &r.layout);
  return r;
}

FlowKey BaseKey() {
  FlowKey k;
  k.Clear();
  k.in_port = kInPort;
  std::memcpy(k.eth_dst, test::kDefaultDstMac.data(), 6);
  std::memcpy(k.eth_src, test::kDefaultSrcMac.data(), 6);
  return k;
}

// "" when equal, else the differing fields (by table name) and words.
std::string KeyDiff(const FlowKey& got, const FlowKey& want) {
  if (std::memcmp(&got, &want, sizeof(FlowKey)) == 0) return "";
  std::ostringstream out;
  for (size_t i = 0; i < static_cast<size_t>(FieldId::kCount); i++) {
    const FieldInfo& f = GetField(static_cast<FieldId>(i));
    const FieldValue g = GetFieldValue(f, got), w = GetFieldValue(f, want);
    if (f.is_int ? g.u != w.u : std::memcmp(g.bytes, w.bytes, f.size) != 0)
      out << f.name << " got 0x" << std::hex << g.u << " want 0x" << w.u << std::dec << "; ";
  }
  for (uint32_t i = 0; i < 16; i++)
    if (got.Word(i) != want.Word(i))
      out << "w" << i << " got 0x" << std::hex << got.Word(i) << " want 0x" << want.Word(i)
          << std::dec << "; ";
  return out.str();
}

bool SameLayout(const PacketLayout& a, const PacketLayout& b) {
  return a.l3_ofs == b.l3_ofs && a.l4_ofs == b.l4_ofs && a.n_vlans == b.n_vlans && a.pad == b.pad;
}

std::string LayoutStr(const PacketLayout& l) {
  return "l3=" + std::to_string(l.l3_ofs) + " l4=" + std::to_string(l.l4_ofs) +
         " vlans=" + std::to_string(l.n_vlans) + " pad=" + std::to_string(l.pad);
}

void SetIp4Len(std::vector<uint8_t>& p, size_t l3, uint16_t total) {
  PutBe16(&p[l3 + 2], total);
  p[l3 + 10] = p[l3 + 11] = 0;
  PutBe16(&p[l3 + 10], test::InetChecksum(&p[l3], (p[l3] & 0xf) * 4u));
}

TEST_CASE("short frames are kParseTruncL2 with an otherwise empty key", "[parser]") {
  FlowKey want;
  want.Clear();
  want.in_port = kInPort;
  const auto p = test::BuildUdp4(kIpA, kIpB, 1, 2);
  for (size_t n = 0; n < 14; n++) {
    const Result r = Parse(p, n);
    CHECK(r.err == kParseTruncL2);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(SameLayout(r.layout, PacketLayout{}));
  }
  // A null pointer with length 0 is never dereferenced.
  FlowKey k;
  PacketLayout l;
  CHECK(ParsePacket(nullptr, 0, 3, &k, &l) == kParseTruncL2);
  CHECK(k.in_port == 3);
}

TEST_CASE("UDP over IPv4", "[parser]") {
  const auto p = PacketBuilder()
                     .Eth()
                     .Ipv4(kIpA, kIpB, {.tos = 0xb9, .ttl = 17, .df = true})
                     .Udp(5353, 53)
                     .Payload(20)
                     .Build();
  const Result r = Parse(p, SIZE_MAX, 0xfffffff0);
  FlowKey want = BaseKey();
  want.in_port = 0xfffffff0;
  want.eth_type = 0x0800;
  want.nw_src = kIpA;
  want.nw_dst = kIpB;
  want.nw_proto = 17;
  want.nw_tos = 0xb9;
  want.nw_ttl = 17;
  want.tp_src = 5353;
  want.tp_dst = 53;
  CHECK(r.err == kParseOk);
  CHECK(KeyDiff(r.key, want) == "");
  CHECK(SameLayout(r.layout, PacketLayout{14, 34, 0, 0}));
}

TEST_CASE("TCP over IPv4 with IP and TCP options and every flag", "[parser]") {
  for (uint16_t flags : {uint16_t{0x002}, uint16_t{0x012}, uint16_t{0x1ff}, uint16_t{0xfff}}) {
    for (size_t ip_opts : {0, 4, 40}) {
      INFO("flags " << flags << " ip options " << ip_opts);
      const auto p = PacketBuilder()
                         .Eth()
                         .Ipv4(kIpB, kIpA, {.ttl = 1, .options = std::vector<uint8_t>(ip_opts, 1)})
                         .Tcp(443, 61000, flags, 1, 2, 12)
                         .Payload(3)
                         .Build();
      const Result r = Parse(p);
      FlowKey want = BaseKey();
      want.eth_type = 0x0800;
      want.nw_src = kIpB;
      want.nw_dst = kIpA;
      want.nw_proto = 6;
      want.nw_ttl = 1;
      want.tp_src = 443;
      want.tp_dst = 61000;
      want.tcp_flags = flags;
      CHECK(r.err == kParseOk);
      CHECK(KeyDiff(r.key, want) == "");
      CHECK(SameLayout(r.layout, PacketLayout{14, static_cast<uint16_t>(34 + ip_opts), 0, 0}));
    }
  }
}

TEST_CASE("SCTP, ICMP and other IPv4 protocols", "[parser]") {
  FlowKey want = BaseKey();
  want.eth_type = 0x0800;
  want.nw_src = kIpA;
  want.nw_dst = kIpB;
  want.nw_ttl = 64;

  SECTION("SCTP") {
    const Result r =
        Parse(PacketBuilder().Eth().Ipv4(kIpA, kIpB).Sctp(36412, 2905).Payload(16).Build());
    want.nw_proto = 132;
    want.tp_src = 36412;
    want.tp_dst = 2905;
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(r.layout.l4_ofs == 34);
  }
  SECTION("ICMP type and code go to tp_src and tp_dst") {
    const Result r = Parse(PacketBuilder().Eth().Ipv4(kIpA, kIpB).Icmp4(3, 13).Payload(28).Build());
    want.nw_proto = 1;
    want.tp_src = 3;
    want.tp_dst = 13;
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(r.layout.l4_ofs == 34);
  }
  SECTION("ICMPv6 inside IPv4 is not ICMP") {
    const Result r = Parse(PacketBuilder().Eth().Ipv4(kIpA, kIpB).Icmp6(128, 0).Build());
    want.nw_proto = 58;
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(r.layout.l4_ofs == 34);
  }
  SECTION("unknown protocols keep the payload offset") {
    const Result r =
        Parse(PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.proto = 47}).Payload(30).Build());
    want.nw_proto = 47;
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(r.layout.l4_ofs == 34);
  }
}

TEST_CASE("IPv4 fragments", "[parser]") {
  auto build = [](bool mf, uint16_t offset, bool df) {
    return PacketBuilder()
        .Eth()
        .Ipv4(kIpA, kIpB, {.df = df, .mf = mf, .frag_offset = offset})
        .Udp(1000, 2000)
        .Payload(16)
        .Build();
  };
  SECTION("first fragment: kFragAny and L4") {
    const Result r = Parse(build(true, 0, false));
    CHECK(r.err == kParseOk);
    CHECK(r.key.nw_frag == kFragAny);
    CHECK(r.key.tp_src == 1000);
    CHECK(r.key.tp_dst == 2000);
    CHECK(r.layout.l4_ofs == 34);
  }
  SECTION("middle and last fragments: kFragLater, no L4") {
    for (bool mf : {true, false}) {
      const Result r = Parse(build(mf, 185, false));
      CHECK(r.err == kParseOk);
      CHECK(r.key.nw_frag == (kFragAny | kFragLater));
      CHECK(r.key.nw_proto == 17);
      CHECK(r.key.nw_src == kIpA);
      CHECK(r.key.Word(12) == 0);
      CHECK(r.layout.l3_ofs == 14);
      CHECK(r.layout.l4_ofs == 0);
    }
  }
  SECTION("DF alone is not a fragment") {
    const Result r = Parse(build(false, 0, true));
    CHECK(r.key.nw_frag == 0);
    CHECK(r.key.tp_src == 1000);
  }
  SECTION("the largest offset") {
    const Result r = Parse(build(false, 0x1fff, false));
    CHECK(r.key.nw_frag == (kFragAny | kFragLater));
  }
}

TEST_CASE("VLAN tags", "[parser]") {
  SECTION("one 802.1Q tag") {
    for (uint16_t tci : {uint16_t{0x0000}, uint16_t{0x2064}, uint16_t{0xffff}, uint16_t{0x1001}}) {
      const auto p = PacketBuilder().Eth().Vlan(tci).Ipv4(kIpA, kIpB).Udp(1, 2).Build();
      const Result r = Parse(p);
      CHECK(r.err == kParseOk);
      CHECK(r.key.vlan_tci == (tci | kVlanPresent));
      CHECK(r.key.eth_type == 0x0800);
      CHECK(r.key.tp_dst == 2);
      CHECK(SameLayout(r.layout, PacketLayout{18, 38, 1, 0}));
    }
  }
  SECTION("802.1ad outer tag over 802.1Q: the outer TCI is kept") {
    const auto p = PacketBuilder()
                       .Eth()
                       .Vlan(0x0064, 0x88a8)
                       .Vlan(0x60c8)
                       .Ipv6(kIp6A, kIp6B)
                       .Tcp(1, 2)
                       .Build();
    const Result r = Parse(p);
    CHECK(r.err == kParseOk);
    CHECK(r.key.vlan_tci == (0x0064 | kVlanPresent));
    CHECK(r.key.eth_type == 0x86dd);
    CHECK(r.key.nw_proto == 6);
    CHECK(SameLayout(r.layout, PacketLayout{22, 62, 2, 0}));
  }
  SECTION("802.1Q over 802.1Q, and 802.1ad alone") {
    auto r = Parse(PacketBuilder().Eth().Vlan(5).Vlan(6).Arp(1, {}, 1, {}, 2).Build());
    CHECK(r.key.vlan_tci == (5 | kVlanPresent));
    CHECK(r.key.eth_type == 0x0806);
    CHECK(r.layout.n_vlans == 2);
    r = Parse(PacketBuilder().Eth().Vlan(7, 0x88a8).Ipv4(1, 2).Payload(2).Build());
    CHECK(r.key.vlan_tci == (7 | kVlanPresent));
    CHECK(r.key.eth_type == 0x0800);
    CHECK(r.layout.l3_ofs == 18);
  }
  SECTION("eight tags are skipped; a ninth TPID becomes eth_type") {
    PacketBuilder b;
    b.Eth();
    for (int i = 0; i < 8; i++) b.Vlan(static_cast<uint16_t>(i + 1));
    auto r = Parse(b.Ipv4(kIpA, kIpB).Udp(1, 2).Build());
    CHECK(r.err == kParseOk);
    CHECK(r.key.vlan_tci == (1 | kVlanPresent));
    CHECK(r.key.eth_type == 0x0800);
    CHECK(r.key.tp_dst == 2);
    CHECK(r.layout.n_vlans == 8);
    CHECK(r.layout.l3_ofs == 14 + 32);
    PacketBuilder nine;
    nine.Eth();
    for (int i = 0; i < 9; i++) nine.Vlan(static_cast<uint16_t>(i + 1));
    r = Parse(nine.Ipv4(kIpA, kIpB).Build());
    CHECK(r.err == kParseOk);
    CHECK(r.key.eth_type == 0x8100);
    CHECK(r.key.nw_src == 0);
    CHECK(r.layout.n_vlans == 8);
  }
}

TEST_CASE("802.3 length frames report eth_type 0x05ff", "[parser]") {
  for (uint16_t len : {uint16_t{0}, uint16_t{46}, uint16_t{0x05dc}, uint16_t{0x05ff}}) {
    auto p =
        PacketBuilder().Eth(test::kDefaultDstMac, test::kDefaultSrcMac, len).Payload(46).Build();
    Result r = Parse(p);
    FlowKey want = BaseKey();
    want.eth_type = 0x05ff;
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(SameLayout(r.layout, PacketLayout{14, 0, 0, 0}));
    p = PacketBuilder().Eth().Vlan(3, 0x8100, len).Payload(46).Build();
    r = Parse(p);
    CHECK(r.key.eth_type == 0x05ff);
    CHECK(r.key.vlan_tci == (3 | kVlanPresent));
  }
  // 0x0600 is the first ethertype.
  const Result r =
      Parse(PacketBuilder().Eth(test::kDefaultDstMac, test::kDefaultSrcMac, 0x0600).Build());
  CHECK(r.key.eth_type == 0x0600);
}

TEST_CASE("ARP", "[parser]") {
  const MacAddr sha = ParseMac("00:11:22:33:44:55");
  const MacAddr tha = ParseMac("66:77:88:99:aa:bb");
  for (uint16_t op : {uint16_t{1}, uint16_t{2}, uint16_t{0x0103}}) {
    const auto p = test::BuildArp(op, sha, kIpA, tha, kIpB);
    const Result r = Parse(p);
    FlowKey want;
    want.Clear();
    want.in_port = kInPort;
    std::memcpy(want.eth_dst, op == 1 ? test::kBroadcastMac.data() : tha.data(), 6);
    std::memcpy(want.eth_src, sha.data(), 6);
    want.eth_type = 0x0806;
    want.nw_src = kIpA;
    want.nw_dst = kIpB;
    want.nw_proto = static_cast<uint8_t>(op);  // the opcode's low byte
    std::memcpy(want.arp_sha, sha.data(), 6);
    std::memcpy(want.arp_tha, tha.data(), 6);
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(SameLayout(r.layout, PacketLayout{14, 0, 0, 0}));
  }
  SECTION("non Ethernet/IPv4 ARP gives no ARP fields") {
    for (size_t byte : {15, 17, 18, 19}) {  // htype low, ptype low, hlen, plen
      auto p = test::BuildArp(1, sha, kIpA, tha, kIpB);
      p[byte] ^= 0x01;
      const Result r = Parse(p);
      CHECK(r.err == kParseOk);
      CHECK(r.key.eth_type == 0x0806);
      CHECK(r.key.nw_src == 0);
      CHECK(r.key.nw_proto == 0);
      CHECK(r.key.Word(10) == 0);
      CHECK(r.layout.l3_ofs == 0);
    }
  }
}

TEST_CASE("IPv6", "[parser]") {
  FlowKey want = BaseKey();
  want.eth_type = 0x86dd;
  want.nw_tos = 0xb9;
  want.nw_ttl = 3;
  want.ipv6_label = 0xabcde;
  std::memcpy(want.ipv6_src, kIp6A.data(), 16);
  std::memcpy(want.ipv6_dst, kIp6B.data(), 16);
  const test::Ipv6Opts o{.tclass = 0xb9, .label = 0xabcde, .hop_limit = 3};

  SECTION("UDP") {
    const Result r =
        Parse(PacketBuilder().Eth().Ipv6(kIp6A, kIp6B, o).Udp(546, 547).Payload(9).Build());
    want.nw_proto = 17;
    want.tp_src = 546;
    want.tp_dst = 547;
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(SameLayout(r.layout, PacketLayout{14, 54, 0, 0}));
  }
  SECTION("TCP after hop-by-hop, destination options and routing headers") {
    const auto p = PacketBuilder()
                       .Eth()
                       .Ipv6(kIp6A, kIp6B, o)
                       .Ipv6Ext(0, 8)
                       .Ipv6Ext(60, 16)
                       .Ipv6Ext(43, 24, 1)
                       .Ipv6Ext(60, 8)
                       .Tcp(80, 81, 0x018)
                       .Build();
    const Result r = Parse(p);
    want.nw_proto = 6;
    want.tp_src = 80;
    want.tp_dst = 81;
    want.tcp_flags = 0x018;
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(SameLayout(r.layout, PacketLayout{14, 54 + 8 + 16 + 24 + 8, 0, 0}));
  }
  SECTION("ICMPv6 and SCTP") {
    Result r = Parse(PacketBuilder().Eth().Ipv6(kIp6A, kIp6B, o).Icmp6(135, 0).Payload(16).Build());
    want.nw_proto = 58;
    want.tp_src = 135;
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    r = Parse(PacketBuilder().Eth().Ipv6(kIp6A, kIp6B, o).Sctp(9, 10).Build());
    want.nw_proto = 132;
    want.tp_src = 9;
    want.tp_dst = 10;
    CHECK(r.err == kParseOk);
    CHECK(KeyDiff(r.key, want) == "");
    // ICMP (v4) inside IPv6 is not parsed.
    r = Parse(PacketBuilder().Eth().Ipv6(kIp6A, kIp6B, o).Icmp4(8, 0).Build());
    CHECK(r.key.nw_proto == 1);
    CHECK(r.key.Word(12) == 0);
  }
  SECTION("fragments") {
    // First fragment: L4 parsed.
    Result r = Parse(
        PacketBuilder().Eth().Ipv6(kIp6A, kIp6B, o).Ipv6Ext(0).Ipv6Frag(0, true).Udp(1, 2).Build());
    CHECK(r.err == kParseOk);
    CHECK(r.key.nw_frag == kFragAny);
    CHECK(r.key.nw_proto == 17);
    CHECK(r.key.tp_dst == 2);
    CHECK(r.layout.l4_ofs == 54 + 16);
    // Later fragment: the fragment header's next header, no L4.
    for (bool more : {true, false}) {
      r = Parse(PacketBuilder()
                    .Eth()
                    .Ipv6(kIp6A, kIp6B, o)
                    .Ipv6Frag(100, more, 9, 6)
                    .Payload(24)
                    .Build());
      CHECK(r.err == kParseOk);
      CHECK(r.key.nw_frag == (kFragAny | kFragLater));
      CHECK(r.key.nw_proto == 6);
      CHECK(r.key.Word(12) == 0);
      CHECK(r.layout.l3_ofs == 14);
      CHECK(r.layout.l4_ofs == 0);
      CHECK(std::memcmp(r.key.ipv6_dst, kIp6B.data(), 16) == 0);
    }
    // Atomic fragment (offset 0, no M): not a fragment.
    r = Parse(PacketBuilder().Eth().Ipv6(kIp6A, kIp6B, o).Ipv6Frag(0, false).Udp(1, 2).Build());
    CHECK(r.key.nw_frag == 0);
    CHECK(r.key.tp_dst == 2);
  }
  SECTION("no next header and unknown protocols") {
    const Result r = Parse(PacketBuilder().Eth().Ipv6(kIp6A, kIp6B, {.next_header = 59}).Build());
    CHECK(r.err == kParseOk);
    CHECK(r.key.nw_proto == 59);
    CHECK(r.layout.l4_ofs == 54);
  }
}

TEST_CASE("malformed IPv4 headers are kParseBadL3 or kParseTruncL3 with no L3 fields", "[parser]") {
  const auto good = PacketBuilder().Eth().Vlan(9).Ipv4(kIpA, kIpB).Tcp(1, 2).Payload(10).Build();
  const size_t l3 = 18;
  auto check = [&](const std::vector<uint8_t>& p, uint32_t err) {
    const Result r = Parse(p);
    CHECK(r.err == err);
    CHECK(r.key.eth_type == 0x0800);
    CHECK(r.key.vlan_tci == (9 | kVlanPresent));
    for (uint32_t w = 4; w < 16; w++) CHECK(r.key.Word(w) == 0);
    CHECK(SameLayout(r.layout, PacketLayout{0, 0, 1, 0}));
  };
  auto p = good;
  p[l3] = 0x55;  // version 5
  check(p, kParseBadL3);
  p = good;
  p[l3] = 0x65;  // version 6 inside an IPv4 ethertype
  check(p, kParseBadL3);
  p = good;
  p[l3] = 0x44;  // IHL 4
  check(p, kParseBadL3);
  p = good;
  SetIp4Len(p, l3, 19);  // total length < header length
  check(p, kParseBadL3);
  p = good;
  SetIp4Len(p, l3, static_cast<uint16_t>(p.size() - l3 + 1));  // longer than the frame
  check(p, kParseTruncL3);
  p = good;
  SetIp4Len(p, l3, 60);
  p[l3] = 0x4f;  // IHL 15: 60 bytes, more than the 50 present
  p.resize(l3 + 50);
  check(p, kParseTruncL3);
}

TEST_CASE("IPv6 with a bad version or payload length", "[parser]") {
  const auto good = PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Udp(1, 2).Build();
  auto p = good;
  p[14] = 0x40;
  Result r = Parse(p);
  CHECK(r.err == kParseBadL3);
  CHECK(r.key.Word(6) == 0);
  CHECK(r.layout.l3_ofs == 0);
  p = good;
  PutBe16(&p[18], static_cast<uint16_t>(p.size() - 54 + 1));
  r = Parse(p);
  CHECK(r.err == kParseTruncL3);
  CHECK(r.key.Word(6) == 0);
  CHECK(r.layout.l3_ofs == 0);
}

TEST_CASE("IPv6 extension headers beyond the payload length are kParseTruncL3", "[parser]") {
  const auto good = PacketBuilder()
                        .Eth()
                        .Ipv6(kIp6A, kIp6B, {.label = 5})
                        .Ipv6Ext(0, 16)
                        .Ipv6Frag(0, true)
                        .Ipv6Ext(60, 8)
                        .Udp(1, 2)
                        .Payload(4)
                        .Build();
  const Result full = Parse(good);
  REQUIRE(full.err == kParseOk);
  REQUIRE(full.layout.l4_ofs == 54 + 32);
  // Cut the payload length inside each extension header.
  for (uint16_t plen = 0; plen < 32; plen++) {
    INFO("payload length " << plen);
    auto p = good;
    PutBe16(&p[18], plen);
    const Result r = Parse(p);
    FlowKey want = full.key;
    want.nw_proto = 0;
    want.nw_frag = plen >= 24 ? kFragAny : 0;  // the fragment header was read
    want.SetWord(12, 0);
    CHECK(r.err == kParseTruncL3);
    CHECK(KeyDiff(r.key, want) == "");
    CHECK(SameLayout(r.layout, PacketLayout{14, 0, 0, 0}));
  }
}

TEST_CASE("the IP length, not the frame, bounds L4", "[parser]") {
  struct Case {
    const char* name;
    std::vector<uint8_t> pkt;
    Offsets o;
    uint32_t need;  // bytes the L4 header needs
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, PacketBuilder b, uint32_t need) {
    Case c{name, {}, {}, need};
    c.pkt = b.Payload(40).Build(&c.o);
    cases.push_back(std::move(c));
  };
  add("tcp4", PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.options = {1, 1, 1, 1}}).Tcp(1, 2), 20);
  add("udp4", PacketBuilder().Eth().Vlan(1).Ipv4(kIpA, kIpB).Udp(1, 2), 8);
  add("sctp4", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Sctp(1, 2), 12);
  add("icmp4", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Icmp4(8, 0), 4);
  add("tcp6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Ipv6Ext(60).Tcp(1, 2), 20);
  add("udp6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Udp(1, 2), 8);
  add("sctp6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Sctp(1, 2), 12);
  add("icmp6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Icmp6(1, 4), 4);
  for (const Case& c : cases) {
    const Result full = Parse(c.pkt);
    REQUIRE(full.err == kParseOk);
    REQUIRE(full.key.Word(12) != 0);
    const bool v6 = full.key.eth_type == 0x86dd;
    for (uint32_t avail = 0; avail <= c.need + 1; avail++) {
      INFO(c.name << " with " << avail << " L4 bytes");
      auto p = c.pkt;  // the frame keeps all its bytes; only the IP length shrinks
      const size_t l4_len = c.o.l4 + avail - c.o.l3;
      if (v6)
        PutBe16(&p[c.o.l3 + 4], static_cast<uint16_t>(l4_len - 40));
      else
        SetIp4Len(p, c.o.l3, static_cast<uint16_t>(l4_len));
      const Result r = Parse(p);
      FlowKey want = full.key;
      PacketLayout want_layout = full.layout;
      uint32_t want_err = kParseOk;
      if (avail < c.need) {
        want.SetWord(12, 0);
        want_layout.l4_ofs = 0;
        want_err = kParseTruncL4;
      }
      CHECK(r.err == want_err);
      CHECK(KeyDiff(r.key, want) == "");
      CHECK(SameLayout(r.layout, want_layout));
    }
  }
}

TEST_CASE("Ethernet padding is ignored", "[parser]") {
  auto plain = PacketBuilder().Eth().Ipv4(kIpA, kIpB).Tcp(1, 2).Build();
  auto padded = PacketBuilder().Eth().Ipv4(kIpA, kIpB).Tcp(1, 2).PadTo(60).Build();
  REQUIRE(padded.size() == 60);
  for (size_t i = plain.size(); i < padded.size(); i++) padded[i] = 0xee;
  const Result a = Parse(plain), b = Parse(padded);
  CHECK(b.err == kParseOk);
  CHECK(KeyDiff(b.key, a.key) == "");
  CHECK(SameLayout(a.layout, b.layout));
}

TEST_CASE("TCP data offset below 5 is kParseBadL4", "[parser]") {
  for (uint8_t doff = 0; doff < 5; doff++) {
    auto p = test::BuildTcp4(kIpA, kIpB, 1, 2, test::kTcpAck, 8);
    p[34 + 12] = static_cast<uint8_t>(doff << 4);
    const Result r = Parse(p);
    CHECK(r.err == kParseBadL4);
    CHECK(r.key.nw_proto == 6);
    CHECK(r.key.nw_src == kIpA);
    CHECK(r.key.Word(12) == 0);
    CHECK(r.layout.l4_ofs == 0);
    CHECK(r.layout.l3_ofs == 14);
  }
}

// ---- every prefix of every packet kind ------------------------------------------

struct Sample {
  std::string name;
  std::vector<uint8_t> pkt;
  Offsets o;
  size_t complete;  // shortest prefix that parses like the whole frame
};

std::vector<Sample> Samples() {
  std::vector<Sample> out;
  enum Kind { kIp, kArp, kOther };
  auto add = [&](std::string name, const PacketBuilder& b, Kind kind) {
    Sample s{std::move(name), {}, {}, 0};
    s.pkt = b.Build(&s.o);
    s.complete = kind == kIp ? s.o.l3_end : kind == kArp ? s.o.l3 + 28 : s.o.l3;
    out.push_back(std::move(s));
  };
  const MacAddr m = ParseMac("00:11:22:33:44:55");
  add("udp4", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Udp(1, 2).Payload(5), kIp);
  add("udp4 padded", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Udp(1, 2).PadTo(64), kIp);
  add("tcp4 options",
      PacketBuilder()
          .Eth()
          .Ipv4(kIpA, kIpB, {.options = {7, 7}})
          .Tcp(1, 2, 0x3f, 1, 1, 8)
          .Payload(3),
      kIp);
  add("sctp4", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Sctp(1, 2).Payload(16), kIp);
  add("icmp4", PacketBuilder().Eth().Ipv4(kIpA, kIpB).Icmp4(0, 0).Payload(8), kIp);
  add("ipv4 first frag", PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.mf = true}).Udp(1, 2).Payload(8),
      kIp);
  add("ipv4 later frag",
      PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.frag_offset = 3, .proto = 6}).Payload(8), kIp);
  add("gre4", PacketBuilder().Eth().Ipv4(kIpA, kIpB, {.proto = 47}).Payload(8), kIp);
  add("vlan udp4", PacketBuilder().Eth().Vlan(0xe123).Ipv4(kIpA, kIpB).Udp(1, 2).Payload(5), kIp);
  add("qinq tcp6",
      PacketBuilder().Eth().Vlan(10, 0x88a8).Vlan(20).Ipv6(kIp6A, kIp6B).Tcp(1, 2).Payload(2), kIp);
  add("tcp6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Tcp(1, 2), kIp);
  add("udp6 ext",
      PacketBuilder()
          .Eth()
          .Ipv6(kIp6A, kIp6B)
          .Ipv6Ext(0)
          .Ipv6Ext(43, 24)
          .Ipv6Ext(60, 16)
          .Udp(1, 2)
          .Payload(3),
      kIp);
  add("ipv6 first frag", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Ipv6Frag(0, true).Sctp(1, 2),
      kIp);
  add("ipv6 later frag",
      PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Ipv6Frag(9, false, 1, 17).Payload(8), kIp);
  add("icmp6", PacketBuilder().Eth().Ipv6(kIp6A, kIp6B).Icmp6(128, 0).Payload(4), kIp);
  add("arp", PacketBuilder().Eth().Arp(2, m, kIpA, m, kIpB).PadTo(60), kArp);
  add("vlan arp", PacketBuilder().Eth().Vlan(3).Arp(1, m, kIpA, m, kIpB), kArp);
  add("802.3", PacketBuilder().Eth(m, m, 38).Payload(38), kOther);
  add("vlan other", PacketBuilder().Eth().Vlan(1).Vlan(2, 0x8100, 0x88cc).Payload(20), kOther);
  return out;
}

TEST_CASE("every prefix of every packet kind parses safely and keeps earlier fields", "[parser]") {
  for (const Sample& s : Samples()) {
    const Result full = Parse(s.pkt);
    INFO(s.name);
    REQUIRE(full.err == kParseOk);
    for (size_t n = 0; n <= s.pkt.size(); n++) {
      INFO("prefix " << n << " of " << s.pkt.size());
      const Result r = Parse(s.pkt, n);
      Result want = full;
      if (n < s.complete) {
        want.key.Clear();
        want.key.in_port = kInPort;
        want.layout = PacketLayout{};
        if (n < 14) {
          want.err = kParseTruncL2;
        } else if (n < s.o.l3) {
          // Inside the VLAN tags: a tag counts once its TCI and next type fit.
          const size_t tags = n >= 18 ? std::min<size_t>(full.layout.n_vlans, (n - 18) / 4 + 1) : 0;
          std::memcpy(want.key.eth_dst, full.key.eth_dst, 6);
          std::memcpy(want.key.eth_src, full.key.eth_src, 6);
          if (tags) want.key.vlan_tci = full.key.vlan_tci;
          want.layout.n_vlans = static_cast<uint8_t>(tags);
          want.err = kParseTruncL2;
        } else {
          // L2 complete, the IP/ARP header (or the datagram) cut short.
          for (uint32_t w = 0; w < kStageEnd[1]; w++) want.key.SetWord(w, full.key.Word(w));
          want.layout.n_vlans = full.layout.n_vlans;
          want.err = kParseTruncL3;
        }
      }
      REQUIRE(r.err == want.err);
      REQUIRE(KeyDiff(r.key, want.key) == "");
      REQUIRE(LayoutStr(r.layout) == LayoutStr(want.layout));
    }
  }
}

// ---- fuzzing: the invariants the rewrite code relies on ---------------------------

void CheckInvariants(const std::vector<uint8_t>& p, size_t n) {
  const Result r = Parse(p, n);
  const Result again = Parse(p, n);
  REQUIRE(std::memcmp(&r.key, &again.key, sizeof(FlowKey)) == 0);
  REQUIRE(r.key.in_port == kInPort);
  REQUIRE(r.key.metadata == 0);
  REQUIRE(r.key.pad1 == 0);
  REQUIRE(r.key.pad10 == 0);
  REQUIRE(r.key.pad11 == 0);
  REQUIRE(r.key.pad12 == 0);
  REQUIRE(r.key.reserved[0] == 0);
  REQUIRE(r.key.reserved[1] == 0);
  REQUIRE(r.key.reserved[2] == 0);
  REQUIRE((r.err & (r.err - 1)) == 0);  // at most one reason
  REQUIRE(r.err < (kParseBadL4 << 1));
  REQUIRE(r.layout.pad == 0);
  REQUIRE(((r.key.vlan_tci & kVlanPresent) != 0) == (r.layout.n_vlans != 0));
  const PacketLayout& l = r.layout;
  REQUIRE(l.l3_ofs <= n);
  REQUIRE(l.l4_ofs <= n);
  const bool ip4 = r.key.eth_type == 0x0800, ip6 = r.key.eth_type == 0x86dd;
  if (l.l3_ofs != 0) {
    REQUIRE(l.l3_ofs >= 14);
    if (ip4) {
      REQUIRE(l.l3_ofs + 20u <= n);
      REQUIRE(l.l3_ofs + (p[l.l3_ofs] & 0xfu) * 4 <= n);
    }
    if (ip6) REQUIRE(l.l3_ofs + 40u <= n);
    if (r.key.eth_type == 0x0806) REQUIRE(l.l3_ofs + 28u <= n);
  } else {
    REQUIRE(l.l4_ofs == 0);
  }
  if (l.l4_ofs != 0) {
    REQUIRE((ip4 || ip6));
    REQUIRE(l.l4_ofs > l.l3_ofs);
    REQUIRE((r.key.nw_frag & kFragLater) == 0);
    const uint8_t proto = r.key.nw_proto;
    uint32_t need = 0;
    if (proto == 6) need = 20;
    if (proto == 17) need = 8;
    if (proto == 132) need = 12;
    if ((proto == 1 && ip4) || (proto == 58 && ip6)) need = 4;
    REQUIRE(l.l4_ofs + need <= n);
  } else if ((ip4 || ip6) && l.l3_ofs != 0 && !(r.key.nw_frag & kFragLater)) {
    REQUIRE(r.key.Word(12) == 0);  // no L4 offset, no L4 fields
  }
}

TEST_CASE("mutated and random packets keep the layout invariants", "[parser]") {
  std::mt19937_64 rng(12345);
  const auto samples = Samples();
  for (int iter = 0; iter < 4000; iter++) {
    auto p = samples[rng() % samples.size()].pkt;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; i++) {
      // Mostly the headers, where lengths and types live.
      const size_t pos = rng() % std::min<size_t>(p.size(), rng() % 2 ? 64 : p.size());
      p[pos] = rng() % 3 ? static_cast<uint8_t>(rng())
                         : static_cast<uint8_t>(p[pos] ^ (1u << (rng() % 8)));
    }
    const size_t n = rng() % 4 ? p.size() : rng() % (p.size() + 1);
    INFO("iteration " << iter << "\n" << test::HexDump(p.data(), n));
    CheckInvariants(p, n);
  }
  for (int iter = 0; iter < 2000; iter++) {
    std::vector<uint8_t> p(rng() % 128);
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    static constexpr uint16_t kTypes[] = {0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8};
    if (p.size() >= 14) PutBe16(&p[12], kTypes[rng() % 5]);
    if (p.size() >= 18 && GetBe16(&p[12]) >= 0x8100) PutBe16(&p[16], kTypes[rng() % 3]);
    INFO("random " << iter << "\n" << test::HexDump(p));
    CheckInvariants(p, p.size());
  }
}

}  // namespace
}  // namespace dpswitch::pkt
