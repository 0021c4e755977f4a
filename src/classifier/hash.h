// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Word hashing shared by the EMC and the classifiers. CRC32-C (one
// instruction per word with SSE4.2, which the default -march=native build
// enables; DPDK's rte_hash_crc falls back to tables otherwise).

#include <bit>
#include <cstdint>

#include <rte_hash_crc.h>

namespace dpswitch::cls {

inline constexpr uint32_t kHashBasis = 0x9e3779b9u;

// Hash of (words[i] & mask[i]) for every i in map, in ascending order.
// CRC32-C has no finalisation step, so the hash of a map continues from the
// hash of any lower map passed as `basis`: staged lookup extends each stage's
// hash instead of starting again.
inline uint32_t HashMaskedWords(const uint64_t* words, const uint64_t* mask, uint32_t map,
                                uint32_t basis = kHashBasis) noexcept {
  uint32_t h = basis;
  while (map) {
    const uint32_t i = static_cast<uint32_t>(std::countr_zero(map));
    map &= map - 1;
    h = rte_hash_crc_8byte(words[i] & mask[i], h);
  }
  return h;
}

// Hash of the first n words (the EMC's full-key hash).
inline uint32_t HashWords(const uint64_t* words, uint32_t n) noexcept {
  uint32_t h = kHashBasis;
  for (uint32_t i = 0; i < n; i++) h = rte_hash_crc_8byte(words[i], h);
  return h;
}

}  // namespace dpswitch::cls
