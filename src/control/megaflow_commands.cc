// SPDX-License-Identifier: BSD-3-Clause
// `show megaflow stats`: the megaflow cache as a whole — size, masks, the
// flow limit in force, the upcalls that fill it and the revalidation rounds
// that keep it right, and deletions by reason.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "control/commands.h"
#include "control/text_format.h"
#include "control/switch.h"
#include "ofproto/handler.h"
#include "ofproto/pipeline.h"
#include "ofproto/revalidator.h"
#include "pmd/datapath.h"

namespace dpswitch::control {
namespace {

CommandResult ShowMegaflowStats(Switch& sw) {
  using Reason = pmd::FlowDeleteReason;
  pmd::Datapath& dp = sw.datapath();
  const ofp::Revalidators& rv = sw.revalidators();
  const ofp::RevalidatorStats rs = rv.Stats();
  const auto& h = sw.handlers().stats();
  uint64_t pmd_upcalls = 0, lost = 0;
  for (const auto& info : dp.PmdInfos()) {
    pmd_upcalls += info.stats.upcalls;
    lost += info.stats.lost;
  }
  const uint64_t del[] = {dp.Deleted(Reason::kIdle), dp.Deleted(Reason::kFlowLimit),
                          dp.Deleted(Reason::kRevalidate), dp.Deleted(Reason::kFlush)};
  std::string out;
  out += Fmt("megaflows: %zu (masks %zu)\n", dp.FlowCount(), dp.MaskCount());
  out += Fmt("flow limit: %u (ceiling %u)\n", rv.flow_limit().load(), rv.config().flow_limit);
  out += Fmt("max idle: %lld ms\n", static_cast<long long>(rv.config().max_idle.count()));
  out += Fmt("upcalls: pmd %" PRIu64 ", lost %" PRIu64 "\n", pmd_upcalls, lost);
  out += Fmt("handlers: %u thread(s), handled %" PRIu64 ", installed %" PRIu64
             ", collapsed %" PRIu64 ", not installed %" PRIu64 ", busy %.3f s\n",
             sw.handlers().n_threads(), h.upcalls.load(), h.installed.load(),
             h.collapsed.load(), h.not_installed.load(),
             static_cast<double>(h.busy_ns.load()) / 1e9);
  out += Fmt("revalidators: %u thread(s), rounds %" PRIu64
             ", last round %.3f ms, max round %.3f ms\n",
             rv.config().threads, rs.rounds, Millis(rs.last_round), Millis(rs.max_round));
  out += Fmt("pipeline version: %" PRIu64 ", revalidated version: %" PRIu64 "\n",
             sw.pipeline().Version(), rs.revalidated_version);
  out += Fmt("revalidated: kept %" PRIu64 ", modified %" PRIu64 "\n", rs.kept, rs.modified);
  out += Fmt("deleted: idle %" PRIu64 ", flow limit %" PRIu64 ", revalidation %" PRIu64
             ", flush %" PRIu64 ", total %" PRIu64 "\n",
             del[0], del[1], del[2], del[3], del[0] + del[1] + del[2] + del[3]);
  return {true, out};
}

}  // namespace

void RegisterMegaflowCommands(Switch& sw, CommandRegistry& r) {
  r.Register("show megaflow stats", "show megaflow stats",
             "megaflow count, masks, flow limit, upcalls, revalidation rounds, deletions",
             [&sw](const std::vector<std::string>&) { return ShowMegaflowStats(sw); });
}

}  // namespace dpswitch::control
