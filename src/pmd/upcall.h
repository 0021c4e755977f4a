// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// What travels with a packet on the upcall and completion rings. Rings carry
// bare mbuf pointers (bulk enqueue/dequeue of 32 at a time, no side
// allocation); the few words a handler and the PMD exchange live in an mbuf
// dynamic field registered once at start (RegisterUpcallField).
//
//   PMD  --upcall ring of handler (hash % n)-->  handler
//   handler translates, installs the megaflow, sets meta.flow, upcall_refs++
//   handler --its completion ring to meta.pmd-->  PMD executes flow->actions,
//   upcall_refs--
//
// The PMD, not the handler, transmits: tx queues stay owned by PMDs.

#include <cstdint>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "classifier/megaflow.h"

namespace dpswitch::pmd {

struct UpcallMeta {
  cls::Megaflow* flow;  // set by the handler: what the PMD executes (holds an upcall ref)
  uint32_t ofport;      // set by the PMD: OpenFlow in_port of the packet
  uint16_t pmd;         // set by the PMD: index of the PMD to complete on
  uint16_t dp_port;     // set by the PMD: datapath index of the rx port
};

// Offset of the dynfield; valid after RegisterUpcallField().
extern int g_upcall_meta_offset;

// Registers the mbuf dynamic field (idempotent). Returns false on failure.
bool RegisterUpcallField() noexcept;

inline UpcallMeta* GetUpcallMeta(rte_mbuf* m) noexcept {
  return RTE_MBUF_DYNFIELD(m, g_upcall_meta_offset, UpcallMeta*);
}

}  // namespace dpswitch::pmd
