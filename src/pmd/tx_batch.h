// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Per-PMD transmit batching: packets for a port accumulate until 32 are
// queued or the poll iteration ends, then go out in one rte_eth_tx_burst.
// Unsent packets are freed and counted.
//
// Which tx queue of a port a PMD uses is its route for that port, one 32-bit
// word the control side publishes (Datapath::SetTxQueues) and the PMD reads
// once per batch:
//   - a queue id, taken without a lock: the common case (a DPDK port with a
//     tx queue per PMD), as fast as a fixed queue;
//   - a queue id plus kRouteLocked: the queue is shared with other PMDs (a
//     port with fewer tx queues than PMDs, or a vhost port whose guest
//     enabled fewer queues), so the burst goes out under that queue's
//     rte_spinlock, as Open vSwitch's netdev-dpdk tx_q locks;
//   - kRouteNone: nowhere to send (a vhost port with no guest, or a guest
//     whose driver enabled no queue): packets are freed and counted as tx
//     drops as they come, never queued.
// Routes change only while the control side follows a protocol that never
// lets two PMDs use one queue unless both lock (see Datapath::SetTxQueues).

#include <atomic>
#include <cstdint>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include "pmd/pmd_stats.h"

namespace dpswitch::pmd {

inline constexpr uint16_t kMaxPorts = 256;  // datapath port indexes 0..255
inline constexpr uint16_t kTxBurst = 32;

// Route words (see above): low 16 bits the tx queue id.
inline constexpr uint32_t kRouteQueueMask = 0xffff;
inline constexpr uint32_t kRouteLocked = 1u << 16;  // take the queue's lock around the burst
inline constexpr uint32_t kRouteNone = 1u << 17;    // no usable queue: drop

// One tx queue's lock, alone on its cache line (PMDs on different queues do
// not share lines).
struct alignas(64) TxQueueLock {
  rte_spinlock_t lock = RTE_SPINLOCK_INITIALIZER;
};
static_assert(sizeof(TxQueueLock) == 64);

class TxBatches final {
 public:
  // queue: the tx queue this PMD uses on every port until SetRoute says
  // otherwise.
  explicit TxBatches(uint16_t queue) noexcept {
    for (auto& b : batches_) {
      b.n = 0;
      b.listed = false;
      b.route = 0;
    }
    for (auto& p : eth_port_) p = kNoPort;
    for (auto& r : route_) r.store(queue, std::memory_order_relaxed);
    for (auto& l : locks_) l = nullptr;
  }

  // Maps datapath port index -> ethdev port id (control side, before start).
  void SetPort(uint16_t dp_port, uint16_t eth_port) noexcept { eth_port_[dp_port] = eth_port; }
  // The port's per-queue locks (control side, before start; needed before
  // any route with kRouteLocked).
  void SetQueueLocks(uint16_t dp_port, TxQueueLock* locks) noexcept { locks_[dp_port] = locks; }
  // Publishes a route (control side, any time; see Datapath::SetTxQueues).
  void SetRoute(uint16_t dp_port, uint32_t route) noexcept {
    route_[dp_port].store(route, std::memory_order_release);
  }
  uint32_t Route(uint16_t dp_port) const noexcept {
    return route_[dp_port].load(std::memory_order_acquire);
  }

  void Enqueue(uint16_t dp_port, rte_mbuf* m) noexcept {
    if (dp_port >= kMaxPorts || eth_port_[dp_port] == kNoPort) [[unlikely]] {
      rte_pktmbuf_free(m);
      Bump(dropped_[dp_port < kMaxPorts ? dp_port : 0]);
      return;
    }
    Batch& b = batches_[dp_port];
    if (b.n == 0) b.route = route_[dp_port].load(std::memory_order_acquire);
    if (b.route & kRouteNone) [[unlikely]] {
      rte_pktmbuf_free(m);
      Bump(dropped_[dp_port]);
      return;
    }
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
    uint32_t route;             // route read with the batch's first packet
    rte_mbuf* pkts[kTxBurst];   // queued packets
  };

  void Flush(uint16_t dp_port) noexcept {
    Batch& b = batches_[dp_port];
    if (b.n == 0) return;
    const auto q = static_cast<uint16_t>(b.route & kRouteQueueMask);
    uint16_t sent;
    if (!(b.route & kRouteLocked)) [[likely]] {
      sent = rte_eth_tx_burst(eth_port_[dp_port], q, b.pkts, b.n);
    } else {
      rte_spinlock_t* lock = &locks_[dp_port][q].lock;
      rte_spinlock_lock(lock);
      sent = rte_eth_tx_burst(eth_port_[dp_port], q, b.pkts, b.n);
      rte_spinlock_unlock(lock);
    }
    if (sent < b.n) [[unlikely]] {
      rte_pktmbuf_free_bulk(&b.pkts[sent], b.n - sent);
      Bump(dropped_[dp_port], b.n - sent);
    }
    b.n = 0;
  }

  uint16_t n_pending_ = 0;                       // entries in pending_
  uint16_t pending_[kMaxPorts];                  // ports with queued packets
  uint16_t eth_port_[kMaxPorts];                 // dp index -> ethdev port id
  Batch batches_[kMaxPorts];                     // per-port queue
  // Written by the control side (SetRoute), read by this PMD once per batch.
  std::atomic<uint32_t> route_[kMaxPorts];
  TxQueueLock* locks_[kMaxPorts];                // per port, owned by Datapath; set before start
  std::atomic<uint64_t> dropped_[kMaxPorts]{};   // written by the PMD, read by control
};

}  // namespace dpswitch::pmd
