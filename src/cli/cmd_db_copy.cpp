// `vidq db copy`: a SQLite queue moved into an empty PostgreSQL database (issue 14 item 7,
// docs/SCALING.md "From SQLite to PostgreSQL"). The copy itself is
// store/postgres/copy_from_sqlite; this file picks the source and the target, holds the
// daemon's instance lock on the source and prints the outcome.

#include "command.hpp"
#include "session.hpp"
#include "vidq/daemon/instance_lock.hpp"
#include "vidq/store/postgres/copy_from_sqlite.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace vidq::cli {
namespace {

namespace asio = boost::asio;

constexpr millis pg_connect_timeout_ms = 10'000;
// Rows between two progress lines (stderr) within one table.
constexpr std::int64_t progress_every = 100'000;

struct copy_flags {
  std::string from;
  std::string to;
};

std::string cny(std::int64_t milli) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%03lld", static_cast<long long>(milli / 1000),
                static_cast<long long>(milli % 1000));
  return text;
}

void print_summary(const store::pg::copy_summary& s) {
  std::printf("copied and verified in %.1f s (row counts and key sums per table, jobs per state, ledger sums):\n",
              static_cast<double>(s.elapsed.count()) / 1000.0);
  for (const auto& t : s.tables) std::printf("  %-18s %10lld rows\n", t.name.c_str(), static_cast<long long>(t.rows));
  std::string states;
  std::string moving;
  for (const auto& st : s.jobs_by_state) {
    states += (states.empty() ? "" : ", ") + st.name + " " + std::to_string(st.rows);
    if (st.name == "submitting" || st.name == "processing" || st.name == "downloading") {
      moving += (moving.empty() ? "" : ", ") + st.name + " " + std::to_string(st.rows);
    }
  }
  std::printf("jobs per state: %s\n", states.empty() ? "(none)" : states.c_str());
  std::printf("ledger: %s CNY charged, %s CNY refunded\n", cny(s.charged).c_str(), cny(s.refunded).c_str());
  if (s.in_flight > 0) {
    std::printf(
        "%lld job(s) in flight (%s) were copied as they are, with no owner: the first `vidq run` on\n"
        "PostgreSQL adopts them (processing/downloading: it polls the stored task id, never resubmits;\n"
        "submitting: [retry] on_ambiguous_submit decides, as after a crash)\n",
        static_cast<long long>(s.in_flight), moving.c_str());
  }
  std::printf(
      "next: start the daemons with [database] url naming this database. Keep the SQLite file as a\n"
      "backup, but never run a daemon on it again: its tasks in flight now belong to PostgreSQL.\n");
}

void run_copy(context& ctx, const copy_flags& f) {
  auto cfg = load_config_or_report(ctx);
  if (!cfg) return;
  // --from, else --db / [database] path unless the config names PostgreSQL (then `path` is
  // probably a default nobody meant).
  std::string source = f.from;
  if (source.empty() && (!cfg->uses_postgres() || !ctx.database_override.empty())) source = cfg->database_path;
  const std::string target = f.to.empty() ? cfg->database_url : f.to;
  if (source.empty() || source == ":memory:") {
    report_error("db copy", "name the SQLite database to copy with --from FILE");
    ctx.exit_code = exit_usage;
    return;
  }
  if (target.empty()) {
    report_error("db copy", "name the PostgreSQL database with --to URL or [database] url in the config");
    ctx.exit_code = exit_usage;
    return;
  }
  const auto where = store::pg::redact_conninfo(target);
  if (!std::filesystem::exists(source)) {
    report_error(source, "no database here");
    ctx.exit_code = exit_failure;
    return;
  }

  // The daemon's own lock, for the whole copy: a daemon running on the source would change
  // rows (and pay for tasks) that the copy has already read.
  std::string why;
  auto lock = daemon::instance_lock::acquire(source, why);
  if (!lock) {
    report_error("db copy", why + "; stop it first (the copy needs the queue at rest)");
    ctx.exit_code = exit_failure;
    return;
  }
  auto db = store::database::open(source, {.create = false, .read_only = true});
  if (!db) {
    report_error(source, "cannot open the database (check the path and its permissions)");
    ctx.exit_code = exit_failure;
    return;
  }

  std::printf("copying %s into %s\n", source.c_str(), where.c_str());
  std::fflush(stdout);
  std::string current;
  std::int64_t next_mark = 0;
  store::pg::copy_progress progress = [&](std::string_view table, std::int64_t done, std::int64_t total) {
    if (table != current) {
      current = table;
      next_mark = progress_every;
    }
    if (done >= next_mark && done < total) {
      std::fprintf(stderr, "  %s: %lld of %lld rows\n", current.c_str(), static_cast<long long>(done),
                   static_cast<long long>(total));
      next_mark = done + progress_every;
    }
  };

  asio::io_context ioc;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        store::pg::failure failed;
        auto c = co_await store::pg::connection::open(ioc.get_executor(), target, pg_connect_timeout_ms, &failed);
        if (!c) {
          report_error(where, "cannot connect: " + failed.message);
          ctx.exit_code = exit_failure;
          co_return;
        }
        std::string reason;
        auto done = co_await store::pg::copy_from_sqlite(*db, **c, progress, &reason);
        if (!done) {
          report_error("db copy", reason + " (no row was copied)");
          ctx.exit_code = done.error() == errc::schema_too_new ? exit_usage : exit_failure;
          co_return;
        }
        print_summary(*done);
      },
      asio::detached);
  ioc.run();
}

}  // namespace

void register_db_copy(CLI::App& db, context& ctx) {
  auto f = std::make_shared<copy_flags>();
  auto* copy = db.add_subcommand("copy", "Copy a SQLite queue into an empty PostgreSQL database");
  copy->add_option("--from", f->from, "The SQLite database (default: --db, or [database] path without a url)");
  copy->add_option("--to", f->to, "The PostgreSQL URL (default: [database] url)");
  copy->footer(
      "Stop the daemon first: the copy takes its lock on the SQLite file. The target is migrated,\n"
      "must hold no jobs, events, charges, notices or pauses, and is filled in one transaction\n"
      "with the same ids, then checked (counts, sums, jobs per state) before the commit: a failure\n"
      "leaves it empty. Jobs in flight are copied with no owner; the first daemon on PostgreSQL\n"
      "adopts them. The SQLite file is only read.");
  copy->callback([&ctx, f] { run_copy(ctx, *f); });
}

}  // namespace vidq::cli
