#pragma once
// How one account reaches its provider besides the URL: the Authorization header (the key as
// a Bearer token, or the SDK's JWT signed from it) and the CONNECT proxy (its own, the
// environment's, or none). Shared by the provider client and `vidq doctor` so both send the
// same thing. docs/OPERATIONS.md "Proxies and token auth".

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/net/proxy.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/ops/secrets.hpp"
#include "vidq/provider/jwt.hpp"

#include <functional>
#include <optional>
#include <string>

namespace vidq::provider {

class account_credential {
 public:
  // auth = bearer: the key as is. auth = jwt: the key must be "id.secret"; its secret half
  // is registered for log redaction. Errors: errc::config_error with `why` (never a value).
  static result<account_credential> create(const ops::account_config& account, ops::secret key, std::string& why);

  // "Bearer <key>", or "Bearer <jwt>" from the cache at `now_ms` (signed anew shortly
  // before expiry).
  std::string authorization(millis now_ms);
  // `text` with the key, its secret half and the current token replaced by [REDACTED].
  std::string scrub(std::string text) const;
  ops::auth_kind kind() const noexcept { return jwt_ ? ops::auth_kind::jwt : ops::auth_kind::bearer; }
  const ops::secret& key() const noexcept { return key_; }

 private:
  account_credential(ops::secret key, std::optional<jwt_cache> jwt);
  ops::secret key_;
  std::optional<jwt_cache> jwt_;
  std::string current_token_;
};

// HTTPS_PROXY/NO_PROXY of this process. Errors: config_error, `why` says the variable is
// malformed (without its value: it may hold a password).
result<net::proxy_settings> env_proxy_settings(std::string& why,
                                               const std::function<const char*(const char*)>& getenv = nullptr);

// The proxy decision for `account` (pure but for reading proxy_auth_env/proxy_auth_file):
//   proxy absent  → `env` (with proxy_auth_* replacing its credentials, when set)
//   proxy ""      → direct
//   proxy URL     → that proxy, NO_PROXY from `env` still applies, credentials from proxy_auth_*
// The proxy's credentials are registered for log redaction. Errors: config_error with `why`
// (bad URL, unreadable or empty auth source, "user:password" without a ':').
result<net::proxy_settings> account_proxy_settings(const ops::account_config& account, const net::proxy_settings& env,
                                                   std::string& why);

// "http://host:port", "direct", or "direct (NO_PROXY)" for `base_url`: for `vidq doctor`
// and logs, never with credentials.
std::string describe_route(const net::proxy_settings& s, const std::string& base_url);

}  // namespace vidq::provider
