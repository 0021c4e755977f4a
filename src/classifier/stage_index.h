// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// StageIndex: the per-stage hash index of staged lookup (NSDI'15 §5.2) — a
// counting set of 32-bit stage hashes. A tuple keeps one per stage except its
// last: the hash of each rule key's fields of stages 0..s. A lookup whose
// stage-s hash is absent knows no rule of the tuple can match, having looked
// only at the fields of stages 0..s.
//
// Only hashes are stored, never keys: a false "present" (two keys with one
// hash) just sends the lookup on to the next stage, where the full key
// comparison settles it; a false "absent" cannot happen. Counts make removal
// exact when several rule keys share a stage hash.
//
// Open addressing with linear probing over a power-of-two array, at most half
// full; removal shifts the following entries back (no tombstones), so probe
// sequences stay short however long the table lives. Memory is linear in the
// number of distinct hashes.
//
// Thread safety: none (see OfClassifier).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dpswitch::cls {

class StageIndex final {
 public:
  bool Contains(uint32_t hash) const noexcept {
    if (n_ == 0) return false;
    for (uint32_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.count == 0) return false;
      if (s.hash == hash) return true;
    }
  }

  void Add(uint32_t hash) {
    if ((n_ + 1) * 2 > slots_.size()) Grow();
    for (uint32_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.count == 0) {
        s = {hash, 1};
        n_++;
        return;
      }
      if (s.hash == hash) {
        s.count++;
        return;
      }
    }
  }

  // Removes one occurrence; false when the hash is not present.
  bool Remove(uint32_t hash) noexcept {
    if (n_ == 0) return false;
    uint32_t i = hash & mask_;
    for (;; i = (i + 1) & mask_) {
      if (slots_[i].count == 0) return false;
      if (slots_[i].hash == hash) break;
    }
    if (--slots_[i].count > 0) return true;
    // Backward-shift deletion: pull later entries of the cluster into the
    // hole when their home slot does not lie (cyclically) in (hole, j].
    uint32_t hole = i;
    for (uint32_t j = (hole + 1) & mask_; slots_[j].count != 0; j = (j + 1) & mask_) {
      const uint32_t home = slots_[j].hash & mask_;
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      slots_[hole] = slots_[j];
      slots_[j].count = 0;
      hole = j;
    }
    slots_[hole].count = 0;
    n_--;
    return true;
  }

  size_t size() const noexcept { return n_; }  // distinct hashes
  void Clear() noexcept {
    slots_.clear();
    mask_ = 0;
    n_ = 0;
  }

 private:
  struct Slot {
    uint32_t hash = 0;
    uint32_t count = 0;  // 0 = empty slot
  };

  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 8 : old.size() * 2, Slot{});
    mask_ = static_cast<uint32_t>(slots_.size() - 1);
    for (const Slot& s : old) {
      if (s.count == 0) continue;
      uint32_t i = s.hash & mask_;
      while (slots_[i].count != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  uint32_t mask_ = 0;  // slots_.size() - 1
  size_t n_ = 0;       // occupied slots
};

}  // namespace dpswitch::cls
