// `vidq export`: the manifest of a batch (or of every job) as CSV or JSONL, for the step that
// uploads the files. The rows come from the operator store (store/operator_store.hpp), the text from output/manifest.
#include "command.hpp"
#include "session.hpp"
#include "vidq/output/manifest.hpp"
#include "vidq/store/output_store.hpp"

#include <cstdio>

namespace vidq::cli {
namespace {

struct export_options {
  std::string batch;
  std::string state;
  std::string format = "csv";
  std::string file;
  bool bom = false;
};

void run_export(context& ctx, const export_options& o) {
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  store::manifest_filter filter;
  if (!o.batch.empty()) filter.batch = o.batch;
  if (!o.state.empty()) filter.state = parse_job_state(o.state);
  auto rows = s->store->manifest(filter);
  if (!rows) {
    report_error("export", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  output::manifest_options options;
  options.format = o.format == "jsonl" ? output::manifest_format::jsonl : output::manifest_format::csv;
  options.bom = o.bom;
  options.output_dir = s->config.output_dir;
  const auto text = output::render_manifest(*rows, options);
  if (o.file.empty() || o.file == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else if (!output::write_manifest_file(o.file, text)) {
    report_error(o.file, "cannot write the file");
    ctx.exit_code = exit_failure;
    return;
  }
  std::fprintf(stderr, "vidq: exported %zu job(s)\n", rows->size());
}

}  // namespace

void register_export(CLI::App& root, context& ctx) {
  auto o = std::make_shared<export_options>();
  auto* cmd = root.add_subcommand("export", "Write a manifest of jobs and their files (CSV or JSONL)");
  cmd->add_option("-b,--batch", o->batch, "Only jobs of this batch");
  cmd->add_option("-s,--state", o->state, "Only jobs in this state")
      ->check(CLI::IsMember({"queued", "submitting", "processing", "downloading", "succeeded", "failed", "cancelled"}));
  cmd->add_option("--format", o->format, "csv (RFC 4180) or jsonl")
      ->check(CLI::IsMember({"csv", "jsonl"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", o->file, "Write here (atomically) instead of stdout");
  cmd->add_flag("--bom", o->bom, "Start the CSV with a UTF-8 byte-order mark (Excel)");
  cmd->footer(
      "Columns: id key batch state model video_path video_relpath cover_path video_bytes video_sha256\n"
      "cost_cny error_code error_message task_id request_id submitted_at finished_at. Paths are set\n"
      "for succeeded jobs only; video_relpath is relative to [output] dir. Times are UTC ISO-8601.");
  cmd->callback([&ctx, o] { run_export(ctx, *o); });
}

}  // namespace vidq::cli
