#include "vidq/provider/client.hpp"

#include "vidq/ops/log.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

namespace vidq::provider {
namespace {

using kind = transport_outcome::kind;

// Steps after which the request was completely written: the server may have acted on it.
bool after_write(net::step s) noexcept {
  return s == net::step::read_header || s == net::step::read_body || s == net::step::file;
}

}  // namespace

transport_outcome to_outcome(const net::net_result<net::http_response>& r) {
  transport_outcome out;
  if (r) {
    out.what = kind::response;
    out.http_status = static_cast<int>(r->status);
    out.body = r->body;
    if (!r->retry_after.empty()) out.retry_after = r->retry_after;
    return out;
  }
  const net::request_error& e = r.error();
  // Either signal of delivery wins: a wrong "not_sent" would resubmit a paid task, a wrong
  // "maybe_delivered" only asks an operator to look.
  const bool maybe = e.delivery == net::delivery::maybe_delivered || after_write(e.step);
  out.what = maybe ? kind::maybe_delivered : kind::not_sent;
  out.detail = e.message();
  return out;
}

net::client_options provider_client_options(const ops::config& cfg) {
  net::client_options o;
  o.tls.ca_file = cfg.tls_ca_file;
  o.user_agent = std::string("vidq/") + VIDQ_VERSION;
  // Idle connections kept per host: as many as the accounts' slots, within [8, 256]. With 100
  // accounts × 20 slots on one host, 8 made every other poll a fresh TLS handshake (half the
  // daemon's CPU in bench_many_accounts); the pool is linear, which stays cheap at 256.
  std::size_t slots = 0;
  for (const auto& a : cfg.accounts) slots += static_cast<std::size_t>(std::max(a.cap(), 0));
  o.pool.max_idle_per_host = std::clamp<std::size_t>(slots, o.pool.max_idle_per_host, 256);
  o.pool.max_idle_total = std::max(o.pool.max_idle_total, 2 * o.pool.max_idle_per_host);
  std::string ignored;  // reported by https_provider_client::create, which the daemon calls
  if (auto env = env_proxy_settings(ignored)) o.proxy = std::move(*env);
  return o;
}

std::string join_url(std::string_view base_url, std::string_view path) {
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  std::string url(base_url);
  if (!path.starts_with('/')) url += '/';
  url += path;
  return url;
}

result<std::unique_ptr<https_provider_client>> https_provider_client::create(const ops::account_config& account,
                                                                             net::https_client& http,
                                                                             const vidq::clock& clock,
                                                                             std::string& why) {
  auto key = ops::load_secret(ops::key_source(account), why);
  if (!key) {
    why = "account " + account.name + ": " + why;
    return key.error();
  }
  if (account.auth == ops::auth_kind::jwt && !split_api_key(key->expose())) {
    why = "account " + account.name + ": auth = \"jwt\" needs a key of the form <id>.<secret>";
    return make_error_code(errc::config_error);
  }
  auto env = env_proxy_settings(why);
  if (!env) return env.error();
  auto proxy = account_proxy_settings(account, *env, why);
  if (!proxy) return proxy.error();
  return std::make_unique<https_provider_client>(account, std::move(*key), http, clock, std::move(*proxy));
}

namespace {

account_credential make_credential(const ops::account_config& account, ops::secret key) {
  std::string why;
  auto c = account_credential::create(account, std::move(key), why);
  if (!c) throw std::invalid_argument(why);
  return std::move(*c);
}

}  // namespace

https_provider_client::https_provider_client(ops::account_config account, ops::secret key, net::https_client& http,
                                             const vidq::clock& clock, std::optional<net::proxy_settings> proxy)
    : account_(std::move(account)),
      credential_(make_credential(account_, std::move(key))),
      proxy_(std::move(proxy)),
      http_(http),
      clock_(clock) {}

classify_context https_provider_client::context_now() const {
  classify_context ctx;
  ctx.provider = account_.provider;
  ctx.now = clock_.now();
  return ctx;
}

// The provider may echo the credential (some 401 bodies do): it must not reach a verdict, a
// stored error_message or a log line. The registered list covers every loaded key; the
// account's own key is replaced even when it is too short for the global list.
std::string https_provider_client::scrub(std::string text) const { return credential_.scrub(std::move(text)); }

boost::asio::awaitable<transport_outcome> https_provider_client::exchange(const http_request& req) {
  // A named request (GCC 12: no aggregate temporaries inside co_await, docs/HTTP_CLIENT.md).
  net::http_request out(join_url(account_.base_url, req.path),
                        req.method == "POST" ? net::http::verb::post : net::http::verb::get, req.body);
  out.headers = req.headers;
  out.headers.emplace_back("Authorization", credential_.authorization(clock_.now()));
  out.options.proxy = proxy_;
  const auto started = std::chrono::steady_clock::now();
  const auto reply = co_await http_.request(std::move(out));
  transport_outcome outcome = to_outcome(reply);
  // Scrub before parsing: a message cut short by the classifier could keep half a key.
  outcome.body = scrub(std::move(outcome.body));
  outcome.detail = scrub(std::move(outcome.detail));

  boost::json::object fields{
      {"account", account_.name},
      {"method", req.method},
      {"path", req.path},
      {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()}};
  if (outcome.what == kind::response) fields["status"] = outcome.http_status;
  else fields["error"] = outcome.detail;
  log::debug("provider_http", std::move(fields));
  co_return outcome;
}

boost::asio::awaitable<submit_result> https_provider_client::submit(const job_spec& spec, std::string_view request_id) {
  auto built = build_submit(account_.provider, spec, request_id, read_image_);
  if (auto* err = std::get_if<build_error>(&built)) {
    // Nothing was sent; resubmitting the same row cannot fix it.
    verdict v;
    v.what = action::fail_job;
    v.error_code = err->error_code;
    v.message = scrub(err->message);
    co_return v;
  }
  const http_request req = std::move(std::get<http_request>(built));
  const transport_outcome outcome = co_await exchange(req);
  submit_result r = interpret_submit(account_.provider, outcome, context_now());
  if (auto* v = std::get_if<verdict>(&r)) v->message = scrub(std::move(v->message));
  co_return r;
}

boost::asio::awaitable<poll_result> https_provider_client::poll(std::string_view task_id, const poll_context& pctx) {
  const http_request req = build_poll(account_.provider, task_id);
  const transport_outcome outcome = co_await exchange(req);
  classify_context ctx = context_now();
  ctx.submitted_at = pctx.submitted_at;
  ctx.not_found_grace = pctx.not_found_grace;
  poll_result r = interpret_poll(account_.provider, outcome, ctx);
  if (auto* v = std::get_if<verdict>(&r)) v->message = scrub(std::move(v->message));
  if (auto* f = std::get_if<task_failed>(&r)) f->message = scrub(std::move(f->message));
  co_return r;
}

}  // namespace vidq::provider
