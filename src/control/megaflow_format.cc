// SPDX-License-Identifier: BSD-3-Clause
#include "control/megaflow_format.h"

#include <arpa/inet.h>

#include <bit>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "packet/field.h"

namespace dpswitch::control {
namespace {

enum class Kind { kDec, kHex, kIp4, kIp6, kMac };

// A storage slot of FlowKey and how to print it.
struct Slot {
  const char* name;
  uint16_t offset;
  uint8_t size;
  Kind kind;
};

uint64_t LoadUint(const uint8_t* p, uint8_t size) {
  uint64_t v = 0;
  std::memcpy(&v, p, size);  // host order, little-endian host assumed by FlowKey users
  return v;
}

std::string Ip4(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
  return b;
}

std::string Mac(const uint8_t* p) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
  return b;
}

std::string Ip6(const uint8_t* p) {
  char b[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, p, b, sizeof b);
  return b;
}

// Leading-ones length of a byte-array mask, or -1 if not a prefix.
int PrefixLen(const uint8_t* m, size_t n) {
  int len = 0;
  size_t i = 0;
  for (; i < n && m[i] == 0xff; i++) len += 8;
  if (i < n) {
    const int ones = std::countl_one(m[i]);
    if (static_cast<uint8_t>(m[i] << ones) != 0) return -1;
    len += ones;
    for (i++; i < n; i++)
      if (m[i]) return -1;
  }
  return len;
}

std::string FormatSlot(const Slot& s, const uint8_t* k, const uint8_t* m) {
  std::string out = std::string(s.name) + "=";
  const bool full = [&] {
    for (size_t i = 0; i < s.size; i++)
      if (m[i] != 0xff) return false;
    return true;
  }();
  char b[64];
  switch (s.kind) {
    case Kind::kDec:
    case Kind::kHex: {
      const uint64_t v = LoadUint(k, s.size), mv = LoadUint(m, s.size);
      std::snprintf(b, sizeof b, s.kind == Kind::kDec && full ? "%llu" : "0x%llx",
                    static_cast<unsigned long long>(v));
      out += b;
      if (!full) {
        std::snprintf(b, sizeof b, "/0x%llx", static_cast<unsigned long long>(mv));
        out += b;
      }
      return out;
    }
    case Kind::kIp4: {
      const auto v = static_cast<uint32_t>(LoadUint(k, 4)), mv = static_cast<uint32_t>(LoadUint(m, 4));
      out += Ip4(v);
      if (!full) {
        const int ones = std::countl_one(mv);
        out += '/';
        out += (ones == 32 || (mv << ones) != 0) ? Ip4(mv) : std::to_string(ones);
      }
      return out;
    }
    case Kind::kIp6: {
      out += Ip6(k);
      if (!full) {
        const int len = PrefixLen(m, 16);
        out += '/';
        out += len >= 0 ? std::to_string(len) : Ip6(m);
      }
      return out;
    }
    case Kind::kMac:
      out += Mac(k);
      if (!full) {
        out += '/';
        out += Mac(m);
      }
      return out;
  }
  return out;
}

#define SLOT(n, m, k) Slot{n, static_cast<uint16_t>(offsetof(pkt::FlowKey, m)), \
                           static_cast<uint8_t>(sizeof(pkt::FlowKey::m)), k}

}  // namespace

std::string FormatMegaflowMatch(const pkt::FlowKey& key, const pkt::FlowMask& mask) {
  const bool arp = key.eth_type == 0x0806 && mask.bits.eth_type;
  const bool ip6 = key.eth_type == 0x86dd && mask.bits.eth_type;
  const bool icmp = (key.nw_proto == 1 || key.nw_proto == 58) && mask.bits.nw_proto && !arp;
  const Slot slots[] = {
      SLOT("in_port", in_port, Kind::kDec),
      SLOT("metadata", metadata, Kind::kHex),
      Slot{"dl_dst", static_cast<uint16_t>(offsetof(pkt::FlowKey, eth_dst)), 6, Kind::kMac},
      Slot{"dl_src", static_cast<uint16_t>(offsetof(pkt::FlowKey, eth_src)), 6, Kind::kMac},
      SLOT("dl_type", eth_type, Kind::kHex),
      SLOT("vlan_tci", vlan_tci, Kind::kHex),
      SLOT(arp ? "arp_spa" : "nw_src", nw_src, Kind::kIp4),
      SLOT(arp ? "arp_tpa" : "nw_dst", nw_dst, Kind::kIp4),
      SLOT(arp ? "arp_op" : "nw_proto", nw_proto, Kind::kDec),
      SLOT("nw_tos", nw_tos, Kind::kHex),
      SLOT("nw_ttl", nw_ttl, Kind::kDec),
      SLOT("nw_frag", nw_frag, Kind::kHex),
      SLOT("ipv6_label", ipv6_label, Kind::kHex),
      Slot{"ipv6_src", static_cast<uint16_t>(offsetof(pkt::FlowKey, ipv6_src)), 16, Kind::kIp6},
      Slot{"ipv6_dst", static_cast<uint16_t>(offsetof(pkt::FlowKey, ipv6_dst)), 16, Kind::kIp6},
      Slot{"arp_sha", static_cast<uint16_t>(offsetof(pkt::FlowKey, arp_sha)), 6, Kind::kMac},
      Slot{"arp_tha", static_cast<uint16_t>(offsetof(pkt::FlowKey, arp_tha)), 6, Kind::kMac},
      SLOT(icmp ? (ip6 ? "icmpv6_type" : "icmp_type") : "tp_src", tp_src, Kind::kDec),
      SLOT(icmp ? (ip6 ? "icmpv6_code" : "icmp_code") : "tp_dst", tp_dst, Kind::kDec),
      SLOT("tcp_flags", tcp_flags, Kind::kHex),
  };
  const auto* kb = reinterpret_cast<const uint8_t*>(&key);
  const auto* mb = reinterpret_cast<const uint8_t*>(&mask.bits);
  std::string out;
  for (const Slot& s : slots) {
    bool any = false;
    for (size_t i = 0; i < s.size; i++) any |= mb[s.offset + i] != 0;
    if (!any) continue;
    if (!out.empty()) out += ",";
    out += FormatSlot(s, kb + s.offset, mb + s.offset);
  }
  return out.empty() ? "<any>" : out;
}

std::string FormatDpActions(std::span<const pkt::DpAction> actions,
                            const std::function<std::string(uint16_t)>& port_name) {
  if (actions.empty()) return "drop";
  std::string out;
  for (const auto& a : actions) {
    if (!out.empty()) out += ",";
    switch (a.type) {
      case pkt::DpActionType::kOutput:
        out += port_name(a.port);
        break;
      case pkt::DpActionType::kSetField: {
        const pkt::FieldInfo& f = pkt::GetField(a.field);
        pkt::FlowKey k{}, m{};
        k.Clear();
        m.Clear();
        pkt::SetFieldMatch(f, a.value, a.mask, &k, &m);
        pkt::FlowMask fm;
        fm.bits = m;
        fm.Finalize();
        out += "set(" + FormatMegaflowMatch(k, fm) + ")";
        break;
      }
      case pkt::DpActionType::kPushVlan: {
        char b[48];
        std::snprintf(b, sizeof b, "push_vlan(tpid=0x%04x,tci=0x%04x)", a.tpid, a.tci);
        out += b;
        break;
      }
      case pkt::DpActionType::kPopVlan:
        out += "pop_vlan";
        break;
      case pkt::DpActionType::kDecTtl:
        out += "dec_ttl";
        break;
    }
  }
  return out;
}

}  // namespace dpswitch::control
