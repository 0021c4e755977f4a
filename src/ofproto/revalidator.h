// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Revalidators: the threads that keep the megaflow cache right, small and
// accounted (OVS's revalidator threads; NSDI'15 "Cache invalidation").
//
// A round runs every `interval`, or at once after Kick() (any OpenFlow change:
// flows, ports, expiry). Thread 0 leads: it dumps every megaflow, the threads
// split the dump by position and, for each megaflow:
//  - credit its packets to the OpenFlow rules it went through (Ukey);
//  - delete it if it has been idle longer than max-idle — or longer than
//    100 ms while the cache is over the flow limit, or unconditionally if the
//    cache is over twice the limit (eviction, as OVS);
//  - if it was translated against an older table version, re-translate it
//    (Revalidate): keep it, replace it with one carrying the new actions, or
//    delete it.
// The leader then adapts the flow limit to the round's duration
// (NextFlowLimit) and publishes the version every megaflow has now been
// checked against (revalidated_version). So a megaflow that contradicts the
// tables is gone, or corrected, one round after the change is committed.
//
// Memory safety of the dump: the leader is an RCU reader of the datapath (one
// extra reader slot), online from before the dump until every thread has
// finished the round, and offline between rounds so it never holds up
// reclamation while asleep. A megaflow in the dump was linked when the leader
// was already online, so whoever removes it meanwhile (another revalidator
// thread, flush-megaflows) cannot have it freed before the round ends; the
// other threads need no reader slot of their own.

#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "classifier/megaflow.h"

namespace dpswitch::pmd {
class Datapath;
}

namespace dpswitch::ofp {

class Pipeline;

struct RevalidatorConfig {
  unsigned threads = 1;                       // [datapath] revalidator-threads
  std::chrono::milliseconds max_idle{10000};  // [datapath] max-idle
  std::chrono::milliseconds interval{500};    // [datapath] revalidate-interval
  uint32_t flow_limit = 200000;               // [datapath] flow-limit: the ceiling
};

struct RevalidatorStats {
  uint64_t rounds = 0;
  std::chrono::nanoseconds last_round{0};
  std::chrono::nanoseconds max_round{0};
  uint64_t kept = 0;                 // re-translated, unchanged
  uint64_t modified = 0;             // re-translated, replaced with new actions
  uint64_t revalidated_version = 0;  // see Revalidators::revalidated_version
};

class Revalidators final {
 public:
  // The datapath must have been built with extra_rcu_readers >= 1 (reader
  // slot ExtraReaderId(0) is the leader's).
  Revalidators(pmd::Datapath* dp, const Pipeline* pipeline, RevalidatorConfig cfg);
  ~Revalidators();
  Revalidators(const Revalidators&) = delete;
  Revalidators& operator=(const Revalidators&) = delete;

  void Start();
  void Stop();  // joins; idempotent
  // Start a round now (after an OpenFlow change). Never blocks.
  void Kick() noexcept;
  // Kicks and waits until a round that started after this call has finished
  // (tests, and commands that want a settled cache). False on timeout or if
  // not running.
  bool RevalidateNow(std::chrono::milliseconds timeout);

  // The adaptive flow limit; handlers read it before installing.
  const std::atomic<uint32_t>& flow_limit() const noexcept { return flow_limit_; }
  const RevalidatorConfig& config() const noexcept { return cfg_; }
  RevalidatorStats Stats() const;

 private:
  // Per-thread share of a round's work, merged by the leader.
  struct Tally {
    uint64_t kept = 0, modified = 0;
  };

  void Run(unsigned index);
  // Leader: sleeps until the interval passes, a kick, or Stop. False = stop.
  bool WaitForRound();
  void BeginRound();   // leader, all threads online: dump and decide the round's rules
  void FinishRound();  // leader, all threads done: flow limit, stats, wake waiters
  void Process(unsigned index, Tally* tally);

  pmd::Datapath* dp_;
  const Pipeline* pipeline_;
  RevalidatorConfig cfg_;
  std::atomic<uint32_t> flow_limit_;
  std::vector<std::thread> threads_;
  std::vector<Tally> tallies_;  // one per thread, written in its share of the round

  // Round hand-off; every thread passes each barrier once per round.
  // Completions run on one thread once all have arrived.
  std::barrier<std::function<void()>> start_;  // completion: BeginRound
  std::barrier<std::function<void()>> done_;   // completion: FinishRound
  bool exiting_ = false;  // set by the leader before the last start_

  // Set by BeginRound for the round in progress (read by all threads after
  // start_, so plain members).
  std::vector<cls::Megaflow*> dump_;
  uint64_t target_version_ = 0;
  uint64_t now_tsc_ = 0;
  uint64_t max_idle_tsc_ = 0;    // idle longer than this: delete
  bool idle_is_eviction_ = false;  // max_idle_tsc_ is the 100 ms over-limit one
  bool kill_all_ = false;        // over twice the flow limit
  std::chrono::steady_clock::time_point round_start_;

  mutable std::mutex mu_;  // guards what follows
  std::condition_variable cv_;
  bool kicked_ = false;
  bool stop_ = false;
  bool running_ = false;
  uint64_t rounds_started_ = 0;
  RevalidatorStats stats_;  // stats_.rounds counts finished rounds
};

}  // namespace dpswitch::ofp
