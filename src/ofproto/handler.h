// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Upcall handlers: threads on the control cores that take missed packets
// from their upcall ring, translate them through the OpenFlow pipeline,
// install the resulting megaflow in the dpcls of the packet's in_port and
// hand the packet back to its PMD on that PMD's completion ring.
//
// Concurrent installs of the same megaflow (two PMDs, or two packets of one
// burst) collapse into one in Dpcls::Insert. A megaflow translated against a
// pipeline version that changed before it could be installed is used for its
// own packet only and never installed, so a flow-table change followed by a
// flush leaves no stale entry. Over the flow limit, megaflows are likewise
// used once and not installed (the packet is still forwarded correctly).
//
// Idle handlers back off from spinning to short sleeps (they share core 0
// with the control thread).

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

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
};

class Handlers final {
 public:
  Handlers(pmd::Datapath* dp, const Pipeline* pipeline, uint32_t flow_limit);
  ~Handlers();
  Handlers(const Handlers&) = delete;
  Handlers& operator=(const Handlers&) = delete;

  void Start();  // one thread per upcall ring
  void Stop();   // joins

  const HandlerStats& stats() const noexcept { return stats_; }
  uint32_t flow_limit() const noexcept { return flow_limit_; }

 private:
  void Run(unsigned index);

  pmd::Datapath* dp_;
  const Pipeline* pipeline_;
  uint32_t flow_limit_;
  HandlerStats stats_;                // written by handler threads (atomic RMW), read by control
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace dpswitch::ofp
