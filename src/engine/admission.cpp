#include "vidq/engine/admission.hpp"
#include "vidq/provider/models.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vidq::engine {

void admission::set_status(account_state& a, account_status status, std::string reason, std::optional<millis> until) {
  a.pause.status = status;
  a.pause.reason = status == account_status::active ? std::string() : std::move(reason);
  a.pause.until = status == account_status::paused_until ? until : std::nullopt;
}

void admission::set_account(std::string_view account, int cap) {
  auto it = accounts_.find(account);
  if (it == accounts_.end()) it = accounts_.emplace(std::string(account), account_state{}).first;
  it->second.cap = std::max(cap, 1);
  if (auto lanes = lanes_.find(account); lanes != lanes_.end()) {
    for (auto& [model, l] : lanes->second) l.base = std::min(l.base, it->second.cap);
  }
}

admission::lane& admission::lane_of(std::string_view account, std::string_view model) {
  auto a = lanes_.find(account);
  if (a == lanes_.end()) a = lanes_.emplace(std::string(account), std::map<std::string, lane, std::less<>>{}).first;
  auto l = a->second.find(model);
  if (l == a->second.end()) l = a->second.emplace(std::string(model), lane{}).first;
  return l->second;
}

const admission::lane* admission::find_lane(std::string_view account, std::string_view model) const {
  auto a = lanes_.find(account);
  if (a == lanes_.end()) return nullptr;
  auto l = a->second.find(model);
  return l == a->second.end() ? nullptr : &l->second;
}

void admission::seed(std::span<const store::inflight_count> counts) {
  for (auto& [account, models] : lanes_) {
    for (auto& [model, l] : models) l.in_flight = 0;
  }
  for (const auto& c : counts) lane_of(c.account, c.model).in_flight = static_cast<int>(std::max<std::int64_t>(c.count, 0));
}

void admission::on_claimed(std::string_view account, std::string_view model, int n) {
  lane_of(account, model).in_flight += std::max(n, 0);
}

void admission::on_released(std::string_view account, std::string_view model, int n) {
  lane& l = lane_of(account, model);
  // Never below zero: a release the count never saw (e.g. a row seeded after a resync) must
  // not create phantom free slots later.
  l.in_flight = std::max(0, l.in_flight - std::max(n, 0));
}

int admission::effective(const lane& l, int cap, millis now) const {
  if (!l.anchor) return cap;
  const millis quiet = std::max<millis>(cfg_.quiet_period, 1);
  const millis steps = now > *l.anchor ? (now - *l.anchor) / quiet : 0;
  return static_cast<int>(std::min<millis>(cap, l.base + steps));
}

void admission::on_rate_limited(std::string_view account, std::string_view model, millis now) {
  const int cap = configured_cap(account);
  lane& l = lane_of(account, model);
  const int current = effective(l, std::max(cap, 1), now);
  l.last_limited = now;
  if (l.last_decrease && now - *l.last_decrease < cfg_.decrease_holdoff) {
    // The same congestion seen by several submits in flight at once: one decrease, but the
    // quiet period counts from the latest 1302.
    l.base = current;
    l.anchor = now;
    return;
  }
  const int halved = static_cast<int>(std::floor(current * cfg_.decrease_factor));
  const int accepted_others = std::max(0, l.in_flight - 1);
  l.base = std::clamp(std::max(halved, accepted_others), 1, std::max(1, current - 1));
  l.anchor = now;
  l.last_decrease = now;
}

int admission::in_flight(std::string_view account, std::string_view model) const {
  const lane* l = find_lane(account, model);
  return l ? l->in_flight : 0;
}

std::vector<std::pair<std::string, std::string>> admission::lanes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [account, models] : lanes_) {
    for (const auto& [model, l] : models) out.emplace_back(account, model);
  }
  return out;
}

int admission::configured_cap(std::string_view account) const {
  auto it = accounts_.find(account);
  return it == accounts_.end() ? 0 : it->second.cap;
}

int admission::effective_cap(std::string_view account, std::string_view model, millis now) const {
  const int cap = configured_cap(account);
  const lane* l = find_lane(account, model);
  return l ? effective(*l, cap, now) : cap;
}

int admission::free_slots(std::string_view account, std::string_view model, millis now) const {
  if (configured_cap(account) == 0 || is_paused(account, now)) return 0;
  if (const lane* l = find_lane(account, model); l && l->last_limited && now < *l->last_limited + cfg_.decrease_holdoff) {
    return 0;
  }
  return std::max(0, effective_cap(account, model, now) - in_flight(account, model));
}

void admission::pause(std::string_view account, std::string reason, std::optional<millis> until) {
  auto it = accounts_.find(account);
  if (it == accounts_.end()) it = accounts_.emplace(std::string(account), account_state{}).first;
  account_state& a = it->second;
  if (a.pause.status == account_status::paused && until) return;  // indefinite wins over timed
  set_status(a, until ? account_status::paused_until : account_status::paused, std::move(reason), until);
}

void admission::resume(std::string_view account) {
  if (auto it = accounts_.find(account); it != accounts_.end()) set_status(it->second, account_status::active, {}, {});
}

account_pause admission::pause_state(std::string_view account, millis now) const {
  auto it = accounts_.find(account);
  if (it == accounts_.end()) return {};
  const account_pause& p = it->second.pause;
  if (p.status == account_status::paused_until && p.until && now >= *p.until) return {};
  return p;
}

bool admission::is_paused(std::string_view account, millis now) const {
  return pause_state(account, now).status != account_status::active;
}

std::optional<millis> admission::next_change(millis now) const {
  std::optional<millis> best;
  auto consider = [&](millis t) {
    if (t > now && (!best || t < *best)) best = t;
  };
  for (const auto& [name, a] : accounts_) {
    if (a.pause.status == account_status::paused_until && a.pause.until) consider(*a.pause.until);
  }
  const millis quiet = std::max<millis>(cfg_.quiet_period, 1);
  for (const auto& [account, models] : lanes_) {
    const int cap = configured_cap(account);
    for (const auto& [model, l] : models) {
      if (l.last_limited) consider(*l.last_limited + cfg_.decrease_holdoff);
      if (!l.anchor || effective(l, cap, now) >= cap) continue;
      const millis steps = now > *l.anchor ? (now - *l.anchor) / quiet : 0;
      consider(*l.anchor + (steps + 1) * quiet);
    }
  }
  return best;
}

std::int64_t price_of(std::string_view model, const ops::budget_config& cfg) {
  if (auto it = cfg.prices.find(std::string(model)); it != cfg.prices.end()) return it->second;
  const auto* rules = provider::find_model(model);
  return rules ? rules->price_milli_cny : 0;
}

namespace {
std::string cny(std::int64_t milli) {
  const std::int64_t a = milli < 0 ? -milli : milli;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld CNY", milli < 0 ? "-" : "", static_cast<long long>(a / 1000),
                static_cast<long long>(a % 1000 / 10));
  return buf;
}
}  // namespace

std::optional<std::string> budget_blocks(const ops::budget_config& cfg, std::string_view batch,
                                         const spend_snapshot& spend, std::int64_t next_price) {
  if (cfg.daily_limit && spend.today + next_price > *cfg.daily_limit) {
    return "daily budget " + cny(*cfg.daily_limit) + " reached: spent " + cny(spend.today) +
           " today (UTC), next job costs " + cny(next_price);
  }
  if (cfg.batch_limit && spend.batch + next_price > *cfg.batch_limit) {
    return "batch budget " + cny(*cfg.batch_limit) + " reached for batch '" + std::string(batch) + "': spent " +
           cny(spend.batch) + ", next job costs " + cny(next_price);
  }
  return std::nullopt;
}

millis utc_day_start(millis now) noexcept {
  constexpr millis day = 86'400'000;
  return (now >= 0 ? now / day : (now - day + 1) / day) * day;
}

}  // namespace vidq::engine
