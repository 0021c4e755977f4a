// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// The single table of match fields. The parser fills them, the classifiers
// match them as raw FlowKey bits, and the flow syntax, the datapath set-field
// action and (later) the OpenFlow codec all find a field here by id or name.
//
// A field is `size` bytes at `offset` in FlowKey. Integer fields (is_int) are
// host-order unsigned integers of 1, 2, 4 or 8 bytes; `bits` restricts the
// field to part of that integer (ip_dscp is the top 6 bits of nw_tos) and
// values are given right-aligned (shifted down by `shift`). Byte-array fields
// (MACs, IPv6 addresses) are network order and use the whole array.
//
// Several names may share storage with different prerequisites (nw_src and
// arp_spa both live in FlowKey::nw_src), exactly as in ovs-ofctl.

#include <cstdint>
#include <optional>
#include <string_view>

#include "packet/flow_key.h"

namespace dpswitch::pkt {

enum class FieldId : uint8_t {
  kInPort,
  kMetadata,
  kEthDst,
  kEthSrc,
  kEthType,
  kVlanTci,
  kVlanVid,  // dl_vlan: 12-bit VID (matching it also requires a tag)
  kVlanPcp,  // dl_vlan_pcp: 3-bit priority
  kNwSrc,
  kNwDst,
  kNwProto,
  kNwTos,  // DSCP in TOS-byte position (value & 0xfc), as ovs-ofctl nw_tos
  kIpDscp,
  kNwEcn,
  kNwTtl,
  kNwFrag,
  kIpv6Src,
  kIpv6Dst,
  kIpv6Label,
  kArpOp,
  kArpSpa,
  kArpTpa,
  kArpSha,
  kArpTha,
  kTpSrc,
  kTpDst,
  kTcpFlags,
  kIcmpType,
  kIcmpCode,
  kIcmpv6Type,
  kIcmpv6Code,
  kCount
};

// What a packet must be for a field to be meaningful (OpenFlow prerequisites).
enum class Prereq : uint8_t {
  kNone,
  kVlan,   // a VLAN tag is present (dl_vlan, dl_vlan_pcp)
  kIpv4,   // eth_type 0x0800
  kIpv6,   // eth_type 0x86dd
  kIp,     // IPv4 or IPv6
  kArp,    // eth_type 0x0806
  kIpOrArp,
  kTcp,    // ip and nw_proto 6
  kL4,     // ip and nw_proto in {6, 17, 132} (tp_src/tp_dst)
  kIcmp4,  // IPv4 and nw_proto 1
  kIcmp6,  // IPv6 and nw_proto 58
};

struct FieldInfo {
  FieldId id;
  const char* name;     // ovs-ofctl name
  const char* alias;    // OXM-style alias or nullptr
  uint16_t offset;      // byte offset in FlowKey
  uint8_t size;         // bytes of storage
  bool is_int;          // host-order integer (else byte array)
  uint64_t bits;        // for is_int: which storage bits are this field (unshifted)
  uint8_t shift;        // for is_int: value = (storage & bits) >> shift
  Stage stage;          // lookup stage of the storage words
  Prereq prereq;        // what the packet must be
  bool maskable;        // arbitrary masks allowed in the flow syntax
  bool writable;        // set_field allowed
};

const FieldInfo& GetField(FieldId id) noexcept;
// By ovs-ofctl name or alias; nullptr when unknown.
const FieldInfo* FindField(std::string_view name) noexcept;

// A field value or mask, right-aligned: integers in `u`, byte arrays in `bytes`
// (network order, `size` bytes used).
struct FieldValue {
  uint64_t u = 0;
  uint8_t bytes[16] = {};
};

// Writes value/mask of `f` into key/mask storage (mask bits outside the field
// are left as they are). The value is masked by the mask.
void SetFieldMatch(const FieldInfo& f, const FieldValue& value, const FieldValue& mask,
                   FlowKey* key, FlowKey* mask_bits) noexcept;
// Reads field `f` of a key.
FieldValue GetFieldValue(const FieldInfo& f, const FlowKey& key) noexcept;
// The all-ones mask of a field.
FieldValue FullMask(const FieldInfo& f) noexcept;
// Number of value bits of the field (e.g. 32 for nw_src, 6 for ip_dscp).
uint32_t FieldWidth(const FieldInfo& f) noexcept;

}  // namespace dpswitch::pkt
