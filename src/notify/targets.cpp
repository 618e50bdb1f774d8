#include "vidq/notify/transport.hpp"

namespace vidq::notify {

std::optional<std::vector<target>> load_targets(const ops::config& cfg, std::string& why) {
  std::vector<target> out;
  for (std::size_t i = 0; i < cfg.notify.size(); ++i) {
    const auto& n = cfg.notify[i];
    target t{n, {}};
    if (!n.secret_env.empty() || !n.secret_file.empty()) {
      std::string reason;
      auto s = ops::load_secret(ops::secret_source{n.secret_env, n.secret_file, {}}, reason);
      if (!s) {
        why = "notify[" + std::to_string(i) + "] '" + n.name + "' secret: " + reason;
        return std::nullopt;
      }
      t.secret = std::move(*s);
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace vidq::notify
