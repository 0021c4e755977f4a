// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// OfClassifier: the classifier of ONE OpenFlow table — tuple space search over
// prioritised wildcard rules, with the megaflow bookkeeping the slow path
// needs.
//
// The idea (Srinivasan et al.'s tuple space search, as OVS lib/classifier.c):
// rules that share a mask form a tuple (a Subtable) whose hash table maps the
// masked key to the rules with that masked key (a Bucket, several priorities
// possible, kept sorted best first). A lookup masks the packet key with each
// tuple's mask, hashes, probes, and keeps the best hit.
//
// Tuple priority sorting (NSDI'15 §5.1): each tuple knows the highest priority
// among its rules; tuples are searched in descending order of it, and the
// search stops as soon as the best match so far has priority >= the next
// tuple's maximum — no later tuple can beat it.
//
// Megaflow contract: Lookup ORs into *wc the mask of EVERY tuple it searched
// and of no other. The result (and the list of tuples searched) depends only
// on the key bits inside that union, so any key that agrees with this one on
// *wc gets the same answer — that is what makes a megaflow built from the
// union correct. Early exit is what keeps the union small.
//
// Ties: OpenFlow leaves the choice between overlapping rules of equal
// priority undefined. Here the winner is the first one found in search order
// (tuples of equal maximum priority in creation order; inside a bucket the
// oldest rule); that is deterministic for a given classifier state, which is
// all the megaflow contract needs, and it lets the search stop at ">=".
//
// Not here yet (the caching-aware classifier issue adds them, see the hooks
// in Lookup): staged lookup (one hash per stage so a miss in the metadata or
// L2 words does not un-wildcard L3/L4), prefix tries on nw_src/nw_dst/ipv6
// to un-wildcard only the prefix bits that matter, and metadata partitioning.
//
// Thread safety: none. The caller serialises writers against readers
// (ofproto's Pipeline holds a shared_mutex for now). Control-path code:
// standard containers, allocation on insert.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "packet/flow_key.h"

namespace dpswitch::cls {

// One rule as the classifier stores it. Owned by the classifier; the pointer
// Lookup/Find return stays valid until the rule is removed or replaced.
struct OfClsRule {
  pkt::FlowKey key;    // masked key: key & mask == key
  pkt::FlowMask mask;  // which key bits the rule matches
  int32_t priority;    // higher wins
  void* user;          // the caller's rule object (ofproto's Rule)
  uint64_t seq;        // insertion order; orders equal priorities in a bucket
};

class OfClassifier final {
 public:
  OfClassifier();
  ~OfClassifier();
  OfClassifier(const OfClassifier&) = delete;
  OfClassifier& operator=(const OfClassifier&) = delete;

  // Adds a rule (key is masked here). If a rule with the same mask, masked key
  // and priority exists, its user pointer is replaced and the old one is
  // returned; otherwise returns nullptr.
  void* Insert(const pkt::FlowKey& key, const pkt::FlowMask& mask, int32_t priority, void* user);
  // Removes the rule with exactly this match and priority; returns its user
  // pointer, or nullptr when there is none.
  void* Remove(const pkt::FlowKey& key, const pkt::FlowMask& mask, int32_t priority);
  // The rule with exactly this match and priority, or nullptr.
  const OfClsRule* Find(const pkt::FlowKey& key, const pkt::FlowMask& mask, int32_t priority) const;

  // The highest-priority rule matching `key`, or nullptr. ORs the mask of every
  // tuple searched into *wc (if wc is non-null) and counts them in
  // *n_searched (if non-null).
  const OfClsRule* Lookup(const pkt::FlowKey& key, pkt::FlowMask* wc,
                          uint32_t* n_searched = nullptr) const;

  // Calls fn for every rule (no particular order). fn must not modify the
  // classifier.
  void ForEach(const std::function<void(const OfClsRule&)>& fn) const;

  size_t size() const noexcept { return n_rules_; }
  size_t SubtableCount() const noexcept { return sorted_.size(); }

 private:
  struct Bucket;
  struct Subtable;

  Subtable* FindSubtable(const pkt::FlowMask& mask, uint32_t mask_hash) const;
  // Restores the search order after a tuple's max priority changed.
  void Resort();

  // Tuples by hash of their mask (collisions resolved by comparing masks).
  std::unordered_multimap<uint32_t, std::unique_ptr<Subtable>> by_mask_;
  // Search order: descending max priority, then creation order.
  std::vector<Subtable*> sorted_;
  size_t n_rules_ = 0;             // rules in all tuples
  uint64_t next_seq_ = 0;          // next OfClsRule::seq
  uint64_t next_subtable_id_ = 0;  // next Subtable::id
};

}  // namespace dpswitch::cls
