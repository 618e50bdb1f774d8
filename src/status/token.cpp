#include "vidq/ops/log.hpp"
#include "vidq/status/server.hpp"

namespace vidq::status {

namespace {
// Shorter tokens are guessable, and log::register_secret ignores values under 8 characters,
// so a short one could not even be redacted.
constexpr std::size_t min_token_length = 16;
}  // namespace

result<std::optional<ops::secret>> load_status_token(const ops::status_config& cfg, std::string& why) {
  if (cfg.token_env.empty() && cfg.token_file.empty() && cfg.token_credential.empty()) {
    return std::optional<ops::secret>();
  }
  // Same sources and order as API keys; load_secret registers the value for redaction.
  auto token = ops::load_secret({cfg.token_env, cfg.token_file, cfg.token_credential}, why);
  if (!token) {
    why = "[status] token: " + why;
    return token.error();
  }
  if (token->expose().size() < min_token_length) {
    why = "[status] token: must be at least " + std::to_string(min_token_length) + " characters";
    return make_error_code(errc::config_error);
  }
  return std::optional<ops::secret>(std::move(*token));
}

}  // namespace vidq::status
