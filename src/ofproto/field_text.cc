// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/field_text.h"

#include <arpa/inet.h>

#include <bit>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace dpswitch::ofp {
namespace {

using pkt::FieldId;
using pkt::FieldInfo;
using pkt::FieldValue;

enum class Kind { kInt, kPort, kIpv4, kMac, kIpv6 };

Kind KindOf(const FieldInfo& f) {
  switch (f.id) {
    case FieldId::kInPort:
      return Kind::kPort;
    case FieldId::kNwSrc:
    case FieldId::kNwDst:
    case FieldId::kArpSpa:
    case FieldId::kArpTpa:
      return Kind::kIpv4;
    default:
      break;
  }
  if (f.is_int) return Kind::kInt;
  return f.size == 16 ? Kind::kIpv6 : Kind::kMac;
}

// Integer fields printed in hex even without a mask (as ovs-ofctl does).
bool PrefersHex(const FieldInfo& f) {
  switch (f.id) {
    case FieldId::kMetadata:
    case FieldId::kEthType:
    case FieldId::kVlanTci:
    case FieldId::kIpv6Label:
    case FieldId::kTcpFlags:
    case FieldId::kNwFrag:
      return true;
    default:
      return false;
  }
}

[[noreturn]] void Fail(std::string_view token, const std::string& why) {
  throw FlowError(std::string(token) + ": " + why);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

uint32_t ParseIpv4(std::string_view text, std::string_view token) {
  const std::string s(text);
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) Fail(token, "bad IPv4 address '" + s + "'");
  return ntohl(a.s_addr);
}

void ParseIpv6(std::string_view text, uint8_t out[16], std::string_view token) {
  const std::string s(text);
  if (inet_pton(AF_INET6, s.c_str(), out) != 1) Fail(token, "bad IPv6 address '" + s + "'");
}

void ParseMac(std::string_view text, uint8_t out[6], std::string_view token) {
  size_t pos = 0;
  for (int i = 0; i < 6; i++) {
    if (i > 0) {
      if (pos >= text.size() || text[pos] != ':') Fail(token, "bad MAC address");
      pos++;
    }
    size_t n = 0;
    unsigned v = 0;
    while (pos < text.size() && n < 2 && std::isxdigit(static_cast<unsigned char>(text[pos]))) {
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[pos])));
      v = v * 16 + static_cast<unsigned>(c <= '9' ? c - '0' : c - 'a' + 10);
      pos++;
      n++;
    }
    if (n == 0) Fail(token, "bad MAC address");
    out[i] = static_cast<uint8_t>(v);
  }
  if (pos != text.size()) Fail(token, "bad MAC address");
}

// Mask of the top `n` bits of a `width`-bit integer.
uint64_t PrefixMask(uint32_t n, uint32_t width) {
  if (n == 0) return 0;
  const uint64_t all = width == 64 ? ~0ull : (1ull << width) - 1;
  return all & ~((1ull << (width - n)) - 1);
}

// Prefix length if `bytes` is a CIDR mask, else -1.
int BytesPrefixLen(const uint8_t* bytes, uint32_t size) {
  int n = 0;
  uint32_t i = 0;
  for (; i < size && bytes[i] == 0xff; i++) n += 8;
  if (i < size) {
    const int ones = std::countl_one(bytes[i]);
    if (static_cast<uint8_t>(bytes[i] << ones) != 0) return -1;
    n += ones;
    for (i++; i < size; i++)
      if (bytes[i] != 0) return -1;
  }
  return n;
}

std::string Ipv4Text(uint32_t v) {
  char buf[INET_ADDRSTRLEN];
  const in_addr a{htonl(v)};
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

std::string Ipv6Text(const uint8_t* v) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, v, buf, sizeof(buf));
  return buf;
}

std::string MacText(const uint8_t* v) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", v[0], v[1], v[2], v[3], v[4],
                v[5]);
  return buf;
}

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool IsEthType(const pkt::FlowKey& key, const pkt::FlowMask& mask, uint16_t type) {
  return mask.bits.eth_type == 0xffff && key.eth_type == type;
}

bool IsProto(const pkt::FlowKey& key, const pkt::FlowMask& mask, uint8_t proto) {
  return mask.bits.nw_proto == 0xff && key.nw_proto == proto;
}

}  // namespace

uint64_t ParseNumber(std::string_view text, uint64_t max, std::string_view token) {
  int base = 10;
  std::string_view digits = text;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec == std::errc::invalid_argument || p != digits.data() + digits.size())
    Fail(token, "bad number '" + std::string(text) + "'");
  if (ec == std::errc::result_out_of_range || v > max)
    Fail(token, "value '" + std::string(text) + "' out of range (max " + Hex(max) + ")");
  return v;
}

uint32_t ParsePort(std::string_view text, std::string_view token) {
  const std::string l = Lower(text);
  if (l == "in_port") return kPortInPort;
  if (l == "table") return kPortTable;
  if (l == "normal") return kPortNormal;
  if (l == "flood") return kPortFlood;
  if (l == "all") return kPortAll;
  if (l == "controller") return kPortController;
  if (l == "local") return kPortLocal;
  if (l == "any" || l == "none") return kPortAny;
  return static_cast<uint32_t>(ParseNumber(text, 0xffffffffull, token));
}

std::string FormatPort(uint32_t port) {
  switch (port) {
    case kPortInPort:
      return "IN_PORT";
    case kPortTable:
      return "TABLE";
    case kPortNormal:
      return "NORMAL";
    case kPortFlood:
      return "FLOOD";
    case kPortAll:
      return "ALL";
    case kPortController:
      return "CONTROLLER";
    case kPortLocal:
      return "LOCAL";
    case kPortAny:
      return "ANY";
    default:
      return std::to_string(port);
  }
}

bool IsFullMask(const FieldInfo& f, const FieldValue& mask) noexcept {
  const FieldValue full = pkt::FullMask(f);
  if (f.is_int) return (mask.u & full.u) == full.u;
  return std::memcmp(mask.bytes, full.bytes, f.size) == 0;
}

bool IsZeroMask(const FieldInfo& f, const FieldValue& mask) noexcept {
  if (f.is_int) return (mask.u & pkt::FullMask(f).u) == 0;
  for (uint32_t i = 0; i < f.size; i++)
    if (mask.bytes[i]) return false;
  return true;
}

bool SameValue(const FieldInfo& f, const FieldValue& a, const FieldValue& b) noexcept {
  if (f.is_int) return a.u == b.u;
  return std::memcmp(a.bytes, b.bytes, f.size) == 0;
}

MaskedValue ParseFieldValue(const FieldInfo& f, std::string_view text, bool allow_mask,
                            std::string_view token) {
  std::string_view vtext = text;
  std::string_view mtext;
  const size_t slash = text.find('/');
  const bool has_mask = slash != std::string_view::npos;
  if (has_mask) {
    if (!allow_mask) Fail(token, std::string("field ") + f.name + " does not accept a mask");
    vtext = text.substr(0, slash);
    mtext = text.substr(slash + 1);
    if (mtext.empty()) Fail(token, "empty mask");
  }
  if (vtext.empty()) Fail(token, std::string("missing value for ") + f.name);

  MaskedValue mv;
  mv.mask = pkt::FullMask(f);
  const uint64_t limit = pkt::FullMask(f).u;
  switch (KindOf(f)) {
    case Kind::kPort:
      mv.value.u = ParsePort(vtext, token);
      if (has_mask) mv.mask.u = ParseNumber(mtext, limit, token);
      break;
    case Kind::kInt: {
      const std::string range =
          std::string(" does not fit field ") + f.name + " (valid bits " + Hex(limit) + ")";
      mv.value.u = ParseNumber(vtext, ~0ull, token);
      if (mv.value.u & ~limit) Fail(token, "value '" + std::string(vtext) + "'" + range);
      if (has_mask) {
        mv.mask.u = ParseNumber(mtext, ~0ull, token);
        if (mv.mask.u & ~limit) Fail(token, "mask '" + std::string(mtext) + "'" + range);
      }
      break;
    }
    case Kind::kIpv4:
      mv.value.u = ParseIpv4(vtext, token);
      if (has_mask) {
        if (mtext.find('.') == std::string_view::npos)
          mv.mask.u = PrefixMask(static_cast<uint32_t>(ParseNumber(mtext, 32, token)), 32);
        else
          mv.mask.u = ParseIpv4(mtext, token);
      }
      break;
    case Kind::kMac:
      ParseMac(vtext, mv.value.bytes, token);
      if (has_mask) ParseMac(mtext, mv.mask.bytes, token);
      break;
    case Kind::kIpv6:
      ParseIpv6(vtext, mv.value.bytes, token);
      if (has_mask) {
        if (mtext.find(':') == std::string_view::npos) {
          const uint32_t n = static_cast<uint32_t>(ParseNumber(mtext, 128, token));
          std::memset(mv.mask.bytes, 0, 16);
          for (uint32_t i = 0; i < n; i++) mv.mask.bytes[i / 8] |= 0x80 >> (i % 8);
        } else {
          ParseIpv6(mtext, mv.mask.bytes, token);
        }
      }
      break;
  }
  // The value only counts under its mask (10.1.2.3/8 is 10.0.0.0/8).
  if (f.is_int) {
    mv.value.u &= mv.mask.u;
  } else {
    for (uint32_t i = 0; i < f.size; i++) mv.value.bytes[i] &= mv.mask.bytes[i];
  }
  return mv;
}

std::string FormatFieldValue(const FieldInfo& f, const FieldValue& value, const FieldValue& mask) {
  const bool full = IsFullMask(f, mask);
  switch (KindOf(f)) {
    case Kind::kPort:
      return full ? FormatPort(static_cast<uint32_t>(value.u)) : Hex(value.u) + "/" + Hex(mask.u);
    case Kind::kInt:
      if (full) return PrefersHex(f) ? Hex(value.u) : std::to_string(value.u);
      return Hex(value.u) + "/" + Hex(mask.u);
    case Kind::kIpv4: {
      std::string s = Ipv4Text(static_cast<uint32_t>(value.u));
      if (full) return s;
      uint8_t b[4];
      const uint32_t m = static_cast<uint32_t>(mask.u);
      for (int i = 0; i < 4; i++) b[i] = static_cast<uint8_t>(m >> (24 - 8 * i));
      const int n = BytesPrefixLen(b, 4);
      return s + "/" + (n >= 0 ? std::to_string(n) : Ipv4Text(m));
    }
    case Kind::kMac:
      return full ? MacText(value.bytes) : MacText(value.bytes) + "/" + MacText(mask.bytes);
    case Kind::kIpv6: {
      std::string s = Ipv6Text(value.bytes);
      if (full) return s;
      const int n = BytesPrefixLen(mask.bytes, 16);
      return s + "/" + (n >= 0 ? std::to_string(n) : Ipv6Text(mask.bytes));
    }
  }
  return {};
}

std::string UnmetPrereq(const FieldInfo& f, const pkt::FlowKey& key, const pkt::FlowMask& mask,
                        bool match_aliases) {
  const bool ip4 = IsEthType(key, mask, 0x0800);
  const bool ip6 = IsEthType(key, mask, 0x86dd);
  const bool arp = IsEthType(key, mask, 0x0806);
  const bool ip = ip4 || ip6;
  switch (f.prereq) {
    case pkt::Prereq::kNone:
      return {};
    case pkt::Prereq::kVlan:
      return (mask.bits.vlan_tci & pkt::kVlanPresent) && (key.vlan_tci & pkt::kVlanPresent)
                 ? std::string()
                 : "a VLAN tag (dl_vlan or vlan_tci=0x1000/0x1000)";
    case pkt::Prereq::kIpv4:
      if (ip4 || (match_aliases && arp)) return {};
      return match_aliases ? "ip or arp" : "ip";
    case pkt::Prereq::kIpv6:
      return ip6 ? std::string() : "ipv6";
    case pkt::Prereq::kIp:
      if (ip || (match_aliases && arp && f.id == FieldId::kNwProto)) return {};
      return "ip or ipv6";
    case pkt::Prereq::kArp:
      return arp ? std::string() : "arp";
    case pkt::Prereq::kIpOrArp:
      return ip || arp ? std::string() : "ip or arp";
    case pkt::Prereq::kTcp:
      return ip && IsProto(key, mask, 6) ? std::string() : "tcp or tcp6";
    case pkt::Prereq::kL4:
      return ip && (IsProto(key, mask, 6) || IsProto(key, mask, 17) || IsProto(key, mask, 132))
                 ? std::string()
                 : "tcp, udp or sctp (or their 6 forms)";
    case pkt::Prereq::kIcmp4:
      return ip4 && IsProto(key, mask, 1) ? std::string() : "icmp";
    case pkt::Prereq::kIcmp6:
      return ip6 && IsProto(key, mask, 58) ? std::string() : "icmp6";
  }
  return {};
}

pkt::FlowKey FieldBits(const FieldInfo& f) noexcept {
  pkt::FlowKey key, bits;
  key.Clear();
  bits.Clear();
  pkt::SetFieldMatch(f, FieldValue{}, pkt::FullMask(f), &key, &bits);
  return bits;
}

}  // namespace dpswitch::ofp
