// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Wire constants shared by the parser and the header rewrites.

#include <cstdint>

namespace dpswitch::pkt::proto {

inline constexpr uint32_t kEthHeaderLen = 14;
inline constexpr uint32_t kVlanTagLen = 4;

inline constexpr uint16_t kEthTypeIpv4 = 0x0800;
inline constexpr uint16_t kEthTypeArp = 0x0806;
inline constexpr uint16_t kEthTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEthTypeVlan = 0x8100;
inline constexpr uint16_t kEthTypeQinQ = 0x88a8;

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIpv6HopByHop = 0;
inline constexpr uint8_t kProtoIpv6Routing = 43;
inline constexpr uint8_t kProtoIpv6Fragment = 44;
inline constexpr uint8_t kProtoIcmpv6 = 58;
inline constexpr uint8_t kProtoIpv6DestOpts = 60;
inline constexpr uint8_t kProtoSctp = 132;

}  // namespace dpswitch::pkt::proto
