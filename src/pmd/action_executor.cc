// SPDX-License-Identifier: BSD-3-Clause
#include "pmd/action_executor.h"

#include <rte_mbuf.h>

#include "packet/rewrite.h"

namespace dpswitch::pmd {

void ExecuteActions(const ExecContext& ctx, rte_mbuf* m, pkt::FlowKey* key,
                    pkt::PacketLayout* layout, std::span<const pkt::DpAction> actions) noexcept {
  const size_t n = actions.size();
  // Index one past the last action that rewrites the packet, and of the last
  // output: decide per output whether to share, copy or hand over the mbuf.
  size_t mod_end = 0, last_output = n;
  for (size_t i = 0; i < n; i++) {
    if (actions[i].type == pkt::DpActionType::kOutput)
      last_output = i;
    else
      mod_end = i + 1;
  }
  for (size_t i = 0; i < n; i++) {
    const pkt::DpAction& a = actions[i];
    switch (a.type) {
      case pkt::DpActionType::kOutput:
        if (i == last_output && i >= mod_end) {
          ctx.tx->Enqueue(a.port, m);  // hands over the packet
          return;
        }
        if (i >= mod_end) {
          rte_pktmbuf_refcnt_update(m, 1);  // shared (every segment): nothing rewrites it later
          ctx.tx->Enqueue(a.port, m);
        } else if (rte_mbuf* c = rte_pktmbuf_copy(m, ctx.pool, 0, UINT32_MAX)) {
          ctx.tx->Enqueue(a.port, c);
        } else {
          Bump(ctx.stats->tx_dropped);
        }
        break;
      case pkt::DpActionType::kSetField:
        pkt::SetField(m, layout, key, a);
        break;
      case pkt::DpActionType::kPushVlan:
        if (!pkt::PushVlan(m, layout, key, a.tpid, a.tci)) {
          Bump(ctx.stats->tx_dropped);
          rte_pktmbuf_free(m);
          return;
        }
        break;
      case pkt::DpActionType::kPopVlan:
        pkt::PopVlan(m, layout, key);
        break;
      case pkt::DpActionType::kDecTtl:
        if (!pkt::DecTtl(m, *layout, key)) {  // TTL expired: the rest is not executed
          rte_pktmbuf_free(m);
          return;
        }
        break;
    }
  }
  rte_pktmbuf_free(m);  // no final output: drop
}

}  // namespace dpswitch::pmd
