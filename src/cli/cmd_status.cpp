#include "command.hpp"
#include "format.hpp"
#include "session.hpp"
#include "vidq/engine/admission.hpp"
#include "vidq/engine/disk_pressure.hpp"
#include "vidq/output/free_space.hpp"
#include "vidq/ops/status_watch.hpp"

#include <boost/json/serialize.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

namespace vidq::cli {
namespace {

// One mark per state, as `status --watch` draws them: # succeeded, x failed, - cancelled,
// > running, . queued. Each share is rounded on its own cumulative edge, so the bar is
// always `width` wide and a single failure among many successes still shows.
std::string bar(const store::batch_summary& b, int width) {
  using enum job_state;
  const std::pair<char, std::int64_t> parts[] = {
      {'#', b.count(succeeded)},
      {'x', b.count(failed)},
      {'-', b.count(cancelled)},
      {'>', b.count(submitting) + b.count(processing) + b.count(downloading)},
      {'.', b.count(queued)}};
  std::string out;
  if (b.total <= 0) return std::string(static_cast<std::size_t>(width), '.');
  std::int64_t seen = 0;
  for (const auto& [mark, n] : parts) {
    seen += n;
    auto edge = static_cast<std::size_t>((seen * width + b.total / 2) / b.total);
    if (n > 0 && edge <= out.size()) edge = out.size() + 1;  // never hide a non-empty state
    edge = std::min(edge, static_cast<std::size_t>(width));
    if (edge > out.size()) out.append(edge - out.size(), mark);
  }
  out.resize(static_cast<std::size_t>(width), '.');
  return out;
}

// Why submits may be held back: account pauses (from the database, as the daemon sees them)
// and the budget limits of the config against what was spent.
void print_blocks(session& s, const std::vector<store::batch_summary>& batches) {
  auto pauses = s.store->pauses();
  const millis now = s.clock.now();
  bool header = false;
  const auto note = [&](const std::string& line) {
    if (!header) std::printf("\nHELD BACK\n");
    header = true;
    std::printf("  %s\n", line.c_str());
  };
  if (pauses) {
    for (const auto& p : *pauses) {
      if (p.until && *p.until <= now) continue;  // expired: the daemon resumes it
      note("account " + p.account + " paused by " + std::string(to_string(p.by)) + ": " + p.reason +
           (p.until ? " (until " + format_time(*p.until) + " UTC)" : " (until resumed)"));
    }
  }
  // Free space as the daemon judges it (engine/disk_pressure.hpp): below the floor its
  // submits wait, and a full disk pauses its downloads until space returns.
  if (const auto free = output::free_bytes(s.config.output_dir)) {
    const std::uint64_t floor = static_cast<std::uint64_t>(s.config.output_min_free_mb) << 20;
    if (auto low = engine::low_space_block(*free, floor)) note("disk: " + *low);
  }
  const auto& budget = s.config.budget;
  if (!budget.daily_limit && !budget.batch_limit) return;
  auto spent_today = s.store->spent_since(engine::utc_day_start(now));
  const std::int64_t today = spent_today ? *spent_today : 0;
  for (const auto& b : batches) {
    if (b.count(job_state::queued) == 0) continue;
    // The cheapest next job is unknown here; a limit already reached blocks any price.
    if (auto why = engine::budget_blocks(budget, b.batch, {today, b.cost}, 1)) {
      why->erase(std::min(why->size(), why->find(", next job costs")));  // the 0.001 probe is no real price
      note("batch " + b.batch + ": " + *why + "; its queued jobs wait");
    }
  }
}

void run_status(context& ctx, bool json) {
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  auto& jobs = *s->store;
  auto batches = jobs.batch_summaries();
  auto inflight = jobs.inflight_counts();
  if (!batches || !inflight) {
    report_error("status", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  if (json) {
    boost::json::array out;
    for (const auto& b : *batches) {
      boost::json::object o;
      o["batch"] = b.batch;
      o["total"] = b.total;
      for (job_state st : all_job_states) o[to_string(st)] = b.count(st);
      o["spent_cny"] = static_cast<double>(b.cost) / 1000.0;
      out.push_back(std::move(o));
    }
    std::puts(boost::json::serialize(out).c_str());
    return;
  }
  std::printf("%-20s %6s %6s %6s %6s %6s %6s  %-21s %9s\n", "BATCH", "TOTAL", "QUEUED", "RUN", "OK", "FAILED", "CANCEL",
              "DONE", "SPENT CNY");
  for (const auto& b : *batches) {
    using enum job_state;
    const auto running = b.count(submitting) + b.count(processing) + b.count(downloading);
    const auto done = b.count(succeeded) + b.count(failed) + b.count(cancelled);
    const double fraction = b.total ? static_cast<double>(done) / static_cast<double>(b.total) : 0.0;
    std::printf("%-20s %6lld %6lld %6lld %6lld %6lld %6lld  %s %3.0f%% %9s\n", b.batch.substr(0, 20).c_str(),
                static_cast<long long>(b.total), static_cast<long long>(b.count(queued)),
                static_cast<long long>(running), static_cast<long long>(b.count(succeeded)),
                static_cast<long long>(b.count(failed)), static_cast<long long>(b.count(cancelled)),
                bar(b, 16).c_str(), 100 * fraction, format_cny(b.cost).c_str());
  }
  std::printf("(# succeeded  x failed  - cancelled  > running  . queued)\n");
  print_blocks(*s, *batches);
  if (!inflight->empty()) {
    std::printf("\n%-16s %-18s %9s %4s\n", "ACCOUNT", "MODEL", "IN FLIGHT", "CAP");
    for (const auto& c : *inflight) {
      const auto* account = s->config.find_account(c.account);
      std::printf("%-16s %-18s %9lld %4s\n", c.account.c_str(), c.model.c_str(), static_cast<long long>(c.count),
                  account ? std::to_string(account->cap()).c_str() : "?");
    }
  }
}

struct status_flags {
  bool json = false;
  bool watch = false;
  double interval_seconds = 2;
  int iterations = 0;
};

std::atomic<bool> stop_watching{false};
extern "C" void on_stop_signal(int) { stop_watching = true; }

// --watch: query, render (ops/status_watch.hpp), sleep; Ctrl-C (SIGINT) or SIGTERM ends it
// with exit 0. Sleeps in short slices so the signal is noticed at once.
void run_watch(context& ctx, const status_flags& f) {
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  auto& jobs = *s->store;
  const bool tty = stdout_is_tty();
  stop_watching = false;
  struct sigaction action {}, old_int{}, old_term{};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  if (tty) std::fputs("\x1b[?25l\x1b[2J", stdout);  // hide the cursor, clear once
  const auto interval = std::chrono::milliseconds(static_cast<long long>(f.interval_seconds * 1000));
  for (int i = 0; !stop_watching; ++i) {
    auto batches = jobs.batch_summaries();
    if (!batches) {
      report_error("status", s->store->last_error());
      ctx.exit_code = exit_failure;
      break;
    }
    ops::watch_frame_options o{.tty = tty, .now = s->clock.now()};
    if (winsize ws{}; tty && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      o.width = ws.ws_col;
      o.max_batches = std::max(1, ws.ws_row - 4);  // header, "more", total, cursor line
    }
    const std::string frame = ops::render_watch_frame(*batches, o);
    std::fwrite(frame.data(), 1, frame.size(), stdout);
    std::fflush(stdout);
    if (f.iterations > 0 && i + 1 >= f.iterations) break;
    const auto until = std::chrono::steady_clock::now() + interval;
    while (!stop_watching && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (tty) std::fputs("\x1b[?25h", stdout);
  std::fflush(stdout);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
}

}  // namespace

void register_status(CLI::App& root, context& ctx) {
  auto f = std::make_shared<status_flags>();
  auto* cmd = root.add_subcommand("status", "Progress per batch and slots in use per account");
  cmd->add_flag("--json", f->json, "JSON array of batches");
  auto* watch = cmd->add_flag("-w,--watch", f->watch, "Redraw progress bars every --interval until Ctrl-C");
  cmd->add_option("--interval", f->interval_seconds, "Seconds between refreshes with --watch")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str()
      ->needs(watch);
  cmd->add_option("--iterations", f->iterations, "With --watch: stop after N refreshes (for scripts and tests)")
      ->check(CLI::Range(1, 1 << 30))
      ->needs(watch);
  watch->excludes("--json");
  cmd->footer("--watch on a terminal redraws in place; piped or logged, it prints one plain line per batch\n"
              "per refresh (no escape codes).");
  cmd->callback([&ctx, f] {
    if (f->watch) run_watch(ctx, *f);
    else run_status(ctx, f->json);
  });
}

}  // namespace vidq::cli
