#pragma once
// Account pools (docs/OPERATIONS.md "Account pools"): which account serves a job. A job
// names one account, or asks for the pool: `account` '' or '*', or the column default
// 'default' while no account of that name is configured (so a cron job's plain
// `INSERT INTO jobs(model, prompt)` works whatever the accounts are called). Pool jobs run
// on any configured account that serves their model; the claim records the choice on the
// row. Pure: the scheduler supplies the free slots, this decides.

#include "vidq/ops/config.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::engine {

// The job's `account` asks for the pool rather than naming an account.
bool asks_for_pool(std::string_view account, const ops::config& cfg);

// An account name a job may carry: a configured account or a pool request. `enqueue`,
// `import` and POST /api/jobs refuse anything else.
bool is_routable(std::string_view account, const ops::config& cfg);

// nullopt when a job may carry `account`; else "account: no account named 'x' in the
// config (configured: a, b; '*' lets any of them serve the job)".
std::optional<std::string> account_problem(std::string_view account, const ops::config& cfg);

// "accounts[i].models: 'x' is not a model vidq knows", or nullopt when every listed model
// exists. The config loader cannot check it (ops/ knows no models), so every command that
// loads a config calls this right after.
std::optional<std::string> check_account_models(const ops::config& cfg);

struct route_candidate {
  std::string account;
  int free = 0;  // free slots for the model now
};

// Spreads `jobs` pool jobs over the candidates one at a time, each to the candidate with the
// most free slots left, ties going in turn: `turn` is the rotating start, advanced past each
// tie it broke, so equal accounts share the work over successive passes. Returns how many
// jobs each candidate gets (same order); the sum is min(jobs, total free).
std::vector<int> spread(std::span<const route_candidate> candidates, int jobs, std::size_t& turn);

}  // namespace vidq::engine
