// SPDX-License-Identifier: BSD-3-Clause
#include "netdev/mempool.h"

#include <rte_errno.h>
#include <rte_mbuf.h>

namespace dpswitch::netdev {

uint32_t MbufsNeeded(const std::vector<PortSpec>& ports, uint32_t n_pmds, uint32_t ring_slots) {
  uint64_t n = 0;
  for (const auto& p : ports) n += uint64_t{p.rxq} * p.rxd + uint64_t{n_pmds} * p.txd;
  // Per PMD: a burst in flight per rxq plus the tx batches of every port,
  // and the mempool caches of every lcore that allocates.
  n += uint64_t{n_pmds} * (32 * (ports.size() + 1) + kMbufCache);
  n += ring_slots;
  n += 16384;  // headroom for copies (flood) and for preloading vdevs
  return static_cast<uint32_t>(n);
}

rte_mempool* CreatePacketPool(const std::string& name, uint32_t n, int socket,
                              uint32_t data_room) {
  const auto room = static_cast<uint16_t>(data_room ? data_room : RTE_MBUF_DEFAULT_BUF_SIZE);
  rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), n, kMbufCache, 0, room, socket);
  if (!mp)
    throw PortError("cannot create mbuf pool '" + name + "' of " + std::to_string(n) +
                    " mbufs on socket " + std::to_string(socket) + ": " +
                    rte_strerror(rte_errno) + " (are enough hugepages reserved?)");
  return mp;
}

}  // namespace dpswitch::netdev
