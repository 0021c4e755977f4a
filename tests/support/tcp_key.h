// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// A parsed TCP/IPv4 FlowKey for tests that work on keys rather than bytes
// (translation, megaflows, revalidation): fixed source 192.0.2.1:40000.

#include <cstdint>

#include "packet/flow_key.h"

namespace dpswitch::test {

inline pkt::FlowKey TcpKey(uint32_t nw_dst, uint16_t tp_dst, uint32_t in_port = 1) {
  pkt::FlowKey k;
  k.Clear();
  k.in_port = in_port;
  k.eth_type = 0x0800;
  k.nw_proto = 6;
  k.nw_src = 0xc0000201;
  k.nw_dst = nw_dst;
  k.tp_src = 40000;
  k.tp_dst = tp_dst;
  return k;
}

}  // namespace dpswitch::test
