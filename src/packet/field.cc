// SPDX-License-Identifier: BSD-3-Clause
#include "packet/field.h"

#include <bit>
#include <cstddef>
#include <cstring>

namespace dpswitch::pkt {
namespace {

#define OFS(m) static_cast<uint16_t>(offsetof(FlowKey, m))
#define SZ(m) static_cast<uint8_t>(sizeof(FlowKey::m))

// Order must follow FieldId.
constexpr FieldInfo kFields[] = {
    {FieldId::kInPort, "in_port", nullptr, OFS(in_port), SZ(in_port), true, 0xffffffff, 0,
     Stage::kMetadata, Prereq::kNone, false, false},
    {FieldId::kMetadata, "metadata", nullptr, OFS(metadata), SZ(metadata), true, ~0ull, 0,
     Stage::kMetadata, Prereq::kNone, true, true},
    {FieldId::kEthDst, "dl_dst", "eth_dst", OFS(eth_dst), 6, false, 0, 0, Stage::kL2,
     Prereq::kNone, true, true},
    {FieldId::kEthSrc, "dl_src", "eth_src", OFS(eth_src), 6, false, 0, 0, Stage::kL2,
     Prereq::kNone, true, true},
    {FieldId::kEthType, "dl_type", "eth_type", OFS(eth_type), SZ(eth_type), true, 0xffff, 0,
     Stage::kL2, Prereq::kNone, false, false},
    {FieldId::kVlanTci, "vlan_tci", nullptr, OFS(vlan_tci), SZ(vlan_tci), true, 0xffff, 0,
     Stage::kL2, Prereq::kNone, true, true},
    {FieldId::kVlanVid, "dl_vlan", "vlan_vid", OFS(vlan_tci), SZ(vlan_tci), true, 0x0fff, 0,
     Stage::kL2, Prereq::kVlan, false, true},
    {FieldId::kVlanPcp, "dl_vlan_pcp", "vlan_pcp", OFS(vlan_tci), SZ(vlan_tci), true, 0xe000,
     13, Stage::kL2, Prereq::kVlan, false, true},
    {FieldId::kNwSrc, "nw_src", "ip_src", OFS(nw_src), SZ(nw_src), true, 0xffffffff, 0,
     Stage::kL3, Prereq::kIpv4, true, true},
    {FieldId::kNwDst, "nw_dst", "ip_dst", OFS(nw_dst), SZ(nw_dst), true, 0xffffffff, 0,
     Stage::kL3, Prereq::kIpv4, true, true},
    {FieldId::kNwProto, "nw_proto", "ip_proto", OFS(nw_proto), SZ(nw_proto), true, 0xff, 0,
     Stage::kL3, Prereq::kIp, false, false},
    {FieldId::kNwTos, "nw_tos", nullptr, OFS(nw_tos), SZ(nw_tos), true, 0xfc, 0, Stage::kL3,
     Prereq::kIp, false, true},
    {FieldId::kIpDscp, "ip_dscp", nullptr, OFS(nw_tos), SZ(nw_tos), true, 0xfc, 2, Stage::kL3,
     Prereq::kIp, false, true},
    {FieldId::kNwEcn, "nw_ecn", "ip_ecn", OFS(nw_tos), SZ(nw_tos), true, 0x03, 0, Stage::kL3,
     Prereq::kIp, false, true},
    {FieldId::kNwTtl, "nw_ttl", nullptr, OFS(nw_ttl), SZ(nw_ttl), true, 0xff, 0, Stage::kL3,
     Prereq::kIp, false, true},
    {FieldId::kNwFrag, "nw_frag_bits", nullptr, OFS(nw_frag), SZ(nw_frag), true, 0x03, 0,
     Stage::kL3, Prereq::kIp, true, false},
    {FieldId::kIpv6Src, "ipv6_src", nullptr, OFS(ipv6_src), 16, false, 0, 0, Stage::kL3,
     Prereq::kIpv6, true, true},
    {FieldId::kIpv6Dst, "ipv6_dst", nullptr, OFS(ipv6_dst), 16, false, 0, 0, Stage::kL3,
     Prereq::kIpv6, true, true},
    {FieldId::kIpv6Label, "ipv6_label", nullptr, OFS(ipv6_label), SZ(ipv6_label), true, 0xfffff,
     0, Stage::kL3, Prereq::kIpv6, true, true},
    {FieldId::kArpOp, "arp_op", nullptr, OFS(nw_proto), SZ(nw_proto), true, 0xff, 0,
     Stage::kL3, Prereq::kArp, false, true},
    {FieldId::kArpSpa, "arp_spa", nullptr, OFS(nw_src), SZ(nw_src), true, 0xffffffff, 0,
     Stage::kL3, Prereq::kArp, true, true},
    {FieldId::kArpTpa, "arp_tpa", nullptr, OFS(nw_dst), SZ(nw_dst), true, 0xffffffff, 0,
     Stage::kL3, Prereq::kArp, true, true},
    {FieldId::kArpSha, "arp_sha", nullptr, OFS(arp_sha), 6, false, 0, 0, Stage::kL3,
     Prereq::kArp, true, true},
    {FieldId::kArpTha, "arp_tha", nullptr, OFS(arp_tha), 6, false, 0, 0, Stage::kL3,
     Prereq::kArp, true, true},
    {FieldId::kTpSrc, "tp_src", nullptr, OFS(tp_src), SZ(tp_src), true, 0xffff, 0, Stage::kL4,
     Prereq::kL4, true, true},
    {FieldId::kTpDst, "tp_dst", nullptr, OFS(tp_dst), SZ(tp_dst), true, 0xffff, 0, Stage::kL4,
     Prereq::kL4, true, true},
    {FieldId::kTcpFlags, "tcp_flags", nullptr, OFS(tcp_flags), SZ(tcp_flags), true, 0x0fff, 0,
     Stage::kL4, Prereq::kTcp, true, false},
    {FieldId::kIcmpType, "icmp_type", nullptr, OFS(tp_src), SZ(tp_src), true, 0xff, 0,
     Stage::kL4, Prereq::kIcmp4, false, true},
    {FieldId::kIcmpCode, "icmp_code", nullptr, OFS(tp_dst), SZ(tp_dst), true, 0xff, 0,
     Stage::kL4, Prereq::kIcmp4, false, true},
    {FieldId::kIcmpv6Type, "icmpv6_type", nullptr, OFS(tp_src), SZ(tp_src), true, 0xff, 0,
     Stage::kL4, Prereq::kIcmp6, false, true},
    {FieldId::kIcmpv6Code, "icmpv6_code", nullptr, OFS(tp_dst), SZ(tp_dst), true, 0xff, 0,
     Stage::kL4, Prereq::kIcmp6, false, true},
};
static_assert(std::size(kFields) == static_cast<size_t>(FieldId::kCount),
              "kFields must have one row per FieldId");

#undef OFS
#undef SZ

uint64_t LoadInt(const FlowKey& k, uint16_t ofs, uint8_t size) noexcept {
  const auto* p = reinterpret_cast<const uint8_t*>(&k) + ofs;
  switch (size) {
    case 1: return *p;
    case 2: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    default: { uint64_t v; std::memcpy(&v, p, 8); return v; }
  }
}

void StoreInt(FlowKey* k, uint16_t ofs, uint8_t size, uint64_t v) noexcept {
  auto* p = reinterpret_cast<uint8_t*>(k) + ofs;
  switch (size) {
    case 1: *p = static_cast<uint8_t>(v); break;
    case 2: { uint16_t x = static_cast<uint16_t>(v); std::memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = static_cast<uint32_t>(v); std::memcpy(p, &x, 4); break; }
    default: std::memcpy(p, &v, 8); break;
  }
}

}  // namespace

const FieldInfo& GetField(FieldId id) noexcept { return kFields[static_cast<size_t>(id)]; }

const FieldInfo* FindField(std::string_view name) noexcept {
  for (const auto& f : kFields)
    if (name == f.name || (f.alias && name == f.alias)) return &f;
  return nullptr;
}

uint32_t FieldWidth(const FieldInfo& f) noexcept {
  return f.is_int ? static_cast<uint32_t>(std::popcount(f.bits)) : f.size * 8u;
}

FieldValue FullMask(const FieldInfo& f) noexcept {
  FieldValue m;
  if (f.is_int)
    m.u = f.bits >> f.shift;
  else
    std::memset(m.bytes, 0xff, f.size);
  return m;
}

FieldValue GetFieldValue(const FieldInfo& f, const FlowKey& key) noexcept {
  FieldValue v;
  if (f.is_int)
    v.u = (LoadInt(key, f.offset, f.size) & f.bits) >> f.shift;
  else
    std::memcpy(v.bytes, reinterpret_cast<const uint8_t*>(&key) + f.offset, f.size);
  return v;
}

void SetFieldMatch(const FieldInfo& f, const FieldValue& value, const FieldValue& mask,
                   FlowKey* key, FlowKey* mask_bits) noexcept {
  if (f.is_int) {
    const uint64_t m = (mask.u << f.shift) & f.bits;
    const uint64_t v = (value.u << f.shift) & m;
    StoreInt(key, f.offset, f.size, (LoadInt(*key, f.offset, f.size) & ~m) | v);
    StoreInt(mask_bits, f.offset, f.size, LoadInt(*mask_bits, f.offset, f.size) | m);
  } else {
    auto* kp = reinterpret_cast<uint8_t*>(key) + f.offset;
    auto* mp = reinterpret_cast<uint8_t*>(mask_bits) + f.offset;
    for (uint32_t i = 0; i < f.size; i++) {
      kp[i] = static_cast<uint8_t>((kp[i] & ~mask.bytes[i]) | (value.bytes[i] & mask.bytes[i]));
      mp[i] |= mask.bytes[i];
    }
  }
}

}  // namespace dpswitch::pkt
