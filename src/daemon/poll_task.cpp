// Polls of processing jobs whose next_poll_at has come, and downloads of finished ones.
// A finished task (SUCCESS or FAIL) frees its admission slot at once: the download runs
// outside the cap, so a queued job never waits for a file transfer.
#include "vidq/daemon/job_log.hpp"
#include "vidq/daemon/scheduler.hpp"
#include "vidq/daemon/task_sleep.hpp"
#include "vidq/engine/backoff.hpp"
#include "vidq/engine/output_name.hpp"
#include "vidq/engine/paid_result.hpp"
#include "vidq/ops/log.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>

#include <chrono>
#include <filesystem>

namespace vidq::daemon {

namespace asio = boost::asio;
using provider::action;

namespace {

// The job's files, relative to the output folder, without extension: the name it reserved
// before (a restart or a retry downloads to the same file), else its path_template
// rendered, with "-<id>" added while the name belongs to another job's row or to a file
// already on disk. The winning name is recorded on the row before any byte is fetched, in
// one store step per candidate (store::daemon_store::reserve_video_path), so two downloads
// never pick the same name, of this loop or, on PostgreSQL, of another daemon.
// nullopt: the row is not ours to download any more (cancelled, or adopted elsewhere).
asio::awaitable<result<std::optional<std::filesystem::path>>> claim_output_stem(store::daemon_store& store,
                                                                               std::filesystem::path root,
                                                                               std::string path_template,
                                                                               const store::job_row& row) {
  namespace fs = std::filesystem;
  using stem_result = result<std::optional<fs::path>>;
  if (row.video_path && fs::path(*row.video_path).extension() == ".mp4") {
    fs::path mine = fs::path(*row.video_path).lexically_relative(root);
    if (!mine.empty() && *mine.begin() != "..") co_return stem_result(mine.replace_extension());
  }
  engine::output_tokens tokens;
  tokens.id = row.id;
  tokens.batch = row.batch;
  if (row.key) tokens.key = *row.key;
  tokens.model = row.model;
  tokens.submitted_at = row.submitted_at.value_or(row.created_at);
  const fs::path rendered = engine::render_output_stem(path_template, tokens);
  for (int n = 0;; ++n) {
    const fs::path stem = n == 0 ? rendered : engine::with_id_suffix(rendered, row.id, n);
    const std::string video = (root / stem).string() + ".mp4";
    std::error_code ec;
    const bool on_disk = fs::exists(video, ec) || fs::exists((root / stem).string() + ".png", ec) ||
                         fs::exists((root / stem).string() + ".jpg", ec);
    if (on_disk) continue;
    auto reserved = co_await store.reserve_video_path(row, video);
    if (!reserved) co_return reserved.error();
    if (*reserved == store::output_reservation::taken) continue;
    if (*reserved == store::output_reservation::moved) co_return stem_result(std::nullopt);
    co_return stem_result(stem);
  }
}

}  // namespace

asio::awaitable<void> scheduler::start_polls() {
  poll_wait_.reset();
  next_poll_.reset();
  const millis t = now();
  // A poll that ends while the query runs (PostgreSQL: it suspends) may have rescheduled its
  // row after the query's snapshot: that copy says "due" with the old schedule. Such rows
  // wait for the next pass's fresh look; polling them now would poll twice, and a download
  // queued meanwhile would find the row busy.
  polled_while_reading_.clear();
  reading_due_polls_ = true;
  auto due = co_await store_.due_polls(static_cast<int>(busy_jobs_.size()) + 64);
  reading_due_polls_ = false;
  if (!due) {
    log::error("polls_unreadable", {{"error", due.error().message()}});
    co_return;
  }
  for (auto& row : *due) {
    if (busy_jobs_.contains(row.id) || polled_while_reading_.contains(row.id) || !row.task_id) continue;
    auto budget = poll_budgets_.find(row.account);
    if (budget == poll_budgets_.end() || !clients_.contains(row.account)) continue;  // account left the config
    if (breakers_.is_open(row.account)) continue;  // the probe first; the row stays due
    if (!budget->second.try_take(t)) {
      const millis at = budget->second.next_available(t);
      poll_wait_ = poll_wait_ ? std::min(*poll_wait_, at) : at;
      continue;
    }
    busy_jobs_.insert(row.id);
    spawn(task_slot::kind::poll, poll_task(std::move(row)));
  }
  // The earliest poll still ahead, for the loop's sleep (due ones are running now).
  auto next = co_await store_.next_poll_time();
  if (next && *next && **next > t) next_poll_ = **next;
}

asio::awaitable<void> scheduler::poll_task(store::job_row row) {
  provider::provider_client& client = *clients_.find(row.account)->second;
  const auto expected = expected_for(row);
  const millis submitted = row.submitted_at.value_or(row.updated_at);
  provider::poll_context ctx;
  ctx.submitted_at = submitted;
  // The task already succeeded once (the row holds its result URL): this poll only fetches
  // fresh URLs for a re-download. Its run is over, so no poll deadline applies; a "not
  // found" is no replication lag but the provider having dropped it: url_expired.
  const bool repoll = row.video_url.has_value();
  if (repoll) ctx.not_found_grace = 0;
  const std::string task_id = *row.task_id;
  auto reply = co_await client.poll(task_id, ctx);
  const millis t = now();
  const int polls_done = static_cast<int>(row.polls) + 1;
  if (!std::holds_alternative<provider::verdict>(reply)) note_healthy_reply(row.account);

  // What this poll decided, written below in one place: the write may wait in this task
  // while another connection holds the lock (persist), and plain lambdas that only record
  // the decision keep coroutine lambdas (and GCC 12's temporaries in co_await) out of it.
  std::optional<std::pair<std::string, std::string>> failure;  // error code, message
  std::optional<millis> reschedule_at;
  std::string outcome;
  auto fail = [&](std::string_view code, std::string_view message, std::string_view what) {
    failure.emplace(std::string(code), std::string(message));
    outcome = what;
  };
  auto deadline_fail = [&] {
    fail("poll_deadline",
         "the provider did not finish task " + task_id + " within " +
             std::to_string(engine::poll_deadline(expected, cfg_.polling) / 1000) +
             " s; it may still finish remotely (check the console)",
         "deadline");
  };
  auto reschedule = [&](millis at, std::string_view what) {
    reschedule_at = at;
    outcome = what;
  };

  if (std::holds_alternative<provider::task_running>(reply)) {
    if (!repoll && engine::deadline_passed(submitted, t, expected, cfg_.polling)) {
      deadline_fail();
    } else {
      reschedule(plan_poll(row, submitted, t, polls_done), "running");
    }
  } else if (auto* done = std::get_if<provider::task_succeeded>(&reply)) {
    metrics_.bump(metrics_.polls, "succeeded");
    if (is_true(
            co_await persist(row, [&] { return store_.record_remote_success(row, done->video_url, done->cover_url); }))) {
      release(row.account, row.model);
      if (repoll) urls_refreshed_.insert(row.id);  // a 403/404 on these is final
      log_job(log::level::info, "job_finished_remotely", row,
              {{"from", "processing"}, {"to", "downloading"}, {"polls", polls_done}, {"run_ms", t - submitted}});
      row.state = job_state::downloading;
      row.video_url = done->video_url;
      row.cover_url = done->cover_url;
      row.polls = polls_done;
      if (!repoll) observe_duration(row, submitted, t);
      forget_task(row.id);
      download_queue_.push_back(std::move(row));
    }
  } else if (auto* failed = std::get_if<provider::task_failed>(&reply)) {
    metrics_.bump(metrics_.provider_errors, failed->error_code);
    fail(failed->error_code, failed->message.empty() ? "the provider reported FAIL" : failed->message, "failed");
  } else {
    auto& v = std::get<provider::verdict>(reply);
    if (v.error_code != "cancelled") metrics_.bump(metrics_.provider_errors, v.error_code);
    // A shutdown may have cancelled the poll. What follows (the breaker, a pause) ran as
    // plain calls before the store became awaitable and must still run then: Asio must not
    // throw at these co_awaits. The record below still meets the cancellation as before.
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    switch (v.what) {
      case action::fail_job:
        if (repoll) {
          fail("url_expired",
               "the provider no longer has task " + task_id + " (" + v.message +
                   "): its paid result cannot be fetched again; `vidq retry --resubmit " + std::to_string(row.id) +
                   "` pays for a new task",
               "expired");
        } else {
          fail(v.error_code, v.message, "failed");
        }
        break;
      case action::pause_account:
        co_await pause_from_provider(row.account, v);
        reschedule(std::max(v.not_before.value_or(t), t + 60'000), "paused");
        break;
      case action::retry:
      case action::ambiguous: {
        // An unreachable endpoint says nothing about the task: no deadline runs out on it.
        const bool breaker_open = co_await note_account_fault(row.account, v);
        const bool account_down = breaker_open || v.fault == provider::account_fault::unreachable ||
                                  v.fault == provider::account_fault::endpoint_missing;
        if (!account_down && !repoll && engine::deadline_passed(submitted, t, expected, cfg_.polling)) {
          deadline_fail();
        } else {
          const millis backoff = engine::retry_at(v, std::min(polls_done, 6), cfg_.retry, t, random01());
          const millis scheduled = engine::next_poll_at(submitted, t, polls_done, expected, cfg_.polling, random01());
          reschedule(std::max(backoff, std::min(scheduled, t + cfg_.retry.base_delay)), "retry");
          if (v.error_code != "cancelled") {
            log_job(log::level::info, "poll_retry", row, {{"code", v.error_code}, {"message", v.message}});
          }
        }
        break;
      }
    }
    co_await asio::this_coro::throw_if_cancelled(throw_before);
  }
  if (failure) {
    metrics_.bump(metrics_.polls, outcome);
    const std::string& code = failure->first;
    const std::string& message = failure->second;
    if (is_true(co_await persist(row, [&] { return store_.record_failed(row, job_state::processing, code, message); }))) {
      if (code == "poll_deadline") observe_duration(row, submitted, std::nullopt);
      forget_task(row.id);
      log_job(log::level::info, "job_failed", row,
              {{"from", "processing"}, {"to", "failed"}, {"code", code}, {"message", message}, {"polls", polls_done}});
      release(row.account, row.model);
    }
  } else if (reschedule_at) {
    metrics_.bump(metrics_.polls, outcome);
    const millis at = *reschedule_at;
    const bool saw_running = outcome == "running";
    if (is_true(co_await persist(row, [&] { return store_.record_polled(row, at, saw_running); }))) {
      next_poll_ = next_poll_ ? std::min(*next_poll_, at) : at;
    }
  }
  busy_jobs_.erase(row.id);
  if (reading_due_polls_) polled_while_reading_.insert(row.id);
  wake();
}

void scheduler::start_downloads() {
  if (disk_.downloads_paused()) return;  // they would only fail again; check_disk resumes
  while (downloads_running_ < opt_.max_downloads && !download_queue_.empty()) {
    auto row = std::move(download_queue_.front());
    download_queue_.pop_front();
    if (busy_jobs_.contains(row.id)) continue;
    busy_jobs_.insert(row.id);
    ++downloads_running_;
    spawn(task_slot::kind::download, download_task(std::move(row)));
  }
}

asio::awaitable<void> scheduler::download_task(store::job_row row) {
  engine::fetch_request req(row.id, row.batch, row.video_url.value_or(""), row.cover_url.value_or(""));
  req.urls_refreshed = urls_refreshed_.contains(row.id);
  const std::filesystem::path output_root = cfg_.output_dir;  // a reload may swap cfg_ meanwhile
  const std::string path_template = cfg_.output_path_template;
  auto stem = co_await claim_output_stem(store_, output_root, path_template, row);
  while (!stem && note_db_outcome(stem.error())) {
    // The name is reserved on the row before a byte is fetched: wait for the lock here.
    if (!co_await sleep_for(std::max<millis>(1, db_lock_.next_try() - now()))) break;
    if (db_may_write()) stem = co_await claim_output_stem(store_, output_root, path_template, row);
  }
  if (stem) note_db_outcome({});
  if (!stem || !*stem) {
    // An error: the row stays downloading and the next start's recovery downloads it again.
    // No name: the row moved (cancelled, or adopted by another daemon); nothing to write.
    if (!stem) log_job(log::level::error, "output_name_unavailable", row, {{"error", stem.error().message()}});
    if (stem) log_job(log::level::info, "download_dropped", row, {{"detail", "the row is no longer downloading here"}});
    --downloads_running_;
    busy_jobs_.erase(row.id);
    co_return;
  }
  req.stem = std::move(**stem);
  const millis started = now();
  for (int attempt = 1;; ++attempt) {
    auto got = co_await fetcher_.fetch(req);
    const millis t = now();
    if (auto* f = std::get_if<engine::fetched>(&got)) {
      store::dispatch_store::download_outcome out;
      out.video_path = f->video_path.string();
      out.video_bytes = static_cast<std::int64_t>(f->video_bytes);
      out.video_sha256 = f->video_sha256;
      out.cover_path = f->cover_path.string();
      out.cost = row.cost;
      metrics_.bump(metrics_.downloads, "ok");
      metrics_.download_bytes += f->video_bytes;
      disk_.on_write_ok();
      if (is_true(co_await persist(row, [&] { return store_.record_succeeded(row, out); }))) {
        const millis submitted = row.submitted_at.value_or(started);
        metrics_.job_duration.observe(static_cast<double>(t - submitted) / 1000.0);
        log_job(log::level::info, "job_succeeded", row,
                {{"from", "downloading"},
                 {"to", "succeeded"},
                 {"video_path", out.video_path},
                 {"bytes", out.video_bytes},
                 {"download_ms", t - started},
                 {"total_ms", t - submitted}});
        if (!f->cover_error.empty()) log_job(log::level::warn, "cover_download_failed", row, {{"message", f->cover_error}});
        }
      urls_refreshed_.erase(row.id);
      break;
    }
    auto& v = std::get<provider::verdict>(got);
    if (v.error_code == "cancelled" || stopping_) break;  // stays downloading: redone at next start
    if (v.hint == provider::retry_hint::local_disk) {
      // This host's disk, not the job: it stays downloading with its attempt, and waits
      // with the other paused downloads for space (check_disk resumes them).
      const std::int64_t id = row.id;
      pause_downloads_for_disk(std::move(row), v);
      --downloads_running_;
      busy_jobs_.erase(id);
      wake();
      co_return;
    }
    metrics_.bump(metrics_.provider_errors, v.error_code);
    if (v.what == action::retry && v.hint == provider::retry_hint::refresh_urls) {
      metrics_.bump(metrics_.downloads, "expired");
      if (is_true(co_await persist(row, [&] { return store_.record_urls_expired(row); }))) {
        urls_refreshed_.insert(row.id);
        next_poll_ = t;
        log_job(log::level::info, "urls_expired", row, {{"code", v.error_code}, {"message", v.message}});
      }
      break;
    }
    if (v.what != action::retry || attempt >= cfg_.retry.max_attempts) {
      if (engine::after_download_gave_up(v, row.refetches, cfg_.retry.max_refetches) ==
          engine::download_give_up::refetch) {
        co_await refetch_after_failed_download(row, v, attempt);
        break;
      }
      metrics_.bump(metrics_.downloads, "failed");
      urls_refreshed_.erase(row.id);
      if (is_true(co_await persist(
              row, [&] { return store_.record_failed(row, job_state::downloading, v.error_code, v.message); }))) {
        log_job(log::level::warn, "job_failed", row,
                {{"from", "downloading"}, {"to", "failed"}, {"code", v.error_code}, {"message", v.message}});
        }
      break;
    }
    metrics_.bump(metrics_.downloads, "retry");
    const millis at = engine::retry_at(v, attempt, cfg_.retry, t, random01());
    log_job(log::level::info, "download_retry", row,
            {{"code", v.error_code}, {"message", v.message}, {"retry_in_ms", at - t}});
    if (!co_await sleep_for(at - t)) break;
  }
  --downloads_running_;
  busy_jobs_.erase(row.id);
  wake();
}

// The download's own retries are spent on a local or transient cause, but the result is
// still at the provider and paid for: after a backoff (the row stays downloading, so a
// shutdown meanwhile is redone by the next start's recovery) the stored task is polled again
// for fresh URLs and downloaded once more. Never a new submit.
asio::awaitable<void> scheduler::refetch_after_failed_download(const store::job_row& row, const provider::verdict& v,
                                                               int attempts) {
  const millis t = now();
  const int round = static_cast<int>(row.refetches) + 1;
  const millis at = engine::retry_at(v, round, cfg_.retry, t, random01());
  log_job(log::level::warn, "download_refetch_scheduled", row,
          {{"code", v.error_code}, {"message", v.message}, {"refetch", round}, {"refetch_in_ms", at - t}});
  if (!co_await sleep_for(at - t) || stopping_) co_return;
  const std::string message = "download failed " + std::to_string(attempts) + " time(s) (" + v.message +
                              "); polling task " + row.task_id.value_or("?") + " again for fresh URLs (re-download " +
                              std::to_string(round) + " of " + std::to_string(cfg_.retry.max_refetches) + ")";
  metrics_.bump(metrics_.downloads, "refetch");
  if (is_true(co_await persist(row, [&] { return store_.record_refetch(row, v.error_code, message); }))) {
    urls_refreshed_.erase(row.id);
    next_poll_ = now();
    log_job(log::level::info, "download_refetch", row, {{"code", v.error_code}, {"refetch", round}});
  }
}

}  // namespace vidq::daemon
