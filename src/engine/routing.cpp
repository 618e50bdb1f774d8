#include "vidq/engine/routing.hpp"

#include "vidq/provider/models.hpp"

namespace vidq::engine {

bool asks_for_pool(std::string_view account, const ops::config& cfg) {
  if (account.empty() || account == "*") return true;
  return account == "default" && cfg.find_account("default") == nullptr;
}

bool is_routable(std::string_view account, const ops::config& cfg) {
  return asks_for_pool(account, cfg) || cfg.find_account(account) != nullptr;
}

std::optional<std::string> account_problem(std::string_view account, const ops::config& cfg) {
  if (is_routable(account, cfg)) return std::nullopt;
  std::string names;
  for (const auto& a : cfg.accounts) names += (names.empty() ? "" : ", ") + a.name;
  return "account: no account named '" + std::string(account) + "' in the config (configured: " + names +
         "; '*' lets any of them serve the job)";
}

std::optional<std::string> check_account_models(const ops::config& cfg) {
  for (std::size_t i = 0; i < cfg.accounts.size(); ++i) {
    for (const auto& m : cfg.accounts[i].models) {
      if (provider::find_model(m) == nullptr) {
        return cfg.source + ":accounts[" + std::to_string(i) + "].models: '" + m + "' is not a model vidq knows";
      }
    }
  }
  return std::nullopt;
}

std::vector<int> spread(std::span<const route_candidate> candidates, int jobs, std::size_t& turn) {
  const std::size_t n = candidates.size();
  std::vector<int> given(n, 0);
  if (n == 0) return given;
  for (int j = 0; j < jobs; ++j) {
    // Scan from the rotating start so that among equals the first one met wins.
    std::optional<std::size_t> best;
    int best_free = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (turn + k) % n;
      const int left = candidates[i].free - given[i];
      if (left > best_free) {
        best = i;
        best_free = left;
      }
    }
    if (!best) break;
    ++given[*best];
    turn = (*best + 1) % n;
  }
  return given;
}

}  // namespace vidq::engine
