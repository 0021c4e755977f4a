// SPDX-License-Identifier: BSD-3-Clause
// prefix_field tests: the address fields seen as MSB-first bit strings, mask
// lengths, un-wildcarding a prefix or port bits into a FlowMask, and the
// prefix field list syntax with each of its errors.

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "classifier/prefix_field.h"
#include "packet/field.h"
#include "packet/flow_key.h"

using dpswitch::cls::PrefixValue;
using dpswitch::pkt::FieldId;
using dpswitch::pkt::FlowKey;
using dpswitch::pkt::FlowMask;
using dpswitch::pkt::WordMap;
namespace cls = dpswitch::cls;

namespace {

// 2001:db8::1 with a last byte of `last`.
void SetIpv6(uint8_t* dst, uint8_t last) {
  const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
  std::memcpy(dst, a, 16);
}

constexpr WordMap Word(uint32_t i) { return WordMap{1} << i; }

}  // namespace

TEST_CASE("PrefixFieldValue: IPv4 integers and IPv6 byte arrays, MSB first", "[prefix_field]") {
  FlowKey key;
  key.Clear();
  key.nw_src = 0x0a010203;  // 10.1.2.3 (host order)
  key.nw_dst = 0xc0a80001;  // 192.168.0.1
  SetIpv6(key.ipv6_src, 0x01);
  SetIpv6(key.ipv6_dst, 0xfe);
  key.ipv6_dst[8] = 0x80;

  REQUIRE(cls::PrefixFieldValue(key, FieldId::kNwSrc) == PrefixValue{0x0a01020300000000ull, 0});
  REQUIRE(cls::PrefixFieldValue(key, FieldId::kNwDst) == PrefixValue{0xc0a8000100000000ull, 0});
  REQUIRE(cls::PrefixFieldValue(key, FieldId::kIpv6Src) == PrefixValue{0x20010db800000000ull, 1});
  REQUIRE(cls::PrefixFieldValue(key, FieldId::kIpv6Dst) ==
          PrefixValue{0x20010db800000000ull, 0x80000000000000feull});
  // Bit 0 is the address's first bit: 10.x starts 0000 1010.
  const PrefixValue v = cls::PrefixFieldValue(key, FieldId::kNwSrc);
  REQUIRE(v.Bit(4) == 1);
  REQUIRE(v.Bit(5) == 0);
  REQUIRE(v.Bit(31) == 1);

  // The ports string: tp_src first.
  key.tp_src = 0x1234;
  key.tp_dst = 0xabcd;
  REQUIRE(cls::PortsBits(key) == 0x1234abcdu);
  REQUIRE(cls::PortsValue(0x1234abcdu) == PrefixValue{0x1234abcd00000000ull, 0});
}

TEST_CASE("PrefixFieldMaskLen: prefixes, wildcards and non-prefix masks", "[prefix_field]") {
  FlowMask m;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kNwDst) == std::optional<unsigned>(0));
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kIpv6Src) == std::optional<unsigned>(0));

  m.bits.nw_src = 0xffffff00;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kNwSrc) == std::optional<unsigned>(24));
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kNwDst) == std::optional<unsigned>(0));
  m.bits.nw_src = 0x80000000;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kNwSrc) == std::optional<unsigned>(1));
  m.bits.nw_src = 0xffffffff;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kNwSrc) == std::optional<unsigned>(32));
  m.bits.nw_src = 0x00ff00ff;  // 0.255.0.255
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kNwSrc) == std::nullopt);
  m.bits.nw_src = 0xfffffffe;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kNwSrc) == std::optional<unsigned>(31));
  m.bits.nw_src = 0xffff00ff;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kNwSrc) == std::nullopt);
  m.bits.nw_src = 0x00000001;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kNwSrc) == std::nullopt);

  std::memset(m.bits.ipv6_dst, 0xff, 8);
  m.bits.ipv6_dst[8] = 0x80;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kIpv6Dst) == std::optional<unsigned>(65));
  std::memset(m.bits.ipv6_dst, 0xff, 16);
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kIpv6Dst) == std::optional<unsigned>(128));
  m.bits.ipv6_dst[15] = 0xfe;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kIpv6Dst) == std::optional<unsigned>(127));
  m.bits.ipv6_dst[3] = 0x7f;
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kIpv6Dst) == std::nullopt);
  std::memset(m.bits.ipv6_src, 0, 16);
  m.bits.ipv6_src[15] = 0x01;  // only the last bit
  REQUIRE(cls::PrefixFieldMaskLen(m, FieldId::kIpv6Src) == std::nullopt);
}

TEST_CASE("UnwildcardPrefix sets the first n bits and the word map", "[prefix_field]") {
  FlowMask wc;
  cls::UnwildcardPrefix(&wc, FieldId::kNwDst, 0);  // no-op
  REQUIRE(wc == FlowMask{});

  cls::UnwildcardPrefix(&wc, FieldId::kNwDst, 14);
  FlowMask expected;
  expected.bits.nw_dst = 0xfffc0000;
  expected.map = Word(4);
  REQUIRE(wc == expected);

  // ORed into what is there; lengths past the width are capped.
  wc.bits.nw_src = 0x000000ff;
  cls::UnwildcardPrefix(&wc, FieldId::kNwSrc, 8);
  REQUIRE(wc.bits.nw_src == 0xff0000ffu);
  cls::UnwildcardPrefix(&wc, FieldId::kNwSrc, 40);
  REQUIRE(wc.bits.nw_src == 0xffffffffu);
  REQUIRE(wc.bits.nw_dst == 0xfffc0000u);
  REQUIRE(wc.map == Word(4));

  cls::UnwildcardPrefix(&wc, FieldId::kIpv6Dst, 65);
  const uint8_t v6[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0x80, 0,    0,    0,    0,    0,    0,    0};
  REQUIRE(std::memcmp(wc.bits.ipv6_dst, v6, 16) == 0);
  REQUIRE(wc.map == (Word(4) | Word(8) | Word(9)));
  cls::UnwildcardPrefix(&wc, FieldId::kIpv6Src, 3);
  REQUIRE(wc.bits.ipv6_src[0] == 0xe0);
  REQUIRE(wc.bits.ipv6_src[1] == 0);
  REQUIRE(wc.map == (Word(4) | Word(6) | Word(8) | Word(9)));
  // Nothing else was touched.
  FlowMask only;
  only.bits.nw_src = 0xffffffff;
  only.bits.nw_dst = 0xfffc0000;
  std::memcpy(only.bits.ipv6_dst, v6, 16);
  only.bits.ipv6_src[0] = 0xe0;
  only.Finalize();
  REQUIRE(wc == only);
}

TEST_CASE("UnwildcardPorts ORs the ports string into tp_src/tp_dst", "[prefix_field]") {
  FlowMask wc;
  cls::UnwildcardPorts(&wc, 0);
  REQUIRE(wc == FlowMask{});
  cls::UnwildcardPorts(&wc, 0xfff00000);
  REQUIRE(wc.bits.tp_src == 0xfff0);
  REQUIRE(wc.bits.tp_dst == 0);
  REQUIRE(wc.map == Word(12));
  cls::UnwildcardPorts(&wc, 0x000f00f0);
  REQUIRE(wc.bits.tp_src == 0xffff);
  REQUIRE(wc.bits.tp_dst == 0x00f0);
  REQUIRE(wc.bits.tcp_flags == 0);
  REQUIRE(wc.map == Word(12));
  FlowMask same = wc;
  same.Finalize();
  REQUIRE(same == wc);
}

TEST_CASE("Prefix field lists: parse, format and errors", "[prefix_field]") {
  using Fields = std::vector<FieldId>;
  REQUIRE(cls::IsPrefixField(FieldId::kNwSrc));
  REQUIRE(cls::IsPrefixField(FieldId::kNwDst));
  REQUIRE(cls::IsPrefixField(FieldId::kIpv6Src));
  REQUIRE(cls::IsPrefixField(FieldId::kIpv6Dst));
  REQUIRE_FALSE(cls::IsPrefixField(FieldId::kArpSpa));
  REQUIRE_FALSE(cls::IsPrefixField(FieldId::kTpSrc));
  REQUIRE_FALSE(cls::IsPrefixField(FieldId::kEthDst));

  REQUIRE(cls::ParsePrefixFields("nw_src,nw_dst") == Fields{FieldId::kNwSrc, FieldId::kNwDst});
  REQUIRE(cls::ParsePrefixFields("ip_dst, ipv6_src") == Fields{FieldId::kNwDst, FieldId::kIpv6Src});
  REQUIRE(cls::ParsePrefixFields("ipv6_dst,ip_src,nw_dst,ipv6_src") ==
          Fields{FieldId::kIpv6Dst, FieldId::kNwSrc, FieldId::kNwDst, FieldId::kIpv6Src});
  REQUIRE(cls::ParsePrefixFields("none").empty());
  REQUIRE(cls::ParsePrefixFields("").empty());
  REQUIRE(cls::ParsePrefixFields(" none ").empty());

  REQUIRE(cls::FormatPrefixFields({}) == "none");
  REQUIRE(cls::FormatPrefixFields({FieldId::kNwDst, FieldId::kIpv6Src}) == "nw_dst,ipv6_src");
  REQUIRE(cls::FormatPrefixFields(cls::DefaultPrefixFields()) == "nw_src,nw_dst,ipv6_src,ipv6_dst");
  REQUIRE(cls::ParsePrefixFields(cls::FormatPrefixFields(cls::DefaultPrefixFields())) ==
          cls::DefaultPrefixFields());

  using Catch::Matchers::Contains;
  REQUIRE_THROWS_AS(cls::ParsePrefixFields("nw_src,foo"), std::invalid_argument);
  REQUIRE_THROWS_WITH(cls::ParsePrefixFields("nw_src,foo"), Contains("unknown field 'foo'"));
  REQUIRE_THROWS_AS(cls::ParsePrefixFields("tp_src"), std::invalid_argument);
  REQUIRE_THROWS_WITH(
      cls::ParsePrefixFields("tp_src"),
      Contains("'tp_src'") && Contains("allowed: nw_src, nw_dst, ipv6_src, ipv6_dst"));
  REQUIRE_THROWS_WITH(cls::ParsePrefixFields("arp_spa"), Contains("'arp_spa' cannot be"));
  REQUIRE_THROWS_AS(cls::ParsePrefixFields("nw_src,ip_src"), std::invalid_argument);
  REQUIRE_THROWS_WITH(cls::ParsePrefixFields("nw_src,ip_src"),
                      Contains("'ip_src' listed twice (as nw_src)"));
  REQUIRE_THROWS_AS(cls::ParsePrefixFields("nw_src,,nw_dst"), std::invalid_argument);
  REQUIRE_THROWS_WITH(cls::ParsePrefixFields("nw_src,"), Contains("empty entry"));
  REQUIRE_THROWS_WITH(cls::ParsePrefixFields("none,nw_src"), Contains("unknown field 'none'"));
  REQUIRE_THROWS_AS(cls::ParsePrefixFields("nw_src,nw_dst,ipv6_src,ipv6_dst,nw_src"),
                    std::invalid_argument);
  REQUIRE_THROWS_WITH(cls::ParsePrefixFields("nw_src,nw_dst,ipv6_src,ipv6_dst,nw_src"),
                      Contains("5 entries") && Contains("at most 4"));
}
