// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Flow setup: what a handler does with one missed packet's key — translate
// it, build the megaflow with its ukey, and install it in the dpcls of the
// packet's port unless that would be wrong or too much:
//  - stale: the tables changed since the copy the translation used (checked
//    under the datapath writer mutex, so a revalidation round that starts
//    after the change either sees this megaflow in its dump or this check
//    sees the new version);
//  - over the flow limit.
// Either way the megaflow still serves its own packet and is then freed
// (its ukey credits that packet to the rules). An identical live megaflow
// (another PMD or packet got there first) is used instead of the new one.

#include <cstdint>
#include <vector>

#include "classifier/megaflow.h"
#include "ofproto/pipeline.h"
#include "packet/dp_actions.h"
#include "packet/flow_key.h"

namespace dpswitch::pmd {
class Datapath;
}

namespace dpswitch::ofp {

enum class SetupOutcome { kInstalled, kCollapsed, kNotInstalled };

struct SetupResult {
  // What the packet must be executed with. Carries one upcall reference for
  // the caller, to drop (upcall_refs--, release) once the packet has run.
  cls::Megaflow* flow;
  SetupOutcome outcome;
  XlateStats xlate;
};

// `key` is the parsed packet (in_port set); `dp_port` the datapath index of
// the port it came in on. `scratch` is reused between calls.
SetupResult SetupMegaflow(pmd::Datapath& dp, const Pipeline& pipeline, const pkt::FlowKey& key,
                          uint16_t dp_port, uint32_t flow_limit,
                          std::vector<pkt::DpAction>* scratch);

}  // namespace dpswitch::ofp
