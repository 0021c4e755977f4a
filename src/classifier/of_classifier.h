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
// The caching-aware optimisations of NSDI'15 §5, each switchable (so their
// effect can be measured) and on by default:
//
//  - Staged lookup: a tuple's fields are split into the stages of the key
//    layout (metadata, L2, L3, L4; empty stages dropped). Every stage but the
//    last has a StageIndex of the hashes of its rules' fields of stages 0..s;
//    the hash is one CRC32-C running over the words, so each stage extends
//    the previous stage's hash instead of starting again. A miss at stage s
//    un-wildcards only the tuple's fields of stages 0..s.
//  - Prefix tracking: one PrefixTrie per configured address field (default
//    nw_src, nw_dst, ipv6_src, ipv6_dst) over the prefixes of every tuple
//    whose mask on that field is a CIDR prefix. Before a tuple's L3 stage is
//    probed the trie (looked up once per packet, on first need) says whether
//    any rule with that tuple's prefix length matches the packet; if none
//    does the tuple is skipped, un-wildcarding min(bits the trie walk
//    examined, the tuple's prefix length) bits of the field. OVS instead
//    searches the tuple when the walk examined more bits than the prefix
//    length; that is not needed, because which prefixes of length L match
//    depends only on the packet's first L bits.
//  - Port tracking: a tuple whose last stage holds tp_src/tp_dst keeps a
//    32-bit PrefixTrie of its rules' (tp_src.tp_dst & mask). When the last
//    stage misses and the trie proves that no rule has the packet's ports,
//    only the port bits the trie walk examined are un-wildcarded (with the
//    earlier stages, which did match): a port scan against one TCP-port ACL
//    makes one megaflow per bit where the scanned port first differs from
//    the rule's (at most 16), not one per port.
//  - Partitioning on metadata: tuples whose mask has all 64 metadata bits get
//    a tag bit; for every metadata value some rule matches exactly, a
//    partition holds the OR of the tags of the tuples holding such rules. A
//    tuple whose tag is not in the packet's partition is skipped without a
//    hash. This does not un-wildcard metadata: metadata is pipeline state (0
//    on ingress, then set by write_metadata actions that depend only on
//    already un-wildcarded bits), so callers must hold metadata equal across
//    every key a megaflow covers — true of xlate, and what Lookup assumes.
//
// Stable wildcards: a trie skip or a ports-trie exit also un-wildcards the
// stages probed before it (as OVS) and the first plen bits of every trie
// checked before it that let the tuple through (OVS leaves those out). The
// skip itself needs neither, but with them every key that agrees on *wc
// takes the same path through every tuple and gets the same *wc back, so the
// megaflows made from one table version never overlap: each packet has
// exactly one.
//
// All index structures are kept per bucket (distinct masked key of a tuple),
// so an update costs one bucket hash insert/remove, one StageIndex update per
// stage and one trie update per trie: O(1) in the number of rules, and memory
// linear in it.
//
// Thread safety: const members may run concurrently; a writer needs the
// classifier to itself. ofproto keeps two copies (cls::LeftRight), so no
// writer ever touches the copy readers are using.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "classifier/prefix_field.h"
#include "classifier/prefix_trie.h"
#include "packet/field.h"
#include "packet/flow_key.h"

namespace dpswitch::cls {

inline constexpr size_t kMaxPrefixFields = 4;

// Which optimisations a table uses (all on by default; "off" exists to
// measure what each one buys).
struct OfClassifierOptions {
  bool priority_sorting = true;  // stop once no later tuple can beat the best match
  bool staged_lookup = true;     // probe stage by stage (else one probe per tuple)
  bool port_tracking = true;     // per-tuple ports trie on L4 misses
  bool partitioning = true;      // skip tuples by exact metadata
  // Fields with a prefix trie: at most kMaxPrefixFields of IsPrefixField().
  std::vector<pkt::FieldId> prefix_fields = DefaultPrefixFields();

  bool operator==(const OfClassifierOptions&) const = default;
};

// What lookups did; Lookup adds to it (callers keep one per thread).
struct OfLookupStats {
  uint64_t lookups = 0;           // Lookup calls
  uint64_t hits = 0;              // ... that found a rule
  uint64_t tuples_probed = 0;     // tuples whose hash index was probed at least once
  uint64_t stage_exits = 0;       // probes that stopped at a stage index before the last stage
  uint64_t skipped_by_prefix = 0;     // tuples skipped by a prefix trie
  uint64_t skipped_by_partition = 0;  // tuples skipped by metadata partitioning
  uint64_t port_trie_exits = 0;   // last-stage misses narrowed by a ports trie
  uint64_t early_exits = 0;       // lookups ended by priority sorting before the last tuple

  OfLookupStats& operator+=(const OfLookupStats& o) noexcept;
};

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
  explicit OfClassifier(OfClassifierOptions options = {});
  ~OfClassifier();
  OfClassifier(const OfClassifier&) = delete;
  OfClassifier& operator=(const OfClassifier&) = delete;

  // Changes the optimisations; rebuilds every index (O(rules)). Throws
  // std::invalid_argument for a bad prefix field list (left unchanged).
  void SetOptions(OfClassifierOptions options);
  const OfClassifierOptions& options() const noexcept { return options_; }

  // Adds a rule (key is masked here). If a rule with the same mask, masked key
  // and priority exists, its user pointer is replaced and the old one is
  // returned; otherwise returns nullptr.
  void* Insert(const pkt::FlowKey& key, const pkt::FlowMask& mask, int32_t priority, void* user);
  // Removes the rule with exactly this match and priority; returns its user
  // pointer, or nullptr when there is none.
  void* Remove(const pkt::FlowKey& key, const pkt::FlowMask& mask, int32_t priority);
  // The rule with exactly this match and priority, or nullptr.
  const OfClsRule* Find(const pkt::FlowKey& key, const pkt::FlowMask& mask, int32_t priority) const;

  // The highest-priority rule matching `key`, or nullptr. ORs into *wc (if
  // non-null) every key bit the answer depended on, so that every key that
  // agrees with `key` on *wc — and has the same metadata, see above — gets the
  // same rule. Adds what it did to *stats (if non-null).
  const OfClsRule* Lookup(const pkt::FlowKey& key, pkt::FlowMask* wc,
                          OfLookupStats* stats = nullptr) const;

  // Calls fn for every rule (no particular order). fn must not modify the
  // classifier.
  void ForEach(const std::function<void(const OfClsRule&)>& fn) const;

  size_t size() const noexcept { return n_rules_; }
  size_t SubtableCount() const noexcept { return sorted_.size(); }
  size_t PartitionCount() const noexcept { return partitions_.size(); }
  // Nodes in the prefix tries and the tuples' ports tries (memory check).
  size_t TrieNodeCount() const noexcept;

 private:
  struct Bucket;
  struct Subtable;
  struct Partition;
  struct TrieContext;

  Subtable* FindSubtable(const pkt::FlowMask& mask, uint32_t mask_hash) const;
  Subtable* CreateSubtable(const pkt::FlowMask& mask, uint32_t mask_hash, int32_t priority);
  void DestroySubtable(Subtable* st);
  // Stage maps, trie prefix lengths, ports mask and tag of a tuple, from its
  // mask and the options.
  void ConfigureSubtable(Subtable* st) const;
  // Adds (delta +1) or removes (-1) a bucket from the stage indices, tries,
  // ports trie and partitions.
  void IndexBucket(Subtable* st, const Bucket& b, int delta);
  void RebuildIndexes();
  // Moves `st` to its place in sorted_ after its max priority changed.
  void Reposition(Subtable* st);
  // The search of one tuple (NSDI'15's find_match_wc).
  const OfClsRule* SearchSubtable(const Subtable& st, const pkt::FlowKey& key, pkt::FlowMask* wc,
                                  TrieContext* tries, OfLookupStats* stats) const;

  OfClassifierOptions options_;
  // Tuples by hash of their mask (collisions resolved by comparing masks).
  std::unordered_multimap<uint32_t, std::unique_ptr<Subtable>> by_mask_;
  // Search order: descending max priority, then creation order.
  std::vector<Subtable*> sorted_;
  // One trie per options_.prefix_fields entry, same order.
  std::vector<PrefixTrie> tries_;
  // Exact metadata value -> tags of the tuples holding rules for it.
  std::unordered_map<uint64_t, Partition> partitions_;
  size_t n_rules_ = 0;             // rules in all tuples
  uint64_t next_seq_ = 0;          // next OfClsRule::seq
  uint64_t next_subtable_id_ = 0;  // next Subtable::id
};

}  // namespace dpswitch::cls
