// SPDX-License-Identifier: BSD-3-Clause
#include "classifier/prefix_trie.h"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>
#include <utility>

namespace dpswitch::cls {

// Invariants, for every node:
//  - prefix == prefix.Truncated(len);
//  - child[c] (if any) has a longer len, agrees with prefix on [0, len) and
//    has bit len == c;
//  - count == 0 implies two children (a pure branching node), so the trie
//    has fewer branching nodes than counted ones: NodeCount < 2 * distinct.
// Only branching nodes may have len 0 (stored prefixes are 1..width long).
// The depth is at most width + 1, so the recursive unique_ptr destruction
// is bounded.
struct PrefixTrie::Node {
  Node(const PrefixValue& p, unsigned l, uint32_t c) noexcept : prefix(p), len(l), count(c) {}

  bool HasChild() const noexcept { return child[0] || child[1]; }

  PrefixValue prefix;              // the first `len` bits; the rest zero
  unsigned len;                    // prefix length, 0..width
  uint32_t count;                  // occurrences stored exactly here
  std::unique_ptr<Node> child[2];  // by bit `len` of the longer prefixes
};

PrefixValue PrefixValue::Truncated(unsigned n) const noexcept {
  if (n == 0) return {};
  if (n <= 64) return {hi & (~uint64_t{0} << (64 - n)), 0};
  if (n >= 128) return *this;
  return {hi, lo & (~uint64_t{0} << (128 - n))};
}

unsigned PrefixValue::FirstDifference(const PrefixValue& a, const PrefixValue& b) noexcept {
  if (const uint64_t x = a.hi ^ b.hi) return static_cast<unsigned>(std::countl_zero(x));
  if (const uint64_t x = a.lo ^ b.lo) return 64 + static_cast<unsigned>(std::countl_zero(x));
  return 128;
}

PrefixTrie::PrefixTrie(unsigned width) : width_(width) {
  if (width < 1 || width > 128)
    throw std::invalid_argument("PrefixTrie width must be 1..128, not " + std::to_string(width));
}

PrefixTrie::~PrefixTrie() = default;

PrefixTrie::PrefixTrie(PrefixTrie&& o) noexcept
    : width_(o.width_),
      root_(std::move(o.root_)),
      n_prefixes_(std::exchange(o.n_prefixes_, 0)),
      n_nodes_(std::exchange(o.n_nodes_, 0)) {}

PrefixTrie& PrefixTrie::operator=(PrefixTrie&& o) noexcept {
  if (this != &o) {
    width_ = o.width_;
    root_ = std::move(o.root_);
    n_prefixes_ = std::exchange(o.n_prefixes_, 0);
    n_nodes_ = std::exchange(o.n_nodes_, 0);
  }
  return *this;
}

void PrefixTrie::Clear() noexcept {
  root_.reset();
  n_prefixes_ = 0;
  n_nodes_ = 0;
}

void PrefixTrie::Insert(const PrefixValue& value, unsigned len) {
  if (len < 1 || len > width_)
    throw std::invalid_argument("PrefixTrie: prefix length " + std::to_string(len) +
                                " outside 1.." + std::to_string(width_));
  const PrefixValue v = value.Truncated(len);
  std::unique_ptr<Node>* slot = &root_;
  for (;;) {
    Node* node = slot->get();
    if (!node) {
      *slot = std::make_unique<Node>(v, len, 1);
      n_nodes_++;
      break;
    }
    const unsigned d = std::min({PrefixValue::FirstDifference(v, node->prefix), len, node->len});
    if (d == node->len) {  // node is a prefix of v (or v itself)
      if (node->len == len) {
        node->count++;
        break;
      }
      slot = &node->child[v.Bit(node->len)];
      continue;
    }
    // v leaves node's path at bit d < node->len: node moves below a new node.
    std::unique_ptr<Node> old = std::move(*slot);
    const unsigned old_side = old->prefix.Bit(d);
    if (d == len) {  // v is a proper prefix of node
      *slot = std::make_unique<Node>(v, len, 1);
      (*slot)->child[old_side] = std::move(old);
      n_nodes_++;
    } else {  // they differ at bit d: a branching node with both as children
      *slot = std::make_unique<Node>(v.Truncated(d), d, 0);
      (*slot)->child[old_side] = std::move(old);
      (*slot)->child[old_side ^ 1] = std::make_unique<Node>(v, len, 1);
      n_nodes_ += 2;
    }
    break;
  }
  n_prefixes_++;
}

bool PrefixTrie::Remove(const PrefixValue& value, unsigned len) {
  if (len < 1 || len > width_) return false;
  const PrefixValue v = value.Truncated(len);
  std::unique_ptr<Node>* parent_slot = nullptr;
  std::unique_ptr<Node>* slot = &root_;
  for (;;) {
    const Node* node = slot->get();
    if (!node || node->len > len) return false;
    if (PrefixValue::FirstDifference(v, node->prefix) < node->len) return false;
    if (node->len == len) break;
    parent_slot = slot;
    slot = &(*slot)->child[v.Bit(node->len)];
  }
  Node* node = slot->get();
  if (node->count == 0) return false;  // a branching node, not a stored prefix
  n_prefixes_--;
  if (--node->count > 0) return true;

  // The node is no longer needed unless it still branches.
  if (node->child[0] && node->child[1]) return true;
  if (node->HasChild()) {  // splice its only child into its place
    *slot = std::move(node->child[node->child[0] ? 0 : 1]);
    n_nodes_--;
    return true;
  }
  slot->reset();
  n_nodes_--;
  // A branching parent now has one child and must go too (count 0 implies it
  // had exactly two children, so splicing the survivor keeps the invariant).
  if (parent_slot) {
    Node* parent = parent_slot->get();
    if (parent->count == 0) {
      *parent_slot = std::move(parent->child[parent->child[0] ? 0 : 1]);
      n_nodes_--;
    }
  }
  return true;
}

unsigned PrefixTrie::Lookup(const PrefixValue& value, PrefixLengths* plens) const noexcept {
  const Node* node = root_.get();
  if (!node) return 0;
  for (;;) {
    // Only bits [0, node->len) of value matter here; bits above were checked
    // by the ancestors, and the ones beyond do not matter for this node.
    const unsigned d = PrefixValue::FirstDifference(value, node->prefix);
    if (d < node->len) return d + 1;  // value leaves every stored prefix at bit d
    if (node->count > 0) plens->Set(node->len);
    if (node->len == width_) return width_;
    const Node* next = node->child[value.Bit(node->len)].get();
    if (!next) return node->HasChild() ? node->len + 1 : node->len;
    node = next;
  }
}

}  // namespace dpswitch::cls
