// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Per-PMD transmit batching: packets for a port accumulate until 32 are
// queued or the poll iteration ends, then go out in one rte_eth_tx_burst on
// the PMD's own tx queue of that port. Unsent packets are freed and counted.

#include <atomic>
#include <cstdint>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "pmd/pmd_stats.h"

namespace dpswitch::pmd {

inline constexpr uint16_t kMaxPorts = 256;  // datapath port indexes 0..255
inline constexpr uint16_t kTxBurst = 32;

class TxBatches final {
 public:
  // queue: the tx queue this PMD owns on every port.
  explicit TxBatches(uint16_t queue) noexcept : queue_(queue) {
    for (auto& b : batches_) {
      b.n = 0;
      b.listed = false;
    }
    for (auto& p : eth_port_) p = kNoPort;
  }

  // Maps datapath port index -> ethdev port id (control side, before start).
  void SetPort(uint16_t dp_port, uint16_t eth_port) noexcept { eth_port_[dp_port] = eth_port; }

  void Enqueue(uint16_t dp_port, rte_mbuf* m) noexcept {
    if (dp_port >= kMaxPorts || eth_port_[dp_port] == kNoPort) [[unlikely]] {
      rte_pktmbuf_free(m);
      Bump(dropped_[dp_port < kMaxPorts ? dp_port : 0]);
      return;
    }
    Batch& b = batches_[dp_port];
    if (!b.listed) {
      b.listed = true;
      pending_[n_pending_++] = dp_port;
    }
    b.pkts[b.n++] = m;
    if (b.n == kTxBurst) Flush(dp_port);
  }

  void FlushAll() noexcept {
    for (uint16_t i = 0; i < n_pending_; i++) {
      Flush(pending_[i]);
      batches_[pending_[i]].listed = false;
    }
    n_pending_ = 0;
  }

  // Packets dropped on tx for a port (read by the control side).
  uint64_t Dropped(uint16_t dp_port) const noexcept {
    return dropped_[dp_port].load(std::memory_order_relaxed);
  }
  uint64_t TotalDropped() const noexcept {
    uint64_t t = 0;
    for (const auto& d : dropped_) t += d.load(std::memory_order_relaxed);
    return t;
  }

 private:
  static constexpr uint16_t kNoPort = 0xffff;
  struct Batch {
    uint16_t n;                 // packets queued
    bool listed;                // in pending_ (each port at most once)
    rte_mbuf* pkts[kTxBurst];   // queued packets
  };

  void Flush(uint16_t dp_port) noexcept {
    Batch& b = batches_[dp_port];
    if (b.n == 0) return;
    const uint16_t sent = rte_eth_tx_burst(eth_port_[dp_port], queue_, b.pkts, b.n);
    if (sent < b.n) [[unlikely]] {
      rte_pktmbuf_free_bulk(&b.pkts[sent], b.n - sent);
      Bump(dropped_[dp_port], b.n - sent);
    }
    b.n = 0;
  }

  uint16_t queue_;                               // this PMD's tx queue id
  uint16_t n_pending_ = 0;                       // entries in pending_
  uint16_t pending_[kMaxPorts];                  // ports with queued packets
  uint16_t eth_port_[kMaxPorts];                 // dp index -> ethdev port id
  Batch batches_[kMaxPorts];                     // per-port queue
  std::atomic<uint64_t> dropped_[kMaxPorts]{};   // written by the PMD, read by control
};

}  // namespace dpswitch::pmd
