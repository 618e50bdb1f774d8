#pragma once
// Admission (DESIGN.md §2, docs/ENGINE_DECISIONS.md §4): how many more jobs each
// (account, model) may submit now. In-flight counts come from the DB at start, then move
// with claims and releases; the cap is the account's, lowered by AIMD after 1302; accounts
// can be paused; budgets block admission without failing jobs. Pure: time comes in `now`.

#include "vidq/core/clock.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/store/dispatch_store.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vidq::engine {

struct aimd_config {
  double decrease_factor = 0.5;      // effective cap × this after a 1302 (but see on_rate_limited)
  millis quiet_period = 60'000;      // each such period without 1302 gives one slot back
  millis decrease_holdoff = 5'000;   // 1302s this close to a decrease are the same event
};

// An account's admission status. Only admission::set_status changes it.
enum class account_status {
  active,        // submits whenever a slot is free
  paused_until,  // a quota code named (or implied) a reset time: active again at `until`
  paused,        // auth, arrears, subscription, operator: only resume() lifts it
};

struct account_pause {
  account_status status = account_status::active;
  std::string reason;            // shown by `vidq status`; empty when active
  std::optional<millis> until;   // paused_until only
};

class admission {
 public:
  explicit admission(aimd_config cfg = {}) : cfg_(cfg) {}

  // Registers or updates an account's configured cap (start, SIGHUP). Keeps counts and
  // pauses; an effective cap above the new cap is lowered to it. cap < 1 is treated as 1.
  void set_account(std::string_view account, int cap);

  // Replaces every in-flight count with the DB's (start, or a periodic resync).
  void seed(std::span<const store::inflight_count> counts);
  // A job entered submitting (claimed) / left submitting+processing (any way at all).
  void on_claimed(std::string_view account, std::string_view model, int n = 1);
  void on_released(std::string_view account, std::string_view model, int n = 1);

  // The provider answered 1302 to a submit of (account, model). Call it while the rejected
  // job is still counted in flight (before on_released): the other in-flight jobs are what
  // the provider accepted, a floor for the new cap. Effective cap becomes
  // clamp(max(floor(cap × decrease_factor), in_flight − 1), 1, cap − 1) and the quiet
  // period restarts; a repeat within decrease_holdoff only restarts the quiet period.
  void on_rate_limited(std::string_view account, std::string_view model, millis now);

  int in_flight(std::string_view account, std::string_view model) const;
  // Every (account, model) seen so far (seeded, claimed or rate limited), for status views.
  std::vector<std::pair<std::string, std::string>> lanes() const;
  // 0 for an account never registered with set_account.
  int configured_cap(std::string_view account) const;
  // The AIMD cap: configured cap minus the 1302 penalty, plus one per quiet period since.
  int effective_cap(std::string_view account, std::string_view model, millis now) const;
  // max(0, effective − in flight); 0 while the account is paused or unknown, and for
  // decrease_holdoff after any 1302: a slot freed by a rejected submit is not offered to the
  // next job at once, or one congestion event would walk 1302s through the whole queue.
  int free_slots(std::string_view account, std::string_view model, millis now) const;

  // Pauses every model of the account. `until` set → paused_until (auto-resumes), else
  // paused. A later pause replaces an earlier one, except that an indefinite pause is not
  // shortened by a timed one.
  void pause(std::string_view account, std::string reason, std::optional<millis> until);
  void resume(std::string_view account);
  bool is_paused(std::string_view account, millis now) const;
  // The status as of `now` (an expired paused_until reads as active).
  account_pause pause_state(std::string_view account, millis now) const;

  // The earliest future moment when free_slots may grow without an event (a timed pause
  // ending, an additive increase), for the driver's sleep. nullopt: nothing pending.
  std::optional<millis> next_change(millis now) const;

 private:
  struct lane {
    int in_flight = 0;
    int base = 0;                          // effective cap at `anchor`
    std::optional<millis> anchor;          // last 1302; nullopt = never limited
    std::optional<millis> last_decrease;
    std::optional<millis> last_limited;   // the latest 1302, whether or not it decreased
  };
  struct account_state {
    int cap = 0;
    account_pause pause;
  };

  void set_status(account_state& a, account_status status, std::string reason, std::optional<millis> until);
  int effective(const lane& l, int cap, millis now) const;
  lane& lane_of(std::string_view account, std::string_view model);
  const lane* find_lane(std::string_view account, std::string_view model) const;

  aimd_config cfg_;
  std::map<std::string, account_state, std::less<>> accounts_;
  std::map<std::string, std::map<std::string, lane, std::less<>>, std::less<>> lanes_;  // account → model
};

// Budget (DESIGN.md §2): milli-CNY. Spend numbers come from the store.
struct spend_snapshot {
  std::int64_t today = 0;  // spent since 00:00 UTC today, all accounts
  std::int64_t batch = 0;  // spent by the job's batch, ever
};
// The config's price when set, else the built-in table (models.hpp); 0 for unknown models.
std::int64_t price_of(std::string_view model, const ops::budget_config& cfg);
// Why one more job of `next_price` may not be submitted now, or nullopt. "would pass": a
// limit is blocking when spend + next_price > limit. Jobs stay queued; the text is shown.
std::optional<std::string> budget_blocks(const ops::budget_config& cfg, std::string_view batch,
                                         const spend_snapshot& spend, std::int64_t next_price);
// 00:00 UTC of `now`'s day: the window of budget.daily_limit.
millis utc_day_start(millis now) noexcept;

}  // namespace vidq::engine
