// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// PrefixTrie: the prefix tracking of NSDI'15 §5.3 — a binary trie (bit
// granularity, path compressed) over the address prefixes the rules of one
// OpenFlow table match on one field (nw_src, nw_dst, ipv6_src, ipv6_dst), or
// over the port values of one tuple (the "ports trie").
//
// Why: a tuple with mask nw_dst/32 searched for a packet to 10.5.6.7
// un-wildcards all 32 bits even when its only rule is 10.1.2.3. Walking the
// trie along the packet's address first tells (a) which prefix lengths have a
// rule matching the packet — tuples of any other length cannot match and are
// skipped — and (b) how many leading bits that answer depends on: the walk
// stops at the first bit where the packet leaves every stored prefix, so
// un-wildcarding that many bits (10.4/14 here, since 10.5 and 10.1 first
// differ at bit 13) is enough to justify the skip for every packet of the
// megaflow.
//
// Values are bit strings of `width` bits (32 or 128), most significant bit
// first: a 32-bit field sits in the top half of PrefixValue::hi.
//
// Nodes are path compressed (each holds the whole prefix it stands for), so a
// trie of n distinct prefixes has at most 2n nodes whatever the width.
// Insert/Remove cost O(width) and allocate at most two nodes. Counted: a
// prefix inserted k times stays until removed k times.
//
// Thread safety: none (the OpenFlow classifier's versioning gives each reader
// a copy that no writer touches while it is read).

#include <cstddef>
#include <cstdint>
#include <memory>

namespace dpswitch::cls {

// A bit string of up to 128 bits; bit 0 is the top bit of hi.
struct PrefixValue {
  uint64_t hi = 0;
  uint64_t lo = 0;

  // Bit i (0 = most significant).
  unsigned Bit(unsigned i) const noexcept {
    return i < 64 ? static_cast<unsigned>(hi >> (63 - i)) & 1
                  : static_cast<unsigned>(lo >> (127 - i)) & 1;
  }
  // The first n bits kept, the rest zero.
  PrefixValue Truncated(unsigned n) const noexcept;
  // Index of the first bit where a and b differ, or 128 when equal.
  static unsigned FirstDifference(const PrefixValue& a, const PrefixValue& b) noexcept;
  bool operator==(const PrefixValue& o) const noexcept { return hi == o.hi && lo == o.lo; }
};

// A set of prefix lengths 1..128 (bit L-1 for length L).
struct PrefixLengths {
  uint64_t w[2] = {0, 0};

  void Set(unsigned len) noexcept { w[(len - 1) / 64] |= uint64_t{1} << ((len - 1) % 64); }
  bool Has(unsigned len) const noexcept { return (w[(len - 1) / 64] >> ((len - 1) % 64)) & 1; }
  void SetAll() noexcept { w[0] = w[1] = ~uint64_t{0}; }
  bool Empty() const noexcept { return (w[0] | w[1]) == 0; }
};

class PrefixTrie final {
 public:
  explicit PrefixTrie(unsigned width);  // 1..128 bits
  ~PrefixTrie();
  PrefixTrie(PrefixTrie&&) noexcept;
  PrefixTrie& operator=(PrefixTrie&&) noexcept;
  PrefixTrie(const PrefixTrie&) = delete;
  PrefixTrie& operator=(const PrefixTrie&) = delete;

  // Adds one occurrence of the prefix (value's first len bits; len 1..width;
  // the bits after len are ignored).
  void Insert(const PrefixValue& value, unsigned len);
  // Removes one occurrence; false when the prefix is not there.
  bool Remove(const PrefixValue& value, unsigned len);

  // Walks the trie along `value`. Sets in *plens (which the caller clears)
  // every length L for which a stored prefix of length L equals value's first
  // L bits. Returns n, the number of leading bits the walk examined: every
  // value that agrees with `value` on its first n bits gets the same plens
  // (and the same n). For one length L, agreeing on the first min(n, L) bits
  // is enough for the same plens.Has(L) and the same min(n, L). n is 0 for
  // an empty trie and at most width.
  unsigned Lookup(const PrefixValue& value, PrefixLengths* plens) const noexcept;

  size_t size() const noexcept { return n_prefixes_; }  // occurrences stored
  size_t NodeCount() const noexcept { return n_nodes_; }
  unsigned width() const noexcept { return width_; }
  void Clear() noexcept;

 private:
  struct Node;

  unsigned width_;
  std::unique_ptr<Node> root_;
  size_t n_prefixes_ = 0;
  size_t n_nodes_ = 0;
};

}  // namespace dpswitch::cls
