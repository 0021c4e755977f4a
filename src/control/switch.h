// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Switch: the whole daemon's life cycle, in the order DESIGN.md fixes.
//
// Start: EAL -> ports probed -> mbuf pools (one per socket) -> ports configured -> classifier
// options ([classifier], [table.N]) -> flow file loaded -> datapath (dpcls,
// rings, PMDs launched but waiting) -> revalidators -> handlers -> ports
// started -> PMDs told to poll -> control socket and console. Nothing is read
// from a port before every port and every flow is in place.
// Stop (exit command, SIGINT, SIGTERM): control socket closed -> maintenance
// stopped -> PMDs stopped -> handlers and revalidators stopped -> rings
// drained -> ports stopped and closed (net_pcap flushes its output) -> EAL
// cleaned up.
//
// The maintenance thread frees what the RCU reclaimer holds, reranks dpcls
// subtables each second and expires OpenFlow rules (idle/hard timeouts)
// every 100 ms; removed rules that asked for it are logged as flow-removed
// events (and go to controllers once the OpenFlow connection exists).
//
// A configuration problem found on the way (bad core list, a port that fails
// to probe, a bad flow file) is logged naming the key or port and Run()
// returns 2 after undoing whatever was already started.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control/config.h"

struct rte_mempool;

namespace dpswitch::netdev {
class Port;
}
namespace dpswitch::pmd {
class Datapath;
}
namespace dpswitch::ofp {
class Pipeline;
class Handlers;
class Revalidators;
struct FlowRemoved;
}  // namespace dpswitch::ofp

namespace dpswitch::control {

class CommandRegistry;
class ControlSocket;

class Switch final {
 public:
  explicit Switch(Config cfg);
  ~Switch();
  Switch(const Switch&) = delete;
  Switch& operator=(const Switch&) = delete;

  // Runs until stopped. Returns the process exit status (0, or 2 for a
  // configuration / start-up error).
  int Run();
  // Asks Run() to return (async-signal-safe).
  static void RequestStop() noexcept;
  static bool StopRequested() noexcept;

  // Accessors for the commands (switch_commands.cc).
  pmd::Datapath& datapath() { return *datapath_; }
  ofp::Pipeline& pipeline() { return *pipeline_; }
  ofp::Handlers& handlers() { return *handlers_; }
  ofp::Revalidators& revalidators() { return *revalidators_; }
  rte_mempool* pool() { return pool_; }  // the PMDs' pool for copies
  const std::vector<rte_mempool*>& pools() const { return pools_; }  // one per NUMA socket
  const std::vector<std::unique_ptr<netdev::Port>>& ports() const { return ports_; }
  const Config& config() const { return cfg_; }

  // Call after any OpenFlow table change: starts a revalidation round, which
  // fixes or deletes the megaflows the change made stale.
  void OnFlowTableChanged();

 private:
  void Start();     // throws on any start-up error (after cleaning up)
  void Shutdown() noexcept;
  void MaintenanceLoop();
  void OnFlowRemoved(const ofp::FlowRemoved& event);

  Config cfg_;
  bool eal_up_ = false;
  rte_mempool* pool_ = nullptr;          // the PMDs' copies: one of pools_
  std::vector<rte_mempool*> pools_;      // mbuf pools, one per NUMA socket in use
  std::vector<std::unique_ptr<netdev::Port>> ports_;  // dp index = position
  std::unique_ptr<ofp::Pipeline> pipeline_;
  std::unique_ptr<pmd::Datapath> datapath_;
  std::unique_ptr<ofp::Revalidators> revalidators_;
  std::unique_ptr<ofp::Handlers> handlers_;
  std::unique_ptr<CommandRegistry> commands_;
  std::unique_ptr<ControlSocket> socket_;
  std::thread maintenance_;
  std::atomic<bool> maintenance_stop_{false};
};

// Registers the switch's commands (show ports, dump-flows, ...), the table
// commands below included.
void RegisterSwitchCommands(Switch& sw, CommandRegistry& registry);
// show tables, show classifier stats, set table (table_commands.cc).
void RegisterTableCommands(Switch& sw, CommandRegistry& registry);
// show megaflow stats (megaflow_commands.cc).
void RegisterMegaflowCommands(Switch& sw, CommandRegistry& registry);

}  // namespace dpswitch::control
