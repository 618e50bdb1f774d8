#include "vidq/ops/config_reload.hpp"

#include <toml++/toml.h>

namespace vidq::ops {

std::string reload_refusal(const config& running, const config& fresh, bool file_declares_accounts) {
  if (!fresh.source.empty() && !file_declares_accounts) {
    return fresh.source + " declares no [[accounts]] (an empty or truncated file?); the running accounts stay";
  }
  const auto restart = [](std::string_view key) { return std::string(key) + " changed; it needs a restart"; };
  if (fresh.database_path != running.database_path) return restart("[database] path");
  if (fresh.database_url != running.database_url) return restart("[database] url");
  if (fresh.database_lease_ms != running.database_lease_ms) return restart("[database] lease_seconds");
  if (fresh.tls_ca_file != running.tls_ca_file) return restart("[tls] ca_file");  // the TLS context is built once
  if (fresh.status.listen != running.status.listen) return restart("[status] listen");
  if (fresh.status.allowed_hosts != running.status.allowed_hosts) return restart("[status] allowed_hosts");
  if (fresh.status.public_read != running.status.public_read) return restart("[status] public_read");
  return {};
}

bool declares_accounts(const std::string& path) {
  try {
    const toml::table root = toml::parse_file(path);
    const auto* accounts = root.get_as<toml::array>("accounts");
    return accounts != nullptr && !accounts->empty();
  } catch (const toml::parse_error&) {
    return false;
  }
}

}  // namespace vidq::ops
