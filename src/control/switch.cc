// SPDX-License-Identifier: BSD-3-Clause
#include "control/switch.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <stdexcept>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <spdlog/spdlog.h>

#include "control/commands.h"
#include "control/console.h"
#include "control/control_socket.h"
#include "netdev/mempool.h"
#include "netdev/port.h"
#include "ofproto/handler.h"
#include "ofproto/revalidator.h"
#include "ofproto/pipeline.h"
#include "pmd/datapath.h"

namespace dpswitch::control {
namespace {

volatile std::sig_atomic_t g_stop = 0;

// Start-up errors that are the configuration's fault: exit status 2.
class StartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace

void Switch::RequestStop() noexcept { g_stop = 1; }
bool Switch::StopRequested() noexcept { return g_stop != 0; }

Switch::Switch(Config cfg) : cfg_(std::move(cfg)) {}

Switch::~Switch() { Shutdown(); }

int Switch::Run() {
  try {
    Start();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    Shutdown();
    return 2;
  }
  spdlog::info("dpswitch running: {} port(s), {} PMD(s), {} flow(s); control socket {}",
               ports_.size(), cfg_.pmd_cores.size(), pipeline_->FlowCount(),
               cfg_.control_socket);
  if (cfg_.interactive) {
    Console console(*commands_, [] { return StopRequested(); });
    console.Run();
  } else {
    while (!StopRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  spdlog::info("shutting down");
  Shutdown();
  return 0;
}

void Switch::Start() {
  // --- EAL -------------------------------------------------------------------
  std::vector<std::string> args{"dpswitch"};
  args.insert(args.end(), cfg_.eal_args.begin(), cfg_.eal_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  spdlog::info("EAL arguments:{}", [&] {
    std::string s;
    for (size_t i = 1; i < args.size(); i++) s += " " + args[i];
    return s;
  }());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
    throw StartError(std::string("dpdk.eal-args: EAL initialisation failed: ") +
                     rte_strerror(rte_errno));
  eal_up_ = true;
  for (unsigned lc : cfg_.pmd_cores) {
    if (!rte_lcore_is_enabled(lc))
      throw StartError("datapath.pmd-cores: lcore " + std::to_string(lc) +
                       " is not in the EAL core list (dpdk.eal-args -l ...)");
    if (lc == rte_get_main_lcore())
      throw StartError("datapath.pmd-cores: lcore " + std::to_string(lc) +
                       " is the EAL main lcore, which runs the control threads");
  }
  if (cfg_.pmd_cores.empty()) throw StartError("datapath.pmd-cores: no PMD lcore given");

  // --- packet buffers and ports ------------------------------------------------
  std::vector<netdev::PortSpec> specs;
  for (const auto& p : cfg_.ports) {
    const netdev::PortType type = p.type == kPortTypeVhostServer   ? netdev::PortType::kVhostServer
                                  : p.type == kPortTypeVhostClient ? netdev::PortType::kVhostClient
                                                                   : netdev::PortType::kDpdk;
    specs.push_back(
        netdev::PortSpec{p.name, type, p.devargs, p.socket, p.ofport, p.rxq, p.mtu, p.rxd, p.txd});
  }
  const auto n_pmds = static_cast<uint32_t>(cfg_.pmd_cores.size());
  const uint32_t ring_slots = (cfg_.handler_threads + n_pmds) * cfg_.upcall_ring_size;
  // Ports are probed first: their NUMA sockets decide the pools (one per
  // socket in use, see netdev/mempool.h); each port's rx queues then fill
  // mbufs from its own socket's pool. The PMDs copy into the pool of the
  // first PMD lcore's socket.
  for (const auto& s : specs) ports_.push_back(std::make_unique<netdev::Port>(s));
  std::vector<int> port_sockets;
  for (const auto& p : ports_) port_sockets.push_back(p->SocketId());
  const auto copy_socket = static_cast<int>(rte_lcore_to_socket_id(cfg_.pmd_cores.front()));
  std::map<int, rte_mempool*> pool_of_socket;
  for (const auto& plan : netdev::PlanPools(specs, port_sockets, copy_socket, n_pmds, ring_slots,
                                            cfg_.mbufs, cfg_.mbuf_size)) {
    rte_mempool* mp =
        netdev::CreatePacketPool(plan.name, plan.n_mbufs, plan.socket, plan.data_room);
    pools_.push_back(mp);
    pool_of_socket[plan.socket] = mp;
    spdlog::info("mbuf pool {}: {} mbufs of {} bytes (data room {}) on socket {} ({} MiB)",
                 plan.name, plan.n_mbufs, netdev::MbufFootprint(mp), plan.data_room, plan.socket,
                 (uint64_t{plan.n_mbufs} * netdev::MbufFootprint(mp)) >> 20);
  }
  pool_ = pool_of_socket.at(copy_socket);
  for (size_t i = 0; i < ports_.size(); i++) {
    const netdev::PortSpec& s = specs[i];
    // One tx queue per PMD where the device has enough (vhost: `queues`);
    // PMDs share the others under a lock (see pmd/tx_batch.h).
    const auto n_txq = static_cast<uint16_t>(
        std::min<uint32_t>(n_pmds, ports_[i]->MaxTxQueues()));
    ports_[i]->Configure(n_txq, pool_of_socket.at(port_sockets[i]));
    spdlog::info("port {}: ofport {}, {} ({}), {} rxq, {} txq, socket {}", s.name, s.ofport,
                 ports_[i]->spec().devargs, ports_[i]->driver(), s.rxq, n_txq, port_sockets[i]);
  }

  // --- OpenFlow tables ---------------------------------------------------------
  pipeline_ = std::make_unique<ofp::Pipeline>();
  pipeline_->SetFlowRemovedSink([this](const ofp::FlowRemoved& e) { OnFlowRemoved(e); });
  // Classifier options first: the flows are then indexed once, as configured.
  try {
    pipeline_->SetClassifierOptions(std::nullopt, cfg_.classifier);
    for (const auto& [table, options] : cfg_.tables)
      pipeline_->SetClassifierOptions(table, options);
  } catch (const ofp::FlowError& e) {
    throw StartError(std::string("classifier: ") + e.what());
  }
  std::vector<ofp::PortInfo> infos;
  for (size_t i = 0; i < ports_.size(); i++)
    infos.push_back(ofp::PortInfo{ports_[i]->spec().ofport, static_cast<uint16_t>(i),
                                  !ports_[i]->IsVhost(),  // vhost: down until a guest attaches
                                  ports_[i]->spec().name});
  pipeline_->SetPorts(std::move(infos));
  if (!cfg_.flows_file.empty()) {
    try {
      const size_t n = pipeline_->AddFlowFile(cfg_.flows_file);
      spdlog::info("openflow.flows: {} flow(s) from {}", n, cfg_.flows_file);
    } catch (const ofp::FlowError& e) {
      throw StartError(std::string("openflow.flows: ") + e.what());
    }
  }

  // --- datapath, handlers, then traffic -----------------------------------------
  pmd::DatapathConfig dc;
  dc.pmd_lcores = cfg_.pmd_cores;
  dc.n_handlers = cfg_.handler_threads;
  dc.emc_entries = cfg_.emc_entries;
  dc.emc_insert_inv_prob = cfg_.emc_insert_inv_prob;
  dc.upcall_ring_size = cfg_.upcall_ring_size;
  dc.extra_rcu_readers = 1;  // the revalidators' leader
  datapath_ = std::make_unique<pmd::Datapath>(dc, pool_);
  for (size_t i = 0; i < ports_.size(); i++)
    datapath_->AddPort(static_cast<uint16_t>(i), ports_[i]->spec().ofport, ports_[i].get());
  datapath_->Launch();
  ofp::RevalidatorConfig rc;
  rc.threads = cfg_.revalidator_threads;
  rc.max_idle = std::chrono::milliseconds(cfg_.max_idle_ms);
  rc.interval = std::chrono::milliseconds(cfg_.revalidate_interval_ms);
  rc.flow_limit = cfg_.flow_limit;
  revalidators_ = std::make_unique<ofp::Revalidators>(datapath_.get(), pipeline_.get(), rc);
  revalidators_->Start();
  handlers_ = std::make_unique<ofp::Handlers>(datapath_.get(), pipeline_.get(),
                                              &revalidators_->flow_limit());
  handlers_->Start();
  for (auto& p : ports_) p->Start();

  commands_ = std::make_unique<CommandRegistry>();
  RegisterSwitchCommands(*this, *commands_);
  if (!cfg_.control_socket.empty()) {
    socket_ = std::make_unique<ControlSocket>(cfg_.control_socket, *commands_);
    socket_->Start();
  }
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  datapath_->Go();
}

void Switch::MaintenanceLoop() {
  // Link state as the pipeline has it (Start: DPDK ports up, vhost ports down).
  std::vector<bool> up;
  for (const auto& p : ports_) up.push_back(!p->IsVhost());
  unsigned tick = 0;
  while (!maintenance_stop_.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // Ports: link changes (vhost: a guest driver attached or went away) and
    // the tx queues a vhost guest enabled. The PMDs are remapped to usable
    // tx queues; FLOOD/ALL follow the link after a revalidation round.
    bool links_changed = false;
    for (size_t i = 0; i < ports_.size(); i++) {
      netdev::PortState st;
      if (!ports_[i]->PollState(&st)) continue;
      datapath_->SetTxQueues(static_cast<uint16_t>(i), st.tx_enabled);
      const std::string& name = ports_[i]->spec().name;
      // A guest that came and went between two polls still makes events.
      for (uint32_t f = 0; f < st.flaps; f++) {
        spdlog::info("port status: {} link {}", name, up[i] ? "down" : "up");
        spdlog::info("port status: {} link {}", name, up[i] ? "up" : "down");
      }
      if (st.up != up[i]) {
        up[i] = st.up;
        links_changed = true;
        spdlog::info("port status: {} link {}", name, st.up ? "up" : "down");
      }
    }
    if (links_changed) {
      std::vector<ofp::PortInfo> infos;
      for (size_t i = 0; i < ports_.size(); i++)
        infos.push_back(ofp::PortInfo{ports_[i]->spec().ofport, static_cast<uint16_t>(i), up[i],
                                      ports_[i]->spec().name});
      pipeline_->SetPorts(std::move(infos));
      OnFlowTableChanged();
    }
    datapath_->reclaimer().Poll();
    if (pipeline_->ExpireRules(std::chrono::steady_clock::now()) > 0) OnFlowTableChanged();
    if (++tick % 10 == 0) {  // once a second: most-hit subtables first
      std::lock_guard lk(datapath_->writer_mutex());
      for (uint16_t i = 0; i < ports_.size(); i++)
        if (auto* d = datapath_->dpcls(i)) d->Rerank();
    }
  }
}

void Switch::OnFlowTableChanged() {
  if (revalidators_) revalidators_->Kick();
}

void Switch::OnFlowRemoved(const ofp::FlowRemoved& e) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.duration).count();
  spdlog::info("flow removed: reason={} table={} priority={} cookie={:#x} match={} "
               "duration={}.{:03}s n_packets={} n_bytes={}",
               ofp::FlowRemovedReasonName(e.reason), e.spec.table, e.spec.priority,
               e.spec.cookie, ofp::FormatMatch(e.spec.match), ms / 1000, ms % 1000, e.packets,
               e.bytes);
}

void Switch::Shutdown() noexcept {
  if (socket_) socket_->Stop();
  maintenance_stop_.store(true, std::memory_order_release);
  if (maintenance_.joinable()) maintenance_.join();
  if (datapath_) datapath_->Halt();
  if (handlers_) handlers_->Stop();
  if (revalidators_) revalidators_->Stop();
  if (datapath_) datapath_->DrainRings();
  for (auto& p : ports_) p->Stop();
  handlers_.reset();
  revalidators_.reset();
  datapath_.reset();  // frees megaflows (crediting their rules): no reader is left
  for (auto& p : ports_) p->Close();  // net_pcap writes its tx pcap here
  ports_.clear();
  socket_.reset();
  commands_.reset();
  for (rte_mempool* mp : pools_) rte_mempool_free(mp);  // pool_ is one of them
  pools_.clear();
  pool_ = nullptr;
  if (eal_up_) {
    rte_eal_cleanup();
    eal_up_ = false;
  }
}

}  // namespace dpswitch::control
