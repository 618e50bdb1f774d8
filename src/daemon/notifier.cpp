// The notice outbox, daemon side: fan-out (with the batch manifest), delivery attempts,
// their records. include/vidq/daemon/notifier.hpp tells the shape.
#include "vidq/daemon/notifier.hpp"

#include "vidq/engine/output_name.hpp"
#include "vidq/notify/retry_policy.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/output/manifest.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <filesystem>

namespace vidq::daemon {

namespace asio = boost::asio;

namespace {

constexpr int fan_out_batch = 64;

// Where [output] write_manifest puts a batch's manifest (docs/OPERATIONS.md "Export").
std::filesystem::path manifest_path(const std::string& output_dir, const std::string& tmpl, const std::string& batch) {
  namespace fs = std::filesystem;
  const fs::path folder = fs::path(output_dir) / engine::batch_folder(tmpl, batch);
  return folder / (folder == fs::path(output_dir) ? engine::sanitize_component(batch) + ".manifest.csv"
                                                  : std::string("manifest.csv"));
}

}  // namespace

notifier::notifier(asio::any_io_executor ex, notifier_deps deps, const ops::config& cfg,
                   std::vector<notify::target> targets, std::uint64_t seed)
    : ex_(ex),
      outbox_(deps.outbox),
      store_(deps.store),
      clock_(deps.clock),
      metrics_(deps.metrics),
      transport_(deps.transport),
      min_pass_interval_(deps.min_pass_interval),
      rng_(seed != 0 ? seed : std::random_device{}()) {
  reload(cfg, std::move(targets));
}

notifier::~notifier() {
  *alive_ = false;
  files_.join();  // a manifest write in progress finishes; its completion is dropped
}

void notifier::reload(const ops::config& cfg, std::vector<notify::target> targets) {
  targets_ = std::move(targets);
  write_manifest_ = cfg.write_manifest;
  output_dir_ = cfg.output_dir;
  path_template_ = cfg.output_path_template;
}

const notify::target* notifier::find_target(std::string_view name) const {
  for (const auto& t : targets_) {
    if (t.config.name == name) return &t;
  }
  return nullptr;
}

void notifier::poke() {
  if (pumping_ || stopping_) return;
  pumping_ = true;
  spawn_tracked(pass());
}

asio::awaitable<void> notifier::pass() {
  co_await pump();
  pumping_ = false;
}

asio::awaitable<void> notifier::pump() {
  if (stopping_) co_return;
  const millis t = clock_.now();
  const bool retry_due = next_due_ && *next_due_ <= t;
  if (last_pass_ && t - *last_pass_ < min_pass_interval_ && !progressed_ && !retry_due) co_return;
  last_pass_ = t;
  progressed_ = false;
  co_await fan_out();
  co_await start_deliveries();
  co_await refresh_next_due();
}

asio::awaitable<bool> notifier::has_work(millis horizon) {
  if (!attempts_.empty() || manifests_ > 0) co_return true;
  auto waiting = co_await outbox_.to_fan_out(1);
  if (!waiting || !waiting->empty()) co_return true;
  co_await refresh_next_due();
  co_return next_due_ && *next_due_ <= clock_.now() + horizon;
}

void notifier::stop() {
  stopping_ = true;
  for (auto& [key, slot] : attempts_) slot->signal.emit(asio::cancellation_type::terminal);
}

asio::awaitable<void> notifier::refresh_next_due() {
  auto next = co_await outbox_.next_due();
  next_due_ = next ? *next : std::nullopt;
}

void notifier::spawn_tracked(asio::awaitable<void> work) {
  asio::co_spawn(ex_, std::move(work), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log::error("task_crashed", {{"what", x.what()}});
    }
  });
}

// ---- fan-out --------------------------------------------------------------------------

asio::awaitable<void> notifier::fan_out() {
  auto notices = co_await outbox_.to_fan_out(fan_out_batch + static_cast<int>(preparing_.size()));
  if (!notices) {
    log::warn("notices_unreadable", {{"error", notices.error().message()}});
    co_return;
  }
  for (const auto& n : *notices) {
    if (preparing_.contains(n.id)) continue;
    if (n.event == notice_event::batch_finished && write_manifest_ && n.batch) {
      preparing_.insert(n.id);
      ++manifests_;
      spawn_tracked(manifest_then_fan_out(n));
      continue;
    }
    const std::optional<std::string> no_manifest;
    co_await finish_fan_out(n, no_manifest);
  }
}

// The rows are read and rendered on the loop; the file is written on the worker thread
// (fsync and rename); the notice is fanned out when the write is done, naming the file. A
// manifest that cannot be read or written does not hold the notice back: it goes out
// without one.
asio::awaitable<void> notifier::manifest_then_fan_out(notify::notice_row notice) {
  std::optional<std::string> manifest;
  auto rows = co_await outbox_.batch_manifest(*notice.batch);
  if (!rows) {
    log::error("manifest_unreadable", {{"batch", *notice.batch}, {"error", rows.error().message()}});
  } else {
    output::manifest_options options;
    options.output_dir = output_dir_;
    const auto file = manifest_path(output_dir_, path_template_, *notice.batch);
    const std::size_t jobs = rows->size();
    auto write = [file, text = output::render_manifest(*rows, options)]() -> asio::awaitable<bool> {
      std::error_code ec;
      std::filesystem::create_directories(file.parent_path(), ec);
      co_return output::write_manifest_file(file, text).has_value();
    };
    const bool written = co_await asio::co_spawn(files_, std::move(write), asio::use_awaitable);
    if (written) {
      log::info("batch_manifest_written", {{"batch", *notice.batch}, {"path", file.string()}, {"jobs", jobs}});
      manifest = file.string();
    } else {
      log::error("manifest_write_failed", {{"batch", *notice.batch}, {"path", file.string()}});
    }
  }
  // At a shutdown the notice stays as it is: fanned out at the next start (the file is
  // rewritten then).
  if (!stopping_) co_await finish_fan_out(notice, manifest);
  --manifests_;
  preparing_.erase(notice.id);
  progressed_ = true;
  if (on_progress_) on_progress_();
}

asio::awaitable<void> notifier::finish_fan_out(const notify::notice_row& notice,
                                               const std::optional<std::string>& manifest) {
  std::string payload = notice.payload;
  if (notice.event == notice_event::batch_finished && notice.batch) {
    auto spent = co_await store_.spent_by_batch(*notice.batch);  // the ledger: every paid attempt
    payload = notify::complete_payload(notice.event, notice.payload, spent ? *spent : 0, manifest);
  }
  std::vector<std::string> names;
  for (const auto& t : targets_) {
    if (t.config.wants(notice.event)) names.push_back(t.config.name);
  }
  auto done = co_await outbox_.fan_out(notice.id, payload, names);
  if (!done) {
    log::warn("notice_fan_out_failed", {{"notice", notice.id}, {"error", done.error().message()}});
    co_return;
  }
  if (*done && !names.empty()) {
    log::debug("notice_queued", {{"notice", notice.id}, {"event", to_string(notice.event)}, {"targets", names.size()}});
  }
}

// ---- delivery -------------------------------------------------------------------------

asio::awaitable<void> notifier::start_deliveries() {
  if (transport_ == nullptr || static_cast<int>(attempts_.size()) >= max_in_flight) co_return;
  auto due = co_await outbox_.due(clock_.now(), max_in_flight * 4);
  if (!due) {
    log::warn("notices_unreadable", {{"error", due.error().message()}});
    co_return;
  }
  for (auto& d : *due) {
    if (static_cast<int>(attempts_.size()) >= max_in_flight) break;
    int same_target = 0;
    bool running = false;
    for (const auto& [key, slot] : attempts_) {
      if (slot->target != d.target) continue;
      ++same_target;
      running = running || slot->notice_id == d.notice.id;
    }
    if (running || same_target >= max_per_target) continue;
    // Another daemon sharing the outbox may have claimed it since it was read.
    auto ours = co_await outbox_.claim_delivery(d.notice.id, d.target, clock_.now(), delivery_hold_ms);
    if (!ours || !*ours) continue;
    const notify::target* target = find_target(d.target);
    if (target == nullptr) {
      const std::string why = "no [[notify]] target of this name in the config";
      (void)co_await outbox_.record_failed(d.notice.id, d.target, why, std::nullopt);
      metrics_.bump(metrics_.notices, "gave_up");
      continue;
    }
    const auto key = next_slot_++;
    auto slot = std::make_unique<attempt_slot>();
    slot->target = d.target;
    slot->notice_id = d.notice.id;
    auto cancel = slot->signal.slot();
    attempts_.emplace(key, std::move(slot));
    asio::co_spawn(ex_, attempt(std::move(d), *target),
                   asio::bind_cancellation_slot(cancel, [this, key, alive = alive_](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         log::error("task_crashed", {{"what", x.what()}});
                       }
                     }
                     // Not erased here: the signal must outlive the completion that uses it.
                     asio::post(ex_, [this, key, alive] {
                       if (!*alive) return;
                       attempts_.erase(key);
                       progressed_ = true;
                       if (on_progress_) on_progress_();
                     });
                   }));
  }
}

asio::awaitable<void> notifier::attempt(store::due_delivery d, notify::target target) {
  const auto msg = notify::build_message(d.notice, d.target);
  const millis started = clock_.now();
  const auto outcome = co_await transport_->deliver(target, msg);
  const millis t = clock_.now();
  const int attempts = d.attempts + 1;
  boost::json::object fields{{"notice", d.notice.id},
                             {"event", to_string(d.notice.event)},
                             {"target", d.target},
                             {"attempt", attempts},
                             {"ms", t - started}};
  if (outcome.delivered) {
    metrics_.bump(metrics_.notices, "delivered");
    if (auto r = co_await outbox_.record_delivered(d.notice.id, d.target); !r) {
      log::warn("notice_record_failed", {{"notice", d.notice.id}, {"error", r.error().message()}});
    }
    log::info("notice_delivered", fields);
    co_return;
  }
  if (stopping_) co_return;  // cut by the shutdown: stays due, sent again at the next start
  const auto next = notify::next_attempt_at(attempts, t, d.notice.at, target.config.retry_for,
                                            std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
  metrics_.bump(metrics_.notices, next ? "failed" : "gave_up");
  if (auto r = co_await outbox_.record_failed(d.notice.id, d.target, outcome.error, next); !r) {
    log::warn("notice_record_failed", {{"notice", d.notice.id}, {"error", r.error().message()}});
  }
  fields["error"] = outcome.error;
  if (next) {
    fields["retry_in_ms"] = *next - t;
    log::warn("notice_failed", fields);
  } else {
    log::error("notice_given_up", fields);
  }
}

}  // namespace vidq::daemon
