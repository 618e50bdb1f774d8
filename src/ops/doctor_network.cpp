// The provider side of `vidq doctor`: TLS trust, API key sources, and one authenticated GET
// per account that cannot create a task (a poll of a made-up task id).

#include "doctor_checks.hpp"
#include "vidq/core/utc_text.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/ops/secrets.hpp"
#include "vidq/provider/account_transport.hpp"
#include "vidq/provider/client.hpp"
#include "vidq/provider/dialect.hpp"
#include "vidq/provider/error_class.hpp"
#include "vidq/store/account_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <optional>
#include <random>

namespace vidq::ops {
namespace {

namespace asio = boost::asio;

std::optional<int> business_code(const std::optional<provider::provider_error>& pe) {
  int code = 0;
  if (!pe || pe->code.empty()) return std::nullopt;
  const auto* end = pe->code.data() + pe->code.size();
  auto [ptr, ec] = std::from_chars(pe->code.data(), end, code);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return code;
}

// "task not found", "Task does not exist", "任务不存在": a provider speaking about the task,
// unlike a router's bare "Not Found".
bool mentions_missing_task(std::string_view message) {
  std::string lower(message);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto has = [&](std::string_view needle) { return lower.find(needle) != std::string::npos; };
  return (has("task") && (has("not found") || has("not exist") || has("no such"))) || has("不存在");
}

// "HTTP 404, code 1214: task not found: vidq-doctor-…", shortened for one line.
// Scrubbed before the cut, on the decoded message: a key echoed JSON-escaped only appears
// once decoded, and cutting first could leave half of it where no scrub matches.
std::string describe(int status, const std::optional<provider::provider_error>& pe,
                     const std::function<std::string(std::string)>& scrub) {
  std::string text = "HTTP " + std::to_string(status);
  if (pe && !pe->code.empty()) text += ", code " + scrub(pe->code);
  if (pe && !pe->message.empty()) text += ": " + scrub(pe->message).substr(0, 160);
  return text;
}

check_line fail_transport(std::string name, const net::request_error& e) {
  const std::string where(net::to_string(e.step));
  if (net::is_tls_error(e.ec)) {
    return {std::move(name), check_level::fail,
            "TLS " + where + " failed: " + e.ec.message() + " (is the server's CA in [tls] ca_file or the system store?)"};
  }
  if (e.ec == errc::timeout) return {std::move(name), check_level::fail, "unreachable: timed out in " + where};
  if (e.step == net::step::prepare) return {std::move(name), check_level::fail, "bad base_url: " + e.ec.message()};
  if (e.step == net::step::resolve || e.step == net::step::connect) {
    std::string text = "unreachable: " + where + ": " + e.ec.message();
    if (e.status != 0) text += " (status " + std::to_string(e.status) + ")";
    if (!e.proxy.empty()) text += " via proxy " + e.proxy;
    return {std::move(name), check_level::fail, std::move(text)};
  }
  return {std::move(name), check_level::fail, "no usable reply: " + e.message()};
}

std::string utc_text(millis at) {
  return vidq::utc_text(at, "%Y-%m-%d %H:%M:%S UTC");
}

std::string made_up_task_id() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> nibble(0, 15);
  std::string id = "vidq-doctor-";
  for (int i = 0; i < 16; ++i) id += "0123456789abcdef"[nibble(rd)];
  return id;
}

// One GET of a task id nobody has, with the account's credential. Runs `ioc` to completion.
net::net_result<net::http_response> probe(asio::io_context& ioc, net::https_client& http,
                                          const account_config& account, const std::string& authorization,
                                          const net::proxy_settings& proxy) {
  std::optional<net::net_result<net::http_response>> reply;
  std::exception_ptr failure;
  const std::string task_id = made_up_task_id();
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        const provider::http_request built = provider::build_poll(account.provider, task_id);
        net::http_request req(provider::join_url(account.base_url, built.path));
        req.headers = built.headers;
        req.headers.emplace_back("Authorization", authorization);
        req.options.fresh_connection = true;
        req.options.proxy = proxy;
        reply = co_await http.request(std::move(req));
      },
      [&](std::exception_ptr e) { failure = e; });
  ioc.restart();
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*reply);
}

}  // namespace

check_line interpret_probe(std::string name, const net::net_result<net::http_response>& reply,
                           const std::function<std::string(std::string)>& scrub) {
  using enum check_level;
  if (!reply) {
    net::request_error e = reply.error();
    e.detail.clear();
    auto line = fail_transport(std::move(name), e);
    line.detail = scrub(std::move(line.detail));
    return line;
  }
  const int status = static_cast<int>(reply->status);
  const auto pe = provider::parse_error_body(scrub(reply->body));
  const auto code = business_code(pe);
  const std::string text = describe(status, pe, scrub);
  auto line = [&](check_level level, std::string detail) { return check_line{name, level, scrub(std::move(detail))}; };

  if (status == 401 || (code && *code >= 1000 && *code <= 1005)) return line(fail, "key rejected (" + text + ")");
  if (code == 1113 || status == 402) return line(fail, "key accepted, but the account is in arrears (" + text + ")");
  if (status == 403 || code == 1220) return line(fail, "key accepted, but it has no access to this API (" + text + ")");
  if (code && (*code == 1309 || *code == 1311 || (*code >= 1313 && *code <= 1321))) {
    return line(fail, "key accepted, but its subscription forbids calls (" + text + ")");
  }
  // The documented answer for an unknown task: a provider error body (not a bare web
  // server 404, which would mean a wrong base_url path and says nothing about the key).
  // Code "404" is what routers (and the simulator) put in their own "no such endpoint".
  const bool task_unknown = pe && ((code && *code != 404) || mentions_missing_task(pe->message));
  if ((status == 404 || status == 400) && task_unknown) {
    return line(ok, "reachable, key accepted (a made-up task id got " + text + ")");
  }
  if (status == 404) return line(fail, "not a provider's reply (" + text + "): check base_url");
  if (status == 429) return line(warn, "reachable, but rate limited now (" + text + ")");
  if (status >= 500) return line(warn, "reachable, but the provider reports an error (" + text + ")");
  if (status >= 200 && status < 300) return line(warn, "reachable, but a made-up task id was answered " + text);
  return line(warn, "reachable, unexpected reply (" + text + ")");
}

namespace doctor_detail {

void check_accounts(state& s) {
  const config& cfg = *s.cfg;
  net::client_options options = provider::provider_client_options(cfg);
  const auto t = s.options.network_timeout;
  options.deadlines = net::timeouts{t, t, t, t, t, t};
  options.pool.max_idle_per_host = 0;  // one probe per account: nothing to reuse
  asio::io_context ioc;
  auto http = net::https_client::create(ioc.get_executor(), options);
  if (!http) {
    s.add("tls trust", check_level::fail, "cannot load [tls] ca_file " + cfg.tls_ca_file + ": " + http.error().message());
  } else {
    s.add("tls trust", check_level::ok,
          cfg.tls_ca_file.empty() ? "system trust store" : "system trust store + " + cfg.tls_ca_file);
  }

  std::vector<store::account_pause_row> pauses;
  if (s.db && s.schema >= 2) {
    system_clock clock;
    if (auto rows = store::account_store(*s.db, clock).pauses()) pauses = std::move(*rows);
  }
  const millis now = system_clock().now();

  for (const auto& account : cfg.accounts) {
    const std::string prefix = "account " + account.name;
    std::string why;
    auto key = load_secret(key_source(account), why);
    if (!key) {
      s.add(prefix + " key", check_level::fail, why);
    } else {
      // Names the source, never the value.
      const char* env = account.api_key_env.empty() ? nullptr : std::getenv(account.api_key_env.c_str());
      const std::string from = env && *env
                                   ? "environment variable " + account.api_key_env
                               : !account.api_key_file.empty() ? "file " + account.api_key_file
                                                               : "systemd credential " + account.api_key_credential;
      s.add(prefix + " key", check_level::ok, "loaded from " + from);
    }
    if (auto warning = key_file_permission_warning(account.api_key_file); !warning.empty()) {
      s.add(prefix + " key file", check_level::warn, warning);
    }
    for (const auto& p : pauses) {
      if (p.account != account.name || (p.until && *p.until <= now)) continue;
      s.add(prefix + " pause", check_level::warn,
            "paused by " + std::string(store::to_string(p.by)) + " since " + utc_text(p.at) + ": " + p.reason +
                (p.until ? " (until " + utc_text(*p.until) + ")" : " (until `vidq account resume " + account.name + "`)"));
    }
    // The route the daemon would take (never the proxy's credentials), and the credential
    // it would send (the key, or a JWT signed from it).
    std::optional<net::proxy_settings> proxy;
    {
      std::string proxy_why;
      auto env = provider::env_proxy_settings(proxy_why);
      auto settings = env ? provider::account_proxy_settings(account, *env, proxy_why) : env;
      if (!settings) {
        s.add(prefix + " proxy", check_level::fail, proxy_why);
      } else {
        s.add(prefix + " proxy", check_level::ok, provider::describe_route(*settings, account.base_url));
        proxy = std::move(*settings);
      }
    }
    std::optional<provider::account_credential> credential;
    if (key) {
      std::string auth_why;
      if (auto c = provider::account_credential::create(account, *key, auth_why)) {
        credential = std::move(*c);
      } else {
        s.add(prefix + " auth", check_level::fail, auth_why);
      }
    }
    const std::string name = prefix + " api";
    if (s.options.offline) {
      s.add(name, check_level::ok, "not probed (--offline)");
    } else if (!key) {
      s.add(name, check_level::fail, "not probed: no key");
    } else if (!http) {
      s.add(name, check_level::fail, "not probed: TLS trust did not load");
    } else if (!credential) {
      s.add(name, check_level::fail, "not probed: the key does not fit auth = jwt");
    } else if (!proxy) {
      s.add(name, check_level::fail, "not probed: bad proxy settings");
    } else {
      const std::string authorization = credential->authorization(system_clock().now());
      auto scrub = [&](std::string text) { return credential->scrub(std::move(text)); };
      auto line = interpret_probe(name, probe(ioc, **http, account, authorization, *proxy), scrub);
      line.detail = account.base_url + ": " + line.detail;
      s.emit(std::move(line));
    }
  }
}

}  // namespace doctor_detail
}  // namespace vidq::ops
