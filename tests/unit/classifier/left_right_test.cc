// SPDX-License-Identifier: BSD-3-Clause
// LeftRight tests: single-thread semantics (both copies built and changed,
// fn called twice, guards move), a writer that waits for a reader in flight
// while new readers go ahead, and a stress test of reader threads checking
// that they never see half a batch and never see versions go backwards.
//
// Catch2 assertions are not thread-safe: worker threads count failures in
// atomics and the main thread checks them.

#include "classifier/left_right.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace {

using dpswitch::cls::LeftRight;
using namespace std::chrono_literals;

// Neither copyable nor movable: LeftRight must build it in place.
struct Pinned {
  explicit Pinned(int v) : value(v) {}
  Pinned(const Pinned&) = delete;
  Pinned& operator=(const Pinned&) = delete;
  int value;
  std::mutex mu;  // only to make it non-movable
};

// A state every batch changes in several places at once. Consistent iff
// a[i] == version - (a.size() - 1 - i), b mirrors a times 3, sum is the sum
// of a, and a.size() == min(version, kWindow).
struct Batchy {
  static constexpr size_t kWindow = 16;
  uint64_t version = 0;
  std::vector<uint64_t> a;
  std::vector<uint64_t> b;
  uint64_t sum = 0;

  void Step() {
    version++;
    if (a.size() == kWindow) {
      sum -= a.front();
      a.erase(a.begin());
      b.erase(b.begin());
    }
    a.push_back(version);
    b.push_back(3 * version);
    sum += version;
  }

  bool Consistent() const {
    if (a.size() != std::min<uint64_t>(version, kWindow) || b.size() != a.size()) return false;
    uint64_t s = 0;
    for (size_t i = 0; i < a.size(); i++) {
      if (a[i] != version - (a.size() - 1 - i) || b[i] != 3 * a[i]) return false;
      s += a[i];
    }
    return s == sum;
  }
};

}  // namespace

TEST_CASE("LeftRight: both copies built alike and changed by each Modify", "[left_right]") {
  LeftRight<std::vector<int>> lr(size_t{3}, 7);
  REQUIRE(*lr.Read() == std::vector<int>{7, 7, 7});

  std::vector<const std::vector<int>*> seen;
  lr.Modify([&](std::vector<int>& v) {
    seen.push_back(&v);
    v.push_back(8);
  });
  REQUIRE(seen.size() == 2);  // exactly twice, once per copy
  REQUIRE(seen[0] != seen[1]);
  {
    auto g = lr.Read();
    REQUIRE(*g == std::vector<int>{7, 7, 7, 8});
    REQUIRE(g.get() == seen[0]);  // readers now use the copy changed first
  }

  // The next change goes to the other copy first; both stay identical.
  seen.clear();
  lr.Modify([&](std::vector<int>& v) {
    seen.push_back(&v);
    v[0] = 1;
  });
  REQUIRE(seen.size() == 2);
  {
    auto g = lr.Read();
    REQUIRE(g.get() == seen[0]);
    REQUIRE(*g == std::vector<int>{1, 7, 7, 8});
    REQUIRE(*seen[1] == *seen[0]);
  }

  // A published hook runs between the two calls.
  std::vector<int> order;
  lr.Modify(
      [&](std::vector<int>& v) {
        order.push_back(static_cast<int>(v.size()));
        v.pop_back();
      },
      [&] { order.push_back(-1); });
  REQUIRE(order == std::vector<int>{4, -1, 4});
  REQUIRE(lr.Read()->size() == 3);
}

TEST_CASE("LeftRight: guards move, nest, and build non-movable types", "[left_right]") {
  LeftRight<Pinned> lr(5);
  auto g1 = lr.Read();
  REQUIRE(g1->value == 5);
  auto g2 = lr.Read();  // nested on one thread
  auto g3 = std::move(g1);
  REQUIRE(g3->value == 5);
  REQUIRE(g1.get() == nullptr);
  g2 = std::move(g3);
  REQUIRE((*g2).value == 5);
  { auto drop = std::move(g2); }
  // Every guard is gone: a writer on this thread must not block.
  lr.Modify([](Pinned& p) { p.value++; });
  REQUIRE(lr.Read()->value == 6);
}

TEST_CASE("LeftRight: the writer waits for readers in flight, new readers do not wait",
          "[left_right]") {
  LeftRight<int> lr(0);
  std::atomic<bool> published{false}, done{false};

  auto old = lr.Read();  // a reader in flight on version 0
  std::thread writer([&] {
    lr.Modify([](int& v) { v++; }, [&] { published.store(true); });
    done.store(true);
  });
  while (!published.load()) std::this_thread::yield();

  // The batch is visible to new readers (on another thread too) at once...
  std::atomic<int> other_saw{-1};
  std::thread reader([&] { other_saw.store(*lr.Read()); });
  reader.join();
  REQUIRE(other_saw.load() == 1);
  REQUIRE(*lr.Read() == 1);
  // ...while the old reader keeps its copy unchanged and the writer waits.
  std::this_thread::sleep_for(30ms);
  REQUIRE(*old == 0);
  REQUIRE_FALSE(done.load());

  { auto release = std::move(old); }
  writer.join();
  REQUIRE(done.load());
  REQUIRE(*lr.Read() == 1);
}

TEST_CASE("LeftRight: readers see whole batches, in order, while a writer runs", "[left_right]") {
  LeftRight<Batchy> lr;
  constexpr int kReaders = 4;
  constexpr int kBatchesPerModify = 3;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> torn{0}, backwards{0}, reads{0};

  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; i++) {
    readers.emplace_back([&, i] {
      uint64_t last = 0, n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto g = lr.Read();
        if (!g->Consistent()) torn.fetch_add(1);
        if (g->version % kBatchesPerModify != 0) torn.fetch_add(1);  // part of a batch
        if (g->version < last) backwards.fetch_add(1);
        last = g->version;
        n++;
        // Some readers hold their guard a little longer.
        if (i % 2 == 1 && n % 64 == 0) std::this_thread::sleep_for(20us);
      }
      reads.fetch_add(n);
    });
  }

  // The writer: as many batches as fit in the time budget, each one Modify
  // of several steps.
  uint64_t modifies = 0;
  const auto deadline = std::chrono::steady_clock::now() + 400ms;
  while (std::chrono::steady_clock::now() < deadline) {
    lr.Modify([](Batchy& b) {
      for (int s = 0; s < kBatchesPerModify; s++) b.Step();
    });
    modifies++;
  }
  stop.store(true);
  for (auto& t : readers) t.join();

  CAPTURE(modifies, reads.load());
  REQUIRE(torn.load() == 0);
  REQUIRE(backwards.load() == 0);
  REQUIRE(modifies > 10);  // the writer progressed despite readers
  REQUIRE(reads.load() > 0);
  auto g = lr.Read();
  REQUIRE(g->version == modifies * kBatchesPerModify);
  REQUIRE(g->Consistent());
}

TEST_CASE("LeftRight: Modify completes while readers keep taking guards", "[left_right]") {
  LeftRight<std::vector<uint64_t>> lr;
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; i++) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto g = lr.Read();
        std::this_thread::sleep_for(50us);  // always someone in flight
      }
    });
  }
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < 100; i++) lr.Modify([i](std::vector<uint64_t>& v) { v.push_back(i); });
  const auto took = std::chrono::steady_clock::now() - start;
  stop.store(true);
  for (auto& t : readers) t.join();
  REQUIRE(lr.Read()->size() == 100);
  REQUIRE(took < 1500ms);
}
