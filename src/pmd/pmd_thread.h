// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// PmdThread: one poll-mode thread on one pinned lcore. Each iteration:
//   1. for each assigned rx queue: rx burst (32) -> parse -> EMC -> dpcls ->
//      execute hits, send misses to a handler ring (by key hash), drop and
//      count when that ring is full;
//   2. execute the packets handlers returned on the completion ring;
//   3. flush tx batches;
//   4. if megaflows were removed since the last look, sweep the EMC;
//   5. report an RCU quiescent state.
// Nothing in the loop allocates, locks, logs or makes a syscall.

#include <atomic>
#include <cstdint>
#include <vector>

#include "pmd/action_executor.h"
#include "pmd/datapath.h"
#include "pmd/emc.h"
#include "pmd/pmd_stats.h"
#include "pmd/tx_batch.h"

struct rte_rcu_qsbr;
struct rte_ring;

namespace dpswitch::pmd {

struct PmdRxq {
  uint16_t dp_port;  // datapath index of the port
  uint16_t eth_port; // ethdev port id
  uint16_t queue;    // rx queue id
  uint32_t ofport;   // OpenFlow in_port for keys
};

class PmdThread final {
 public:
  PmdThread(Datapath* dp, uint16_t index, unsigned lcore, rte_rcu_qsbr* qsbr,
            uint32_t emc_entries, uint32_t emc_insert_inv_prob);

  void AddRxq(const PmdRxq& q) { rxqs_.push_back(q); }
  // Before Launch: the port's ethdev id and its tx queue locks.
  void SetTxPort(uint16_t dp_port, uint16_t eth_port, TxQueueLock* locks) noexcept {
    tx_.SetPort(dp_port, eth_port);
    tx_.SetQueueLocks(dp_port, locks);
  }
  // Launches on the lcore (rte_eal_remote_launch); polling starts at Go().
  void Launch();
  void Go() noexcept { go_.store(true, std::memory_order_release); }
  // Asks the loop to end and waits for it.
  void Stop() noexcept;

  unsigned lcore() const noexcept { return lcore_; }
  const std::vector<PmdRxq>& rxqs() const noexcept { return rxqs_; }
  const PmdStats& stats() const noexcept { return stats_; }
  const TxBatches& tx() const noexcept { return tx_; }
  TxBatches& tx() noexcept { return tx_; }  // control side: SetRoute only

 private:
  static int Main(void* self);
  void Run() noexcept;
  void ProcessBurst(const PmdRxq& q, rte_mbuf** pkts, uint32_t n) noexcept;
  void ProcessCompletions(rte_ring* ring) noexcept;  // one handler's completion ring
  void Upcall(const PmdRxq& q, rte_mbuf* m, uint32_t hash) noexcept;

  PmdStats stats_;                // written by this PMD only
  Datapath* dp_;
  uint16_t index_;                // RCU thread id and completion ring index
  unsigned lcore_;
  rte_rcu_qsbr* qsbr_;
  Emc emc_;
  TxBatches tx_;
  ExecContext exec_;
  std::vector<PmdRxq> rxqs_;      // fixed before Launch
  uint64_t seen_removal_gen_ = 0; // last removal generation swept
  std::atomic<bool> go_{false};   // control -> PMD: start polling
  std::atomic<bool> stop_{false}; // control -> PMD: leave the loop
  bool launched_ = false;
};

}  // namespace dpswitch::pmd
