// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Packet buffer pools: one per NUMA socket in use, so that a port's rx
// queues fill mbufs on the port's own socket.
//
// Which sockets: every port's (Port::SocketId: rte_eth_dev_socket_id, with
// vdevs' "any" counted as socket 0) plus the socket of the pool the PMDs
// copy packets into (the first PMD lcore's).
//
// How many mbufs (PlanPools): enough that every descriptor, every in-flight
// burst and every queued upcall can hold an mbuf at once, so rx never starves
// because tx rings are full. A pool is filled by the rx rings of its own
// socket's ports, but its packets can sit in any port's tx ring, tx batch,
// upcall ring or lcore cache, so those count in every pool; plus slack for
// copies (flood with rewrites) and for vdevs that preload packets (net_pcap
// infinite_rx). [datapath] mbufs overrides the count of every pool.
//
// How big (OVS's "per port memory" model): the data room fits the largest
// frame of the socket's ports in one mbuf — MTU + 26 bytes of L2 (Ethernet,
// CRC, two VLAN tags) rounded up to 1 KiB, plus the 128-byte headroom: 2176
// bytes for MTU 1500 (DPDK's default), 9344 for MTU 9000. Jumbo frames then
// arrive in one segment and the fast path stays on its single-segment branch;
// chains (rx scatter) remain supported for explicitly smaller buffers
// ([datapath] mbuf-size, which overrides the data room of every pool) and for
// vhost-user guests that send chains. The price is memory: 9344-byte mbufs
// for every rx descriptor of a jumbo port's socket.

#include <cstdint>
#include <string>
#include <vector>

#include "netdev/port.h"

struct rte_mempool;

namespace dpswitch::netdev {

inline constexpr uint32_t kMbufCache = 256;  // per-lcore mempool cache
inline constexpr uint16_t kDefaultMtu = 1500;

// What one pool should be.
struct PoolPlan {
  int socket = 0;           // NUMA socket
  uint32_t n_mbufs = 0;     // mbufs
  uint32_t data_room = 0;   // bytes per buffer, headroom included
  std::string name;         // "dps_mbuf_s<socket>"
};

// Data room (headroom included) that holds a frame of `mtu` in one mbuf.
uint32_t MbufDataRoomFor(uint16_t mtu);

// mbufs needed by a pool whose socket hosts `local_ports`, with `ports` the
// whole switch, `n_pmds` PMDs (one txq each on every port) and rings of
// `ring_slots` total upcall/completion entries.
uint32_t MbufsNeeded(const std::vector<PortSpec>& local_ports, const std::vector<PortSpec>& ports,
                     uint32_t n_pmds, uint32_t ring_slots);

// One plan per socket in `port_sockets` (parallel to `ports`) and
// `copy_socket`, in socket order. `mbufs` / `data_room`: the configured
// overrides (0 = computed).
std::vector<PoolPlan> PlanPools(const std::vector<PortSpec>& ports,
                                const std::vector<int>& port_sockets, int copy_socket,
                                uint32_t n_pmds, uint32_t ring_slots, uint32_t mbufs,
                                uint32_t data_room);

// Creates (or throws PortError) a pool of n mbufs on `socket` with
// `data_room` bytes per buffer (0: DPDK's default, 2 KiB + headroom).
rte_mempool* CreatePacketPool(const std::string& name, uint32_t n, int socket,
                              uint32_t data_room = 0);

// Bytes one mbuf of `mp` takes (header, element, trailer), for the logs.
uint64_t MbufFootprint(const rte_mempool* mp);

}  // namespace dpswitch::netdev
