// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Datapath actions: the flat program a megaflow carries. The OpenFlow
// translation (ofproto/xlate) compiles OpenFlow actions into it; the PMD's
// executor interprets it per burst. It knows nothing of OpenFlow: ports are
// datapath port indexes, FLOOD/ALL are already expanded into outputs, and
// set-field values are in FlowKey storage layout.
//
// Semantics the executor guarantees (and xlate relies on to keep megaflows
// wide):
//  - actions run in order on the packet as modified so far;
//  - kDecTtl on a packet whose TTL/hop limit is <= 1 stops the program (the
//    rest is not executed), so xlate need not match on nw_ttl;
//  - kSetField on an L3/L4 field of a packet that lacks that header is a no-op
//    (xlate only emits it when the matched prerequisites guarantee it);
//  - an empty program drops the packet.

#include <cstdint>
#include <cstring>
#include <span>

#include "packet/field.h"

namespace dpswitch::pkt {

enum class DpActionType : uint8_t {
  kOutput,    // transmit a copy to datapath port `port`
  kSetField,  // header[field] = (header & ~mask) | value, checksums fixed
  kPushVlan,  // push an 802.1Q tag with TPID `tpid` and TCI `tci`
  kPopVlan,   // remove the outermost 802.1Q tag
  kDecTtl,    // decrement IPv4 TTL / IPv6 hop limit; stop if it was <= 1
};

struct DpAction {
  DpActionType type;
  FieldId field;   // kSetField: which field (storage layout per the field table)
  uint16_t tci;    // kPushVlan: TCI to push (without kVlanPresent)
  uint16_t tpid;   // kPushVlan: 0x8100 or 0x88a8
  uint16_t port;   // kOutput: datapath port index
  FieldValue value;  // kSetField: right-aligned value (as FieldValue)
  FieldValue mask;   // kSetField: right-aligned mask (full mask for a plain set)
};

// Same program: the same actions with the same operands (fields an action
// type does not use are ignored, so padding and stale operands never make two
// equal programs differ). Revalidation uses it to decide whether a megaflow's
// actions changed.
inline bool SameAction(const DpAction& a, const DpAction& b) noexcept {
  if (a.type != b.type) return false;
  switch (a.type) {
    case DpActionType::kOutput:
      return a.port == b.port;
    case DpActionType::kSetField:
      return a.field == b.field && a.value.u == b.value.u && a.mask.u == b.mask.u &&
             std::memcmp(a.value.bytes, b.value.bytes, sizeof a.value.bytes) == 0 &&
             std::memcmp(a.mask.bytes, b.mask.bytes, sizeof a.mask.bytes) == 0;
    case DpActionType::kPushVlan:
      return a.tci == b.tci && a.tpid == b.tpid;
    case DpActionType::kPopVlan:
    case DpActionType::kDecTtl:
      return true;
  }
  return false;
}

inline bool SameActions(std::span<const DpAction> a, std::span<const DpAction> b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (!SameAction(a[i], b[i])) return false;
  return true;
}

}  // namespace dpswitch::pkt
