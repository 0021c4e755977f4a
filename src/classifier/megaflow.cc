// SPDX-License-Identifier: BSD-3-Clause
#include "classifier/megaflow.h"

#include <new>

#include <rte_cycles.h>

#include "classifier/hash.h"

namespace dpswitch::cls {

Megaflow* Megaflow::Create(const pkt::FlowKey& key, const pkt::FlowMask& mask,
                           std::span<const pkt::DpAction> actions) {
  const size_t bytes = sizeof(Megaflow) + actions.size() * sizeof(pkt::DpAction);
  void* mem = ::operator new(bytes, std::align_val_t{64});
  auto* f = new (mem) Megaflow();
  pkt::ApplyMask(key, mask, &f->key);
  f->mask = mask;
  f->hash = HashMasked(f->key, mask);
  f->in_port = static_cast<uint16_t>(key.in_port);
  f->n_actions = static_cast<uint16_t>(actions.size());
  f->created_tsc = rte_rdtsc();
  for (size_t i = 0; i < actions.size(); i++) new (&f->actions[i]) pkt::DpAction(actions[i]);
  return f;
}

void Megaflow::Destroy(Megaflow* f) noexcept {
  if (!f) return;
  if (f->attachment) {
    f->attachment->Release(*f);
    delete f->attachment;
  }
  f->~Megaflow();
  ::operator delete(f, std::align_val_t{64});
}

uint32_t HashMasked(const pkt::FlowKey& key, const pkt::FlowMask& mask) noexcept {
  return HashMaskedWords(key.Words(), mask.bits.Words(), mask.map);
}

}  // namespace dpswitch::cls
