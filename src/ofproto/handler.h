// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Upcall handlers: threads on the control cores that take missed packets
// from their upcall ring, translate them through the OpenFlow pipeline,
// install the resulting megaflow in the dpcls of the packet's in_port and
// hand the packet back to its PMD on that PMD's completion ring.
//
// The translation and install of one packet is SetupMegaflow (flow_setup.h):
// concurrent installs of the same megaflow collapse into one, a megaflow
// translated against tables that changed meanwhile, or over the flow limit,
// serves its own packet only. Upcalls reach a handler by flow hash (the PMD
// picks the ring), so one flow's packets stay in order on one handler. The
// flow limit is the revalidators' adaptive one, read once per burst.
//
// Each handler also sums what the OpenFlow classifiers did (cls::
// OfLookupStats) in a local block per burst and publishes it into its own
// cache line of relaxed counters; LookupStats() adds them up.
//
// Idle handlers back off from spinning to short sleeps (they share core 0
// with the control thread).

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "classifier/of_classifier.h"

namespace dpswitch::pmd {
class Datapath;
}

namespace dpswitch::ofp {

class Pipeline;

struct HandlerStats {
  std::atomic<uint64_t> upcalls{0};          // packets translated
  std::atomic<uint64_t> installed{0};        // new megaflows installed
  std::atomic<uint64_t> collapsed{0};        // translated, but an identical megaflow existed
  std::atomic<uint64_t> not_installed{0};    // over the flow limit or stale version
  std::atomic<uint64_t> completion_full{0};  // completion ring full: packet dropped
  std::atomic<uint64_t> busy_ns{0};          // time spent on upcall bursts, all handlers
};

class Handlers final {
 public:
  // `flow_limit` is read (relaxed) once per burst; it must outlive Handlers.
  Handlers(pmd::Datapath* dp, const Pipeline* pipeline, const std::atomic<uint32_t>* flow_limit);
  ~Handlers();
  Handlers(const Handlers&) = delete;
  Handlers& operator=(const Handlers&) = delete;

  void Start();  // one thread per upcall ring
  void Stop();   // joins

  const HandlerStats& stats() const noexcept { return stats_; }
  unsigned n_threads() const noexcept { return n_lookup_; }
  // What the OpenFlow table classifiers did for upcalls so far, summed over
  // handler threads (each thread's share is at most one burst behind).
  cls::OfLookupStats LookupStats() const noexcept;

 private:
  // One handler thread's cls::OfLookupStats, field by field, on its own cache
  // line: written only by that thread (load + store, once per burst), read by
  // anyone (relaxed).
  struct alignas(64) LookupCounters {
    std::atomic<uint64_t> field[sizeof(cls::OfLookupStats) / sizeof(uint64_t)] = {};
  };

  void Run(unsigned index);

  pmd::Datapath* dp_;
  const Pipeline* pipeline_;
  const std::atomic<uint32_t>* flow_limit_;
  HandlerStats stats_;  // written by handler threads (atomic RMW), read by control
  unsigned n_lookup_;   // entries in lookup_ (upcall rings at construction)
  std::unique_ptr<LookupCounters[]> lookup_;  // one per handler thread, see LookupCounters
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace dpswitch::ofp
