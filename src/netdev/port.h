// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Port: one DPDK ethdev (any vdev devargs or a PCI address) as dpswitch uses
// it: probed at configuration time, configured with the rx queues the config
// asks for and one tx queue per PMD thread (so PMDs never share a tx queue
// and need no tx locks), started once the datapath is ready, stopped and
// closed last at shutdown so drivers flush (net_pcap writes its tx file on
// close).
//
// vhost-user ports (dpdkvhostuser: we create the socket; dpdkvhostuserclient:
// QEMU does, we connect) are DPDK's net_vhost PMD, probed from generated
// devargs. net_vhost is the maintained wrapper of librte_vhost that DPDK's own
// tools use: it gives a vhost socket the ethdev API every other port has
// (rx/tx burst, stats, link state, hot-unplug), so the PMDs need no second
// code path; talking to librte_vhost directly (as OVS does) would mean our own
// virtqueue handling, feature negotiation and reconnection logic. Its link is
// up while a virtio driver is attached (QEMU connected and the guest driver
// ready), and it reports which virtqueues the guest enabled.
//
// Events: net_vhost raises RTE_ETH_EVENT_INTR_LSC and RTE_ETH_EVENT_QUEUE_STATE
// on the vhost-events thread; our callbacks only bump atomics. The control
// side calls PollState() (every 100 ms) to learn of link changes and of the
// tx queues the guest enabled.
//
// Control path only: probing, configuration and stats reading may block,
// allocate and throw. The PMDs use nothing here but the port id.

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

struct rte_mempool;

namespace dpswitch::netdev {

class PortError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class PortType : uint8_t {
  kDpdk,         // any DPDK ethdev, by devargs
  kVhostServer,  // vhost-user, dpswitch creates `socket` (OVS dpdkvhostuser)
  kVhostClient,  // vhost-user, QEMU creates `socket`; dpswitch connects and reconnects
};

struct PortSpec {
  std::string name;     // user's port name ([port.NAME])
  PortType type = PortType::kDpdk;
  std::string devargs;  // kDpdk: "net_pcap0,rx_pcap=..." or "0000:01:00.0" (vhost types:
                        // Port fills in the net_vhost devargs it generates)
  std::string socket;   // vhost types: unix socket path
  uint32_t ofport = 0;  // OpenFlow port number
  uint16_t rxq = 1;     // rx queues (vhost types: the queue pairs)
  uint16_t mtu = 0;     // 0: leave the device's default
  uint16_t rxd = 1024;  // rx descriptors per queue
  uint16_t txd = 1024;  // tx descriptors per queue
};

// Counters as shown by `show ports`.
struct PortCounters {
  uint64_t rx_packets = 0, rx_bytes = 0, rx_missed = 0, rx_errors = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, tx_errors = 0;
};

// What PollState reports.
struct PortState {
  bool up = false;                  // link up (vhost: a virtio driver is attached)
  // Round trips of the link away from its last reported state and back that
  // happened between two polls (a guest that attached, sent and left within
  // one poll interval): each is two port-status events nobody saw as a
  // state. Counted from vhost link events; always 0 for other ports.
  uint32_t flaps = 0;
  std::vector<uint16_t> tx_enabled; // tx queues (< n_txq) usable now (vhost: enabled by the
                                    // guest, and none while the link is down)
};

class Port final {
 public:
  // Probes the device (hot-plugs a vdev / attaches a PCI device; for vhost
  // types, a net_vhost vdev on spec.socket) and finds its ethdev. Throws
  // PortError naming the port on failure; nothing is left attached then.
  explicit Port(PortSpec spec);
  ~Port();  // Stop + Close if still open
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  // Configures `spec.rxq` rx queues from `pool` and `n_txq` tx queues.
  void Configure(uint16_t n_txq, rte_mempool* pool);
  void Start();
  void Stop() noexcept;
  // Closes the ethdev and detaches the device (flushes net_pcap's output).
  void Close() noexcept;

  // Control side (one caller): the link and usable tx queues now; returns
  // true if either changed since the last call (the first call: true).
  bool PollState(PortState* state);
  // The most tx queues the device takes (vhost: `queues`).
  uint16_t MaxTxQueues() const;
  bool IsVhost() const noexcept { return spec_.type != PortType::kDpdk; }
  // The LSC / QUEUE_STATE event handler (DPDK's event thread; atomics only).
  // Public for the C callback in port.cc only.
  static int OnEvent(uint16_t port_id, int event, void* self) noexcept;

  PortCounters Counters() const;
  void ClearCounters();
  bool LinkUp() const;
  int SocketId() const;

  const PortSpec& spec() const noexcept { return spec_; }
  uint16_t port_id() const noexcept { return port_id_; }
  uint16_t n_txq() const noexcept { return n_txq_; }
  const std::string& driver() const noexcept { return driver_; }

 private:
  void UnregisterCallbacks() noexcept;

  PortSpec spec_;
  uint16_t port_id_ = 0;   // ethdev port id
  uint16_t n_txq_ = 0;     // tx queues configured
  bool started_ = false;
  bool open_ = false;      // probed and not yet closed
  std::string driver_;     // ethdev driver name, for `show ports`
  bool callbacks_ = false; // LSC / QUEUE_STATE callbacks registered (vhost)

  // Written by the event callbacks (DPDK's vhost-events thread), read by
  // PollState (control side).
  std::atomic<uint32_t> link_down_events_{0};  // LSC events that found the link down
  std::atomic<bool> queue_events_{false};      // queue state events wait in net_vhost

  // Control side only (PollState).
  bool polled_ = false;             // PollState ran at least once
  bool last_up_ = false;            // link as last reported
  uint32_t seen_down_events_ = 0;   // link_down_events_ as last seen
  std::vector<bool> txq_enabled_;   // vhost: per tx queue, enabled by the guest
  std::vector<uint16_t> last_tx_;   // tx_enabled as last reported
};

}  // namespace dpswitch::netdev
