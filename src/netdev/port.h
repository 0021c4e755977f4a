// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Port: one DPDK ethdev (any vdev devargs or a PCI address) as dpswitch uses
// it: probed at configuration time, configured with the rx queues the config
// asks for and one tx queue per PMD thread (so PMDs never share a tx queue
// and need no tx locks), started once the datapath is ready, stopped and
// closed last at shutdown so drivers flush (net_pcap writes its tx file on
// close).
//
// Control path only: probing, configuration and stats reading may block,
// allocate and throw. The PMDs use nothing here but the port id.

#include <cstdint>
#include <stdexcept>
#include <string>

struct rte_mempool;

namespace dpswitch::netdev {

class PortError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PortSpec {
  std::string name;     // user's port name ([port.NAME])
  std::string devargs;  // "net_pcap0,rx_pcap=..." or "0000:01:00.0"
  uint32_t ofport = 0;  // OpenFlow port number
  uint16_t rxq = 1;     // rx queues
  uint16_t rxd = 1024;  // rx descriptors per queue
  uint16_t txd = 1024;  // tx descriptors per queue
};

// Counters as shown by `show ports`.
struct PortCounters {
  uint64_t rx_packets = 0, rx_bytes = 0, rx_missed = 0, rx_errors = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, tx_errors = 0;
};

class Port final {
 public:
  // Probes the device (hot-plugs a vdev / attaches a PCI device) and finds its
  // ethdev. Throws PortError naming the port on failure; nothing is left
  // attached then.
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

  PortCounters Counters() const;
  void ClearCounters();
  bool LinkUp() const;
  int SocketId() const;

  const PortSpec& spec() const noexcept { return spec_; }
  uint16_t port_id() const noexcept { return port_id_; }
  uint16_t n_txq() const noexcept { return n_txq_; }
  const std::string& driver() const noexcept { return driver_; }

 private:
  PortSpec spec_;
  uint16_t port_id_ = 0;   // ethdev port id
  uint16_t n_txq_ = 0;     // tx queues configured
  bool started_ = false;
  bool open_ = false;      // probed and not yet closed
  std::string driver_;     // ethdev driver name, for `show ports`
};

}  // namespace dpswitch::netdev
