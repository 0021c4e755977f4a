// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Text form of megaflows for `dump-megaflows`: the match in ovs-ofctl field
// syntax (only the bits the mask keeps; value/mask where partial, CIDR for
// prefixes), then the datapath actions with OpenFlow port numbers.

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "packet/dp_actions.h"
#include "packet/flow_key.h"

namespace dpswitch::control {

std::string FormatMegaflowMatch(const pkt::FlowKey& key, const pkt::FlowMask& mask);
// port_name maps a datapath port index to the text printed for an output.
std::string FormatDpActions(std::span<const pkt::DpAction> actions,
                            const std::function<std::string(uint16_t)>& port_name);

}  // namespace dpswitch::control
