// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Megaflow: one entry of the datapath's wildcard cache — a masked key, its
// mask and the datapath actions every packet inside it gets.
//
// Life cycle: a handler builds it (Create), inserts it into the dpcls of its
// in_port, and from then on it is immutable except for the stats and the
// dead flag. Removal marks it dead, unlinks it from dpcls and retires it to
// the RcuReclaimer, which frees it only after (a) two RCU grace periods, so
// no PMD holds it from a lookup or in its EMC (PMDs sweep dead EMC entries
// before reporting quiescence), and (b) upcall_refs is zero, so no packet
// waiting on a completion ring still points at it.
//
// Whoever installs a megaflow may attach control-plane data to it (ofproto
// attaches its "ukey": the rules the translation went through, for
// statistics). The attachment is owned by the megaflow: Destroy calls its
// Release() — after the grace periods, so no PMD can count another packet on
// the flow — and then deletes it. That is where the last packets of a flow
// are credited to its rules.

#include <atomic>
#include <cstdint>
#include <span>

#include "packet/dp_actions.h"
#include "packet/flow_key.h"

namespace dpswitch::cls {

struct Megaflow;

// Control-plane data attached to a megaflow (see above). Never touched on the
// fast path.
class MegaflowAttachment {
 public:
  virtual ~MegaflowAttachment() = default;
  // The megaflow is about to be freed: its stats are final.
  virtual void Release(const Megaflow& flow) noexcept = 0;
};

struct alignas(64) Megaflow {
  // --- read by PMDs on every hit (first cache line) --------------------------
  uint32_t hash;        // hash of `key` over mask.map words (HashMasked); set at Create
  uint16_t n_actions;   // entries in actions[]
  uint16_t in_port;     // OpenFlow in_port (selects the dpcls)
  std::atomic<bool> dead{false};  // writer sets before unlinking; PMDs treat as a miss
  // Stats: PMDs add once per burst per flow (relaxed); control reads.
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> used_tsc{0};  // rte_rdtsc() of the last hit, 0 = never
  // Packets of this flow sitting on completion rings (handler ++, PMD --).
  std::atomic<uint32_t> upcall_refs{0};
  uint64_t created_tsc = 0;  // rte_rdtsc() at Create
  // Owned; set by the installer before the megaflow is published (Insert)
  // and not changed after. May be null.
  MegaflowAttachment* attachment = nullptr;

  pkt::FlowKey key;    // masked key (key & mask == key)
  pkt::FlowMask mask;  // which bits matter
  pkt::DpAction actions[];  // n_actions entries (flexible array)

  // Allocates a megaflow with room for the actions; key is masked here.
  // created_tsc is set from the TSC.
  static Megaflow* Create(const pkt::FlowKey& key, const pkt::FlowMask& mask,
                          std::span<const pkt::DpAction> actions);
  // Releases and deletes the attachment, then frees the megaflow.
  static void Destroy(Megaflow* f) noexcept;

  std::span<const pkt::DpAction> Actions() const noexcept { return {actions, n_actions}; }
};

// Hash of (key & mask) over the words of mask.map: the same value whether
// computed from a packet key and a subtable mask or from a megaflow's key.
uint32_t HashMasked(const pkt::FlowKey& key, const pkt::FlowMask& mask) noexcept;

}  // namespace dpswitch::cls
