// SPDX-License-Identifier: BSD-3-Clause
// Tests of the field table (field.h): its rows agree with FlowKey's layout,
// names resolve, and SetFieldMatch/GetFieldValue round-trip every field,
// including the sub-byte fields that share storage (ip_dscp/nw_ecn in
// nw_tos, dl_vlan/dl_vlan_pcp in vlan_tci).

#include "packet/field.h"

#include <bit>
#include <cstring>
#include <random>
#include <string>

#include <catch2/catch.hpp>

namespace dpswitch::pkt {
namespace {

constexpr auto kNumFields = static_cast<size_t>(FieldId::kCount);

const FieldInfo& F(FieldId id) { return GetField(id); }

FieldValue IntValue(uint64_t u) {
  FieldValue v;
  v.u = u;
  return v;
}

FlowKey ZeroKey() {
  FlowKey k;
  k.Clear();
  return k;
}

// A random value for `f`, right-aligned and within its width.
FieldValue RandomValue(const FieldInfo& f, std::mt19937_64& rng) {
  FieldValue v;
  if (f.is_int) {
    v.u = rng() & FullMask(f).u;
  } else {
    for (uint32_t i = 0; i < f.size; i++) v.bytes[i] = static_cast<uint8_t>(rng());
  }
  return v;
}

bool SameValue(const FieldInfo& f, const FieldValue& a, const FieldValue& b) {
  return f.is_int ? a.u == b.u : std::memcmp(a.bytes, b.bytes, f.size) == 0;
}

TEST_CASE("field table rows are in FieldId order and inside the key", "[field]") {
  for (size_t i = 0; i < kNumFields; i++) {
    const auto id = static_cast<FieldId>(i);
    const FieldInfo& f = GetField(id);
    INFO("field " << f.name);
    CHECK(f.id == id);
    CHECK(f.offset + f.size <= kKeyWords * 8);
    // The stage is the stage of the storage words.
    const uint32_t word = f.offset / 8;
    const auto stage = static_cast<uint32_t>(f.stage);
    CHECK(word < uint32_t{kStageEnd[stage]});
    CHECK((stage == 0 || word >= uint32_t{kStageEnd[stage - 1]}));
    // Only IPv6 addresses span words (two whole ones); nothing else straddles.
    if (f.size == 16)
      CHECK(f.offset % 8 == 0);
    else
      CHECK(static_cast<uint32_t>(f.offset + f.size - 1) / 8 == word);
    if (f.is_int) {
      CHECK(f.bits != 0);
      CHECK((f.size == 8 || (f.bits >> (f.size * 8)) == 0));
      // Values are right-aligned (nw_tos alone keeps DSCP in TOS position).
      if (f.id == FieldId::kNwTos)
        CHECK(f.shift == 0);
      else
        CHECK(static_cast<int>(f.shift) == std::countr_zero(f.bits));
    } else {
      CHECK((f.size == 6 || f.size == 16));
    }
  }
}

TEST_CASE("field names and aliases resolve to their rows", "[field]") {
  for (size_t i = 0; i < kNumFields; i++) {
    const FieldInfo& f = GetField(static_cast<FieldId>(i));
    INFO("field " << f.name);
    CHECK(FindField(f.name) == &f);
    if (f.alias) CHECK(FindField(f.alias) == &f);
  }
  CHECK(FindField("eth_dst") == &F(FieldId::kEthDst));
  CHECK(FindField("ip_dscp") == &F(FieldId::kIpDscp));
  CHECK(FindField("vlan_vid") == &F(FieldId::kVlanVid));
  CHECK(FindField("no_such_field") == nullptr);
  CHECK(FindField("") == nullptr);
  CHECK(FindField("nw_src2") == nullptr);
}

TEST_CASE("field widths and full masks", "[field]") {
  CHECK(FieldWidth(F(FieldId::kNwSrc)) == 32);
  CHECK(FieldWidth(F(FieldId::kIpDscp)) == 6);
  CHECK(FieldWidth(F(FieldId::kNwEcn)) == 2);
  CHECK(FieldWidth(F(FieldId::kNwTos)) == 6);
  CHECK(FieldWidth(F(FieldId::kVlanPcp)) == 3);
  CHECK(FieldWidth(F(FieldId::kVlanVid)) == 12);
  CHECK(FieldWidth(F(FieldId::kVlanTci)) == 16);
  CHECK(FieldWidth(F(FieldId::kEthDst)) == 48);
  CHECK(FieldWidth(F(FieldId::kIpv6Src)) == 128);
  CHECK(FieldWidth(F(FieldId::kIpv6Label)) == 20);
  CHECK(FieldWidth(F(FieldId::kTcpFlags)) == 12);
  CHECK(FieldWidth(F(FieldId::kMetadata)) == 64);

  CHECK(FullMask(F(FieldId::kIpDscp)).u == 0x3f);
  CHECK(FullMask(F(FieldId::kNwTos)).u == 0xfc);
  CHECK(FullMask(F(FieldId::kVlanPcp)).u == 0x7);
  CHECK(FullMask(F(FieldId::kIcmpType)).u == 0xff);
  CHECK(FullMask(F(FieldId::kMetadata)).u == ~0ull);
  const FieldValue mac = FullMask(F(FieldId::kEthSrc));
  for (int i = 0; i < 6; i++) CHECK(mac.bytes[i] == 0xff);
  for (int i = 6; i < 16; i++) CHECK(mac.bytes[i] == 0);
}

TEST_CASE("SetFieldMatch and GetFieldValue round-trip every field", "[field]") {
  std::mt19937_64 rng(0xf1e1d);
  for (size_t i = 0; i < kNumFields; i++) {
    const FieldInfo& f = GetField(static_cast<FieldId>(i));
    INFO("field " << f.name);
    for (int iter = 0; iter < 200; iter++) {
      FlowKey key = ZeroKey();
      FlowKey mask = ZeroKey();
      const FieldValue v = RandomValue(f, rng);
      SetFieldMatch(f, v, FullMask(f), &key, &mask);
      REQUIRE(SameValue(f, GetFieldValue(f, key), v));
      REQUIRE(SameValue(f, GetFieldValue(f, mask), FullMask(f)));
      // Nothing outside the field's storage bits is touched.
      const auto* kb = reinterpret_cast<const uint8_t*>(&key);
      const auto* mb = reinterpret_cast<const uint8_t*>(&mask);
      for (size_t b = 0; b < sizeof(FlowKey); b++) {
        if (b >= f.offset && b < f.offset + f.size) continue;
        REQUIRE(kb[b] == 0);
        REQUIRE(mb[b] == 0);
      }
    }
  }
}

TEST_CASE("SetFieldMatch masks the value and ORs the mask", "[field]") {
  const FieldInfo& src = F(FieldId::kNwSrc);
  FlowKey key = ZeroKey();
  FlowKey mask = ZeroKey();
  SetFieldMatch(src, IntValue(0x0a0b0c0d), IntValue(0xffff0000), &key, &mask);
  CHECK(key.nw_src == 0x0a0b0000);
  CHECK(mask.nw_src == 0xffff0000);
  // A second, narrower match keeps the earlier mask bits.
  SetFieldMatch(src, IntValue(0x0a0b0c0d), IntValue(0x0000ff00), &key, &mask);
  CHECK(key.nw_src == 0x0a0b0c00);
  CHECK(mask.nw_src == 0xffffff00);

  const FieldInfo& mac = F(FieldId::kEthDst);
  FieldValue v, m;
  for (int i = 0; i < 6; i++) {
    v.bytes[i] = static_cast<uint8_t>(0x11 * (i + 1));
    m.bytes[i] = i < 3 ? 0xff : 0x0f;
  }
  key = ZeroKey();
  mask = ZeroKey();
  SetFieldMatch(mac, v, m, &key, &mask);
  const uint8_t want[6] = {0x11, 0x22, 0x33, 0x04, 0x05, 0x06};
  CHECK(std::memcmp(key.eth_dst, want, 6) == 0);
  CHECK(std::memcmp(mask.eth_dst, m.bytes, 6) == 0);
}

TEST_CASE("ip_dscp, nw_ecn and nw_tos share nw_tos without clobbering", "[field]") {
  FlowKey key = ZeroKey();
  FlowKey mask = ZeroKey();
  SetFieldMatch(F(FieldId::kIpDscp), IntValue(0x2e), FullMask(F(FieldId::kIpDscp)), &key, &mask);
  CHECK(key.nw_tos == 0xb8);
  CHECK(mask.nw_tos == 0xfc);
  SetFieldMatch(F(FieldId::kNwEcn), IntValue(0x1), FullMask(F(FieldId::kNwEcn)), &key, &mask);
  CHECK(key.nw_tos == 0xb9);
  CHECK(mask.nw_tos == 0xff);
  CHECK(GetFieldValue(F(FieldId::kIpDscp), key).u == 0x2e);
  CHECK(GetFieldValue(F(FieldId::kNwEcn), key).u == 0x1);
  CHECK(GetFieldValue(F(FieldId::kNwTos), key).u == 0xb8);  // DSCP bits in TOS position
  // Values wider than the field are cut to it.
  key = ZeroKey();
  mask = ZeroKey();
  SetFieldMatch(F(FieldId::kNwEcn), IntValue(0xff), IntValue(0xff), &key, &mask);
  CHECK(key.nw_tos == 0x03);
  SetFieldMatch(F(FieldId::kIpDscp), IntValue(0xff), IntValue(0xff), &key, &mask);
  CHECK(key.nw_tos == 0xff);
  SetFieldMatch(F(FieldId::kNwTos), IntValue(0x00), IntValue(0xff), &key, &mask);
  CHECK(key.nw_tos == 0x03);  // nw_tos leaves ECN alone
}

TEST_CASE("dl_vlan, dl_vlan_pcp and vlan_tci share vlan_tci", "[field]") {
  FlowKey key = ZeroKey();
  FlowKey mask = ZeroKey();
  SetFieldMatch(F(FieldId::kVlanPcp), IntValue(5), FullMask(F(FieldId::kVlanPcp)), &key, &mask);
  CHECK(key.vlan_tci == 0xa000);
  CHECK(mask.vlan_tci == 0xe000);
  SetFieldMatch(F(FieldId::kVlanVid), IntValue(100), FullMask(F(FieldId::kVlanVid)), &key, &mask);
  CHECK(key.vlan_tci == 0xa064);
  CHECK(mask.vlan_tci == 0xefff);
  CHECK(GetFieldValue(F(FieldId::kVlanPcp), key).u == 5);
  CHECK(GetFieldValue(F(FieldId::kVlanVid), key).u == 100);
  // The present bit is only reachable through vlan_tci.
  SetFieldMatch(F(FieldId::kVlanTci), IntValue(kVlanPresent), IntValue(kVlanPresent), &key, &mask);
  CHECK(key.vlan_tci == (0xa064 | kVlanPresent));
  CHECK(GetFieldValue(F(FieldId::kVlanVid), key).u == 100);
  CHECK(GetFieldValue(F(FieldId::kVlanTci), key).u == 0xb064);
}

TEST_CASE("fields sharing storage read the same bits", "[field]") {
  FlowKey key = ZeroKey();
  key.nw_src = 0xc0a80001;
  key.nw_proto = 2;
  key.tp_src = 0x0803;
  CHECK(GetFieldValue(F(FieldId::kArpSpa), key).u == 0xc0a80001);
  CHECK(GetFieldValue(F(FieldId::kArpOp), key).u == 2);
  CHECK(GetFieldValue(F(FieldId::kIcmpType), key).u == 0x03);  // 8 bits of tp_src
  CHECK(GetFieldValue(F(FieldId::kTpSrc), key).u == 0x0803);
}

}  // namespace
}  // namespace dpswitch::pkt
