// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// OpenFlow actions and instructions of a rule, and their ovs-ofctl text form
// (everything after "actions=").
//
// A rule's program is OpenFlow 1.3's instruction set restricted to what
// dpswitch implements: apply-actions (a list, executed in order on the packet
// as modified so far), write-metadata, goto-table — executed in that order,
// which is also the only order the text may give them in (as ovs-ofctl
// enforces). Write-actions / clear-actions (the action set) are not
// supported yet.
//
// Actions keep the distinctions translation needs and no more: every
// mod_* of a plain field is a set_field (formatted back in the spelling it
// was written in), but mod_vlan_vid / mod_vlan_pcp are their own types
// because, as in OVS, they push a tag onto an untagged packet where
// set_field on vlan_vid does nothing. "load:VALUE->FIELD" is accepted as a
// synonym of set_field with field-table names (not OVS's NXM_*[] bit-range
// syntax).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "packet/field.h"
#include "packet/flow_key.h"

namespace dpswitch::ofp {

// Resubmit's "current table" (resubmit:PORT, resubmit(PORT,)).
inline constexpr uint8_t kTableCurrent = 255;

enum class OfActionType : uint8_t {
  kOutput,      // output:PORT, bare PORT, in_port, flood, all, normal, local
  kController,  // controller, controller:MAX_LEN, controller(...): no controller yet
  kSetField,    // set_field:V[/M]->FIELD and mod_dl_*/mod_nw_*/mod_tp_*
  kModVlanVid,  // mod_vlan_vid:VID (pushes a tag if untagged)
  kModVlanPcp,  // mod_vlan_pcp:PCP (pushes a tag if untagged)
  kPushVlan,    // push_vlan:TPID
  kPopVlan,     // pop_vlan / strip_vlan
  kDecTtl,      // dec_ttl
  kResubmit,    // resubmit(PORT,TABLE), resubmit(,TABLE), resubmit:PORT
  kSetQueue,    // set_queue:N (accepted; no QoS in the datapath)
};

struct OfAction {
  OfActionType type = OfActionType::kOutput;
  uint32_t port = 0;                          // kOutput; kResubmit (kPortInPort: keep in_port)
  uint8_t table = kTableCurrent;              // kResubmit
  pkt::FieldId field = pkt::FieldId::kCount;  // kSetField
  pkt::FieldValue value;                      // kSetField (right-aligned); kModVlan*: value.u
  pkt::FieldValue mask;                       // kSetField: FullMask for a plain set
  uint16_t tpid = 0x8100;                     // kPushVlan
  uint16_t max_len = 0xffff;                  // kController
  uint32_t queue = 0;                         // kSetQueue
  bool legacy = false;                        // kSetField written as mod_*: formatted back that way
  std::string args;  // kController: the "(...)" arguments as written, if any
};
bool operator==(const OfAction& a, const OfAction& b);

// A rule's instructions, executed in member order.
struct OfInstructions {
  std::vector<OfAction> apply;        // apply-actions, in order
  bool write_metadata = false;        // write_metadata present
  uint64_t metadata = 0;              // write_metadata value (already masked)
  uint64_t metadata_mask = 0;         // write_metadata mask
  std::optional<uint8_t> goto_table;  // goto_table target (> the rule's table)
};
bool operator==(const OfInstructions& a, const OfInstructions& b);

// Parses the text after "actions=". `table` is the rule's table (goto_table
// must go forward). When match_key/match_mask are given, set_field of a field
// whose prerequisites the rule's match does not guarantee is rejected, as
// ovs-ofctl does (VLAN fields excepted: they follow the runtime tag state).
// Throws FlowError naming the offending action.
OfInstructions ParseActions(std::string_view text, uint8_t table,
                            const pkt::FlowKey* match_key = nullptr,
                            const pkt::FlowMask* match_mask = nullptr);
// ovs-ofctl style ("drop" for an empty program); ParseActions reads it back.
std::string FormatActions(const OfInstructions& ins);

}  // namespace dpswitch::ofp
