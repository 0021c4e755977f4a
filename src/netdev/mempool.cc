// SPDX-License-Identifier: BSD-3-Clause
#include "netdev/mempool.h"

#include <algorithm>
#include <map>

#include <rte_errno.h>
#include <rte_mbuf.h>

namespace dpswitch::netdev {
namespace {

constexpr uint32_t kMaxL2Overhead = 14 + 4 + 2 * 4;  // Ethernet, CRC, two VLAN tags
constexpr uint32_t kRoomAlign = 1024;                // OVS's NETDEV_DPDK_MBUF_ALIGN
constexpr uint32_t kSlack = 16384;                   // copies, preloading vdevs

}  // namespace

uint32_t MbufDataRoomFor(uint16_t mtu) {
  const uint32_t frame = uint32_t{mtu ? mtu : kDefaultMtu} + kMaxL2Overhead;
  return (frame + kRoomAlign - 1) / kRoomAlign * kRoomAlign + RTE_PKTMBUF_HEADROOM;
}

uint32_t MbufsNeeded(const std::vector<PortSpec>& local_ports, const std::vector<PortSpec>& ports,
                     uint32_t n_pmds, uint32_t ring_slots) {
  uint64_t n = 0;
  for (const auto& p : local_ports) n += uint64_t{p.rxq} * p.rxd;
  for (const auto& p : ports) n += uint64_t{n_pmds} * p.txd;
  // Per PMD: a burst in flight per rxq plus the tx batches of every port,
  // and the mempool caches of every lcore that allocates.
  n += uint64_t{n_pmds} * (32 * (ports.size() + 1) + kMbufCache);
  n += ring_slots;
  n += kSlack;
  return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
}

std::vector<PoolPlan> PlanPools(const std::vector<PortSpec>& ports,
                                const std::vector<int>& port_sockets, int copy_socket,
                                uint32_t n_pmds, uint32_t ring_slots, uint32_t mbufs,
                                uint32_t data_room) {
  std::map<int, std::vector<PortSpec>> by_socket;
  by_socket[copy_socket];
  for (size_t i = 0; i < ports.size(); i++) by_socket[port_sockets.at(i)].push_back(ports[i]);
  std::vector<PoolPlan> plans;
  for (const auto& [socket, local] : by_socket) {
    PoolPlan p;
    p.socket = socket;
    p.name = "dps_mbuf_s" + std::to_string(socket);
    p.n_mbufs = mbufs ? mbufs : MbufsNeeded(local, ports, n_pmds, ring_slots);
    uint16_t mtu = kDefaultMtu;
    for (const auto& l : local) mtu = std::max(mtu, l.mtu);
    p.data_room = data_room ? data_room : MbufDataRoomFor(mtu);
    plans.push_back(std::move(p));
  }
  return plans;
}

rte_mempool* CreatePacketPool(const std::string& name, uint32_t n, int socket,
                              uint32_t data_room) {
  const auto room = static_cast<uint16_t>(data_room ? data_room : RTE_MBUF_DEFAULT_BUF_SIZE);
  rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), n, kMbufCache, 0, room, socket);
  if (!mp)
    throw PortError("cannot create mbuf pool '" + name + "' of " + std::to_string(n) +
                    " mbufs of " + std::to_string(room) + " bytes on socket " +
                    std::to_string(socket) + ": " + rte_strerror(rte_errno) +
                    " (are enough hugepages reserved?)");
  return mp;
}

uint64_t MbufFootprint(const rte_mempool* mp) {
  return uint64_t{mp->header_size} + mp->elt_size + mp->trailer_size;
}

}  // namespace dpswitch::netdev
