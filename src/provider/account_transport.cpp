#include "vidq/provider/account_transport.hpp"

#include "vidq/net/connection.hpp"
#include "vidq/ops/log.hpp"

#include <cstdlib>

namespace vidq::provider {
namespace {

void replace_all(std::string& text, const std::string& needle, std::string_view with) {
  if (needle.empty()) return;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + with.size())) {
    text.replace(pos, needle.size(), with);
  }
}

}  // namespace

account_credential::account_credential(ops::secret key, std::optional<jwt_cache> jwt)
    : key_(std::move(key)), jwt_(std::move(jwt)) {}

result<account_credential> account_credential::create(const ops::account_config& account, ops::secret key,
                                                      std::string& why) {
  if (account.auth == ops::auth_kind::bearer) return account_credential(std::move(key), std::nullopt);
  auto parts = split_api_key(key.expose());
  if (!parts) {
    why = "account " + account.name + ": auth = \"jwt\" needs a key of the form <id>.<secret>";
    return make_error_code(errc::config_error);
  }
  log::register_secret(parts->secret);  // the half that signs; the whole key is registered already
  return account_credential(std::move(key), jwt_cache(std::move(*parts)));
}

std::string account_credential::authorization(millis now_ms) {
  if (!jwt_) return "Bearer " + key_.expose();
  current_token_ = jwt_->token(now_ms);
  return "Bearer " + current_token_;
}

std::string account_credential::scrub(std::string text) const {
  replace_all(text, key_.expose(), "[REDACTED]");
  replace_all(text, current_token_, "[REDACTED]");
  if (auto parts = split_api_key(key_.expose()); parts && parts->secret.size() >= 4) {
    replace_all(text, parts->secret, "[REDACTED]");
  }
  return log::redact(std::move(text));
}

result<net::proxy_settings> env_proxy_settings(std::string& why, const std::function<const char*(const char*)>& getenv) {
  const std::function<const char*(const char*)> process_env = [](const char* name) -> const char* {
    return std::getenv(name);
  };
  auto s = net::proxy_settings_from_env(getenv ? getenv : process_env);
  if (!s) {
    why = "HTTPS_PROXY (or https_proxy) is not an http://host:port URL";
    return make_error_code(errc::config_error);
  }
  if (s->proxy && !s->proxy->authorization.empty()) log::register_secret(s->proxy->authorization.substr(6));
  return s;
}

result<net::proxy_settings> account_proxy_settings(const ops::account_config& account, const net::proxy_settings& env,
                                                   std::string& why) {
  const std::string prefix = "account " + account.name + ": ";
  net::proxy_settings out = env;
  if (account.proxy) {
    if (account.proxy->empty()) return net::proxy_settings{};  // "none": direct, NO_PROXY moot
    auto p = net::parse_proxy_url(*account.proxy);
    if (!p) {
      why = prefix + "proxy '" + *account.proxy + "' is not an http://host:port URL";
      return make_error_code(errc::config_error);
    }
    out.proxy = std::move(*p);
  }
  if (account.proxy_auth_env.empty() && account.proxy_auth_file.empty()) return out;
  if (!out.proxy) return out;  // credentials for a proxy nobody configured: nothing to send
  ops::secret_source source{account.proxy_auth_env, account.proxy_auth_file, {}};
  std::string load_why;
  auto auth = ops::load_secret(source, load_why);
  if (!auth) {
    why = prefix + "proxy credentials: " + load_why;
    return auth.error();
  }
  if (auth->expose().find(':') == std::string::npos) {
    why = prefix + "proxy credentials must be user:password";
    return make_error_code(errc::config_error);
  }
  // The whole "user:password" is registered by load_secret; the password alone too, since
  // a proxy's error page may quote it without the user.
  log::register_secret(auth->expose().substr(auth->expose().find(':') + 1));
  out.proxy->authorization = net::basic_authorization(auth->expose());
  log::register_secret(out.proxy->authorization.substr(6));  // the base64 form, as sent
  return out;
}

std::string describe_route(const net::proxy_settings& s, const std::string& base_url) {
  if (!s.proxy) return "direct";
  auto url = net::parse_url(base_url, true);
  if (url && !net::route(s, url->origin)) return "direct (NO_PROXY)";
  return s.proxy->display() + (s.proxy->authorization.empty() ? "" : " (with credentials)");
}

}  // namespace vidq::provider
