#include "command.hpp"
#include "format.hpp"
#include "session.hpp"
#include "vidq/store/job_store.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>

namespace vidq::cli {
namespace {

struct list_options {
  std::string state;
  std::string batch;
  std::string model;
  int limit = 50;
  bool json = false;
};

std::string shorten(const std::optional<std::string>& text, std::size_t width) {
  if (!text) return "";
  if (text->size() <= width) return *text;
  // Cut on a UTF-8 boundary so a Chinese prompt does not end in half a character.
  std::size_t cut = width - 1;
  while (cut > 0 && (static_cast<unsigned char>((*text)[cut]) & 0xC0) == 0x80) --cut;
  return text->substr(0, cut) + "~";
}

void run_list(context& ctx, const list_options& o) {
  store::list_filter filter;
  if (!o.state.empty()) filter.state = parse_job_state(o.state);
  if (!o.batch.empty()) filter.batch = o.batch;
  if (!o.model.empty()) filter.model = o.model;
  filter.limit = o.limit;
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  store::job_store jobs(s->db, s->clock);
  auto rows = jobs.list(filter);
  if (!rows) {
    report_error("list", s->db.last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  if (o.json) {
    boost::json::array out;
    for (const auto& r : *rows) out.push_back(to_json(r));
    std::puts(boost::json::serialize(out).c_str());
    return;
  }
  std::printf("%8s  %-11s  %-16s  %-14s  %-19s  %s\n", "ID", "STATE", "MODEL", "BATCH", "UPDATED", "PROMPT / ERROR");
  for (const auto& r : *rows) {
    const auto& note = r.state == job_state::failed ? r.error_code.value_or("") + " " + r.error_message.value_or("")
                                                    : r.prompt.value_or(r.image_url.value_or(""));
    std::printf("%8lld  %-11s  %-16s  %-14s  %-19s  %s\n", static_cast<long long>(r.id),
                std::string(to_string(r.state)).c_str(), r.model.c_str(), shorten(r.batch, 14).c_str(),
                format_time(r.updated_at).c_str(), shorten(note, 60).c_str());
  }
}

void run_show(context& ctx, std::int64_t id, bool json) {
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  store::job_store jobs(s->db, s->clock);
  auto row = jobs.get(id);
  auto events = jobs.events(id);
  if (!row || !events) {
    report_error("show", s->db.last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  if (!*row) {
    report_error("show", "no job with id " + std::to_string(id));
    ctx.exit_code = exit_failure;
    return;
  }
  auto object = to_json(**row);
  boost::json::array history;
  for (const auto& e : *events) history.push_back(to_json(e));
  if (json) {
    object["events"] = std::move(history);
    std::puts(boost::json::serialize(object).c_str());
    return;
  }
  for (const auto& [name, value] : object) {
    if (value.is_null()) continue;
    const auto text = value.is_string() ? std::string(value.get_string()) : boost::json::serialize(value);
    std::printf("%-14s %s\n", std::string(name).c_str(), text.c_str());
  }
  std::printf("\nhistory:\n  %-19s  %-23s  %s\n", format_time((*row)->created_at).c_str(), "created -> queued", "");
  for (const auto& e : *events) {
    const auto transition = e.from_state.value_or("") + " -> " + e.to_state;
    std::printf("  %-19s  %-23s  %s\n", format_time(e.at).c_str(), transition.c_str(), e.detail.value_or("").c_str());
  }
}

}  // namespace

void register_list(CLI::App& root, context& ctx) {
  auto o = std::make_shared<list_options>();
  auto* cmd = root.add_subcommand("list", "List jobs, newest first");
  cmd->add_option("-s,--state", o->state, "Only jobs in this state")
      ->check(CLI::IsMember({"queued", "submitting", "processing", "downloading", "succeeded", "failed", "cancelled"}));
  cmd->add_option("-b,--batch", o->batch, "Only jobs of this batch");
  cmd->add_option("-m,--model", o->model, "Only jobs for this model");
  cmd->add_option("-n,--limit", o->limit, "At most this many rows")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--json", o->json, "One JSON array instead of a table");
  cmd->callback([&ctx, o] { run_list(ctx, *o); });
}

void register_show(CLI::App& root, context& ctx) {
  auto id = std::make_shared<std::int64_t>(0);
  auto json = std::make_shared<bool>(false);
  auto* cmd = root.add_subcommand("show", "Show one job with its state history");
  cmd->add_option("id", *id, "Job id")->required();
  cmd->add_flag("--json", *json, "JSON object (with an \"events\" array)");
  cmd->callback([&ctx, id, json] { run_show(ctx, *id, *json); });
}

}  // namespace vidq::cli
