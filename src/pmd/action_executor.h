// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Executes a megaflow's datapath program (packet/dp_actions.h) on one packet.
//
// Outputs are queued on the PMD's tx batches. A packet output more than once
// is shared (mbuf reference count) when nothing modifies it afterwards, and
// deep-copied only when a later action rewrites it, so a flood costs no copy
// and "output:1,mod_dl_dst:..,output:2" sends both versions. The packet is
// freed when the program ends without a final output.
//
// Chained mbufs (jumbo frames, vhost-user chains) need nothing special here:
// the rewrites work on the first segment, where ParseMbuf put the headers;
// sharing counts a reference on every segment (rte_pktmbuf_refcnt_update),
// rte_pktmbuf_copy copies the whole chain (into as many segments of `pool`
// as it takes), and push_vlan takes headroom from the first segment, which a
// pull-up leaves at least pkt::kKeepHeadroom of.
//
// Fast path: noexcept; no allocation besides mbufs from the pool for copies.

#include <cstdint>
#include <span>

#include "packet/dp_actions.h"
#include "packet/parser.h"
#include "pmd/pmd_stats.h"
#include "pmd/tx_batch.h"

struct rte_mbuf;
struct rte_mempool;

namespace dpswitch::pmd {

struct ExecContext {
  TxBatches* tx;       // this PMD's tx batches
  rte_mempool* pool;   // for copies
  PmdStats* stats;     // this PMD's counters
};

void ExecuteActions(const ExecContext& ctx, rte_mbuf* m, pkt::FlowKey* key,
                    pkt::PacketLayout* layout, std::span<const pkt::DpAction> actions) noexcept;

}  // namespace dpswitch::pmd
