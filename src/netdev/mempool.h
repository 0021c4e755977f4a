// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Packet buffer pools. One pool per NUMA socket in use, sized from the ports'
// ring sizes, the PMD count and the upcall rings (see MbufsNeeded), so that
// every descriptor, every in-flight burst and every queued upcall can hold an
// mbuf at once and rx never starves because tx rings are full.

#include <cstdint>
#include <string>
#include <vector>

#include "netdev/port.h"

struct rte_mempool;

namespace dpswitch::netdev {

inline constexpr uint32_t kMbufCache = 256;  // per-lcore mempool cache

// mbufs needed for `ports` with `n_pmds` PMDs (one txq each) and rings of
// `ring_slots` total upcall/completion entries, plus slack for sources that
// preload packets (net_pcap infinite_rx) — configurable via datapath.mbufs.
uint32_t MbufsNeeded(const std::vector<PortSpec>& ports, uint32_t n_pmds, uint32_t ring_slots);

// Creates (or throws PortError) a pool of n mbufs on `socket` with
// `data_room` bytes per buffer (0: DPDK's default, 2 KiB + headroom).
rte_mempool* CreatePacketPool(const std::string& name, uint32_t n, int socket,
                              uint32_t data_room = 0);

}  // namespace dpswitch::netdev
