// SPDX-License-Identifier: BSD-3-Clause
// The switch's console / control-socket commands. Each reads counters or
// changes the flow tables through the Switch's public pieces; none touches
// PMD-owned state except through counters and RCU-safe structures.
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_mempool.h>

#include "classifier/dpcls.h"
#include "control/commands.h"
#include "control/text_format.h"
#include "control/megaflow_format.h"
#include "control/switch.h"
#include "netdev/port.h"
#include "ofproto/handler.h"
#include "ofproto/revalidator.h"
#include "ofproto/pipeline.h"
#include "pmd/datapath.h"

namespace dpswitch::control {
namespace {

double Pct(uint64_t part, uint64_t whole) { return whole ? 100.0 * part / whole : 0.0; }

CommandResult ShowPorts(Switch& sw) {
  std::string out = Fmt("%-12s %6s %-10s %-4s %12s %12s %10s %8s %12s %12s %10s %8s\n", "port",
                        "ofport", "driver", "link", "rx_packets", "rx_bytes", "rx_dropped",
                        "rx_errs", "tx_packets", "tx_bytes", "tx_dropped", "tx_errs");
  const auto& ports = sw.ports();
  for (size_t i = 0; i < ports.size(); i++) {
    const auto& p = *ports[i];
    const netdev::PortCounters c = p.Counters();
    const uint64_t sw_drop = sw.datapath().PortTxDropped(static_cast<uint16_t>(i));
    out += Fmt("%-12s %6u %-10s %-4s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %8" PRIu64
               " %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %8" PRIu64 "\n",
               p.spec().name.c_str(), p.spec().ofport, p.driver().c_str(),
               p.LinkUp() ? "up" : "down", c.rx_packets, c.rx_bytes, c.rx_missed, c.rx_errors,
               c.tx_packets, c.tx_bytes, sw_drop, c.tx_errors);
  }
  return {true, out};
}

CommandResult ShowPmdStats(Switch& sw) {
  std::string out;
  const auto& ports = sw.ports();
  for (const auto& info : sw.datapath().PmdInfos()) {
    const auto& s = info.stats;
    std::string rxqs;
    for (const auto& q : info.rxqs)
      rxqs += (rxqs.empty() ? "" : " ") + ports[q.dp_port]->spec().name + ":" +
              std::to_string(q.queue);
    const uint64_t cycles = s.busy_cycles + s.idle_cycles;
    out += Fmt("pmd lcore %u (rxqs: %s):\n", info.lcore, rxqs.c_str());
    out += Fmt("  packets received: %" PRIu64 "\n", s.packets);
    out += Fmt("  emc hits: %" PRIu64 " (%.1f%%)\n", s.emc_hits, Pct(s.emc_hits, s.packets));
    out += Fmt("  megaflow hits: %" PRIu64 " (%.1f%%)\n", s.megaflow_hits,
               Pct(s.megaflow_hits, s.packets));
    out += Fmt("  avg. subtable lookups per megaflow hit: %.2f\n",
               s.megaflow_hits + s.upcalls
                   ? static_cast<double>(s.subtable_lookups) / (s.megaflow_hits + s.upcalls)
                   : 0.0);
    out += Fmt("  miss with success upcall: %" PRIu64 "\n", s.upcalls);
    out += Fmt("  miss with failed upcall (lost): %" PRIu64 "\n", s.lost);
    out += Fmt("  upcalled packets executed: %" PRIu64 "\n", s.completions);
    out += Fmt("  parse errors: %" PRIu64 "\n", s.parse_errors);
    out += Fmt("  tx dropped: %" PRIu64 "\n", s.tx_dropped);
    out += Fmt("  idle cycles: %" PRIu64 " (%.1f%%)\n", s.idle_cycles, Pct(s.idle_cycles, cycles));
    out += Fmt("  processing cycles: %" PRIu64 " (%.1f%%)\n", s.busy_cycles,
               Pct(s.busy_cycles, cycles));
    out += Fmt("  avg cycles per packet: %.1f\n",
               s.packets ? static_cast<double>(s.busy_cycles) / s.packets : 0.0);
  }
  const auto& h = sw.handlers().stats();
  const ofp::RevalidatorStats rs = sw.revalidators().Stats();
  using Reason = pmd::FlowDeleteReason;
  const pmd::Datapath& dp = sw.datapath();
  out += Fmt("megaflows: %zu (masks %zu), flow limit %u\n", sw.datapath().FlowCount(),
             sw.datapath().MaskCount(), sw.revalidators().flow_limit().load());
  out += Fmt("revalidation: rounds %" PRIu64 ", last round %.3f ms; deleted: idle %" PRIu64
             ", evicted %" PRIu64 ", revalidation %" PRIu64 ", flush %" PRIu64 "\n",
             rs.rounds, Millis(rs.last_round),
             dp.Deleted(Reason::kIdle), dp.Deleted(Reason::kFlowLimit),
             dp.Deleted(Reason::kRevalidate), dp.Deleted(Reason::kFlush));
  out += Fmt("handlers: upcalls %" PRIu64 ", installed %" PRIu64 ", collapsed %" PRIu64
             ", not installed %" PRIu64 ", completion ring full %" PRIu64 "\n",
             h.upcalls.load(), h.installed.load(), h.collapsed.load(), h.not_installed.load(),
             h.completion_full.load());
  return {true, out};
}

CommandResult DumpMegaflows(Switch& sw) {
  const auto& ports = sw.ports();
  auto port_name = [&](uint16_t dp) {
    return std::to_string(dp < ports.size() ? ports[dp]->spec().ofport : 0);
  };
  const uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
  std::string out;
  std::lock_guard lk(sw.datapath().writer_mutex());
  for (uint16_t i = 0; i < ports.size(); i++) {
    cls::Dpcls* d = sw.datapath().dpcls(i);
    if (!d) continue;
    d->ForEach([&](cls::Megaflow* f) {
      const uint64_t used = f->used_tsc.load(std::memory_order_relaxed);
      const std::string used_s =
          used ? Fmt("%.3fs", static_cast<double>(now - std::min(now, used)) / hz) : "never";
      out += FormatMegaflowMatch(f->key, f->mask) +
             Fmt(", packets:%" PRIu64 ", bytes:%" PRIu64 ", used:%s, actions:",
                 f->packets.load(), f->bytes.load(), used_s.c_str()) +
             FormatDpActions(f->Actions(), port_name) + "\n";
    });
  }
  return {true, out};
}

}  // namespace

void RegisterSwitchCommands(Switch& sw, CommandRegistry& r) {
  r.Register("show ports", "show ports", "ports with rx/tx/drop/error counters",
             [&sw](const std::vector<std::string>&) { return ShowPorts(sw); });
  r.Register("show pmd stats", "show pmd stats",
             "per-PMD packets, EMC/megaflow hits, misses, lost, cycles per packet",
             [&sw](const std::vector<std::string>&) { return ShowPmdStats(sw); });
  r.Register("clear pmd stats", "clear pmd stats", "reset the PMD counters",
             [&sw](const std::vector<std::string>&) {
               sw.datapath().ClearPmdStats();
               return CommandResult{true, ""};
             });
  r.Register("dump-flows", "dump-flows [TABLE]", "OpenFlow flows, all tables or one",
             [&sw](const std::vector<std::string>& args) -> CommandResult {
               std::optional<uint8_t> table;
               if (!args.empty()) {
                 std::string t = args[0].rfind("table=", 0) == 0 ? args[0].substr(6) : args[0];
                 char* end = nullptr;
                 const unsigned long v = std::strtoul(t.c_str(), &end, 0);
                 if (t.empty() || *end || v >= ofp::kNumTables)
                   return {false, "dump-flows: bad table '" + args[0] + "' (0-254)"};
                 table = static_cast<uint8_t>(v);
               }
               return {true, sw.pipeline().DumpFlows(table)};
             });
  r.Register("add-flow", "add-flow FLOW", "add or replace a flow (ovs-ofctl syntax)",
             [&sw](const std::vector<std::string>& args) -> CommandResult {
               if (args.empty()) return {false, "add-flow: missing FLOW"};
               try {
                 sw.pipeline().AddFlow(JoinArgs(args));
               } catch (const ofp::FlowError& e) {
                 return {false, std::string("add-flow: ") + e.what()};
               }
               sw.OnFlowTableChanged();
               return {true, ""};
             });
  r.Register("add-flows", "add-flows FILE", "add the flows of a flow file (all or nothing)",
             [&sw](const std::vector<std::string>& args) -> CommandResult {
               if (args.size() != 1) return {false, "add-flows: expected one FILE"};
               size_t n;
               try {
                 n = sw.pipeline().AddFlowFile(args[0]);
               } catch (const ofp::FlowError& e) {
                 return {false, std::string("add-flows: ") + e.what()};
               }
               sw.OnFlowTableChanged();
               return {true, std::to_string(n) + " flow(s) added\n"};
             });
  r.Register("del-flows", "del-flows [--strict] [MATCH]",
             "delete flows matching MATCH (all flows without one)",
             [&sw](const std::vector<std::string>& args) -> CommandResult {
               bool strict = false;
               size_t from = 0;
               if (!args.empty() && args[0] == "--strict") {
                 strict = true;
                 from = 1;
               }
               size_t n;
               try {
                 n = sw.pipeline().DelFlows(JoinArgs(args, from), strict);
               } catch (const ofp::FlowError& e) {
                 return {false, std::string("del-flows: ") + e.what()};
               }
               sw.OnFlowTableChanged();
               return {true, std::to_string(n) + " flow(s) deleted\n"};
             });
  r.Register("dump-megaflows", "dump-megaflows",
             "datapath megaflows: match, mask, packets, bytes, last used, actions",
             [&sw](const std::vector<std::string>&) { return DumpMegaflows(sw); });
  r.Register("flush-megaflows", "flush-megaflows", "delete every megaflow",
             [&sw](const std::vector<std::string>&) -> CommandResult {
               return {true, std::to_string(sw.datapath().FlushFlows()) + " megaflow(s) deleted\n"};
             });
  r.Register("show mempool", "show mempool",
             "packet buffer pools (one per NUMA socket): size, in use (caches included), "
             "available",
             [&sw](const std::vector<std::string>&) -> CommandResult {
               std::string out;
               for (rte_mempool* mp : sw.pools()) {
                 const unsigned avail = rte_mempool_avail_count(mp);
                 out += Fmt("mbuf pool %s: %u mbufs, %u in use, %u available\n", mp->name,
                            mp->size, mp->size - avail, avail);
               }
               return {true, out};
             });
  RegisterTableCommands(sw, r);
  RegisterMegaflowCommands(sw, r);
  for (const char* name : {"exit", "quit"})
    r.Register(name, name, "stop the switch gracefully (ports flushed and closed)",
               [](const std::vector<std::string>&) -> CommandResult {
                 Switch::RequestStop();
                 return {true, "stopping\n"};
               });
}

}  // namespace dpswitch::control
