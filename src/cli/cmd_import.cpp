#include "command.hpp"
#include "format.hpp"
#include "session.hpp"
#include "vidq/engine/routing.hpp"
#include "vidq/ingest/importer.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace vidq::cli {
namespace {

// Exit code of an import that finished but skipped invalid records (documented in
// docs/CLI.md): distinct from 1 so that a cron job can tell "file partly bad" from "failed".
constexpr int exit_some_invalid = 3;

struct import_cli_options {
  std::string file;
  std::string format = "auto";
  std::string batch = "default";
  std::string account = "default";
  bool quiet = false;
};

void draw_progress(std::uint64_t done, std::uint64_t total) {
  if (total == 0) return;
  const int width = 40;
  const int filled = static_cast<int>(width * done / total);
  std::fprintf(stderr, "\r[%.*s%*s] %3d%%", filled, "########################################", width - filled, "",
               static_cast<int>(100 * done / total));
  if (done >= total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

void run_import(context& ctx, const import_cli_options& o) {
  auto s = open_session(ctx, db_access::create);
  if (!s) return;
  // An import is idempotent by key and can simply be run again, so on SQLite it trades the
  // fsync per commit (FULL) for WAL's NORMAL: a crash loses nothing, a power cut at most the
  // last chunks. The daemon's own connection stays FULL.
  if (s->db) {
    if (auto r = s->db->exec("PRAGMA synchronous=NORMAL"); !r) {
      report_error("import", s->db->last_error());
      ctx.exit_code = exit_failure;
      return;
    }
  }
  ingest::import_options options;
  options.record.base_dir = std::filesystem::absolute(o.file).parent_path();
  options.record.default_batch = o.batch;
  options.record.default_account = o.account;
  // Refused up front (exit 2) rather than line by line: the flag is the operator's typo.
  if (auto why = engine::account_problem(o.account, s->config)) {
    report_error("--account", *why);
    ctx.exit_code = exit_usage;
    return;
  }
  options.record.check_account = [&cfg = s->config](std::string_view account) {
    return engine::account_problem(account, cfg);
  };
  if (::isatty(STDERR_FILENO) && !o.quiet) options.progress = draw_progress;
  const auto format = o.format == "csv"     ? ingest::input_format::csv
                      : o.format == "jsonl" ? ingest::input_format::jsonl
                                            : ingest::guess_format(o.file);
  const auto started = std::chrono::steady_clock::now();
  auto summary = ingest::import_file(*s->store, o.file, format, options);
  if (!summary) {
    report_error(o.file, summary.error() == errc::not_found ? "cannot open the file"
                         : summary.error() == errc::io_error ? "read error"
                                                              : s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (summary->refused) {
    std::printf("%s:%zu: %s\n", o.file.c_str(), summary->refused->line, summary->refused->reason.c_str());
    report_error(o.file, "refused; nothing imported");
    ctx.exit_code = exit_failure;
    return;
  }
  for (const auto& p : summary->problems) {
    std::printf("%s:%zu: %s\n", o.file.c_str(), p.line, p.reason.c_str());
  }
  if (summary->invalid > summary->problems.size()) {
    std::printf("... and %zu more invalid lines\n", summary->invalid - summary->problems.size());
  }
  std::printf("inserted %zu, duplicate key %zu, invalid %zu (%.2f s)\n", summary->inserted, summary->duplicates,
              summary->invalid, seconds);
  if (summary->invalid > 0) ctx.exit_code = exit_some_invalid;
}

}  // namespace

void register_import(CLI::App& root, context& ctx) {
  auto o = std::make_shared<import_cli_options>();
  auto* cmd = root.add_subcommand("import", "Import jobs from a JSONL or CSV file");
  cmd->add_option("file", o->file, "JSONL (one request body per line) or CSV with a header row")->required();
  cmd->add_option("--format", o->format, "auto (by extension), jsonl or csv")
      ->check(CLI::IsMember({"auto", "jsonl", "csv"}))
      ->capture_default_str();
  cmd->add_option("-b,--batch", o->batch, "Batch for lines that name none")->capture_default_str();
  cmd->add_option("-a,--account", o->account, "Account for lines that name none")->capture_default_str();
  cmd->add_flag("-q,--quiet", o->quiet, "No progress bar");
  cmd->footer(
      "A line is the provider's request body plus vidq's fields key, batch, priority, account.\n"
      "Lines whose key is already queued are skipped. Exit codes: 0 all imported, 1 failure,\n"
      "2 usage, 3 imported but some lines were invalid (each is listed with its line number).");
  cmd->callback([&ctx, o] { run_import(ctx, *o); });
}

}  // namespace vidq::cli
