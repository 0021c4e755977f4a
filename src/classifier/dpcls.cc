// SPDX-License-Identifier: BSD-3-Clause
#include "classifier/dpcls.h"

#include <algorithm>
#include <bit>
#include <memory>
#include <utility>
#include <vector>

#include <rte_prefetch.h>

#include "classifier/dpcls_subtable.h"

// Reader side: LookupBurst walks the published SubtableVec in order, asking
// each subtable only about the packets still unmatched, and stops as soon as
// every requested packet has hit (megaflows never overlap, so the first hit is
// the answer).
//
// Writer side (callers serialise): every change to what readers can reach is
// a release store of one pointer — a hash-table slot, a hash-table array, or
// the subtable array — and whatever it replaced goes to the RcuReclaimer.
// Subtables are found by linear scan over the mask; the number of masks is
// small (tens to a few hundred) and the writer is off the fast path.

namespace dpswitch::cls {

namespace {

Subtable* FindSubtable(const SubtableVec* v, const pkt::FlowMask& mask) noexcept {
  for (uint32_t i = 0; i < v->n; i++)
    if (v->items[i]->mask() == mask) return v->items[i];
  return nullptr;
}

}  // namespace

Dpcls::Dpcls(RcuReclaimer* reclaimer) : reclaimer_(reclaimer), subtables_(SubtableVec::New(0)) {}

Dpcls::~Dpcls() {
  SubtableVec* v = subtables_.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < v->n; i++) {
    Subtable* st = v->items[i];
    // The megaflows may still sit in (stopped) PMDs' EMCs or on completion
    // rings: hand them to the reclaimer rather than freeing them here.
    st->table().ForEach([this](uint32_t, Megaflow* f) {
      f->dead.store(true, std::memory_order_release);
      if (reclaimer_ != nullptr) {
        reclaimer_->RetireMegaflow(f);
      } else {
        Megaflow::Destroy(f);
      }
    });
    delete st;
  }
  SubtableVec::Free(v);
}

uint32_t Dpcls::LookupBurst(const pkt::FlowKey* const keys[], uint32_t n, uint32_t wanted,
                            Megaflow* flows[], uint64_t* subtable_lookups) const noexcept {
  if (n < kMaxBurst) wanted &= (uint32_t{1} << n) - 1;
  const SubtableVec* v = subtables_.load(std::memory_order_acquire);
  uint32_t remaining = wanted;
  uint64_t probes = 0;
  for (uint32_t s = 0; s < v->n && remaining != 0; s++) {
    if (s + 1 < v->n) rte_prefetch0(v->items[s + 1]);
    probes += static_cast<uint64_t>(std::popcount(remaining));
    remaining &= ~v->items[s]->LookupBurst(keys, remaining, flows);
  }
  if (subtable_lookups != nullptr) *subtable_lookups += probes;
  return wanted & ~remaining;
}

void Dpcls::Publish(SubtableVec* fresh) {
  SubtableVec* old = subtables_.load(std::memory_order_relaxed);
  subtables_.store(fresh, std::memory_order_release);
  if (reclaimer_ != nullptr) {
    reclaimer_->Retire([old] { SubtableVec::Free(old); });
  } else {
    SubtableVec::Free(old);
  }
}

Megaflow* Dpcls::Insert(Megaflow* flow) {
  SubtableVec* v = subtables_.load(std::memory_order_relaxed);
  if (Subtable* st = FindSubtable(v, flow->mask)) {
    const uint64_t* mw = st->mask().bits.Words();
    const pkt::WordMap map = st->mask().map;
    const uint64_t* kw = flow->key.Words();
    Megaflow* existing = st->table().FindWriter(flow->hash, [&](const Megaflow* g) noexcept {
      return MaskedWordsEqual(kw, mw, g->key.Words(), map) &&
             !g->dead.load(std::memory_order_relaxed);
    });
    if (existing != nullptr) return existing;
    st->table().Insert(flow->hash, flow);
  } else {
    // Built completely before readers can reach it (the vector's release
    // store publishes the subtable, its table and the flow together).
    auto fresh = std::make_unique<Subtable>(flow->mask, reclaimer_);
    fresh->table().Insert(flow->hash, flow);
    SubtableVec* nv = SubtableVec::New(v->n + 1);
    std::copy(v->items, v->items + v->n, nv->items);
    nv->items[v->n] = fresh.release();
    Publish(nv);
  }
  n_flows_.store(n_flows_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return flow;
}

void Dpcls::Remove(Megaflow* flow) {
  SubtableVec* v = subtables_.load(std::memory_order_relaxed);
  Subtable* st = FindSubtable(v, flow->mask);
  if (st == nullptr || st->table().FindWriter(flow->hash, [flow](const Megaflow* g) noexcept {
        return g == flow;
      }) == nullptr) {
    return;  // not ours (or already removed): leave it alone
  }
  flow->dead.store(true, std::memory_order_release);
  st->table().Remove(flow->hash, flow);
  n_flows_.store(n_flows_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  if (reclaimer_ != nullptr) {
    reclaimer_->RetireMegaflow(flow);
  } else {
    Megaflow::Destroy(flow);
  }

  if (st->table().size() != 0) return;
  // Drop the emptied subtable so misses stop paying for it.
  SubtableVec* nv = SubtableVec::New(v->n - 1);
  std::copy_if(v->items, v->items + v->n, nv->items, [st](Subtable* s) { return s != st; });
  Publish(nv);
  if (reclaimer_ != nullptr) {
    reclaimer_->Retire([st] { delete st; });
  } else {
    delete st;
  }
}

void Dpcls::Rerank() {
  SubtableVec* v = subtables_.load(std::memory_order_relaxed);
  std::vector<std::pair<uint64_t, Subtable*>> order;
  order.reserve(v->n);
  for (uint32_t i = 0; i < v->n; i++) {
    Subtable* st = v->items[i];
    const uint64_t now = st->hits();
    order.emplace_back(now - st->hits_at_rerank(), st);
    st->hits_at_rerank() = now;
  }
  // Stable: subtables with equal recent hits keep their relative order, so an
  // idle switch does not churn its vector.
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  bool same = true;
  for (uint32_t i = 0; i < v->n; i++) same = same && order[i].second == v->items[i];
  if (same) return;
  SubtableVec* nv = SubtableVec::New(v->n);
  for (uint32_t i = 0; i < v->n; i++) nv->items[i] = order[i].second;
  Publish(nv);
}

void Dpcls::ForEach(const std::function<void(Megaflow*)>& fn) const {
  // Collected first so fn may call Remove.
  std::vector<Megaflow*> flows;
  flows.reserve(FlowCount());
  const SubtableVec* v = subtables_.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < v->n; i++) {
    v->items[i]->table().ForEach([&flows](uint32_t, Megaflow* f) {
      if (!f->dead.load(std::memory_order_relaxed)) flows.push_back(f);
    });
  }
  for (Megaflow* f : flows) fn(f);
}

size_t Dpcls::SubtableCount() const noexcept {
  return subtables_.load(std::memory_order_acquire)->n;
}

}  // namespace dpswitch::cls
