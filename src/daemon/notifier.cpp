// The notice outbox, daemon side: fan-out (with the batch manifest), delivery attempts,
// their records. include/vidq/daemon/notifier.hpp tells the shape.
#include "vidq/daemon/notifier.hpp"

#include "vidq/engine/output_name.hpp"
#include "vidq/notify/retry_policy.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/output/manifest.hpp"
#include "vidq/store/charge_store.hpp"
#include "vidq/store/output_store.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
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
      db_(deps.db),
      clock_(deps.clock),
      metrics_(deps.metrics),
      transport_(deps.transport),
      store_(deps.db, deps.clock),
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

void notifier::pump() {
  if (stopping_) return;
  fan_out();
  start_deliveries();
  refresh_next_due();
}

bool notifier::has_work(millis horizon) {
  if (!attempts_.empty() || manifests_ > 0) return true;
  auto waiting = store_.to_fan_out(1);
  if (!waiting || !waiting->empty()) return true;
  refresh_next_due();
  return next_due_ && *next_due_ <= clock_.now() + horizon;
}

void notifier::stop() {
  stopping_ = true;
  for (auto& [key, slot] : attempts_) slot->signal.emit(asio::cancellation_type::terminal);
}

void notifier::refresh_next_due() {
  auto next = store_.next_due();
  next_due_ = next ? *next : std::nullopt;
}

// ---- fan-out --------------------------------------------------------------------------

void notifier::fan_out() {
  auto notices = store_.to_fan_out(fan_out_batch + static_cast<int>(preparing_.size()));
  if (!notices) {
    log::warn("notices_unreadable", {{"error", notices.error().message()}});
    return;
  }
  for (const auto& n : *notices) {
    if (preparing_.contains(n.id)) continue;
    if (n.event == notice_event::batch_finished && write_manifest_ && n.batch) {
      if (start_manifest(n)) continue;
    }
    finish_fan_out(n, std::nullopt);
  }
}

// Reads and renders the manifest here (the database is this thread's), writes it on the
// worker thread, and fans the notice out when the write is done. False when the manifest
// cannot even be read (the notice goes out without one).
bool notifier::start_manifest(const notify::notice_row& notice) {
  store::output_store outputs(db_);
  store::manifest_filter filter;
  filter.batch = *notice.batch;
  auto rows = outputs.manifest(filter);
  if (!rows) {
    log::error("manifest_unreadable", {{"batch", *notice.batch}, {"error", rows.error().message()}});
    return false;
  }
  output::manifest_options options;
  options.output_dir = output_dir_;
  const auto file = manifest_path(output_dir_, path_template_, *notice.batch);
  preparing_.insert(notice.id);
  ++manifests_;
  const std::size_t jobs = rows->size();
  asio::post(files_, [this, alive = alive_, notice, file, jobs, text = output::render_manifest(*rows, options)] {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    const bool written = output::write_manifest_file(file, text).has_value();
    asio::post(ex_, [this, alive, notice, file, jobs, written] {
      if (!*alive) return;
      --manifests_;
      preparing_.erase(notice.id);
      if (written) {
        log::info("batch_manifest_written", {{"batch", *notice.batch}, {"path", file.string()}, {"jobs", jobs}});
      } else {
        log::error("manifest_write_failed", {{"batch", *notice.batch}, {"path", file.string()}});
      }
      if (stopping_) return;  // fanned out at the next start (the file is rewritten then)
      finish_fan_out(notice, written ? std::optional<std::string>(file.string()) : std::nullopt);
      if (on_progress_) on_progress_();
    });
  });
  return true;
}

void notifier::finish_fan_out(const notify::notice_row& notice, const std::optional<std::string>& manifest) {
  std::string payload = notice.payload;
  if (notice.event == notice_event::batch_finished && notice.batch) {
    auto spent = store::charge_store(db_).spent_by_batch(*notice.batch);  // the ledger: every paid attempt
    payload = notify::complete_payload(notice.event, notice.payload, spent ? *spent : 0, manifest);
  }
  std::vector<std::string> names;
  for (const auto& t : targets_) {
    if (t.config.wants(notice.event)) names.push_back(t.config.name);
  }
  auto done = store_.fan_out(notice.id, payload, names);
  if (!done) {
    log::warn("notice_fan_out_failed", {{"notice", notice.id}, {"error", done.error().message()}});
    return;
  }
  if (*done && !names.empty()) {
    log::debug("notice_queued", {{"notice", notice.id}, {"event", to_string(notice.event)}, {"targets", names.size()}});
  }
}

// ---- delivery -------------------------------------------------------------------------

void notifier::start_deliveries() {
  if (transport_ == nullptr || static_cast<int>(attempts_.size()) >= max_in_flight) return;
  auto due = store_.due(clock_.now(), max_in_flight * 4);
  if (!due) {
    log::warn("notices_unreadable", {{"error", due.error().message()}});
    return;
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
    const notify::target* target = find_target(d.target);
    if (target == nullptr) {
      (void)store_.record_failed(d.notice.id, d.target, "no [[notify]] target of this name in the config",
                                 std::nullopt);
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
    if (auto r = store_.record_delivered(d.notice.id, d.target); !r) {
      log::warn("notice_record_failed", {{"notice", d.notice.id}, {"error", r.error().message()}});
    }
    log::info("notice_delivered", fields);
    co_return;
  }
  if (stopping_) co_return;  // cut by the shutdown: stays due, sent again at the next start
  const auto next = notify::next_attempt_at(attempts, t, d.notice.at, target.config.retry_for,
                                            std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
  metrics_.bump(metrics_.notices, next ? "failed" : "gave_up");
  if (auto r = store_.record_failed(d.notice.id, d.target, outcome.error, next); !r) {
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
