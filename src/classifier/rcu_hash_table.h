// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// RcuHashTable<T>: a hash table from a 32-bit hash to T*, with lock-free
// readers and a single writer, used by each dpcls subtable (T = Megaflow).
//
// It stores pointers and hashes, not keys: a reader finds the slots whose
// signature equals its hash and asks the caller whether the object there is
// really the one it wants (dpcls compares the masked key). So a torn or stale
// (signature, pointer) pair can only cost a failed comparison, never a wrong
// answer, and the table needs no seqlock or version counter.
//
// Layout: a power-of-two array of 64-byte buckets, each holding kSlots
// (signature, pointer) pairs — one cache line per probe in the common case.
// An object lives in its home bucket (hash & mask) or, when that is full, in
// the first bucket after it with a free slot; every bucket it skipped counts
// it in `overflow`, so a reader keeps walking only while the bucket it just
// searched says something homed at or before it lives further on. Objects are
// never moved once stored (no cuckoo displacement), which is what makes
// concurrent reads simple: a slot is either empty, or holds an object that
// stays valid for the reader's RCU critical section.
//
// Writer protocol (one writer at a time, the caller serialises):
//  - insert: bump `overflow` on the buckets skipped, then store the pointer
//    (release: publishes the object's contents) and then the signature;
//  - remove: clear the pointer, then drop the skipped buckets' `overflow`;
//    the caller retires the object only after that;
//  - resize (load over 75% or under 15%): build a new bucket array privately,
//    publish it with one release store of `body_`, retire the old array to
//    the RcuReclaimer (readers may still be walking it). A retired array is
//    never written again.
// Readers load `body_` once per burst (acquire) and use that array throughout.
//
// Concurrency races are benign by construction: a reader that races an insert
// may miss the new object; one that races a remove may still find it (the
// caller marks it dead first); neither can see freed memory.

#include <atomic>
#include <bit>
#include <cstdint>
#include <new>

#include <rte_prefetch.h>

#include "classifier/rcu_reclaimer.h"

namespace dpswitch::cls {

template <typename T>
class RcuHashTable final {
 public:
  // (signature, pointer) pairs per 64-byte bucket.
  static constexpr uint32_t kSlots = 5;

  struct alignas(64) Bucket {
    // Number of objects whose home bucket is this one or an earlier one but
    // which are stored after it. Writer-only writes (relaxed; single writer);
    // readers load it to decide whether to probe the next bucket.
    std::atomic<uint32_t> overflow;
    // Full 32-bit hash of the object in the same slot. Writer stores it after
    // the pointer (release); readers compare it before touching the object.
    // Meaningless while ptr[i] is null (not cleared on remove).
    std::atomic<uint32_t> sig[kSlots];
    // The object, or nullptr for a free slot. Writer stores with release so
    // the object's contents are visible to a reader that loads it (acquire).
    std::atomic<T*> ptr[kSlots];
  };
  static_assert(sizeof(Bucket) == 64, "a bucket is one cache line");

  // The bucket array with its size. Immutable in shape; slots change in place.
  struct alignas(64) Body {
    uint32_t mask;     // n_buckets - 1; n_buckets is a power of two
    Bucket buckets[];  // mask + 1 buckets, after the header line
  };
  static_assert(sizeof(Body) == 64, "Body header is one cache line");

  explicit RcuHashTable(RcuReclaimer* reclaimer) : reclaimer_(reclaimer) {
    body_.store(NewBody(1), std::memory_order_relaxed);
  }
  // Frees the bucket array at once: the caller guarantees no readers remain.
  ~RcuHashTable() { FreeBody(body_.load(std::memory_order_relaxed)); }
  RcuHashTable(const RcuHashTable&) = delete;
  RcuHashTable& operator=(const RcuHashTable&) = delete;

  // ---- readers (any thread, inside an RCU read-side critical section) ------

  // The current bucket array; use the same one for a whole burst.
  const Body* Acquire() const noexcept { return body_.load(std::memory_order_acquire); }

  static void PrefetchBucket(const Body* b, uint32_t hash) noexcept {
    rte_prefetch0(&b->buckets[hash & b->mask]);
  }

  // First object whose signature equals `hash`, or nullptr. Lets a batched
  // reader prefetch the object before verifying it; if verification fails the
  // caller falls back to Find (a 32-bit signature collision, rare).
  static T* FirstCandidate(const Body* b, uint32_t hash) noexcept {
    return Find(b, hash, [](const T*) noexcept { return true; });
  }

  // First object with signature `hash` for which match(obj) is true.
  template <typename Match>
  static T* Find(const Body* b, uint32_t hash, Match&& match) noexcept {
    const uint32_t mask = b->mask;
    uint32_t i = hash & mask;
    // At most every bucket once, even if a racing writer leaves all of them
    // with a non-zero overflow count for a moment.
    for (uint32_t n = 0; n <= mask; n++) {
      const Bucket& bk = b->buckets[i];
      for (uint32_t s = 0; s < kSlots; s++) {
        if (bk.sig[s].load(std::memory_order_acquire) != hash) continue;
        T* p = bk.ptr[s].load(std::memory_order_acquire);
        if (p != nullptr && match(p)) return p;
      }
      if (bk.overflow.load(std::memory_order_relaxed) == 0) break;
      i = (i + 1) & mask;
    }
    return nullptr;
  }

  // ---- writer (one at a time) ----------------------------------------------

  // Number of objects stored.
  uint32_t size() const noexcept { return count_; }
  // Buckets in the current array (tests, stats).
  uint32_t n_buckets() const noexcept { return body_.load(std::memory_order_relaxed)->mask + 1; }

  // Writer-side lookup (same as the reader's, on the current array).
  template <typename Match>
  T* FindWriter(uint32_t hash, Match&& match) const noexcept {
    return Find(body_.load(std::memory_order_relaxed), hash, match);
  }

  // Stores p under hash. Duplicates are the caller's business. May allocate a
  // bigger array (throws std::bad_alloc, table unchanged).
  void Insert(uint32_t hash, T* p) {
    Body* b = body_.load(std::memory_order_relaxed);
    if ((count_ + 1) * 4 > (b->mask + 1) * kSlots * 3) {
      Resize(BucketsFor(count_ + 1));
      b = body_.load(std::memory_order_relaxed);
    }
    Place(b, hash, p);
    count_++;
  }

  // Removes p (stored under hash). Returns false if it is not here. May
  // shrink the array; a failed allocation there just keeps the big array.
  bool Remove(uint32_t hash, T* p) noexcept {
    Body* b = body_.load(std::memory_order_relaxed);
    const uint32_t home = hash & b->mask;
    uint32_t i = home;
    for (uint32_t n = 0; n <= b->mask; n++) {
      Bucket& bk = b->buckets[i];
      for (uint32_t s = 0; s < kSlots; s++) {
        if (bk.ptr[s].load(std::memory_order_relaxed) != p) continue;
        bk.ptr[s].store(nullptr, std::memory_order_release);
        for (uint32_t j = home; j != i; j = (j + 1) & b->mask) {
          Bucket& skipped = b->buckets[j];
          skipped.overflow.store(skipped.overflow.load(std::memory_order_relaxed) - 1,
                                 std::memory_order_relaxed);
        }
        count_--;
        if (b->mask > 0 && count_ * 20 < (b->mask + 1) * kSlots * 3) {
          try {
            Resize(BucketsFor(count_));
          } catch (const std::bad_alloc&) {
            // Keep the oversized array; the next remove tries again.
          }
        }
        return true;
      }
      if (bk.overflow.load(std::memory_order_relaxed) == 0) break;
      i = (i + 1) & b->mask;
    }
    return false;
  }

  // Calls fn(hash, obj) for every stored object (writer side).
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    const Body* b = body_.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i <= b->mask; i++)
      for (uint32_t s = 0; s < kSlots; s++)
        if (T* p = b->buckets[i].ptr[s].load(std::memory_order_relaxed))
          fn(b->buckets[i].sig[s].load(std::memory_order_relaxed), p);
  }

 private:
  // Smallest power-of-two bucket count that holds n objects at <= 50% load.
  static uint32_t BucketsFor(uint32_t n) noexcept {
    uint32_t buckets = 1;
    while (buckets * kSlots < n * 2) buckets <<= 1;
    return buckets;
  }

  static Body* NewBody(uint32_t n_buckets) {
    void* mem =
        ::operator new(sizeof(Body) + size_t{n_buckets} * sizeof(Bucket), std::align_val_t{64});
    Body* b = new (mem) Body;
    b->mask = n_buckets - 1;
    // C++20 std::atomic value-initialises: every slot starts empty.
    for (uint32_t i = 0; i < n_buckets; i++) new (&b->buckets[i]) Bucket();
    return b;
  }
  static void FreeBody(Body* b) noexcept { ::operator delete(b, std::align_val_t{64}); }

  // Stores p in b: the home bucket or the first later one with a free slot.
  // The caller guarantees a free slot exists (load <= 75%).
  static void Place(Body* b, uint32_t hash, T* p) noexcept {
    uint32_t i = hash & b->mask;
    for (;;) {
      Bucket& bk = b->buckets[i];
      for (uint32_t s = 0; s < kSlots; s++) {
        if (bk.ptr[s].load(std::memory_order_relaxed) != nullptr) continue;
        bk.ptr[s].store(p, std::memory_order_release);
        bk.sig[s].store(hash, std::memory_order_release);
        return;
      }
      // Counted before the object becomes visible further on, so a reader
      // that sees the object reachable also sees the path to it.
      bk.overflow.store(bk.overflow.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      i = (i + 1) & b->mask;
    }
  }

  // Rehashes into a new array of n_buckets and publishes it; the old array is
  // retired (readers may still be walking it).
  void Resize(uint32_t n_buckets) {
    Body* old = body_.load(std::memory_order_relaxed);
    if (n_buckets == old->mask + 1) return;
    Body* fresh = NewBody(n_buckets);
    for (uint32_t i = 0; i <= old->mask; i++)
      for (uint32_t s = 0; s < kSlots; s++)
        if (T* p = old->buckets[i].ptr[s].load(std::memory_order_relaxed))
          Place(fresh, old->buckets[i].sig[s].load(std::memory_order_relaxed), p);
    body_.store(fresh, std::memory_order_release);
    if (reclaimer_ != nullptr) {
      reclaimer_->Retire([old] { FreeBody(old); });
    } else {
      FreeBody(old);  // single-threaded use only
    }
  }

  RcuReclaimer* const reclaimer_;  // where outgrown arrays go; set at construction
  std::atomic<Body*> body_;        // written by the writer (release), read by readers (acquire)
  uint32_t count_ = 0;             // objects stored; writer only
};

}  // namespace dpswitch::cls
