// SPDX-License-Identifier: BSD-3-Clause
#include "classifier/rcu_reclaimer.h"

#include <chrono>
#include <thread>

#include <rte_rcu_qsbr.h>

#include "classifier/megaflow.h"

namespace dpswitch::cls {

RcuReclaimer::~RcuReclaimer() { Synchronize(); }

uint64_t RcuReclaimer::StartGrace() const { return qsbr_ ? rte_rcu_qsbr_start(qsbr_) : 0; }

bool RcuReclaimer::GracePassed(uint64_t token) const {
  return !qsbr_ || rte_rcu_qsbr_check(qsbr_, token, false) == 1;
}

void RcuReclaimer::Retire(std::function<void()> fn) {
  std::lock_guard lk(mu_);
  entries_.push_back(Entry{std::move(fn), nullptr, StartGrace(), false});
}

void RcuReclaimer::RetireMegaflow(Megaflow* flow) {
  std::lock_guard lk(mu_);
  entries_.push_back(Entry{[flow] { Megaflow::Destroy(flow); }, flow, StartGrace(), false});
}

bool RcuReclaimer::PollLocked() {
  // Entries are roughly in token order; check each (a megaflow with upcall
  // refs must not hold back the others).
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!GracePassed(it->token)) {
      ++it;
      continue;
    }
    if (!it->second) {
      it->second = true;
      it->token = StartGrace();
      ++it;
      continue;
    }
    if (it->flow && it->flow->upcall_refs.load(std::memory_order_acquire) != 0) {
      ++it;
      continue;
    }
    it->free_fn();
    it = entries_.erase(it);
  }
  return !entries_.empty();
}

void RcuReclaimer::Poll() {
  std::lock_guard lk(mu_);
  PollLocked();
}

void RcuReclaimer::Synchronize() {
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (!PollLocked()) return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

size_t RcuReclaimer::Pending() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

}  // namespace dpswitch::cls
