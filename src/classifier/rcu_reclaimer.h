// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// RcuReclaimer: deferred freeing for everything PMDs read without locks
// (megaflows, dpcls subtable arrays and hash tables).
//
// PMD threads are the readers of one rte_rcu_qsbr variable; each reports a
// quiescent state once per poll loop, after sweeping dead megaflows out of its
// EMC. Writers retire an object here after unlinking it. An object is freed
// only after TWO grace periods: the first guarantees every PMD has finished the
// loop iteration that might have found it (and maybe put it in its EMC); the
// second guarantees every PMD has since run the end-of-loop EMC sweep that
// drops it. Megaflows are additionally held while upcall_refs != 0 (a packet
// on a completion ring still points at them).
//
// Thread safety: Retire/Poll/Synchronize may be called from any control-side
// thread (handlers, revalidators, control); an internal mutex serialises them.
// Never called on the fast path.

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

struct rte_rcu_qsbr;

namespace dpswitch::cls {

struct Megaflow;

class RcuReclaimer final {
 public:
  // qsbr may be nullptr (unit tests without PMDs): objects are then freed on
  // the next Poll.
  explicit RcuReclaimer(rte_rcu_qsbr* qsbr) noexcept : qsbr_(qsbr) {}
  ~RcuReclaimer();
  RcuReclaimer(const RcuReclaimer&) = delete;
  RcuReclaimer& operator=(const RcuReclaimer&) = delete;

  // Frees `fn` after two grace periods.
  void Retire(std::function<void()> fn);
  // Frees the megaflow after two grace periods and once upcall_refs is zero.
  void RetireMegaflow(Megaflow* flow);
  // Frees everything that has become safe; never blocks on readers.
  void Poll();
  // Blocks until everything retired so far is freed (shutdown, tests).
  void Synchronize();
  // Objects waiting.
  size_t Pending() const;

 private:
  struct Entry {
    std::function<void()> free_fn;  // frees the object
    Megaflow* flow = nullptr;       // set for megaflows: also wait for upcall_refs == 0
    uint64_t token = 0;             // grace period to wait for
    bool second = false;            // already passed the first grace period
  };
  bool GracePassed(uint64_t token) const;
  uint64_t StartGrace() const;
  bool PollLocked();  // returns true if anything is still pending

  rte_rcu_qsbr* const qsbr_;
  mutable std::mutex mu_;     // guards entries_
  std::deque<Entry> entries_; // in retire order
};

}  // namespace dpswitch::cls
