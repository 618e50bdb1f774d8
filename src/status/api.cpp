// The JSON API of the status server (docs/STATUS_SERVER.md): reads and writes jobs through
// store::status_store, pauses accounts through daemon_control. Each handler fetches in a
// coroutine and builds its JSON in a plain function (no braced lists near a co_await:
// GCC 12).
#include "vidq/engine/fetch.hpp"
#include "vidq/engine/routing.hpp"
#include "vidq/ingest/job_record.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/output/manifest.hpp"
#include "vidq/status/files.hpp"
#include "vidq/status/handlers.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <charconv>
#include <filesystem>

namespace vidq::status {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;
using query_params = std::vector<std::pair<std::string, std::string>>;

constexpr millis minute_ms = 60'000;

const std::string* find_param(const query_params& q, std::string_view name) {
  for (const auto& [k, v] : q) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool parse_int(std::string_view text, std::int64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// Reads an integer query parameter within [lo, hi]; absent → `fallback`. False: malformed
// or out of range (the caller answers 400).
bool int_param(const query_params& q, std::string_view name, int lo, int hi, int fallback, int& out) {
  const auto* text = find_param(q, name);
  if (!text || text->empty()) {
    out = fallback;
    return true;
  }
  std::int64_t v = 0;
  if (!parse_int(*text, v) || v < lo || v > hi) return false;
  out = static_cast<int>(v);
  return true;
}

http_reply bad_param(std::string_view name, int lo, int hi) {
  return error_reply(
      400, "bad_parameter",
      std::string(name) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
}

template <class T>
json::value optional_value(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object disk_json(const engine::disk_view& d) {
  return json::object{{"downloads_paused", d.downloads_paused},
                      {"admission_paused", d.admission_paused},
                      {"reason", d.reason},
                      {"since", optional_value(d.since)},
                      {"free_bytes", optional_value(d.free_bytes)},
                      {"min_free_bytes", d.min_free_bytes}};
}

json::value job_to_json(const store::job_row& j) {
  boost::system::error_code ec;
  json::value params = json::parse(j.params, ec);
  if (ec) params = j.params;
  json::object o{{"id", j.id},
                 {"key", optional_value(j.key)},
                 {"batch", j.batch},
                 {"priority", j.priority},
                 {"account", j.account},
                 {"model", j.model},
                 {"prompt", optional_value(j.prompt)},
                 {"image_url", optional_value(j.image_url)},
                 {"params", std::move(params)},
                 {"state", to_string(j.state)},
                 {"attempts", j.attempts},
                 {"not_before", j.not_before},
                 {"request_id", optional_value(j.request_id)},
                 {"task_id", optional_value(j.task_id)},
                 {"submitted_at", optional_value(j.submitted_at)},
                 {"next_poll_at", optional_value(j.next_poll_at)},
                 {"polls", j.polls},
                 {"finished_at", optional_value(j.finished_at)},
                 {"video_bytes", optional_value(j.video_bytes)},
                 {"video_sha256", optional_value(j.video_sha256)},
                 {"cost_cny", static_cast<double>(j.cost) / 1000.0},
                 {"error_code", optional_value(j.error_code)},
                 {"error_message", optional_value(j.error_message)},
                 {"created_at", j.created_at},
                 {"updated_at", j.updated_at}};
  // Links into /files, never the stored paths: the server exposes only the output folder.
  // A downloading job already has its video_path reserved, but no file yet.
  json::object files;
  if (j.state == job_state::succeeded && j.video_path) files["video"] = file_url(j.id, false);
  if (j.state == job_state::succeeded && j.cover_path) files["cover"] = file_url(j.id, true);
  o["files"] = std::move(files);
  return o;
}

// At most `max` bytes, cut at a code point boundary (never inside a UTF-8 sequence).
std::string truncate_utf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80) --max;
  return std::string(text.substr(0, max));
}

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t id = 0;
  if (!parse_int(text, id) || id <= 0) return std::nullopt;
  return id;
}

// The list filter from the query string; a reply (400) when a parameter is malformed.
std::optional<http_reply> parse_list_filter(const query_params& query, store::list_filter& filter) {
  if (const auto* s = find_param(query, "state"); s && !s->empty()) {
    filter.state = parse_job_state(*s);
    if (!filter.state)
      return error_reply(
          400, "bad_parameter",
          "state must be one of queued, submitting, processing, downloading, succeeded, failed, cancelled");
  }
  if (const auto* b = find_param(query, "batch"); b && !b->empty()) filter.batch = *b;
  if (const auto* m = find_param(query, "model"); m && !m->empty()) filter.model = *m;
  if (const auto* k = find_param(query, "key"); k && !k->empty()) filter.key = *k;
  if (!int_param(query, "limit", 1, 1000, 100, filter.limit)) return bad_param("limit", 1, 1000);
  return std::nullopt;
}

http_reply jobs_reply(const std::vector<store::job_row>& rows) {
  json::array out;
  for (const auto& j : rows) out.push_back(job_to_json(j));
  return json_reply(200, json::object{{"jobs", std::move(out)}});
}

http_reply job_reply(const store::job_row& row, const std::vector<store::job_event>& events) {
  json::array ev;
  for (const auto& e : events) {
    ev.push_back(json::object{{"at", e.at},
                              {"from_state", optional_value(e.from_state)},
                              {"to_state", e.to_state},
                              {"detail", optional_value(e.detail)}});
  }
  return json_reply(200, json::object{{"job", job_to_json(row)}, {"events", std::move(ev)}});
}

// 400 for a job line the importer would refuse: the field and the reason apart.
http_reply invalid_job_reply(const std::string& why) {
  const auto colon = why.find(": ");
  json::object err{{"error", "invalid_job"}, {"reason", why}};
  if (colon != std::string::npos) {
    err["field"] = why.substr(0, colon);
    err["reason"] = why.substr(colon + 2);
  }
  return json_reply(400, err);
}

http_reply created_reply(const store::inserted_job& done) {
  if (done.outcome == store::insert_outcome::duplicate_key) {
    return json_reply(200, json::object{{"id", optional_value(done.id)}, {"outcome", "duplicate_key"}});
  }
  const std::int64_t id = done.id.value_or(0);
  auto r = json_reply(201, json::object{{"id", id}, {"outcome", "inserted"}});
  r.headers.emplace_back("Location", "/api/jobs/" + std::to_string(id));
  return r;
}

// What a cancel or retry that changed nothing answers (409), or nullopt when it changed the job.
std::optional<http_reply> transition_refused(int changed, bool cancel, const std::string& state,
                                             const std::vector<store::transition_miss>& missed) {
  const bool paid_result = !missed.empty() && missed.front().why == retry_decision::needs_resubmit;
  if (changed == 0 && paid_result) {
    // A plain retry would pay again for a result the provider already produced.
    return json_reply(409, json::object{{"error", "paid_result"},
                                        {"state", state},
                                        {"reason", "its provider task succeeded and was paid for; `vidq retry "
                                                   "--download` fetches it again, `--resubmit` pays for a new task"}});
  }
  if (changed == 0) {
    return json_reply(
        409,
        json::object{
            {"error", "conflict"},
            {"state", state},
            {"reason",
             cancel ? "only queued, submitting, processing or downloading jobs can be cancelled; this one is " + state
                    : "only failed or cancelled jobs can be retried; this one is " + state}});
  }
  return std::nullopt;
}

http_reply batches_reply(millis as_of, const std::vector<store::batch_summary>& batches) {
  json::array out;
  std::int64_t totals[std::size(all_job_states)] = {};
  for (const auto& b : batches) {
    json::object o{{"batch", b.batch}, {"folder", engine::sanitize_batch_name(b.batch)}, {"total", b.total}};
    for (const auto s : all_job_states) {
      o[to_string(s)] = b.count(s);
      totals[static_cast<int>(s)] += b.count(s);
    }
    const auto done = b.count(job_state::succeeded) + b.count(job_state::failed) + b.count(job_state::cancelled);
    o["running"] = b.count(job_state::submitting) + b.count(job_state::processing) + b.count(job_state::downloading);
    o["done"] = done;
    o["pct_done"] = b.total > 0 ? static_cast<double>(done * 1000 / b.total) / 10.0 : 0.0;
    o["spent_cny"] = static_cast<double>(b.cost) / 1000.0;
    out.push_back(std::move(o));
  }
  json::object total;
  for (const auto s : all_job_states) total[to_string(s)] = totals[static_cast<int>(s)];
  return json_reply(200, json::object{{"as_of", as_of}, {"batches", std::move(out)}, {"totals", std::move(total)}});
}

// `minutes` buckets of one minute ending with the one holding `now`, oldest first.
http_reply timeline_reply(millis now, int minutes, const std::vector<store::finished_count>& counts) {
  const millis current = now - now % minute_ms;
  const millis since = current - static_cast<millis>(minutes - 1) * minute_ms;
  json::array out;
  for (int i = 0; i < minutes; ++i) {
    const millis start = since + i * minute_ms;
    std::int64_t by_state[3] = {};
    for (const auto& c : counts) {
      if (c.minute != start) continue;
      if (c.state == "succeeded") by_state[0] += c.count;
      if (c.state == "failed") by_state[1] += c.count;
      if (c.state == "cancelled") by_state[2] += c.count;
    }
    out.push_back(
        json::object{{"t", start}, {"succeeded", by_state[0]}, {"failed", by_state[1]}, {"cancelled", by_state[2]}});
  }
  return json_reply(200, json::object{{"bucket_ms", minute_ms}, {"buckets", std::move(out)}});
}

http_reply failures_reply(const std::vector<store::failure_row>& rows) {
  json::array out;
  for (const auto& f : rows) {
    out.push_back(json::object{{"id", f.id},
                               {"key", optional_value(f.key)},
                               {"batch", f.batch},
                               {"model", f.model},
                               {"error_code", f.error_code},
                               {"error_message", f.error_message},
                               {"failed_at", f.failed_at}});
  }
  return json_reply(200, json::object{{"failures", std::move(out)}});
}

http_reply gallery_reply(const std::vector<store::gallery_item>& items) {
  json::array out;
  for (const auto& g : items) {
    out.push_back(json::object{{"id", g.id},
                               {"batch", g.batch},
                               {"prompt", truncate_utf8(g.prompt, 200)},
                               {"finished_at", optional_value(g.finished_at)},
                               {"key", optional_value(g.key)},
                               {"video", file_url(g.id, false)},
                               {"cover", g.has_cover ? json::value(file_url(g.id, true)) : json::value(nullptr)}});
  }
  return json_reply(200, json::object{{"items", std::move(out)}});
}

http_reply manifest_reply(std::string_view batch, const std::vector<store::manifest_row>& rows,
                          const output::manifest_options& options) {
  const bool jsonl = options.format == output::manifest_format::jsonl;
  http_reply r;
  r.content_type = jsonl ? "application/x-ndjson; charset=utf-8" : "text/csv; charset=utf-8";
  r.body = output::render_manifest(rows, options);
  // The batch name is user text: an ASCII fallback name plus the RFC 5987 UTF-8 one.
  const auto encoded = boost::urls::encode(batch, boost::urls::unreserved_chars);
  r.headers.emplace_back("Content-Disposition", std::string("attachment; filename=\"manifest.") +
                                                    (jsonl ? "jsonl" : "csv") + "\"; filename*=UTF-8''" + encoded +
                                                    (jsonl ? ".jsonl" : ".csv"));
  return r;
}

}  // namespace

asio::awaitable<http_reply> handlers::jobs_list(const query_params& query) {
  store::list_filter filter;
  if (auto bad = parse_list_filter(query, filter)) co_return std::move(*bad);
  auto rows = co_await deps_.store.list(filter);
  if (!rows) co_return from_error(rows.error(), "list jobs");
  co_return jobs_reply(*rows);
}

asio::awaitable<http_reply> handlers::job_get(std::string_view id_text) {
  const auto id = parse_id(id_text);
  if (!id) co_return error_reply(404, "not_found", "no such job");
  auto row = co_await deps_.store.get(*id);
  if (!row) co_return from_error(row.error(), "get job");
  if (!*row) co_return error_reply(404, "not_found", "no such job");
  auto events = co_await deps_.store.events(*id);
  if (!events) co_return from_error(events.error(), "job events");
  co_return job_reply(**row, *events);
}

asio::awaitable<http_reply> handlers::jobs_create(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    co_return error_reply(400, "invalid_json", "the body must be one JSON object: a JSONL job line");
  }
  ingest::record_context ctx;
  ctx.check_account = [this](std::string_view account) { return engine::account_problem(account, deps_.cfg); };
  // Relative local image paths mean the same as in the config file: next to it.
  ctx.base_dir = deps_.cfg.source.empty() ? std::filesystem::current_path()
                                          : std::filesystem::path(deps_.cfg.source).parent_path();
  auto record = ingest::job_from_json(v.get_object(), ctx);
  if (const auto* why = std::get_if<std::string>(&record)) co_return invalid_job_reply(*why);
  const auto& job = std::get<store::new_job>(record);
  auto done = co_await deps_.store.insert(job);
  if (!done) co_return from_error(done.error(), "insert job");
  if (done->outcome == store::insert_outcome::inserted) {
    after_mutation();
    log::info("status.job_created",
              {{"job_id", done->id.value_or(0)}, {"batch", job.batch}, {"model", job.spec.model}});
  }
  co_return created_reply(*done);
}

asio::awaitable<http_reply> handlers::job_transition(std::string_view id_text, bool cancel) {
  const auto id = parse_id(id_text);
  if (!id) co_return error_reply(404, "not_found", "no such job");
  store::job_selector which;
  which.ids.push_back(*id);
  std::vector<store::transition_miss> missed;
  result<int> changed = 0;
  if (cancel) {
    changed = co_await deps_.store.cancel(which, nullptr);
  } else {
    changed = co_await deps_.store.retry(which, &missed);
  }
  if (!changed) co_return from_error(changed.error(), cancel ? "cancel job" : "retry job");
  // Our change is made: whatever the read below says, the daemon and the cache must know.
  if (*changed > 0) after_mutation();
  auto row = co_await deps_.store.get(*id);
  if (!row) co_return from_error(row.error(), "get job");
  if (!*row) co_return error_reply(404, "not_found", "no such job");
  const auto state = std::string(to_string((*row)->state));
  if (auto refused = transition_refused(*changed, cancel, state, missed)) co_return std::move(*refused);
  log::info(cancel ? "status.job_cancelled" : "status.job_retried", {{"job_id", *id}});
  co_return json_reply(200, json::object{{"id", *id}, {"state", state}});
}

asio::awaitable<http_reply> handlers::batches() {
  auto snap = co_await current_snapshot();
  if (!snap) co_return from_error(snap.error(), "batches");
  co_return batches_reply((*snap)->at, (*snap)->batches);
}

http_reply handlers::accounts() {
  const auto rt = deps_.control.runtime();
  json::array accounts;
  for (const auto& a : rt.accounts) {
    accounts.push_back(json::object{{"name", a.name},
                                    {"provider", a.provider},
                                    {"paused", a.paused},
                                    {"reason", a.reason},
                                    {"paused_until", optional_value(a.paused_until)},
                                    {"breaker_open", a.breaker_open},
                                    {"failed_probes", a.failed_probes},
                                    {"models", a.models.empty() ? json::value("all")
                                                                : json::value(json::array(a.models.begin(), a.models.end()))}});
  }
  json::array lanes;
  for (const auto& l : rt.lanes) {
    lanes.push_back(json::object{{"account", l.account},
                                 {"model", l.model},
                                 {"in_flight", l.in_flight},
                                 {"effective_cap", l.effective_cap},
                                 {"configured_cap", l.configured_cap}});
  }
  json::array durations;
  for (const auto& d : rt.durations) {
    durations.push_back(json::object{{"kind", d.kind},
                                     {"median_ms", d.median},
                                     {"p90_ms", d.p90},
                                     {"prior_median_ms", d.prior_median},
                                     {"observations", d.observations}});
  }
  return json_reply(200, json::object{{"started_at", rt.started_at},
                                      {"last_tick", rt.last_tick},
                                      {"draining", rt.draining},
                                      {"budget_block", optional_value(rt.budget_block)},
                                      {"disk", disk_json(rt.disk)},
                                      {"db_locked_since", optional_value(rt.db_locked_since)},
                                      {"accounts", std::move(accounts)},
                                      {"lanes", std::move(lanes)},
                                      {"durations", std::move(durations)}});
}

namespace {

// The pause reason from the body (empty, or {"reason": "text"}); nullopt when it is neither.
std::optional<std::string> pause_reason(std::string_view body) {
  std::string reason = "paused through the status API";
  if (body.empty()) return reason;
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  const json::value* r = (!ec && v.is_object()) ? v.get_object().if_contains("reason") : nullptr;
  if (ec || !v.is_object() || (r && !r->is_string())) return std::nullopt;
  if (r && !r->get_string().empty()) reason = truncate_utf8(r->get_string().subview(), 500);
  return reason;
}

http_reply account_paused_reply(std::string_view name, bool pause) {
  log::info(pause ? "status.account_paused" : "status.account_resumed", {{"account", name}});
  return json_reply(200, json::object{{"account", name}, {"paused", pause}});
}

}  // namespace

asio::awaitable<http_reply> handlers::account_pause(std::string_view name, std::string_view body, bool pause) {
  const auto reason = pause ? pause_reason(body) : std::optional<std::string>(std::string());
  if (!reason) co_return error_reply(400, "invalid_json", "the body must be empty or {\"reason\": \"text\"}");
  const std::string_view why = *reason;
  result<bool> known = false;
  if (pause) {
    known = co_await deps_.control.pause_account(name, why);
  } else {
    known = co_await deps_.control.resume_account(name);
  }
  if (!known) co_return from_error(known.error(), "account_pause");
  if (!*known) co_return error_reply(404, "not_found", "no such account");
  after_mutation();
  co_return account_paused_reply(name, pause);
}

asio::awaitable<http_reply> handlers::timeline(const query_params& query) {
  int minutes = 0;
  if (!int_param(query, "minutes", 1, 1440, 60, minutes)) co_return bad_param("minutes", 1, 1440);
  const millis now = deps_.clock.now();
  const millis current = now - now % minute_ms;
  const millis since = current - static_cast<millis>(minutes - 1) * minute_ms;
  auto counts = co_await deps_.store.finished_per_minute(since, current + minute_ms);
  if (!counts) co_return from_error(counts.error(), "timeline");
  co_return timeline_reply(now, minutes, *counts);
}

asio::awaitable<http_reply> handlers::failures(const query_params& query) {
  int limit = 0;
  if (!int_param(query, "limit", 1, 100, 20, limit)) co_return bad_param("limit", 1, 100);
  auto rows = co_await deps_.store.failures(limit);
  if (!rows) co_return from_error(rows.error(), "failures");
  co_return failures_reply(*rows);
}

asio::awaitable<http_reply> handlers::gallery(const query_params& query) {
  int limit = 0;
  if (!int_param(query, "limit", 1, 200, 24, limit)) co_return bad_param("limit", 1, 200);
  std::optional<std::string> batch;
  if (const auto* b = find_param(query, "batch"); b && !b->empty()) batch = *b;
  auto items = co_await deps_.store.gallery(batch, limit);
  if (!items) co_return from_error(items.error(), "gallery");
  co_return gallery_reply(*items);
}

asio::awaitable<http_reply> handlers::manifest(std::string_view batch, const query_params& query) {
  const auto* format = find_param(query, "format");
  const bool jsonl = format && *format == "jsonl";
  if (format && !format->empty() && *format != "csv" && !jsonl) {
    co_return error_reply(400, "bad_parameter", "format must be csv or jsonl");
  }
  store::manifest_filter filter;
  filter.batch = std::string(batch);
  if (const auto* s = find_param(query, "state"); s && !s->empty()) {
    filter.state = parse_job_state(*s);
    if (!filter.state) co_return error_reply(400, "bad_parameter", "state must be a job state");
  }
  auto rows = co_await deps_.store.manifest(filter);
  if (!rows) co_return from_error(rows.error(), "manifest");
  if (rows->empty() && !filter.state) co_return error_reply(404, "not_found", "no such batch");
  output::manifest_options options;
  options.format = jsonl ? output::manifest_format::jsonl : output::manifest_format::csv;
  options.bom = !jsonl && find_param(query, "bom") && *find_param(query, "bom") == "1";
  options.output_dir = deps_.cfg.output_dir;
  co_return manifest_reply(batch, *rows, options);
}

}  // namespace vidq::status
