#include "vidq/engine/breaker.hpp"

#include <algorithm>
#include <cmath>

namespace vidq::engine {

void account_breakers::on_healthy_reply(std::string_view account) {
  if (auto it = accounts_.find(account); it != accounts_.end()) it->second.server_error_run = 0;
}

bool account_breakers::on_fault(std::string_view account, provider::account_fault fault, std::string reason,
                                millis now) {
  if (fault == provider::account_fault::none) return false;
  auto it = accounts_.find(account);
  if (it == accounts_.end()) it = accounts_.emplace(std::string(account), state{}).first;
  state& s = it->second;
  if (s.open) return false;
  if (fault == provider::account_fault::server_error && ++s.server_error_run < cfg_.server_errors_to_open) {
    return false;
  }
  open(s, std::move(reason), now);
  return true;
}

void account_breakers::restore_open(std::string_view account, std::string reason, millis now) {
  auto it = accounts_.find(account);
  if (it == accounts_.end()) it = accounts_.emplace(std::string(account), state{}).first;
  if (!it->second.open) open(it->second, std::move(reason), now);
}

void account_breakers::open(state& s, std::string reason, millis now) {
  s.open = true;
  s.probing = false;
  s.failed_probes = 0;
  s.server_error_run = 0;
  s.next_probe = now + cfg_.first_probe;
  s.reason = std::move(reason);
}

bool account_breakers::is_open(std::string_view account) const {
  auto it = accounts_.find(account);
  return it != accounts_.end() && it->second.open;
}

const std::string* account_breakers::reason(std::string_view account) const {
  auto it = accounts_.find(account);
  return it != accounts_.end() && it->second.open ? &it->second.reason : nullptr;
}

std::vector<std::string> account_breakers::take_due_probes(millis now) {
  std::vector<std::string> due;
  for (auto& [name, s] : accounts_) {
    if (s.open && !s.probing && s.next_probe <= now) {
      s.probing = true;
      due.push_back(name);
    }
  }
  return due;
}

std::optional<millis> account_breakers::next_probe() const {
  std::optional<millis> next;
  for (const auto& [name, s] : accounts_) {
    if (s.open && !s.probing) next = next ? std::min(*next, s.next_probe) : s.next_probe;
  }
  return next;
}

void account_breakers::on_probe_result(std::string_view account, bool healthy, std::string reason, millis now) {
  auto it = accounts_.find(account);
  if (it == accounts_.end() || !it->second.open) return;
  state& s = it->second;
  s.probing = false;
  if (healthy) {
    s = state{};
    return;
  }
  ++s.failed_probes;
  const double grown = static_cast<double>(cfg_.first_probe) * std::pow(cfg_.probe_growth, s.failed_probes);
  s.next_probe = now + static_cast<millis>(std::min(grown, static_cast<double>(cfg_.max_probe_interval)));
  if (!reason.empty()) s.reason = std::move(reason);
}

void account_breakers::close(std::string_view account) {
  if (auto it = accounts_.find(account); it != accounts_.end()) it->second = state{};
}

int account_breakers::failed_probes(std::string_view account) const {
  auto it = accounts_.find(account);
  return it == accounts_.end() ? 0 : it->second.failed_probes;
}

}  // namespace vidq::engine
