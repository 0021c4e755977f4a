// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/flow_setup.h"

#include <mutex>

#include "classifier/dpcls.h"
#include "ofproto/ukey.h"
#include "pmd/datapath.h"

namespace dpswitch::ofp {

SetupResult SetupMegaflow(pmd::Datapath& dp, const Pipeline& pipeline, const pkt::FlowKey& key,
                          uint16_t dp_port, uint32_t flow_limit,
                          std::vector<pkt::DpAction>* scratch) {
  pkt::FlowMask wc;
  wc.bits.in_port = 0xffffffff;  // dpcls is per in_port; keep the megaflow honest too
  scratch->clear();
  std::vector<RuleCountersRef> rules;
  const XlateStats xs = pipeline.Translate(key, &wc, scratch, &rules);
  wc.Finalize();

  cls::Megaflow* flow = cls::Megaflow::Create(key, wc, *scratch);
  flow->attachment = new Ukey(xs.version, std::move(rules));
  SetupOutcome outcome;
  {
    std::lock_guard lk(dp.writer_mutex());
    cls::Dpcls* dpcls = dp.dpcls(dp_port);
    if (dpcls && pipeline.Version() == xs.version && dp.FlowCount() < flow_limit) {
      cls::Megaflow* got = dpcls->Insert(flow);
      if (got != flow) {
        cls::Megaflow::Destroy(flow);
        flow = got;
        outcome = SetupOutcome::kCollapsed;
      } else {
        outcome = SetupOutcome::kInstalled;
      }
      // Taken under the mutex: nobody can remove `flow` before it is held.
      flow->upcall_refs.fetch_add(1, std::memory_order_relaxed);
    } else {
      // Used for this packet only; freed once the PMD has executed it.
      flow->upcall_refs.fetch_add(1, std::memory_order_relaxed);
      flow->dead.store(true, std::memory_order_relaxed);
      dp.reclaimer().RetireMegaflow(flow);
      outcome = SetupOutcome::kNotInstalled;
    }
  }
  return SetupResult{flow, outcome, xs};
}

}  // namespace dpswitch::ofp
