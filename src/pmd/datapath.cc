// SPDX-License-Identifier: BSD-3-Clause
#include "pmd/datapath.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "netdev/port.h"
#include "pmd/pmd_thread.h"
#include "pmd/upcall.h"

namespace dpswitch::pmd {

int g_upcall_meta_offset = -1;

bool RegisterUpcallField() noexcept {
  static const rte_mbuf_dynfield desc = {"dpswitch_upcall_meta", sizeof(UpcallMeta),
                                         alignof(UpcallMeta), 0};
  if (g_upcall_meta_offset >= 0) return true;
  g_upcall_meta_offset = rte_mbuf_dynfield_register(&desc);
  return g_upcall_meta_offset >= 0;
}

namespace {

rte_ring* MakeRing(const std::string& name, uint32_t size, unsigned flags) {
  rte_ring* r = rte_ring_create(name.c_str(), size, static_cast<int>(rte_socket_id()), flags);
  if (!r)
    throw std::runtime_error("cannot create ring " + name + " of " + std::to_string(size) +
                             ": " + rte_strerror(rte_errno));
  return r;
}

// Waits until every online RCU reader (the PMDs among them) passed a
// quiescent state: no PMD still uses a route read before the call. PMDs read
// a route at most one poll iteration before their quiescent state.
void WaitGrace(rte_rcu_qsbr* qsbr) {
  const uint64_t token = rte_rcu_qsbr_start(qsbr);
  while (rte_rcu_qsbr_check(qsbr, token, false) != 1)
    std::this_thread::sleep_for(std::chrono::microseconds(50));
}

void FreeRing(rte_ring* r) {
  if (!r) return;
  void* objs[32];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(r, objs, 32, nullptr)) > 0) {
    for (unsigned i = 0; i < n; i++) {
      auto* m = static_cast<rte_mbuf*>(objs[i]);
      if (UpcallMeta* meta = GetUpcallMeta(m); meta->flow)
        meta->flow->upcall_refs.fetch_sub(1, std::memory_order_release);
      rte_pktmbuf_free(m);
    }
  }
  rte_ring_free(r);
}

}  // namespace

Datapath::Datapath(DatapathConfig cfg, rte_mempool* pool) : cfg_(std::move(cfg)), pool_(pool) {
  if (cfg_.pmd_lcores.empty()) throw std::runtime_error("datapath.pmd-cores: no PMD lcore");
  if (!RegisterUpcallField())
    throw std::runtime_error(std::string("cannot register mbuf dynfield: ") +
                             rte_strerror(rte_errno));
  const auto n = static_cast<uint32_t>(cfg_.pmd_lcores.size() + cfg_.extra_rcu_readers);
  const size_t sz = rte_rcu_qsbr_get_memsize(n);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("dps_qsbr", sz, RTE_CACHE_LINE_SIZE));
  if (!qsbr_ || rte_rcu_qsbr_init(qsbr_, n) != 0)
    throw std::runtime_error("cannot allocate the RCU variable");
  for (uint32_t i = 0; i < n; i++) rte_rcu_qsbr_thread_register(qsbr_, i);
  reclaimer_ = std::make_unique<cls::RcuReclaimer>(qsbr_);
}

Datapath::~Datapath() {
  Halt();
  DrainRings();
  // No reader is left: free the classifiers and whatever waits in the reclaimer.
  for (auto& d : dpcls_) {
    if (!d) continue;
    std::vector<cls::Megaflow*> flows;
    d->ForEach([&](cls::Megaflow* f) { flows.push_back(f); });
    for (auto* f : flows) d->Remove(f);
  }
  reclaimer_->Synchronize();
  for (auto& d : dpcls_) d.reset();
  reclaimer_->Synchronize();
  reclaimer_.reset();
  rte_free(qsbr_);
}

void Datapath::AddPort(uint16_t dp_index, uint32_t ofport, netdev::Port* port) {
  if (dp_index >= kMaxPorts) throw std::runtime_error("too many ports");
  ports_[dp_index] = port;
  ofports_[dp_index] = ofport;
  dpcls_[dp_index] = std::make_unique<cls::Dpcls>(reclaimer_.get());
}

void Datapath::Launch() {
  const auto n_pmds = static_cast<uint16_t>(cfg_.pmd_lcores.size());
  for (unsigned h = 0; h < cfg_.n_handlers; h++)
    upcall_rings_.push_back(
        MakeRing("dps_upcall_" + std::to_string(h), cfg_.upcall_ring_size, RING_F_SC_DEQ));
  for (uint16_t p = 0; p < n_pmds; p++) {
    for (unsigned h = 0; h < cfg_.n_handlers; h++)
      completion_rings_.push_back(MakeRing(
          "dps_compl_" + std::to_string(p) + "_" + std::to_string(h), cfg_.upcall_ring_size,
          RING_F_SP_ENQ | RING_F_SC_DEQ));
    pmds_.push_back(std::make_unique<PmdThread>(this, p, cfg_.pmd_lcores[p], qsbr_,
                                                cfg_.emc_entries, cfg_.emc_insert_inv_prob));
  }
  // Rx queues round-robin over PMDs; PMD p transmits on txq p % n_txq of
  // every port (its own queue when the port has one per PMD).
  unsigned next = 0;
  for (uint16_t i = 0; i < kMaxPorts; i++) {
    if (!ports_[i]) continue;
    const auto& spec = ports_[i]->spec();
    for (uint16_t q = 0; q < spec.rxq; q++)
      pmds_[next++ % n_pmds]->AddRxq(PmdRxq{i, ports_[i]->port_id(), q, spec.ofport});
    const uint16_t n_txq = std::max<uint16_t>(ports_[i]->n_txq(), 1);
    tx_locks_[i] = std::make_unique<TxQueueLock[]>(n_txq);
    std::vector<uint16_t> enabled;
    if (!ports_[i]->IsVhost())
      for (uint16_t q = 0; q < n_txq; q++) enabled.push_back(q);
    tx_routes_[i] = ComputeTxRoutes(n_pmds, n_txq, enabled);
    for (uint16_t p = 0; p < n_pmds; p++) {
      pmds_[p]->SetTxPort(i, ports_[i]->port_id(), tx_locks_[i].get());
      pmds_[p]->tx().SetRoute(i, tx_routes_[i][p]);
    }
  }
  baseline_.assign(n_pmds, PmdStatsSnapshot{});
  for (auto& pmd : pmds_) pmd->Launch();
  launched_ = true;
}

void Datapath::Go() noexcept {
  for (auto& pmd : pmds_) pmd->Go();
}

void Datapath::Halt() noexcept {
  for (auto& pmd : pmds_) pmd->Stop();
  launched_ = false;
}

void Datapath::DrainRings() noexcept {
  for (auto*& r : upcall_rings_) {
    FreeRing(r);
    r = nullptr;
  }
  for (auto*& r : completion_rings_) {
    FreeRing(r);
    r = nullptr;
  }
}

cls::Dpcls* Datapath::dpcls(uint16_t dp_index) const noexcept {
  return dp_index < kMaxPorts ? dpcls_[dp_index].get() : nullptr;
}

uint16_t Datapath::DpIndexOfOfport(uint32_t ofport) const noexcept {
  for (uint16_t i = 0; i < kMaxPorts; i++)
    if (dpcls_[i] && ofports_[i] == ofport) return i;
  return kMaxPorts;
}

bool Datapath::RemoveFlowLocked(cls::Megaflow* flow, FlowDeleteReason reason) {
  if (flow->dead.load(std::memory_order_relaxed)) return false;
  const uint16_t dp = DpIndexOfOfport(flow->in_port);
  if (dp == kMaxPorts) return false;
  dpcls_[dp]->Remove(flow);
  deleted_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  removal_gen_.fetch_add(1, std::memory_order_release);
  return true;
}

bool Datapath::ReplaceFlowLocked(cls::Megaflow* old, cls::Megaflow* fresh) {
  if (old->dead.load(std::memory_order_relaxed)) return false;
  const uint16_t dp = DpIndexOfOfport(old->in_port);
  if (dp == kMaxPorts) return false;
  // Readers that miss in between upcall; the handler's install then finds
  // `fresh` (we hold the writer mutex) and collapses into it.
  dpcls_[dp]->Remove(old);
  removal_gen_.fetch_add(1, std::memory_order_release);
  if (cls::Megaflow* got = dpcls_[dp]->Insert(fresh); got != fresh) cls::Megaflow::Destroy(fresh);
  return true;
}

void Datapath::DumpFlows(std::vector<cls::Megaflow*>* out) {
  for (auto& d : dpcls_) {
    if (!d) continue;
    std::lock_guard lk(writer_mu_);
    d->ForEach([&](cls::Megaflow* f) { out->push_back(f); });
  }
}

size_t Datapath::FlushFlows() {
  std::lock_guard lk(writer_mu_);
  size_t n = 0;
  for (auto& d : dpcls_) {
    if (!d) continue;
    std::vector<cls::Megaflow*> flows;
    d->ForEach([&](cls::Megaflow* f) { flows.push_back(f); });
    for (auto* f : flows) d->Remove(f);
    n += flows.size();
  }
  deleted_[static_cast<size_t>(FlowDeleteReason::kFlush)].fetch_add(n, std::memory_order_relaxed);
  removal_gen_.fetch_add(1, std::memory_order_release);
  return n;
}

size_t Datapath::FlowCount() const noexcept {
  size_t n = 0;
  for (const auto& d : dpcls_)
    if (d) n += d->FlowCount();
  return n;
}

size_t Datapath::MaskCount() {
  std::lock_guard lk(writer_mu_);  // subtable vectors are only stable for the writer
  size_t n = 0;
  for (const auto& d : dpcls_)
    if (d) n += d->SubtableCount();
  return n;
}

std::vector<Datapath::PmdInfo> Datapath::PmdInfos() const {
  std::vector<PmdInfo> out;
  for (size_t p = 0; p < pmds_.size(); p++) {
    PmdInfo info{pmds_[p]->lcore(), {}, Snapshot(pmds_[p]->stats()) - baseline_[p]};
    for (const auto& q : pmds_[p]->rxqs())
      info.rxqs.push_back(RxqAssignment{q.dp_port, q.queue, pmds_[p]->lcore()});
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<uint32_t> Datapath::ComputeTxRoutes(size_t n_pmds, uint16_t n_txq,
                                                const std::vector<uint16_t>& enabled) {
  std::vector<uint32_t> routes(n_pmds, kRouteNone);
  if (n_txq == 0) return routes;
  std::vector<bool> on(n_txq, false);
  std::vector<uint16_t> usable;  // sorted, unique
  for (uint16_t q : enabled)
    if (q < n_txq && !on[q]) on[q] = true;
  for (uint16_t q = 0; q < n_txq; q++)
    if (on[q]) usable.push_back(q);
  if (usable.empty()) return routes;
  std::vector<unsigned> users(n_txq, 0);
  for (size_t p = 0; p < n_pmds; p++) {
    const auto own = static_cast<uint16_t>(p % n_txq);
    const uint16_t q = on[own] ? own : usable[own % usable.size()];
    routes[p] = q;
    users[q]++;
  }
  for (auto& r : routes)
    if (users[r] > 1) r |= kRouteLocked;
  return routes;
}

void Datapath::SetTxQueues(uint16_t dp_index, const std::vector<uint16_t>& enabled) {
  if (dp_index >= kMaxPorts || !ports_[dp_index] || pmds_.empty()) return;
  std::lock_guard lk(tx_mu_);
  const uint16_t n_txq = std::max<uint16_t>(ports_[dp_index]->n_txq(), 1);
  std::vector<uint32_t> fresh = ComputeTxRoutes(pmds_.size(), n_txq, enabled);
  std::vector<uint32_t>& cur = tx_routes_[dp_index];
  if (fresh == cur) return;
  auto publish = [&](auto route_of) {
    for (size_t p = 0; p < pmds_.size(); p++) pmds_[p]->tx().SetRoute(dp_index, route_of(p));
  };
  if (launched_) {
    // 1. Everyone locks the queue it uses now; 2. everyone moves, still
    // locking. A PMD may use the route it read until its next quiescent
    // state, so each step waits for a grace period.
    publish([&](size_t p) { return cur[p] & kRouteNone ? cur[p] : cur[p] | kRouteLocked; });
    WaitGrace(qsbr_);
    publish([&](size_t p) { return fresh[p] & kRouteNone ? fresh[p] : fresh[p] | kRouteLocked; });
    WaitGrace(qsbr_);
  }
  // 3. Locks only where a queue is shared in the new mapping: its PMDs all
  // use it already, with the lock.
  publish([&](size_t p) { return fresh[p]; });
  cur = std::move(fresh);
}

uint32_t Datapath::TxRoute(uint16_t dp_index, size_t pmd) const {
  return pmd < pmds_.size() ? pmds_[pmd]->tx().Route(dp_index) : kRouteNone;
}

uint64_t Datapath::PortTxDropped(uint16_t dp_index) const {
  uint64_t n = 0;
  for (const auto& pmd : pmds_) n += pmd->tx().Dropped(dp_index);
  return n;
}

void Datapath::ClearPmdStats() {
  for (size_t p = 0; p < pmds_.size(); p++) baseline_[p] = Snapshot(pmds_[p]->stats());
}

}  // namespace dpswitch::pmd
