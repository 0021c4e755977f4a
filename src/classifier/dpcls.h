// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// dpcls: the datapath's megaflow classifier — tuple space search over the
// megaflows of ONE in_port (the switch keeps one Dpcls per OpenFlow port).
//
// A subtable holds the megaflows that share one mask; its hash table maps
// (key & mask) to the megaflow. Megaflows never overlap, so a lookup takes
// the first hit in any subtable; subtables are searched in order of recent
// hits (Rerank), so the common masks come first.
//
// Concurrency: any number of PMD readers call LookupBurst with no lock; one
// writer at a time (the caller holds the switch's dpcls writer mutex) calls
// Insert/Remove/Rerank. Writers publish with release stores and retire old
// memory (subtable arrays, outgrown hash tables, emptied subtables) to the
// RcuReclaimer. Readers must be RCU readers of the reclaimer's qsbr.
//
// Fast path: LookupBurst does no allocation, locking or logging; it hashes the
// burst per subtable, prefetches buckets, then compares.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

#include "classifier/megaflow.h"
#include "classifier/rcu_reclaimer.h"
#include "packet/flow_key.h"

namespace dpswitch::cls {

inline constexpr uint32_t kMaxBurst = 32;

class Subtable;
struct SubtableVec;

class Dpcls final {
 public:
  explicit Dpcls(RcuReclaimer* reclaimer);
  ~Dpcls();  // frees subtables; caller guarantees no readers remain
  Dpcls(const Dpcls&) = delete;
  Dpcls& operator=(const Dpcls&) = delete;

  // Readers. For each i < n with bit i of `wanted` set, looks up keys[i]; on a
  // hit stores the megaflow in flows[i] and sets bit i of the result. Dead
  // megaflows are not returned. *subtable_lookups (if non-null) is increased
  // by the number of subtable probes made (for "masks searched" stats).
  uint32_t LookupBurst(const pkt::FlowKey* const keys[], uint32_t n, uint32_t wanted,
                       Megaflow* flows[], uint64_t* subtable_lookups) const noexcept;

  // Writer: inserts `flow`. If a live megaflow with the same mask and masked
  // key exists, returns it and does not insert (the caller destroys `flow`);
  // otherwise returns `flow`.
  Megaflow* Insert(Megaflow* flow);
  // Writer: marks `flow` dead, unlinks it and retires it to the reclaimer.
  void Remove(Megaflow* flow);
  // Writer: reorders subtables by hits since the last call (most first).
  void Rerank();
  // Writer: calls fn for every live megaflow (collected first: fn may Remove).
  void ForEach(const std::function<void(Megaflow*)>& fn) const;

  size_t FlowCount() const noexcept { return n_flows_.load(std::memory_order_relaxed); }
  size_t SubtableCount() const noexcept;  // writer, or an RCU reader

 private:
  // Writer: publishes `fresh` as the subtable array and retires the old one.
  void Publish(SubtableVec* fresh);

  // Where unlinked megaflows, subtables, arrays and outgrown hash tables go.
  // Must outlive this Dpcls (the destructor retires the remaining megaflows).
  // nullptr = single-threaded use: everything is freed at once.
  RcuReclaimer* reclaimer_;
  // Search order; never null (an empty array when there are no subtables).
  // Written by the writer (release), read by PMDs (acquire) once per burst.
  std::atomic<SubtableVec*> subtables_;
  std::atomic<size_t> n_flows_{0};  // live megaflows; written by the writer, read by anyone
};

}  // namespace dpswitch::cls
