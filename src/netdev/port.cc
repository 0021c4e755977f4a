// SPDX-License-Identifier: BSD-3-Clause
#include "netdev/port.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eth_vhost.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <spdlog/spdlog.h>

namespace dpswitch::netdev {
namespace {

// L2 bytes a frame adds to its MTU: Ethernet header, CRC and two VLAN tags.
constexpr uint32_t kL2Overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 2 * 4;

std::string Err(const PortSpec& s, const std::string& what, int rc) {
  return "port '" + s.name + "' (" + s.devargs + "): " + what + ": " + rte_strerror(-rc);
}

// A vdev name no other port of this process has (net_vhost names must be
// unique, and a closed port's name may be probed again only once removed).
unsigned NextVhostId() {
  static std::atomic<unsigned> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// A server socket left behind by a dpswitch that did not exit cleanly makes
// net_vhost's bind fail: remove it if nobody listens on it. A file that is
// not a socket, or a socket someone accepts on, is left alone (bind then
// fails and the port reports it).
void RemoveStaleSocket(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const bool refused = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
                       errno == ECONNREFUSED;
  close(fd);
  if (refused) unlink(path.c_str());
}

// net_vhost devargs for a vhost-user port. client=1 makes librte_vhost
// connect to QEMU's socket and, as no RTE_VHOST_USER_NO_RECONNECT flag is
// set, retry every second until it can, and again whenever QEMU restarts;
// client=0 listens on the socket (removed again when the port closes).
// Options left at their defaults: iommu-support (only for guests with a
// vIOMMU), postcopy-support (post-copy live migration), tso (off: we do not
// segment), linear-buffer / ext-buffer (our mbufs are sized for the MTU;
// longer frames arrive chained), legacy-ol-flags. dequeue-zero-copy no
// longer exists (removed in DPDK 20.11).
std::string VhostDevargs(const PortSpec& s) {
  if (s.socket.empty()) throw PortError("port '" + s.name + "': vhost-user port without socket");
  if (s.socket.find_first_of(",=") != std::string::npos)
    throw PortError("port '" + s.name + "': socket path '" + s.socket +
                    "' contains ',' or '=', which DPDK devargs cannot carry");
  return "net_vhost" + std::to_string(NextVhostId()) + ",iface=" + s.socket +
         ",queues=" + std::to_string(s.rxq) +
         ",client=" + (s.type == PortType::kVhostClient ? "1" : "0");
}

int EventCallback(uint16_t port_id, rte_eth_event_type event, void* self, void*) {
  return Port::OnEvent(port_id, event, self);
}

}  // namespace

Port::Port(PortSpec spec) : spec_(std::move(spec)) {
  if (IsVhost()) {
    spec_.devargs = VhostDevargs(spec_);
    if (spec_.type == PortType::kVhostServer) RemoveStaleSocket(spec_.socket);
  }
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
  if (IsVhost()) {
    // Registered before configure (which is when net_vhost starts its
    // socket), so no event is missed.
    for (auto ev : {RTE_ETH_EVENT_INTR_LSC, RTE_ETH_EVENT_QUEUE_STATE}) {
      const int rc = rte_eth_dev_callback_register(port_id_, ev, &EventCallback, this);
      if (rc != 0) {
        Close();
        throw PortError(Err(spec_, "cannot register the link / queue event callbacks", rc));
      }
    }
    callbacks_ = true;
  }
}

// DPDK's vhost-events thread: atomics only.
int Port::OnEvent(uint16_t port_id, int event, void* self) noexcept {
  auto* p = static_cast<Port*>(self);
  if (event == RTE_ETH_EVENT_QUEUE_STATE) {
    p->queue_events_.store(true, std::memory_order_release);
  } else if (event == RTE_ETH_EVENT_INTR_LSC) {
    // net_vhost sets the link before raising the event; get_nowait only
    // copies it. A device destroyed is also the moment net_vhost forgets
    // its queue states (without queue events): PollState must too.
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port_id, &link) == 0 && link.link_status == RTE_ETH_LINK_DOWN)
      p->link_down_events_.fetch_add(1, std::memory_order_acq_rel);
  }
  return 0;
}

void Port::UnregisterCallbacks() noexcept {
  if (!callbacks_) return;
  for (auto ev : {RTE_ETH_EVENT_INTR_LSC, RTE_ETH_EVENT_QUEUE_STATE}) {
    // -EAGAIN: the callback runs right now; it is short.
    while (rte_eth_dev_callback_unregister(port_id_, ev, &EventCallback, this) == -EAGAIN)
      rte_delay_us_sleep(100);
  }
  callbacks_ = false;
}

uint16_t Port::MaxTxQueues() const {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id_, &info) != 0) return 1;
  return std::max<uint16_t>(info.max_tx_queues, 1);
}

bool Port::PollState(PortState* state) {
  state->up = LinkUp();
  state->tx_enabled.clear();
  if (!IsVhost()) {
    for (uint16_t q = 0; q < n_txq_; q++) state->tx_enabled.push_back(q);
  } else {
    if (txq_enabled_.size() != n_txq_) txq_enabled_.assign(n_txq_, false);
    // Order matters: a destroyed device's queue states are forgotten first,
    // then the events since (which net_vhost raises after the LSC event of
    // the destroy, on the same thread) are read.
    const uint32_t downs = link_down_events_.load(std::memory_order_acquire);
    const uint32_t new_downs = downs - seen_down_events_;
    if (new_downs != 0) {
      seen_down_events_ = downs;
      std::fill(txq_enabled_.begin(), txq_enabled_.end(), false);
      // Every down ends an "up" period; all of them except the one that
      // takes a reported-up link down for good are round trips.
      const bool went_down = polled_ && last_up_ && !state->up;
      state->flaps = went_down ? new_downs - 1 : new_downs;
      if (!polled_ && !state->up) state->flaps = 0;  // nothing reported yet to flap from
    }
    if (queue_events_.exchange(false, std::memory_order_acq_rel)) {
      rte_eth_vhost_queue_event ev{};
      while (rte_eth_vhost_get_queue_event(port_id_, &ev) == 0) {
        // rx: the guest's tx ring (our rx queue); we care about our tx side.
        if (!ev.rx && ev.queue_id < txq_enabled_.size()) txq_enabled_[ev.queue_id] = ev.enable;
      }
    }
    if (state->up)
      for (uint16_t q = 0; q < txq_enabled_.size(); q++)
        if (txq_enabled_[q]) state->tx_enabled.push_back(q);
  }
  const bool changed = !polled_ || state->up != last_up_ || state->tx_enabled != last_tx_ ||
                       state->flaps != 0;
  polled_ = true;
  last_up_ = state->up;
  last_tx_ = state->tx_enabled;
  return changed;
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
  // MTU and segments. The frame is the MTU plus the largest L2 overhead
  // (Ethernet, CRC, two VLAN tags: OVS's ETHER_HDR_MAX_LEN). When it does not
  // fit one mbuf, the device must scatter it into a chain (the datapath
  // handles chains); chains are sent as they are where the device can.
  uint16_t mtu = spec_.mtu;
  if (mtu != 0) {
    if (mtu > info.max_mtu || mtu < info.min_mtu)
      throw PortError("port '" + spec_.name + "': mtu " + std::to_string(mtu) +
                      " is outside the device's range " + std::to_string(info.min_mtu) + "-" +
                      std::to_string(info.max_mtu));
    conf.rxmode.mtu = mtu;
  } else if (rte_eth_dev_get_mtu(port_id_, &mtu) != 0) {
    mtu = RTE_ETHER_MTU;
  }
  const uint32_t frame = uint32_t{mtu} + kL2Overhead;
  const uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
  const bool scatter = frame > room && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) != 0;
  if (scatter) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
  const bool multi_segs = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
  if (multi_segs) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  rc = rte_eth_dev_configure(port_id_, spec_.rxq, n_txq, &conf);
  if (rc != 0) throw PortError(Err(spec_, "configure failed", rc));
  if (spec_.mtu != 0) {
    rc = rte_eth_dev_set_mtu(port_id_, spec_.mtu);
    // Drivers without an mtu_set operation took it from rxmode.mtu above.
    if (rc != 0 && rc != -ENOTSUP)
      throw PortError(Err(spec_, "cannot set mtu " + std::to_string(spec_.mtu), rc));
  }
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
  spdlog::info("port {}: mtu {}{} (frames up to {} bytes, mbuf data room {}): rx scatter {}, "
               "tx multi-segment {}",
               spec_.name, mtu, spec_.mtu ? "" : " (device default)", frame, room,
               scatter ? "on" : "off", multi_segs ? "on" : "off (not supported)");
  if (frame > room && !scatter)
    spdlog::warn("port {}: frames up to {} bytes do not fit the {}-byte mbufs and the device "
                 "cannot scatter them: larger frames may be dropped (raise datapath.mbuf-size)",
                 spec_.name, frame, room);
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
  UnregisterCallbacks();
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
