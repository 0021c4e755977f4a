// SPDX-License-Identifier: BSD-3-Clause
// Tests of the shared test-packet builder (tests/support/packet_builder.h).
// Every other packet test trusts its bytes, so they are checked here against
// published vectors and against DPDK's own checksum code, which shares
// nothing with the builder.

#include "support/packet_builder.h"

#include <cstring>
#include <string>

#include <catch2/catch.hpp>
#include <rte_hash_crc.h>
#include <rte_ip.h>

namespace dpswitch::test {
namespace {

const rte_ipv4_hdr* Ip4At(const std::vector<uint8_t>& p, size_t ofs) {
  return reinterpret_cast<const rte_ipv4_hdr*>(p.data() + ofs);
}
const rte_ipv6_hdr* Ip6At(const std::vector<uint8_t>& p, size_t ofs) {
  return reinterpret_cast<const rte_ipv6_hdr*>(p.data() + ofs);
}

// DPDK's full TCP/UDP checksum over IPv4 or IPv6 (no extension headers)
// equals the stored one.
bool DpdkL4Ok(const std::vector<uint8_t>& pkt, size_t l3, size_t l4) {
  std::vector<uint8_t> p = pkt;
  const bool v6 = (p[l3] >> 4) == 6;
  const uint8_t proto = v6 ? p[l3 + 6] : p[l3 + 9];
  const size_t ofs = l4 + (proto == 6 ? 16 : 6);
  uint16_t stored;  // raw: DPDK sums network-order words as they lie
  std::memcpy(&stored, &p[ofs], 2);
  p[ofs] = p[ofs + 1] = 0;
  const uint16_t want = v6 ? rte_ipv6_udptcp_cksum(Ip6At(p, l3), &p[l4])
                           : rte_ipv4_udptcp_cksum(Ip4At(p, l3), &p[l4]);
  return stored == want;
}

TEST_CASE("address parsing", "[builder]") {
  const MacAddr m = ParseMac("00:1b:21:Ab:cd:ef");
  CHECK(m == MacAddr{0x00, 0x1b, 0x21, 0xab, 0xcd, 0xef});
  CHECK_THROWS(ParseMac("00:1b:21:ab:cd"));
  CHECK_THROWS(ParseMac("00:1b:21:ab:cd:ef:01"));
  CHECK_THROWS(ParseMac("00:1b:21:ab:cd:1ef"));
  CHECK(ParseIp4("192.168.0.199") == 0xc0a800c7u);
  CHECK_THROWS(ParseIp4("192.168.0"));
  const Ip6Addr a = ParseIp6("2001:db8::1");
  CHECK(a[0] == 0x20);
  CHECK(a[1] == 0x01);
  CHECK(a[2] == 0x0d);
  CHECK(a[3] == 0xb8);
  CHECK(a[15] == 0x01);
  CHECK_THROWS(ParseIp6("2001:db8::1::2"));
}

TEST_CASE("IPv4 header matches a published example byte for byte", "[builder]") {
  // The IPv4 header example from Wikipedia's "IPv4 header checksum":
  // 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
  const uint8_t want[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  Offsets o;
  const auto p = PacketBuilder()
                     .Eth()
                     .Ipv4(ParseIp4("192.168.0.1"), ParseIp4("192.168.0.199"), {.df = true})
                     .Udp(1, 2)
                     .Payload(0x73 - 28)
                     .Build(&o);
  REQUIRE(o.l3 == 14);
  CHECK(std::memcmp(p.data() + 14, want, 20) == 0);
  CHECK(InetChecksum(want, 20) == 0);  // a correct header sums to 0xffff
}

TEST_CASE("CRC32c reference matches RFC 3720 vectors and rte_hash_crc", "[builder]") {
  const uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  CHECK(Crc32c(check, 9) == 0xe3069283u);
  uint8_t buf[32];
  std::memset(buf, 0, 32);
  CHECK(Crc32c(buf, 32) == 0x8a9136aau);
  std::memset(buf, 0xff, 32);
  CHECK(Crc32c(buf, 32) == 0x62a8ab43u);
  for (int i = 0; i < 32; i++) buf[i] = static_cast<uint8_t>(i);
  CHECK(Crc32c(buf, 32) == 0x46dd794eu);
  for (int i = 0; i < 32; i++) buf[i] = static_cast<uint8_t>(31 - i);
  CHECK(Crc32c(buf, 32) == 0x113fdb5cu);
  // DPDK's CRC (what rewrite.cc uses) is the same function, raw.
  for (uint32_t n = 0; n <= 32; n++) CHECK((~rte_hash_crc(buf, n, 0xffffffff)) == Crc32c(buf, n));
}

TEST_CASE("SCTP checksum bytes match packets from other stacks", "[builder]") {
  // An INIT made by scapy, and a bare common header from pion/sctp's tests:
  // the stored bytes are the CRC in little-endian order.
  const std::vector<uint8_t> scapy_init = {0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x00, 0x00,
                                           0x16, 0xde, 0x25, 0x9a, 0x01, 0x00, 0x00, 0x14,
                                           0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0xa0, 0x00,
                                           0x04, 0x00, 0x04, 0x00, 0x00, 0x00, 0x10, 0x00};
  const std::vector<uint8_t> pion_header = {0x13, 0x88, 0x13, 0x88, 0x00, 0x00,
                                            0x00, 0x00, 0x06, 0xa9, 0x00, 0xe1};
  for (const auto* v : {&scapy_init, &pion_header}) {
    const auto c = SctpChecksumBytes(v->data(), v->size());
    CHECK(std::memcmp(c.data(), v->data() + 8, 4) == 0);
    // And the builder reproduces them.
    const auto p = PacketBuilder()
                       .Eth()
                       .Ipv4(1, 2)
                       .Sctp(5000, 5000, GetBe32(v->data() + 4))
                       .Payload(std::vector<uint8_t>(v->begin() + 12, v->end()))
                       .Build();
    CHECK(std::memcmp(p.data() + 34, v->data(), v->size()) == 0);
  }
}

TEST_CASE("builder checksums agree with DPDK's", "[builder]") {
  const uint32_t a = ParseIp4("10.1.2.3"), b = ParseIp4("172.16.99.7");
  const Ip6Addr a6 = ParseIp6("2001:db8::1"), b6 = ParseIp6("fe80::abcd:1234:5678:9abc");
  for (size_t payload = 0; payload < 40; payload += 3) {
    INFO("payload " << payload);
    auto udp4 = BuildUdp4(a, b, 1234, 53, payload);
    auto tcp4 = PacketBuilder()
                    .Eth()
                    .Ipv4(a, b, {.tos = 0x10, .ttl = 3, .options = {0x94, 0x04, 0, 0}})
                    .Tcp(80, 40000, kTcpAck | kTcpPsh, 12345, 678, 12)
                    .Payload(payload)
                    .Build();
    auto udp6 = BuildUdp6(a6, b6, 546, 547, payload);
    auto tcp6 = BuildTcp6(a6, b6, 22, 50000, kTcpSyn | kTcpEce, payload);
    CHECK(rte_ipv4_cksum(Ip4At(udp4, 14)) == 0);  // sums to 0xffff incl. the checksum
    CHECK(rte_ipv4_cksum(Ip4At(tcp4, 14)) == 0);
    CHECK(DpdkL4Ok(udp4, 14, 34));
    CHECK(DpdkL4Ok(tcp4, 14, 38));
    CHECK(DpdkL4Ok(udp6, 14, 54));
    CHECK(DpdkL4Ok(tcp6, 14, 54));
    for (auto* p : {&udp4, &tcp4, &udp6, &tcp6}) CHECK(ChecksumErrors(*p) == "");
    // Corrupting any checksummed byte is caught.
    tcp6[60] ^= 0x40;
    CHECK_FALSE(DpdkL4Ok(tcp6, 14, 54));
    CHECK(ChecksumErrors(tcp6) != "");
    udp4[26] ^= 1;  // source address: IP header and pseudo-header
    CHECK(ChecksumErrors(udp4) != "");
  }
}

TEST_CASE("ICMP, ICMPv6 and SCTP checksums verify", "[builder]") {
  const uint32_t a = ParseIp4("10.0.0.1"), b = ParseIp4("10.0.0.2");
  const Ip6Addr a6 = ParseIp6("2001:db8::1"), b6 = ParseIp6("2001:db8::2");
  auto icmp = PacketBuilder().Eth().Ipv4(a, b).Icmp4(8, 0, 0x12340001).Payload(17).Build();
  auto icmp6 = PacketBuilder().Eth().Ipv6(a6, b6).Icmp6(128, 0, 0x00010002).Payload(9).Build();
  auto sctp6 = PacketBuilder().Eth().Ipv6(a6, b6).Sctp(1, 2).Payload(20).Build();
  CHECK(icmp[14 + 9] == 1);
  CHECK(icmp6[14 + 6] == 58);
  CHECK(sctp6[14 + 6] == 132);
  // ICMP sums to 0xffff over the message; ICMPv6 also over the pseudo-header.
  CHECK(InetChecksum(icmp.data() + 34, icmp.size() - 34) == 0);
  CHECK(InetChecksum(icmp6.data() + 54, icmp6.size() - 54,
                     PseudoSum6(icmp6.data() + 14, 58, icmp6.size() - 54)) == 0);
  for (auto* p : {&icmp, &icmp6, &sctp6}) {
    CHECK(ChecksumErrors(*p) == "");
    (*p).back() ^= 0x80;
    CHECK(ChecksumErrors(*p) != "");
  }
}

TEST_CASE("builder chains types and fills lengths", "[builder]") {
  Offsets o;
  const auto p = PacketBuilder()
                     .Eth(kBroadcastMac, kDefaultSrcMac)
                     .Vlan(0x0064, 0x88a8)
                     .Vlan(0x20c8)
                     .Ipv6(ParseIp6("::1"), ParseIp6("::2"), {.tclass = 0xb8, .label = 0x12345})
                     .Ipv6Ext(0, 8)
                     .Ipv6Ext(60, 16)
                     .Ipv6Frag(0, true, 77)
                     .Udp(7, 9)
                     .Payload(5)
                     .PadTo(200)
                     .Build(&o);
  CHECK(p.size() == 200);
  CHECK(o.l3 == 22);
  CHECK(o.l4 == 22 + 40 + 8 + 16 + 8);
  CHECK(o.l3_end == o.l4 + 8 + 5);
  CHECK(GetBe16(&p[12]) == 0x88a8);
  CHECK(GetBe16(&p[14]) == 0x0064);
  CHECK(GetBe16(&p[16]) == 0x8100);
  CHECK(GetBe16(&p[18]) == 0x20c8);
  CHECK(GetBe16(&p[20]) == 0x86dd);
  CHECK(GetBe32(&p[22]) == (0x60000000u | 0xb8u << 20 | 0x12345u));
  CHECK(GetBe16(&p[26]) == o.l3_end - o.l3 - 40);  // payload length
  CHECK(p[28] == 0);                               // next: hop-by-hop
  CHECK(p[62] == 60);                              // hop-by-hop → dest opts
  CHECK(p[63] == 0);                               // 8 bytes
  CHECK(p[70] == 44);                              // dest opts → fragment
  CHECK(p[71] == 1);                               // 16 bytes
  CHECK(p[86] == 17);                              // fragment → UDP
  CHECK(GetBe16(&p[88]) == 1);                     // offset 0, M
  CHECK(GetBe32(&p[90]) == 77);
  CHECK(GetBe16(&p[o.l4 + 4]) == 13);  // UDP length
  for (size_t i = o.l3_end; i < p.size(); i++) REQUIRE(p[i] == 0);
  // First fragments are not checked (the L4 checksum covers the datagram).
  CHECK(ChecksumErrors(p) == "");

  const auto v4 = PacketBuilder()
                      .Eth()
                      .Ipv4(1, 2, {.mf = true, .frag_offset = 100, .options = {1, 1, 1}})
                      .Payload(12)
                      .Build(&o);
  CHECK(v4[14] == 0x46);
  CHECK(GetBe16(&v4[16]) == 36);
  CHECK(GetBe16(&v4[20]) == (0x2000 | 100));
  CHECK(v4[23] == 253);
  CHECK(o.l4 == 38);
  const auto raw = PacketBuilder().Eth(kDefaultDstMac, kDefaultSrcMac, 0x0842).Payload(4).Build();
  CHECK(GetBe16(&raw[12]) == 0x0842);
}

TEST_CASE("ARP one-liner", "[builder]") {
  const auto p = BuildArp(1, ParseMac("00:00:00:00:00:01"), ParseIp4("10.0.0.1"), MacAddr{},
                          ParseIp4("10.0.0.2"));
  REQUIRE(p.size() == 60);
  CHECK(std::equal(p.begin(), p.begin() + 6, kBroadcastMac.begin()));
  CHECK(GetBe16(&p[12]) == 0x0806);
  const uint8_t arp[8] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
  CHECK(std::memcmp(&p[14], arp, 8) == 0);
  CHECK(GetBe32(&p[28]) == ParseIp4("10.0.0.1"));
  CHECK(GetBe32(&p[38]) == ParseIp4("10.0.0.2"));
}

TEST_CASE("mbuf helpers round-trip bytes", "[builder]") {
  REQUIRE(TestPktPool() != nullptr);
  const auto p = BuildTcp4(1, 2, 3, 4, kTcpSyn, 100);
  MbufPtr m = ToMbuf(p);
  REQUIRE(m);
  CHECK(rte_pktmbuf_headroom(m.get()) == RTE_PKTMBUF_HEADROOM);
  CHECK(MbufBytes(m.get()) == p);
  MbufPtr tight = ToMbuf(p, 0);
  REQUIRE(tight);
  CHECK(rte_pktmbuf_headroom(tight.get()) == 0);
  CHECK(MbufBytes(tight.get()) == p);
  MbufPtr chain = ToMbufChain(p, 50);
  REQUIRE(chain);
  CHECK(chain->nb_segs == 2);
  CHECK(rte_pktmbuf_data_len(chain.get()) == 50);
  CHECK(MbufBytes(chain.get()) == p);
  CHECK_FALSE(ToMbuf(std::vector<uint8_t>(70000)));
}

}  // namespace
}  // namespace dpswitch::test
