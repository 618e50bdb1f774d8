#pragma once
// The account circuit breaker (docs/DAEMON.md "Account-wide faults"). When a failure is about
// an account's endpoint rather than a job (nothing could be sent, base_url answers a bare
// 404, every request gets 5xx), failing jobs one by one would burn their attempts on a
// fault none of them has. The breaker opens instead: the account is paused, its jobs wait
// in the queue, and a probe that cannot create a task (a poll of a made-up task id, as
// `vidq doctor` does) checks the endpoint, first within seconds, then less and less often
// up to a few minutes apart, until a provider's answer closes it again.
// Pure: time comes in `now`; the scheduler performs the probes and the pauses.

#include "vidq/core/clock.hpp"
#include "vidq/provider/error_class.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::engine {

struct breaker_config {
  int server_errors_to_open = 6;  // 5xx in a row, with no good reply between them
  millis first_probe = 2'000;     // the first probe after opening
  millis max_probe_interval = 300'000;
  double probe_growth = 2.0;  // interval × this after each failed probe
};

class account_breakers {
 public:
  explicit account_breakers(breaker_config cfg = {}) : cfg_(cfg) {}

  // A reply that shows the endpoint works (accepted, running, a coded 4xx...): ends a run
  // of 5xx. It does not close an open breaker: only a probe does.
  void on_healthy_reply(std::string_view account);
  // An account-wide fault met by a submit or a poll. Returns true when it opened the
  // breaker now (the caller pauses the account); false when it was open already or the
  // fault alone does not open it (a 5xx run still short of the threshold, or `none`).
  bool on_fault(std::string_view account, provider::account_fault fault, std::string reason, millis now);
  // Opens it without a fault: a breaker pause found in the database at start.
  void restore_open(std::string_view account, std::string reason, millis now);

  bool is_open(std::string_view account) const;
  const std::string* reason(std::string_view account) const;  // nullptr when closed

  // Open accounts whose probe time has come and that have none running; each is marked as
  // probing until on_probe_result.
  std::vector<std::string> take_due_probes(millis now);
  // The earliest probe time of an open account with no probe running.
  std::optional<millis> next_probe() const;
  // healthy: the probe got a provider's answer → closed. Otherwise the next probe waits
  // longer (first_probe × growth^n, at most max_probe_interval) and `reason` is kept.
  void on_probe_result(std::string_view account, bool healthy, std::string reason, millis now);
  // An operator resumed the account: closed, whatever the probes said.
  void close(std::string_view account);

  int failed_probes(std::string_view account) const;

 private:
  struct state {
    int server_error_run = 0;
    bool open = false;
    bool probing = false;
    int failed_probes = 0;
    millis next_probe = 0;
    std::string reason;
  };
  void open(state& s, std::string reason, millis now);

  breaker_config cfg_;
  std::map<std::string, state, std::less<>> accounts_;
};

}  // namespace vidq::engine
