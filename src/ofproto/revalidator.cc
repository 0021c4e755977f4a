// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/revalidator.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include <pthread.h>
#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>

#include "ofproto/pipeline.h"
#include "ofproto/revalidate.h"
#include "ofproto/ukey.h"
#include "pmd/datapath.h"

namespace dpswitch::ofp {
namespace {

using Reason = pmd::FlowDeleteReason;

// Deletions are applied under the writer mutex in chunks, so handlers
// installing new flows wait for at most one chunk.
constexpr size_t kDeleteChunk = 128;

// Over the flow limit, megaflows idle longer than this are evicted (OVS).
constexpr std::chrono::milliseconds kEvictIdle{100};

uint64_t ToTsc(std::chrono::milliseconds ms) {
  return static_cast<uint64_t>(ms.count()) * rte_get_tsc_hz() / 1000;
}

}  // namespace

Revalidators::Revalidators(pmd::Datapath* dp, const Pipeline* pipeline, RevalidatorConfig cfg)
    : dp_(dp),
      pipeline_(pipeline),
      cfg_(cfg),
      flow_limit_(InitialFlowLimit(cfg.flow_limit)),
      tallies_(std::max(1u, cfg.threads)),
      start_(static_cast<std::ptrdiff_t>(std::max(1u, cfg.threads)), [this] { BeginRound(); }),
      done_(static_cast<std::ptrdiff_t>(std::max(1u, cfg.threads)), [this] { FinishRound(); }) {
  cfg_.threads = std::max(1u, cfg.threads);
}

Revalidators::~Revalidators() { Stop(); }

void Revalidators::Start() {
  {
    std::lock_guard lk(mu_);
    running_ = true;
  }
  for (unsigned i = 0; i < cfg_.threads; i++) {
    threads_.emplace_back([this, i] { Run(i); });
    pthread_setname_np(threads_.back().native_handle(), ("revalidator" + std::to_string(i)).c_str());
  }
}

void Revalidators::Stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  std::lock_guard lk(mu_);
  running_ = false;
  cv_.notify_all();  // RevalidateNow waiters give up
}

void Revalidators::Kick() noexcept {
  {
    std::lock_guard lk(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

bool Revalidators::RevalidateNow(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  if (!running_ || stop_) return false;
  const uint64_t want = rounds_started_ + 1;
  kicked_ = true;
  cv_.notify_all();
  return cv_.wait_for(lk, timeout, [&] { return stats_.rounds >= want || stop_; }) && !stop_;
}

RevalidatorStats Revalidators::Stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

bool Revalidators::WaitForRound() {
  std::unique_lock lk(mu_);
  // OVS waits min(max-idle, max-revalidator): idle megaflows go on time.
  const auto period = std::min(cfg_.interval, cfg_.max_idle);
  cv_.wait_for(lk, period, [&] { return kicked_ || stop_; });
  if (stop_) return false;
  // Cleared before BeginRound reads the pipeline version: a change after
  // that read kicks again and gets its own round.
  kicked_ = false;
  return true;
}

void Revalidators::Run(unsigned index) {
  const unsigned reader = dp_->ExtraReaderId(0);
  for (;;) {
    const bool leader = index == 0;
    if (leader) {
      exiting_ = !WaitForRound();
      // Online before the dump (BeginRound), until every thread is done.
      if (!exiting_) rte_rcu_qsbr_thread_online(dp_->qsbr(), reader);
    }
    start_.arrive_and_wait();  // leader's exiting_ is visible after this
    if (exiting_) return;
    tallies_[index] = Tally{};
    Process(index, &tallies_[index]);
    done_.arrive_and_wait();
    if (leader) rte_rcu_qsbr_thread_offline(dp_->qsbr(), reader);
  }
}

void Revalidators::BeginRound() {
  if (exiting_) return;
  round_start_ = std::chrono::steady_clock::now();
  {
    std::lock_guard lk(mu_);
    rounds_started_++;
  }
  target_version_ = pipeline_->Version();
  dump_.clear();
  dp_->DumpFlows(&dump_);
  const uint32_t limit = flow_limit_.load(std::memory_order_relaxed);
  const size_t n = dump_.size();
  kill_all_ = n > 2 * static_cast<size_t>(limit);
  idle_is_eviction_ = n > limit && kEvictIdle < cfg_.max_idle;
  max_idle_tsc_ = ToTsc(idle_is_eviction_ ? kEvictIdle : cfg_.max_idle);
  now_tsc_ = rte_rdtsc();
}

void Revalidators::Process(unsigned index, Tally* tally) {
  std::vector<std::pair<cls::Megaflow*, Reason>> victims;
  auto flush_victims = [&] {
    std::lock_guard lk(dp_->writer_mutex());
    for (auto [flow, reason] : victims) dp_->RemoveFlowLocked(flow, reason);
    victims.clear();
  };
  const uint64_t max_idle_cfg_tsc = ToTsc(cfg_.max_idle);
  RevalidateResult result;
  for (size_t i = index; i < dump_.size(); i += cfg_.threads) {
    cls::Megaflow* flow = dump_[i];
    if (flow->dead.load(std::memory_order_acquire)) continue;
    Ukey* ukey = Ukey::Of(*flow);
    if (ukey) ukey->PushStats(*flow);
    const uint64_t used = std::max(flow->used_tsc.load(std::memory_order_relaxed),
                                   flow->created_tsc);
    const uint64_t idle = now_tsc_ > used ? now_tsc_ - used : 0;

    std::optional<Reason> reason;
    if (kill_all_) {
      reason = Reason::kFlowLimit;
    } else if (idle > max_idle_tsc_) {
      reason = idle > max_idle_cfg_tsc ? Reason::kIdle : Reason::kFlowLimit;
    } else if (!ukey) {
      reason = Reason::kRevalidate;  // cannot tell what it was built from
    } else if (ukey->version() < target_version_) {
      Revalidate(*pipeline_, *flow, &result);
      switch (result.verdict) {
        case RevalidateVerdict::kKeep:
          ukey->Rebind(*flow, result.version, std::move(result.rules));
          tally->kept++;
          break;
        case RevalidateVerdict::kModify: {
          cls::Megaflow* fresh = cls::Megaflow::Create(flow->key, flow->mask, result.actions);
          fresh->attachment = new Ukey(result.version, std::move(result.rules));
          bool replaced;
          {
            std::lock_guard lk(dp_->writer_mutex());
            replaced = dp_->ReplaceFlowLocked(flow, fresh);
          }
          if (replaced) {
            tally->modified++;
          } else {
            cls::Megaflow::Destroy(fresh);  // never published
          }
          break;
        }
        case RevalidateVerdict::kDelete:
          reason = Reason::kRevalidate;
          break;
      }
      result.rules.clear();
    }
    if (reason) {
      victims.emplace_back(flow, *reason);
      if (victims.size() >= kDeleteChunk) flush_victims();
    }
  }
  if (!victims.empty()) flush_victims();
}

void Revalidators::FinishRound() {
  if (exiting_) return;
  const auto took = std::chrono::steady_clock::now() - round_start_;
  const uint32_t limit = NextFlowLimit(flow_limit_.load(std::memory_order_relaxed), took,
                                       dump_.size(), cfg_.flow_limit);
  flow_limit_.store(limit, std::memory_order_relaxed);
  dump_.clear();
  {
    std::lock_guard lk(mu_);
    stats_.rounds++;
    stats_.last_round = took;
    stats_.max_round = std::max(stats_.max_round, stats_.last_round);
    for (Tally& t : tallies_) {
      stats_.kept += t.kept;
      stats_.modified += t.modified;
    }
    stats_.revalidated_version = target_version_;
  }
  cv_.notify_all();
}

}  // namespace dpswitch::ofp
