// `vidq db backup|checkpoint|prune`: database upkeep an operator runs by hand or from cron,
// safe while the daemon runs (store/backup.hpp, store/housekeeping.hpp). backup and
// checkpoint are the SQLite file's; prune works on PostgreSQL too (store/postgres/upkeep).

#include "command.hpp"
#include "session.hpp"
#include "vidq/store/backup.hpp"
#include "vidq/store/housekeeping.hpp"
#include "vidq/store/postgres/upkeep.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace vidq::cli {
namespace {

struct db_flags {
  std::string file;
  bool force = false;
  bool truncate = false;
  int chunk = 1000;
};

std::string mib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", bytes / (1024.0 * 1024.0));
  return text;
}

void run_backup(context& ctx, const db_flags& f) {
  auto s = open_sqlite_session(ctx, db_access::existing, "db backup",
                               "back up PostgreSQL with pg_dump -Fc or the managed service's snapshots");
  if (!s) return;
  std::string why;
  auto done = store::backup(*s->db, f.file, {.overwrite = f.force}, why);
  if (!done) {
    report_error("backup", why);
    ctx.exit_code = exit_failure;
    return;
  }
  std::printf("backed up %s to %s: %lld jobs, %lld events, %lld pages, %s in %.2f s (integrity_check ok)\n",
              s->config.database_path.c_str(), f.file.c_str(), static_cast<long long>(done->jobs),
              static_cast<long long>(done->events), static_cast<long long>(done->pages),
              mib(static_cast<double>(done->bytes)).c_str(), static_cast<double>(done->elapsed.count()) / 1000.0);
}

void run_checkpoint(context& ctx, const db_flags& f) {
  auto s = open_sqlite_session(ctx, db_access::existing, "db checkpoint",
                               "PostgreSQL checkpoints by itself");
  if (!s) return;
  const auto mode = f.truncate ? store::checkpoint_mode::truncate : store::checkpoint_mode::passive;
  auto done = store::checkpoint(*s->db, mode);
  if (!done) {
    report_error("checkpoint", s->db->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  std::error_code ec;
  const auto wal = std::filesystem::file_size(s->config.database_path + "-wal", ec);
  std::printf("checkpoint (%s): %d of %d WAL frames copied into the database; WAL file now %s\n",
              f.truncate ? "truncate" : "passive", done->checkpointed_frames, done->wal_frames,
              ec ? "absent" : mib(static_cast<double>(wal)).c_str());
  if (done->busy) {
    report_error("checkpoint", "a reader or writer kept it from completing; run it again when they are done");
    ctx.exit_code = exit_failure;
  }
}

// The daemons' own retention step (store/postgres/upkeep.hpp) until nothing is left, on a
// loop of its own. SKIP LOCKED: running it beside the daemons only shares their work.
result<store::retention_outcome> prune_postgres(const ops::config& cfg, int chunk, std::string& why) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  store::pg::pool db(ioc.get_executor(), {.conninfo = cfg.database_url, .size = 1});
  result<store::retention_outcome> total = store::retention_outcome{};
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        const millis now = system_clock().now();
        for (;;) {
          auto step = co_await store::pg::apply_retention(db, cfg.retention, now, chunk);
          if (!step) {
            why = db.last_failure().message;
            total = step.error();
            co_return;
          }
          total->jobs_deleted += step->jobs_deleted;
          total->events_deleted += step->events_deleted;
          if (!step->more) co_return;
        }
      },
      asio::detached);
  ioc.run();
  return total;
}

void run_prune(context& ctx, const db_flags& f) {
  auto cfg = load_config_or_report(ctx);
  if (!cfg) return;
  const auto rules = cfg->retention;
  if (!rules.finished_jobs && !rules.events) {
    std::printf("retention is off: set [retention] finished_job_days or events_days in the config\n");
    return;
  }
  store::retention_outcome total;
  if (cfg->uses_postgres()) {
    std::string why;
    auto pruned = prune_postgres(*cfg, f.chunk, why);
    if (!pruned) {
      report_error(store::pg::redact_conninfo(cfg->database_url), "prune failed: " + why);
      ctx.exit_code = exit_failure;
      return;
    }
    total = *pruned;
  } else {
    auto s = open_sqlite_session(ctx, db_access::existing, std::move(*cfg));
    if (!s) return;
    for (;;) {
      auto step = store::apply_retention(*s->db, rules, s->clock.now(), f.chunk);
      if (!step) {
        report_error("prune", s->db->last_error());
        ctx.exit_code = exit_failure;
        return;
      }
      total.jobs_deleted += step->jobs_deleted;
      total.events_deleted += step->events_deleted;
      if (!step->more) break;
    }
  }
  std::printf("deleted %lld finished job(s) and %lld event(s)\n", static_cast<long long>(total.jobs_deleted),
              static_cast<long long>(total.events_deleted));
}

}  // namespace

void register_db(CLI::App& root, context& ctx) {
  auto* cmd = root.add_subcommand(
      "db", "Back up, checkpoint or prune the database (safe while the daemon runs), or copy it to PostgreSQL");
  cmd->require_subcommand(1);
  auto f = std::make_shared<db_flags>();

  auto* backup = cmd->add_subcommand("backup", "Write a consistent copy of the database to FILE");
  backup->add_option("file", f->file, "Target file (written as FILE's folder/.FILE.tmp-PID, then renamed)")->required();
  backup->add_flag("--force", f->force, "Replace FILE if it exists");
  backup->footer(
      "Uses SQLite's online backup from one read snapshot, in small steps: the daemon keeps\n"
      "running and writing. The copy is checked with PRAGMA integrity_check and fsynced before\n"
      "it replaces FILE. Restore: stop the daemon, move the copy over the database file and\n"
      "delete its -wal and -shm files.");
  backup->callback([&ctx, f] { run_backup(ctx, *f); });

  auto* checkpoint = cmd->add_subcommand("checkpoint", "Copy the WAL back into the database file");
  checkpoint->add_flag("--truncate", f->truncate,
                       "Wait for readers (up to 5 s) and truncate the -wal file to zero bytes");
  checkpoint->footer("Without --truncate: a passive checkpoint that never waits (what the daemon does).");
  checkpoint->callback([&ctx, f] { run_checkpoint(ctx, *f); });

  auto* prune = cmd->add_subcommand("prune", "Apply the [retention] rules once (delete old finished jobs/events)");
  prune->add_option("--chunk", f->chunk, "Rows per transaction")->check(CLI::Range(1, 100000))->capture_default_str();
  prune->footer("Video files are not touched. With retention off (the default) nothing is deleted.");
  prune->callback([&ctx, f] { run_prune(ctx, *f); });

  register_db_copy(*cmd, ctx);
}

}  // namespace vidq::cli
