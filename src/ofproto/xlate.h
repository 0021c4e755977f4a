// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Translation ("xlate"): runs a packet key through the OpenFlow tables and
// compiles what the rules do into a datapath program, recording in a mask
// every key bit the outcome depends on.
//
// The invariant (DESIGN.md): for the returned (wc, actions), every key p with
// p & wc == key & wc translates to the same actions (and the same wc). It
// holds because every decision below reads the working key only through
// Consult(), which un-wildcards the bits read — minus the bits an earlier
// action overwrote with a constant (set_field, write_metadata, push/pop
// VLAN): those have the same value for every packet of the megaflow, so a
// later table matching on them needs no original packet bits. That is what
// keeps "set_field then match it in the next table" megaflows wide. After
// dec_ttl the working TTL is a function of the original one, so reading any
// TTL bit then un-wildcards the whole original TTL.
//
// Semantics follow Open vSwitch (ofproto-dpif-xlate.c) where OpenFlow is
// silent: resubmit(port,table) replaces in_port for the lookup only; a table
// miss drops for that lookup only (OpenFlow 1.3 default, no table-miss
// rules to controller yet); output to the ingress port by number is dropped
// (use in_port); FLOOD/ALL go to every port that is up except the ingress
// port; NORMAL floods until MAC learning exists; CONTROLLER does nothing until
// there is a controller connection; mod_vlan_vid/pcp push a tag onto an
// untagged packet, set_field on vlan_vid/pcp does not; push_vlan pushes TCI 0;
// dec_ttl is a no-op on non-IP packets; set_field on a header the packet
// lacks (including L4 fields of later fragments) is skipped. Recursion
// (resubmit/goto_table nesting) deeper than kMaxXlateDepth or more than
// kMaxXlateLookups lookups drops the packet.
//
// The key's metadata is ignored: a packet enters table 0 with metadata 0
// (OpenFlow), so megaflows never match on metadata.
//
// The key only models the outermost VLAN tag: after pop_vlan on a
// double-tagged packet the translation sees "untagged".

#include <cstdint>
#include <vector>

#include "ofproto/flow_table.h"
#include "ofproto/pipeline.h"
#include "packet/dp_actions.h"
#include "packet/flow_key.h"

namespace dpswitch::ofp {

inline constexpr uint32_t kMaxXlateDepth = 64;      // nested resubmit/goto_table
inline constexpr uint32_t kMaxXlateLookups = 4096;  // table lookups per packet (OVS: 4096)

// The switch ports as translation sees them, sorted by ofport.
struct XlatePorts {
  std::vector<PortInfo> ports;  // ascending ofport

  const PortInfo* Find(uint32_t ofport) const noexcept;
};

// Translates `key` starting at table 0. `tables` has kNumTables entries. ORs
// consulted bits into *wc (in_port is always exact) and appends to *actions.
// The returned stats.lookup sums the tables' classifier lookups;
// stats.version is left 0 (Pipeline fills it in).
// If `rules` is non-null, every rule a lookup returned (goto_table, resubmit,
// also before an abort) is appended to it, in lookup order, repeats included:
// the rules whose counters the megaflow's packets are credited to. The
// pointers are valid as long as the tables are.
XlateStats Xlate(const FlowTable* tables, const XlatePorts& ports, const pkt::FlowKey& key,
                 pkt::FlowMask* wc, std::vector<pkt::DpAction>* actions,
                 std::vector<const Rule*>* rules = nullptr);

}  // namespace dpswitch::ofp
