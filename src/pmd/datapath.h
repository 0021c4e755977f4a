// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Datapath: the fast-path side of the switch — ports by datapath index, one
// dpcls per in_port, the PMD threads, the upcall and completion rings and
// the RCU domain that makes lock-free reads safe.
//
// Start-up: construct, AddPort for every port, Launch() (PMD threads start
// on their lcores and wait), the caller starts the ports and the handlers,
// then Go() lets the PMDs poll — so no packet is read before the whole
// switch, flow tables included, is ready. Shutdown: Halt() stops and joins
// the PMDs (freeing whatever sits on the rings); ports are closed after.
//
// Writers of dpcls (handlers installing, revalidators deleting and replacing,
// control flushing) hold writer_mutex(); after removing megaflows they bump
// the removal generation, which makes every PMD sweep its EMC before its next
// quiescent state.
//
// Tx queues: every port has n_txq tx queues (Port::n_txq(): at most one per
// PMD). PMD p's own queue on a port is p % n_txq; a queue with more than one
// PMD is taken under its spinlock (only then). A vhost port's usable queues
// are the ones its guest enabled: SetTxQueues remaps PMDs onto those (one of
// the enabled queues for each disabled one, as OVS does), or to nothing — the
// PMDs then drop and count — when the guest enabled none.
//
// RCU readers: the PMDs (thread ids 0..n_pmds-1) and `extra_rcu_readers`
// more (ids from n_pmds up: the revalidators, which hold megaflow pointers
// from a dump while they work on them). A reader that is offline does not
// hold up reclamation.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "classifier/dpcls.h"
#include "classifier/rcu_reclaimer.h"
#include "pmd/pmd_stats.h"
#include "pmd/tx_batch.h"

struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace dpswitch::netdev {
class Port;
}

namespace dpswitch::pmd {

class PmdThread;

struct DatapathConfig {
  std::vector<unsigned> pmd_lcores;  // one PMD per lcore
  unsigned n_handlers = 1;           // upcall rings
  uint32_t emc_entries = 8192;
  uint32_t emc_insert_inv_prob = 100;
  uint32_t upcall_ring_size = 4096;  // per handler, and per PMD completion ring
  unsigned extra_rcu_readers = 0;    // RCU reader slots besides the PMDs (revalidators)
};

// Why a megaflow was deleted (counted per reason).
enum class FlowDeleteReason : uint8_t {
  kIdle,        // unused for longer than max-idle
  kFlowLimit,   // evicted to get under the flow limit
  kRevalidate,  // re-translation needs other bits (mask) than the megaflow has
  kFlush,       // flush-megaflows (or shutdown)
  kCount
};

// An rx queue as a PMD polls it.
struct RxqAssignment {
  uint16_t dp_port;  // datapath port index
  uint16_t queue;    // rx queue id
  unsigned lcore;    // PMD lcore polling it
};

class Datapath final {
 public:
  Datapath(DatapathConfig cfg, rte_mempool* pool);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // Before Launch: registers a port under `dp_index` (< kMaxPorts) with its
  // OpenFlow number. `port` may be null only in tests that never Launch.
  void AddPort(uint16_t dp_index, uint32_t ofport, netdev::Port* port);
  // Creates rings and PMD threads (rx queues round-robin over PMDs) and the
  // tx routes (every queue of a DPDK port usable; none of a vhost port until
  // SetTxQueues); the PMDs wait for Go(). Throws std::runtime_error on failure.
  void Launch();
  // Lets the PMDs poll.
  void Go() noexcept;
  // Stops and joins the PMDs. Idempotent.
  void Halt() noexcept;
  // After Halt and after the handlers stopped: frees packets left on rings.
  void DrainRings() noexcept;

  // --- handler / control side ------------------------------------------------
  std::mutex& writer_mutex() noexcept { return writer_mu_; }
  // The dpcls of a port (nullptr if unknown). Readers need no lock.
  cls::Dpcls* dpcls(uint16_t dp_index) const noexcept;
  uint16_t DpIndexOfOfport(uint32_t ofport) const noexcept;  // kMaxPorts if unknown
  // Writer (mutex held): unlinks a megaflow and makes PMDs sweep their EMCs.
  // A flow already dead (removed by someone else) is left alone: returns false.
  bool RemoveFlowLocked(cls::Megaflow* flow, FlowDeleteReason reason);
  // Writer (mutex held): puts `fresh` (same in_port, mask and key as `old`,
  // other actions) in place of `old`. Returns false, and leaves `fresh` to
  // the caller, if `old` is already dead. If an equal live megaflow appeared
  // meanwhile, `fresh` is destroyed and that one stays.
  bool ReplaceFlowLocked(cls::Megaflow* old, cls::Megaflow* fresh);
  // Writer (takes the mutex): removes every megaflow. Returns how many.
  size_t FlushFlows();
  // Every live megaflow (takes the mutex one dpcls at a time). The pointers
  // stay valid only while the caller is an online RCU reader.
  void DumpFlows(std::vector<cls::Megaflow*>* out);
  size_t FlowCount() const noexcept;
  size_t MaskCount();  // takes the writer mutex
  uint64_t Deleted(FlowDeleteReason reason) const noexcept {
    return deleted_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }
  rte_rcu_qsbr* qsbr() const noexcept { return qsbr_; }
  // RCU thread id of extra reader i (< extra_rcu_readers).
  unsigned ExtraReaderId(unsigned i) const noexcept {
    return static_cast<unsigned>(cfg_.pmd_lcores.size()) + i;
  }
  cls::RcuReclaimer& reclaimer() noexcept { return *reclaimer_; }
  rte_mempool* pool() const noexcept { return pool_; }

  rte_ring* upcall_ring(unsigned handler) const noexcept { return upcall_rings_[handler]; }
  // Completion ring from `handler` to `pmd`: single producer, single
  // consumer. One per pair, because handlers are ordinary threads that share
  // cores: a producer preempted between reserving and publishing a slot of a
  // multi-producer ring would make the other handlers spin until it runs
  // again (seen as a near stall with two handlers on one core).
  rte_ring* completion_ring(unsigned pmd, unsigned handler) const noexcept {
    return completion_rings_[pmd * cfg_.n_handlers + handler];
  }
  unsigned n_handlers() const noexcept { return cfg_.n_handlers; }
  size_t n_pmds() const noexcept { return pmds_.size(); }

  // Removal generation: bumped by writers after unlinking megaflows; PMDs
  // sweep their EMC when it changes.
  uint64_t removal_generation() const noexcept {
    return removal_gen_.load(std::memory_order_acquire);
  }

  // Control side (one caller at a time; blocks for up to two RCU grace
  // periods): the tx queues of a port that may be used now, e.g. the ones a
  // vhost guest enabled (ids >= the port's n_txq are ignored; empty: drop
  // all). Remaps the PMDs and publishes their routes so that no two PMDs ever
  // share a queue without both taking its lock: first every PMD locks the
  // queue it uses, then all move (still locking), then the locks that are no
  // longer needed are dropped, with a grace period between the steps.
  void SetTxQueues(uint16_t dp_index, const std::vector<uint16_t>& enabled);
  // PMD i's route on a port (kRoute* words, see tx_batch.h): for tests and
  // `show` commands.
  uint32_t TxRoute(uint16_t dp_index, size_t pmd) const;
  // The routes for n_pmds PMDs on a port with n_txq queues of which `enabled`
  // are usable (pure; exposed for unit tests).
  static std::vector<uint32_t> ComputeTxRoutes(size_t n_pmds, uint16_t n_txq,
                                               const std::vector<uint16_t>& enabled);

  // --- stats -----------------------------------------------------------------
  struct PmdInfo {
    unsigned lcore;
    std::vector<RxqAssignment> rxqs;
    PmdStatsSnapshot stats;
  };
  std::vector<PmdInfo> PmdInfos() const;
  uint64_t PortTxDropped(uint16_t dp_index) const;  // summed over PMDs
  void ClearPmdStats();
  bool running() const noexcept { return launched_; }

 private:
  DatapathConfig cfg_;
  rte_mempool* pool_;                          // packet buffers
  rte_rcu_qsbr* qsbr_ = nullptr;               // PMDs are its readers (thread id = PMD index)
  std::unique_ptr<cls::RcuReclaimer> reclaimer_;
  netdev::Port* ports_[kMaxPorts] = {};        // set before Launch, read-only after
  uint32_t ofports_[kMaxPorts] = {};           // OpenFlow number per dp index (0 = none)
  std::unique_ptr<cls::Dpcls> dpcls_[kMaxPorts];  // one per port, created by AddPort
  std::vector<std::unique_ptr<PmdThread>> pmds_;
  std::vector<rte_ring*> upcall_rings_;        // one per handler: PMDs produce, handler consumes
  std::vector<rte_ring*> completion_rings_;    // per (PMD, handler), see completion_ring()
  std::vector<PmdStatsSnapshot> baseline_;     // for ClearPmdStats (control thread only)
  // Tx queue locks per port (n_txq each), created by Launch, read by PMDs.
  std::unique_ptr<TxQueueLock[]> tx_locks_[kMaxPorts];
  // Routes last published per port (one per PMD), under tx_mu_.
  std::vector<uint32_t> tx_routes_[kMaxPorts];
  std::mutex tx_mu_;                           // serialises SetTxQueues
  std::mutex writer_mu_;                       // serialises dpcls writers
  std::atomic<uint64_t> removal_gen_{0};       // see removal_generation()
  std::atomic<uint64_t> deleted_[static_cast<size_t>(FlowDeleteReason::kCount)] = {};
  bool launched_ = false;
};

}  // namespace dpswitch::pmd
