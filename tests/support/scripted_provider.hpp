#pragma once
// A provider and a fetcher scripted on a manual clock, for scheduler tests (one daemon in
// scheduler_test, several on PostgreSQL in scheduler_pg_test): tasks run `run_time`, the
// provider counts what runs on its side at each submit (what its cap applies to), downloads
// succeed at once unless the disk is scripted full.

#include "vidq/core/clock.hpp"
#include "vidq/engine/fetch.hpp"
#include "vidq/net/errors.hpp"
#include "vidq/provider/client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace vidq::test {

// A provider whose tasks run `run_time` of the manual clock. It counts, at each submit, the
// tasks still running on its side: what the real provider's cap applies to.
class scripted_provider final : public provider::provider_client {
 public:
  explicit scripted_provider(const clock& c) : clock_(c) {}
  std::function<std::optional<provider::verdict>(int running_now)> refuse;  // scripted rejections
  millis run_time = 60'000;
  int submits = 0;
  int accepted = 0;
  int polls = 0;
  int peak_running = 0;
  int unknown_polls = 0;
  // Polls of a task at the same instant of the manual clock as an earlier poll of it: a
  // daemon that polled one row twice for one decision.
  int repeated_polls = 0;
  // The n-th poll (from 1) answers after poll_turns(n) turns of the event loop (unset: at
  // once), as one over the network would: other coroutines run while it is out.
  std::function<int(int n)> poll_turns;
  bool unreachable = false;  // every request fails before sending (connection refused)

  // What the provider answers a submit over its concurrency limit (HTTP 429, code 1302).
  static provider::verdict rate_limited() {
    provider::verdict v;
    v.what = provider::action::retry;
    v.hint = provider::retry_hint::rate_limited;
    v.error_code = "1302";
    v.message = "concurrency limit";
    v.consumes_attempt = false;
    return v;
  }

  static provider::verdict refused() {
    provider::verdict v;
    v.what = provider::action::retry;
    v.error_code = "network";
    v.message = "request not sent: connection refused";
    v.consumes_attempt = false;
    v.fault = provider::account_fault::unreachable;
    return v;
  }

  boost::asio::awaitable<provider::submit_result> submit(const provider::job_spec&, std::string_view request_id) override {
    ++submits;
    if (unreachable) co_return refused();
    const int running_now = running();
    if (refuse) {
      if (auto v = refuse(running_now)) co_return *v;
    }
    const std::string id = "task-" + std::to_string(++accepted);
    finish_at_[id] = clock_.now() + run_time;
    peak_running = std::max(peak_running, running_now + 1);
    co_return provider::submit_accepted{id, std::string(request_id), "PROCESSING"};
  }
  boost::asio::awaitable<provider::poll_result> poll(std::string_view task_id, const provider::poll_context&) override {
    ++polls;
    if (!polled_at_.emplace(std::string(task_id), clock_.now()).second) ++repeated_polls;
    for (int i = 0, turns = poll_turns ? poll_turns(polls) : 0; i < turns; ++i) {
      co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    }
    if (unreachable) co_return refused();
    auto it = finish_at_.find(std::string(task_id));
    if (it == finish_at_.end()) {
      // What the provider says of an id it never issued (the breaker's probe asks that).
      ++unknown_polls;
      provider::verdict v;
      v.what = provider::action::retry;
      v.error_code = "task_not_found";
      v.message = "poll rejected (HTTP 404 code 1214)";
      v.consumes_attempt = false;
      co_return v;
    }
    if (clock_.now() < it->second) co_return provider::task_running{};
    co_return provider::task_succeeded{"https://cdn.invalid/" + it->first + ".mp4", ""};
  }
  ops::provider_kind provider() const noexcept override { return ops::provider_kind::bigmodel; }
  const std::string& account() const noexcept override { return name_; }

 private:
  std::set<std::pair<std::string, millis>> polled_at_;
  int running() const {
    int n = 0;
    for (const auto& [id, at] : finish_at_) n += clock_.now() < at ? 1 : 0;
    return n;
  }
  const clock& clock_;
  std::string name_ = "default";
  std::map<std::string, millis> finish_at_;
};

class instant_fetcher final : public engine::result_fetcher {
 public:
  int fetches = 0;
  int disk_failures = 0;
  bool disk_full = false;  // every write fails as net::download reports ENOSPC
  boost::asio::awaitable<engine::fetch_result> fetch(const engine::fetch_request& req) override {
    ++fetches;
    if (disk_full) {
      ++disk_failures;
      const net::request_error e{error_code(ENOSPC, boost::system::system_category()), net::delivery::maybe_delivered,
                                 net::step::file, 200, false, {}};
      co_return engine::classify_download_error(e, req.urls_refreshed);
    }
    engine::fetched f;
    f.video_path = "/videos/" + std::to_string(req.job_id) + ".mp4";
    f.video_bytes = 1000;
    f.video_sha256 = std::string(64, 'a');
    co_return f;
  }
};

}  // namespace vidq::test
