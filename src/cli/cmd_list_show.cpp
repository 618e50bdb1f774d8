#include "command.hpp"
#include "format.hpp"
#include "session.hpp"
#include "vidq/store/charge_store.hpp"
#include "vidq/store/job_store.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>

namespace vidq::cli {
namespace {

struct list_options {
  std::string state;
  std::string batch;
  std::string model;
  std::string key;
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

// Pads to `width` columns counting code points, not bytes, so CJK keys keep the table
// aligned as well as a monospace terminal allows.
std::string pad(std::string text, std::size_t width) {
  std::size_t points = 0;
  for (const char c : text) points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  if (points < width) text.append(width - points, ' ');
  return text;
}

void run_list(context& ctx, const list_options& o) {
  store::list_filter filter;
  if (!o.state.empty()) filter.state = parse_job_state(o.state);
  if (!o.batch.empty()) filter.batch = o.batch;
  if (!o.model.empty()) filter.model = o.model;
  if (!o.key.empty()) filter.key = o.key;
  // One row more than asked tells whether the listing stopped at the limit.
  filter.limit = o.limit + 1;
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  auto& jobs = *s->store;
  auto rows = jobs.list(filter);
  if (!rows) {
    report_error("list", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  const bool truncated = rows->size() > static_cast<std::size_t>(o.limit);
  if (truncated) rows->pop_back();
  if (o.json) {
    boost::json::array out;
    for (const auto& r : *rows) out.push_back(to_json(r));
    boost::json::object page{{"jobs", std::move(out)}, {"limit", o.limit}, {"truncated", truncated}};
    std::puts(boost::json::serialize(page).c_str());
    return;
  }
  std::printf("%8s  %-16s  %-11s  %-16s  %-14s  %-19s  %s\n", "ID", "KEY", "STATE", "MODEL", "BATCH", "UPDATED",
              "PROMPT / ERROR");
  for (const auto& r : *rows) {
    const auto& note = r.state == job_state::failed ? r.error_code.value_or("") + " " + r.error_message.value_or("")
                                                    : r.prompt.value_or(r.image_url.value_or(""));
    std::printf("%8lld  %s  %-11s  %-16s  %s  %-19s  %s\n", static_cast<long long>(r.id),
                pad(shorten(r.key, 16), 16).c_str(), std::string(to_string(r.state)).c_str(), r.model.c_str(),
                pad(shorten(r.batch, 14), 14).c_str(), format_time(r.updated_at).c_str(), shorten(note, 60).c_str());
  }
  if (truncated) {
    std::fprintf(stderr, "vidq: stopped at the limit of %d rows; use -n to see more\n", o.limit);
  }
}

// All digits: an id, else a key. An id that matches no job is tried as a key too, so a key
// like "2025" still works; --key forces the key reading.
std::optional<std::int64_t> as_id(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoll(text);
}

void run_show(context& ctx, const std::string& which, bool by_key, bool json) {
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  auto& jobs = *s->store;
  result<std::optional<store::job_row>> row = std::optional<store::job_row>();
  const auto id_guess = by_key ? std::nullopt : as_id(which);
  if (id_guess) row = jobs.get(*id_guess);
  if (row && !*row) row = jobs.get_by_key(which);
  if (!row) {
    report_error("show", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  if (!*row) {
    report_error("show", "no job with " + std::string(id_guess ? "id or key '" : "key '") + which + "'");
    ctx.exit_code = exit_failure;
    return;
  }
  const auto id = (*row)->id;
  auto events = jobs.events(id);
  if (!events) {
    report_error("show", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  // What the provider billed for this job: every attempt's task, from the ledger.
  auto charges = s->store->charges_of(id);
  if (!charges) {
    report_error("show", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  auto object = to_json(**row);
  std::int64_t charged = 0;
  boost::json::array billed;
  for (const auto& c : *charges) {
    charged += c.price - c.refunded;
    billed.push_back(boost::json::object{{"attempt", c.attempt},
                                         {"request_id", c.request_id},
                                         {"task_id", c.task_id ? boost::json::value(*c.task_id) : nullptr},
                                         {"price_cny", static_cast<double>(c.price) / 1000.0},
                                         {"refunded_cny", static_cast<double>(c.refunded) / 1000.0},
                                         {"origin", c.origin},
                                         {"at", c.at}});
  }
  object["charged_cny"] = static_cast<double>(charged) / 1000.0;
  boost::json::array history;
  for (const auto& e : *events) history.push_back(to_json(e));
  if (json) {
    object["events"] = std::move(history);
    object["charges"] = std::move(billed);
    std::puts(boost::json::serialize(object).c_str());
    return;
  }
  for (const auto& [name, value] : object) {
    if (value.is_null()) continue;
    const auto text = value.is_string() ? std::string(value.get_string()) : boost::json::serialize(value);
    std::printf("%-14s %s\n", std::string(name).c_str(), text.c_str());
  }
  if (!charges->empty()) std::printf("\ncharges:\n");
  for (const auto& c : *charges) {
    std::printf("  %-19s  attempt %-3lld %-9s %s CNY  %s  task %s\n", format_time(c.at).c_str(),
                static_cast<long long>(c.attempt), c.origin.c_str(), format_cny(c.price - c.refunded).c_str(),
                c.request_id.c_str(), c.task_id.value_or("unknown").c_str());
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
  cmd->add_option("-k,--key", o->key, "Only the job with this key");
  // Bounded so that the one extra row asked for (truncation) cannot overflow.
  cmd->add_option("-n,--limit", o->limit, "At most this many rows")->capture_default_str()->check(CLI::Range(1, 10'000'000));
  cmd->add_flag("--json", o->json,
                "One JSON object {\"jobs\": [...], \"limit\": N, \"truncated\": bool} instead of a table");
  cmd->callback([&ctx, o] { run_list(ctx, *o); });
}

void register_show(CLI::App& root, context& ctx) {
  auto which = std::make_shared<std::string>();
  auto by_key = std::make_shared<bool>(false);
  auto json = std::make_shared<bool>(false);
  auto* cmd = root.add_subcommand("show", "Show one job with its state history");
  cmd->add_option("job", *which, "Job id or key")->required();
  cmd->add_flag("-k,--key", *by_key, "Read JOB as a key even when it is all digits");
  cmd->add_flag("--json", *json, "JSON object (with an \"events\" array)");
  cmd->callback([&ctx, which, by_key, json] { run_show(ctx, *which, *by_key, *json); });
}

}  // namespace vidq::cli
