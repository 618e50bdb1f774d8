// Request → reply for the status server: routing, authentication, the Host check, error
// mapping, and the non-JSON endpoints (health, metrics, dashboard files, output files).
// The JSON API handlers are in api.cpp.
#include "vidq/status/handlers.hpp"

#include "vidq/ops/log.hpp"
#include "vidq/status/assets.hpp"
#include "vidq/status/files.hpp"
#include "vidq/status/prometheus.hpp"
#include "vidq/status/router.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace vidq::status {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;

constexpr millis day_ms = 86'400'000;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The name part of a Host header: "[::1]:80" -> "::1", "a.example:80" -> "a.example".
std::optional<std::string_view> host_name(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    return host.substr(1, close - 1);
  }
  if (const auto colon = host.find(':'); colon != std::string_view::npos) {
    if (host.find(':', colon + 1) != std::string_view::npos) return std::nullopt;  // bare v6 is not a Host
    return host.substr(0, colon);
  }
  return host;
}

std::optional<std::string_view> bearer(std::string_view authorization) {
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() <= scheme.size() || !iequals(authorization.substr(0, scheme.size()), scheme)) {
    return std::nullopt;
  }
  return authorization.substr(scheme.size());
}

db_gauges make_gauges(const std::vector<store::batch_summary>& summaries, const store::status_gauges& read) {
  db_gauges g;
  for (const auto& b : summaries) {
    for (const auto s : all_job_states) g.jobs_by_state[static_cast<int>(s)] += b.count(s);
  }
  g.spend_total = read.spend_total;
  g.spend_today = read.spend_today;
  g.oldest_queued_created_at = read.oldest_queued_created_at;
  g.notices_pending = read.notices_pending;
  g.notices_failed = read.notices_failed;
  return g;
}

http_reply internal_error() {
  return error_reply(500, "internal", "internal error; see the daemon's log");
}

}  // namespace

bool is_loopback(const boost::asio::ip::address& addr) noexcept {
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6()).is_loopback();
  }
  return addr.is_loopback();
}

access_policy make_access_policy(const boost::asio::ip::address& bound, const ops::status_config& cfg) {
  access_policy p;
  if (!bound.is_unspecified()) p.allowed_hosts.push_back(bound.to_string());  // 0.0.0.0 is no one's name
  for (const auto& h : cfg.allowed_hosts) {
    std::string lower = h;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    p.allowed_hosts.push_back(std::move(lower));
  }
  p.token_for_reads = !is_loopback(bound) && !cfg.public_read;
  return p;
}

bool host_allowed(std::string_view host, const access_policy& policy) {
  const auto name = host_name(host);
  if (!name || name->empty()) return false;
  if (iequals(*name, "localhost")) return true;
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(std::string(*name), ec);
  if (!ec && is_loopback(addr)) return true;
  for (const auto& allowed : policy.allowed_hosts) {
    if (iequals(*name, allowed)) return true;
    // An address allowed in one spelling is allowed in every spelling of it.
    boost::system::error_code aec;
    const auto a = boost::asio::ip::make_address(allowed, aec);
    if (!ec && !aec && a == addr) return true;
  }
  return false;
}

http_reply json_reply(unsigned status, const json::value& body) {
  http_reply r;
  r.status = status;
  r.body = json::serialize(body);
  r.body += '\n';
  return r;
}

http_reply error_reply(unsigned status, std::string_view code, std::string_view reason) {
  return json_reply(status, json::object{{"error", code}, {"reason", reason}});
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Every byte of `a` is compared whatever matched before, so the time tells nothing about
  // how long a matching prefix of a guess was; the length is not a secret worth hiding.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

handlers::handlers(status_server_deps& deps, access_policy policy) : deps_(deps), policy_(std::move(policy)) {}

asio::awaitable<http_reply> handlers::handle(http_request_view req) {
  // The 500 says nothing of the cause (the log does).
  std::string failure;
  try {
    co_return co_await dispatch(req);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  log::error("status.handler_failed", {{"target", std::string(req.target.substr(0, 200))}, {"error", failure}});
  co_return internal_error();
}

http_reply handlers::from_error(error_code ec, std::string_view what) {
  if (ec == errc::database_busy) {
    auto r = error_reply(503, "busy", "the database is busy; try again");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  if (ec == errc::database_lost) {
    // PostgreSQL unreachable (the pool reconnects with backoff), or the SQLite file gone.
    log::warn("status.database_unavailable", {{"what", what}, {"database", deps_.store.last_error()}});
    auto r = error_reply(503, "unavailable", "the database cannot be reached; try again");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  // The database's message stays in the log: it can name tables, paths or values.
  log::error("status.request_failed",
             {{"what", what}, {"error", ec.message()}, {"database", deps_.store.last_error()}});
  return internal_error();
}

// Two requests can interleave at the co_awaits below (PostgreSQL): each keeps the snapshot
// it got (shared, immutable), and one read while a change was made through this server is
// served to its own request only, so that the change shows at once.
asio::awaitable<result<handlers::snapshot_ptr>> handlers::current_snapshot() {
  const millis now = deps_.clock.now();
  if (snapshot_ && now >= snapshot_->at && now - snapshot_->at < snapshot_ttl_ms) co_return snapshot_;
  const std::uint64_t mutations_before = mutations_;
  auto batches = co_await deps_.store.batch_summaries();
  if (!batches) co_return batches.error();
  auto read = co_await deps_.store.gauges(now - now % day_ms);
  if (!read) co_return read.error();
  auto fresh = std::make_shared<snapshot>();
  fresh->at = now;
  fresh->gauges = make_gauges(*batches, *read);
  fresh->batches = std::move(*batches);
  // A request that started later may have stored a newer one meanwhile.
  if (mutations_ == mutations_before && (!snapshot_ || snapshot_->at <= now)) snapshot_ = fresh;
  co_return snapshot_ptr(std::move(fresh));
}

void handlers::after_mutation() {
  snapshot_.reset();  // our own change shows at once, not after the TTL
  ++mutations_;
  deps_.control.wake();
}

asio::awaitable<http_reply> handlers::dispatch(const http_request_view& req) {
  // An absent Host (HTTP/1.0 tools) is no rebinding risk: browsers always send one.
  if (!req.host.empty() && !host_allowed(req.host, policy_)) {
    co_return error_reply(421, "misdirected",
                          "this server answers only to loopback names, its listen address and [status] allowed_hosts");
  }
  auto target = boost::urls::parse_origin_form(req.target);
  if (!target) co_return error_reply(400, "bad_target", "the request target is not a valid path");
  std::vector<std::string> segments;
  for (auto seg : target->segments()) segments.push_back(std::string(seg));
  std::vector<std::pair<std::string, std::string>> query;
  for (auto p : target->params()) query.emplace_back(std::string(p.key), std::string(p.value));

  auto routed = route(req.method, segments);
  if (auto* miss = std::get_if<route_miss>(&routed)) {
    if (miss->status == 404) co_return error_reply(404, "not_found", "no such endpoint");
    auto r = error_reply(405, "method_not_allowed", "allowed: " + miss->allow);
    r.headers.emplace_back("Allow", miss->allow);
    co_return r;
  }
  const auto& m = std::get<route_match>(routed);
  if (m.mutating || (policy_.token_for_reads && m.id != route_id::healthz)) {
    if (!deps_.token) {
      if (!m.mutating) {
        co_return error_reply(403, "token_required",
                              "this server listens off loopback and no [status] token is configured, so only /healthz "
                              "answers (configure a token, or set [status] public_read = true)");
      }
      co_return error_reply(403, "read_only",
                            "no [status] token is configured (token_env, token_file or token_credential), so this "
                            "server accepts no changes");
    }
    const auto given = bearer(req.authorization);
    if (!given || !constant_time_equal(*given, deps_.token->expose())) {
      auto r = error_reply(401, "unauthorized", "send Authorization: Bearer <the [status] token>");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vidq\"");
      co_return r;
    }
  }
  const auto param = [&](std::size_t i) -> std::string_view { return m.params.at(i); };
  switch (m.id) {
    case route_id::index:
    case route_id::asset: {
      const auto* a = find_asset(m.id == route_id::index ? std::string("/index.html") : "/" + m.params.at(0));
      if (!a) co_return error_reply(404, "not_found", "no such file");
      http_reply r;
      r.content_type = std::string(a->content_type);
      r.body = std::string(a->body);
      r.headers.emplace_back("Cache-Control", "no-cache");
      co_return r;
    }
    case route_id::healthz:
      co_return co_await healthz();
    case route_id::metrics:
      co_return co_await metrics();
    case route_id::jobs_list:
      co_return co_await jobs_list(query);
    case route_id::jobs_create:
      co_return co_await jobs_create(req.body);
    case route_id::job_get:
      co_return co_await job_get(param(0));
    case route_id::job_cancel:
      co_return co_await job_transition(param(0), true);
    case route_id::job_retry:
      co_return co_await job_transition(param(0), false);
    case route_id::batches:
      co_return co_await batches();
    case route_id::accounts:
      co_return accounts();
    case route_id::account_pause:
      co_return co_await account_pause(param(0), req.body, true);
    case route_id::account_resume:
      co_return co_await account_pause(param(0), req.body, false);
    case route_id::timeline:
      co_return co_await timeline(query);
    case route_id::failures:
      co_return co_await failures(query);
    case route_id::gallery:
      co_return co_await gallery(query);
    case route_id::file:
      co_return serve_file(req, param(0), param(1));
    case route_id::job_file:
      co_return co_await serve_job_file(req, param(0), param(1));
    case route_id::manifest:
      co_return co_await manifest(param(0), query);
  }
  co_return error_reply(404, "not_found", "no such endpoint");
}

namespace {

// /healthz from what the loop reports and whether the database answered.
http_reply health_reply(const daemon::runtime_view& rt, millis now, bool db_answers) {
  const millis age = now - rt.last_tick;
  json::object body{{"last_tick", rt.last_tick}, {"last_tick_age_ms", age}, {"draining", rt.draining}};
  if (rt.db_lost) {
    // Commits would go into a deleted file: the daemon is exiting so systemd restarts it.
    body["status"] = "unavailable";
    body["reason"] = *rt.db_lost;
    return json_reply(503, body);
  }
  if (!db_answers) {
    body["status"] = "unavailable";
    body["reason"] = "the database does not answer";
    return json_reply(503, body);
  }
  if (rt.last_tick <= 0 || age > handlers::stale_tick_ms) {
    body["status"] = "unavailable";
    body["reason"] = rt.last_tick <= 0 ? "the scheduler has not run yet"
                                       : "the scheduler has not run for " + std::to_string(age / 1000) + " s";
    return json_reply(503, body);
  }
  // Degraded, not dead: the loop answers and nothing is lost, it only waits (a watchdog
  // or load balancer must not restart a daemon for an operator's lock or a full disk).
  std::vector<std::string> degraded;
  if (rt.db_locked_since) {
    const millis held = std::max<millis>(0, now - *rt.db_locked_since);
    body["db_locked_ms"] = held;
    degraded.push_back("the database is locked by another connection for " + std::to_string(held) +
                       " ms: writes wait and are retried");
  }
  if (!rt.disk.reason.empty()) {
    body["disk"] = rt.disk.reason;
    degraded.push_back("disk: " + rt.disk.reason);
  }
  if (!degraded.empty()) {
    std::string reason;
    for (const auto& d : degraded) reason += (reason.empty() ? "" : "; ") + d;
    body["status"] = "degraded";
    body["reason"] = reason;
    return json_reply(200, body);
  }
  body["status"] = "ok";
  return json_reply(200, body);
}

}  // namespace

asio::awaitable<http_reply> handlers::healthz() {
  const auto rt = deps_.control.runtime();
  bool db_answers = true;
  if (!rt.db_lost) {  // a lost SQLite file answers, but is not the one at the path
    auto db = co_await deps_.store.ping();
    if (!db) {
      log::warn("status.health_db_failed", {{"error", db.error().message()}});
      db_answers = false;
    }
  }
  co_return health_reply(rt, deps_.clock.now(), db_answers);
}

asio::awaitable<http_reply> handlers::metrics() {
  auto snap = co_await current_snapshot();
  if (!snap) co_return from_error(snap.error(), "metrics");
  http_reply r;
  r.content_type = std::string(prometheus_content_type);
  r.body = render_metrics((*snap)->gauges, deps_.control.runtime(), deps_.metrics, deps_.clock.now());
  co_return r;
}

http_reply handlers::serve_file(const http_request_view& req, std::string_view folder, std::string_view name) {
  const auto ref = parse_file_ref(folder, name);
  if (!ref) return error_reply(404, "not_found", "no such file");
  const auto file = resolve_output_file(deps_.cfg.output_dir, *ref);
  if (file.status == resolve_status::forbidden) {
    log::warn("status.file_outside_output", {{"folder", ref->folder}, {"job_id", ref->job_id}});
    return error_reply(403, "forbidden", "the file is outside the output folder");
  }
  if (file.status != resolve_status::ok) return error_reply(404, "not_found", "no such file");
  return send_file(req, file, ref->content_type());
}

asio::awaitable<http_reply> handlers::serve_job_file(const http_request_view& req, std::string_view id_text,
                                                     std::string_view which) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size() || id <= 0 || (which != "video" && which != "cover")) {
    co_return error_reply(404, "not_found", "no such file");
  }
  auto row = co_await deps_.store.get(id);
  if (!row) co_return from_error(row.error(), "job file");
  // Only a succeeded job's files: a downloading job's video_path names a file not yet there.
  if (!*row || (*row)->state != job_state::succeeded) co_return error_reply(404, "not_found", "no such file");
  const auto& recorded = which == "video" ? (*row)->video_path : (*row)->cover_path;
  if (!recorded || recorded->empty()) co_return error_reply(404, "not_found", "no such file");
  const auto file = resolve_recorded_file(deps_.cfg.output_dir, *recorded);
  if (file.status == resolve_status::forbidden) {
    log::warn("status.file_outside_output", {{"job_id", id}, {"which", which}});
    co_return error_reply(403, "forbidden", "the file is outside the output folder");
  }
  if (file.status != resolve_status::ok) co_return error_reply(404, "not_found", "no such file");
  co_return send_file(req, file, content_type_of(file.path));
}

http_reply handlers::send_file(const http_request_view& req, const resolved_file& file, std::string_view content_type) {
  const auto range = parse_range(req.range, file.size);
  http_reply r;
  r.content_type = std::string(content_type);
  r.headers.emplace_back("Accept-Ranges", "bytes");
  // Files are written once (.part, then rename) and never change under the same name.
  r.headers.emplace_back("Cache-Control", "private, max-age=3600");
  if (range.status == range_status::unsatisfiable) {
    r.status = 416;
    r.content_type = "text/plain";
    r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(file.size));
    return r;
  }
  file_send send{file.path, 0, file.size};
  if (range.status == range_status::partial) {
    r.status = 206;
    send.offset = range.range.first;
    send.length = range.range.length();
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(range.range.first) + "-" +
                                                std::to_string(range.range.last) + "/" + std::to_string(file.size));
  }
  r.file = std::move(send);
  return r;
}

}  // namespace vidq::status
