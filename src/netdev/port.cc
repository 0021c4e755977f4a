// SPDX-License-Identifier: BSD-3-Clause
#include "netdev/port.h"

#include <algorithm>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

namespace dpswitch::netdev {
namespace {

std::string Err(const PortSpec& s, const std::string& what, int rc) {
  return "port '" + s.name + "' (" + s.devargs + "): " + what + ": " + rte_strerror(-rc);
}

}  // namespace

Port::Port(PortSpec spec) : spec_(std::move(spec)) {
  if (spec_.devargs.empty()) throw PortError("port '" + spec_.name + "': no devargs");
  // Already probed (e.g. given with --vdev on the EAL command line)?
  rte_dev_iterator it{};
  uint16_t pid = RTE_MAX_ETHPORTS;
  RTE_ETH_FOREACH_MATCHING_DEV(pid, spec_.devargs.c_str(), &it) {
    rte_eth_iterator_cleanup(&it);
    break;
  }
  if (pid >= RTE_MAX_ETHPORTS) {
    const int rc = rte_dev_probe(spec_.devargs.c_str());
    if (rc < 0) throw PortError(Err(spec_, "device probe failed", rc));
    RTE_ETH_FOREACH_MATCHING_DEV(pid, spec_.devargs.c_str(), &it) {
      rte_eth_iterator_cleanup(&it);
      break;
    }
  }
  if (pid >= RTE_MAX_ETHPORTS)
    throw PortError("port '" + spec_.name + "' (" + spec_.devargs +
                    "): probed, but no ethdev matches these devargs");
  port_id_ = pid;
  open_ = true;
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id_, &info) == 0 && info.driver_name) driver_ = info.driver_name;
}

Port::~Port() { Close(); }

void Port::Configure(uint16_t n_txq, rte_mempool* pool) {
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(port_id_, &info);
  if (rc != 0) throw PortError(Err(spec_, "cannot read device info", rc));
  if (spec_.rxq > info.max_rx_queues)
    throw PortError("port '" + spec_.name + "': rxq=" + std::to_string(spec_.rxq) +
                    " exceeds the device maximum " + std::to_string(info.max_rx_queues));
  if (n_txq > info.max_tx_queues)
    throw PortError("port '" + spec_.name + "': needs " + std::to_string(n_txq) +
                    " tx queues (one per PMD) but the device has " +
                    std::to_string(info.max_tx_queues));
  rte_eth_conf conf{};
  rc = rte_eth_dev_configure(port_id_, spec_.rxq, n_txq, &conf);
  if (rc != 0) throw PortError(Err(spec_, "configure failed", rc));
  uint16_t rxd = spec_.rxd, txd = spec_.txd;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id_, &rxd, &txd);
  if (rc != 0) throw PortError(Err(spec_, "bad ring sizes", rc));
  const int socket = SocketId();
  for (uint16_t q = 0; q < spec_.rxq; q++) {
    rc = rte_eth_rx_queue_setup(port_id_, q, rxd, socket, nullptr, pool);
    if (rc != 0) throw PortError(Err(spec_, "rx queue " + std::to_string(q) + " setup failed", rc));
  }
  for (uint16_t q = 0; q < n_txq; q++) {
    rc = rte_eth_tx_queue_setup(port_id_, q, txd, socket, nullptr);
    if (rc != 0) throw PortError(Err(spec_, "tx queue " + std::to_string(q) + " setup failed", rc));
  }
  n_txq_ = n_txq;
}

void Port::Start() {
  const int rc = rte_eth_dev_start(port_id_);
  if (rc != 0) throw PortError(Err(spec_, "start failed", rc));
  started_ = true;
}

void Port::Stop() noexcept {
  if (!started_) return;
  rte_eth_dev_stop(port_id_);
  started_ = false;
}

void Port::Close() noexcept {
  if (!open_) return;
  Stop();
  rte_eth_dev_info info{};
  rte_device* dev = nullptr;
  if (rte_eth_dev_info_get(port_id_, &info) == 0) dev = info.device;
  rte_eth_dev_close(port_id_);
  // Detach so the vdev's name can be probed again (run-time port changes, tests).
  if (dev) rte_dev_remove(dev);
  open_ = false;
}

PortCounters Port::Counters() const {
  PortCounters c;
  rte_eth_stats s{};
  if (rte_eth_stats_get(port_id_, &s) != 0) return c;
  c.rx_packets = s.ipackets;
  c.rx_bytes = s.ibytes;
  c.rx_missed = s.imissed;
  c.rx_errors = s.ierrors;
  c.tx_packets = s.opackets;
  c.tx_bytes = s.obytes;
  c.tx_errors = s.oerrors;
  return c;
}

void Port::ClearCounters() { rte_eth_stats_reset(port_id_); }

bool Port::LinkUp() const {
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port_id_, &link) != 0) return false;
  return link.link_status == RTE_ETH_LINK_UP;
}

int Port::SocketId() const {
  const int s = rte_eth_dev_socket_id(port_id_);
  return s < 0 ? 0 : s;  // vdevs report SOCKET_ID_ANY
}

}  // namespace dpswitch::netdev
