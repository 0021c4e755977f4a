// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// LeftRight<T>: two copies of a single-threaded structure, so that readers
// never block and a batch of changes becomes visible all at once.
// (P. Ramalhete and A. Correia, "Left-Right: A Concurrency Control Technique
// with Wait-Free Population Oblivious Reads", 2015.)
//
// Why this and not RCU-published immutable snapshots or a lock:
//  - Readers are wait-free: two atomic increments and a load, whatever the
//    writer does. A reader uses a plain T — no per-node atomics, no versions
//    checked per rule — so T can be any ordinary structure (the OpenFlow
//    classifier with its hash tables, tries and partitions) written for one
//    thread.
//  - Batch atomicity comes for free: the writer applies a whole batch to the
//    copy no reader can see and publishes it with one store. A reader sees
//    the batch entirely or not at all.
//  - An update costs what the change costs, twice: a flow-mod touching one
//    rule is O(1) per copy, where copy-on-write snapshots would copy the
//    whole table.
//  - Memory is twice the index, not twice the data: big objects (a rule's
//    actions) can live outside T and be shared by pointer from both copies,
//    freed once both copies have dropped them (when Modify has returned).
//  - Writers are serialised (one internal mutex) and wait only for the
//    readers in flight on the copy they are about to change; a reader that
//    starts meanwhile goes to the other copy, so a steady stream of readers
//    cannot starve the writer.
//
// The algorithm. left_right_ says which copy readers use; version_index_
// says which of two reader indicators new readers announce themselves in.
//   reader: vi = version_index_; arrive(vi); lr = left_right_; read copy lr;
//           depart(vi)
//   writer: fn(copy !lr); left_right_ = !lr;
//           wait until indicator !vi is empty; version_index_ = !vi;
//           wait until indicator vi is empty;   (no reader left on copy lr)
//           fn(copy lr)
// A reader either arrived before the writer's scan of its counter saw it
// (the writer then waits for it), or it arrived after, in which case — all
// four operations being seq_cst — its load of left_right_ comes after the
// writer's store and it reads the new copy. Toggling between two indicators
// lets the writer wait out the old readers while new ones register
// elsewhere.
//
// Reader indicators: per version index, kReaderSlots counters, each on its
// own cache line; a thread picks its slot once (round-robin), so readers on
// different threads rarely share a contended line.
//
// Rules for users:
//  - fn is called exactly twice per Modify, once on each copy, and must have
//    the same effect on both (it sees identical copies): deterministic, and
//    any object it links into T must be created before Modify, not inside fn.
//  - fn must not throw: an exception would leave the copies different, so
//    one escaping fn terminates the program. Validate before Modify.
//  - A thread holding a ReadGuard must not call Modify (it would wait for
//    itself). Nested ReadGuards on one thread are fine.
//  - Readers only call const members of T, concurrently with each other:
//    T's const members must be safe for concurrent use (no mutable caches).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>

namespace dpswitch::cls {

namespace left_right_detail {

inline constexpr unsigned kReaderSlots = 32;

// This thread's reader slot, chosen once per thread, round-robin.
inline unsigned ReaderSlot() noexcept {
  static std::atomic<unsigned> next{0};
  thread_local const unsigned slot = next.fetch_add(1, std::memory_order_relaxed) % kReaderSlots;
  return slot;
}

inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace left_right_detail

template <class T>
class LeftRight final {
  // One reader counter on its own cache line.
  struct alignas(64) Counter {
    std::atomic<uint64_t> n{0};  // readers in flight; +1 by Read, -1 by ~ReadGuard
  };
  static_assert(sizeof(Counter) == 64);

 public:
  // Constructs both copies from the same arguments (passed as lvalues, twice).
  template <class... Args>
  requires std::is_constructible_v<T, Args&...>
  explicit LeftRight(Args&&... args) : copies_{T(args...), T(args...)} {}
  LeftRight(const LeftRight&) = delete;
  LeftRight& operator=(const LeftRight&) = delete;

  // Read access to one copy; the copy is not modified while the guard lives.
  class ReadGuard {
   public:
    ReadGuard(ReadGuard&& o) noexcept : counter_(o.counter_), copy_(o.copy_) {
      o.counter_ = nullptr;
      o.copy_ = nullptr;
    }
    ReadGuard& operator=(ReadGuard&& o) noexcept {
      if (this != &o) {
        Release();
        counter_ = std::exchange(o.counter_, nullptr);
        copy_ = std::exchange(o.copy_, nullptr);
      }
      return *this;
    }
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;
    ~ReadGuard() { Release(); }

    const T& operator*() const noexcept { return *copy_; }
    const T* operator->() const noexcept { return copy_; }
    const T* get() const noexcept { return copy_; }

   private:
    friend class LeftRight;
    ReadGuard(std::atomic<uint64_t>* counter, const T* copy) noexcept
        : counter_(counter), copy_(copy) {}
    void Release() noexcept {
      // release: our reads of the copy happen before the writer's next change.
      if (counter_ != nullptr) counter_->fetch_sub(1, std::memory_order_release);
      counter_ = nullptr;
      copy_ = nullptr;
    }

    std::atomic<uint64_t>* counter_;  // our indicator slot (nullptr once moved from)
    const T* copy_;                   // the copy we read
  };

  // Wait-free: never blocks, whatever writers do.
  ReadGuard Read() const noexcept {
    const unsigned slot = left_right_detail::ReaderSlot();
    const unsigned vi = version_index_.load(std::memory_order_seq_cst);
    std::atomic<uint64_t>* c = &readers_[vi][slot].n;
    c->fetch_add(1, std::memory_order_seq_cst);
    const unsigned lr = left_right_.load(std::memory_order_seq_cst);
    return ReadGuard(c, &copies_[lr]);
  }

  // Applies fn(T&) to both copies (exactly twice, see the rules above); the
  // change is visible to readers all at once. Returns when both copies are
  // updated. Writers are serialised.
  template <class Fn>
  void Modify(Fn&& fn) {
    Modify(std::forward<Fn>(fn), [] {});
  }

  // The same, calling published() right after the changed copy has become
  // the one new readers see (before waiting for the old copy's readers).
  template <class Fn, class Published>
  void Modify(Fn&& fn, Published&& published) {
    std::lock_guard lock(writer_mu_);
    const unsigned lr = left_right_.load(std::memory_order_relaxed);  // only writers store it
    Apply(fn, copies_[1 - lr]);
    left_right_.store(1 - lr, std::memory_order_seq_cst);
    published();
    ToggleVersionAndWait();
    Apply(fn, copies_[lr]);
  }

 private:
  // noexcept: an exception from fn terminates instead of splitting the copies.
  template <class Fn>
  static void Apply(Fn& fn, T& copy) noexcept {
    fn(copy);
  }

  void ToggleVersionAndWait() noexcept {
    const unsigned prev = version_index_.load(std::memory_order_relaxed);
    const unsigned next = 1 - prev;
    WaitEmpty(next);  // stragglers of the round before last
    version_index_.store(next, std::memory_order_seq_cst);
    WaitEmpty(prev);  // everyone who could have read the old copy
  }

  void WaitEmpty(unsigned vi) const noexcept {
    constexpr unsigned kSpinsBeforeYield = 128;
    for (const Counter& c : readers_[vi]) {
      for (unsigned spins = 0; c.n.load(std::memory_order_seq_cst) != 0; spins++) {
        if (spins < kSpinsBeforeYield)
          left_right_detail::CpuRelax();
        else
          std::this_thread::yield();
      }
    }
  }

  // Read by readers (seq_cst), stored by the writer under writer_mu_.
  alignas(64) std::atomic<unsigned> left_right_{0};  // the copy new readers use
  std::atomic<unsigned> version_index_{0};           // the indicator new readers join
  // Arrived by readers (seq_cst RMW), departed with release, scanned by the
  // writer (seq_cst loads). Mutable: Read() is const.
  mutable std::array<std::array<Counter, left_right_detail::kReaderSlots>, 2> readers_;
  std::mutex writer_mu_;  // serialises Modify
  // The two copies: readers use copies_[left_right_]; the writer changes
  // copies_[1 - left_right_] freely and copies_[left_right_] only after its
  // readers have left.
  T copies_[2];
};

}  // namespace dpswitch::cls
