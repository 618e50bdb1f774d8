// `vidq account pause|resume|list`: operator pauses in the account_pauses table. The running
// daemon notices the write (PRAGMA data_version; LISTEN/NOTIFY on PostgreSQL) and stops or resumes that account's submits.

#include "command.hpp"
#include "format.hpp"
#include "session.hpp"
#include "vidq/store/account_store.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <memory>

namespace vidq::cli {
namespace {

struct account_flags {
  std::string name;
  std::string reason = "paused by operator";
  std::string until;
  bool json = false;
};

// "90s", "30m", "2h", "1d" from now; or an absolute UTC time "2026-05-01", "2026-05-01 12:00",
// "2026-05-01T12:00:00Z". nullopt when `text` is neither.
std::optional<millis> parse_until(const std::string& text, millis now) {
  if (text.size() >= 2) {
    long long amount = 0;
    const char* end = text.data() + text.size() - 1;
    auto [ptr, ec] = std::from_chars(text.data(), end, amount);
    if (ec == std::errc() && ptr == end && amount > 0) {
      const char unit = text.back();
      const millis scale = unit == 's' ? 1000 : unit == 'm' ? 60'000 : unit == 'h' ? 3'600'000 : unit == 'd' ? 86'400'000 : 0;
      if (scale != 0 && amount < 100LL * 365 * 86'400'000 / scale) return now + amount * scale;
    }
  }
  std::tm tm{};
  for (const char* format : {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
                             "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    tm = std::tm{};
    const char* rest = strptime(text.c_str(), format, &tm);
    if (rest && *rest == '\0') return static_cast<millis>(timegm(&tm)) * 1000;
  }
  return std::nullopt;
}

// The session, once `name` is known to be a configured account: a typo exits 2 before the
// database is even opened, and pauses nothing.
std::unique_ptr<session> session_for(context& ctx, const std::string& name) {
  auto cfg = load_config_or_report(ctx);
  if (!cfg) return nullptr;
  if (!cfg->find_account(name)) {
    std::string names;
    for (const auto& a : cfg->accounts) names += (names.empty() ? "" : ", ") + a.name;
    report_error("account", "no account named '" + name + "' in " +
                                (cfg->source.empty() ? std::string("the built-in config") : cfg->source) +
                                " (configured: " + names + ")");
    ctx.exit_code = exit_usage;
    return nullptr;
  }
  return open_session(ctx, db_access::existing);
}

void run_pause(context& ctx, const account_flags& f) {
  auto s = session_for(ctx, f.name);
  if (!s) return;
  std::optional<millis> until;
  if (!f.until.empty()) {
    until = parse_until(f.until, s->clock.now());
    if (!until) {
      report_error("--until", "'" + f.until + "' is neither a duration (90s, 30m, 2h, 1d) nor a UTC time (2026-05-01 12:00)");
      ctx.exit_code = exit_usage;
      return;
    }
    if (*until <= s->clock.now()) {
      report_error("--until", "'" + f.until + "' is in the past");
      ctx.exit_code = exit_usage;
      return;
    }
  }
  if (auto r = s->store->pause(f.name, f.reason, until, store::paused_by::operator_); !r) {
    report_error("account pause", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  std::printf("paused account %s%s\n", f.name.c_str(),
              until ? (" until " + format_time(until) + " UTC").c_str() : " until `vidq account resume`");
}

void run_resume(context& ctx, const account_flags& f) {
  auto s = session_for(ctx, f.name);
  if (!s) return;
  auto removed = s->store->resume(f.name);
  if (!removed) {
    report_error("account resume", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  std::printf(*removed ? "resumed account %s\n" : "account %s was not paused\n", f.name.c_str());
}

// "active", "paused by operator: reason (until ...)", or "active (pause expired ...)".
std::string describe(const store::account_pause_row* p, millis now) {
  if (!p) return "active";
  if (p->until && *p->until <= now) return "active (pause ended " + format_time(p->until) + ")";
  return "paused by " + std::string(store::to_string(p->by)) + " since " + format_time(p->at) + ": " + p->reason +
         (p->until ? " (until " + format_time(p->until) + ")" : "") +
         (p->by == store::paused_by::breaker ? " (the daemon probes it and resumes by itself)" : "");
}

void run_list(context& ctx, const account_flags& f) {
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  auto pauses = s->store->pauses();
  if (!pauses) {
    report_error("account list", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  const millis now = s->clock.now();
  auto find = [&](std::string_view name) -> const store::account_pause_row* {
    for (const auto& p : *pauses) {
      if (p.account == name) return &p;
    }
    return nullptr;
  };
  if (f.json) {
    boost::json::array out;
    for (const auto& a : s->config.accounts) {
      const auto* p = find(a.name);
      const bool paused = p && (!p->until || *p->until > now);
      boost::json::object o{{"name", a.name}, {"provider", ops::to_string(a.provider)}, {"base_url", a.base_url},
                            {"cap", a.cap()}, {"paused", paused}};
      if (paused) {
        o["paused_by"] = store::to_string(p->by);
        o["reason"] = p->reason;
        o["since"] = format_time(p->at);
        o["until"] = p->until ? boost::json::value(format_time(p->until)) : boost::json::value(nullptr);
      }
      boost::json::array models(a.models.begin(), a.models.end());
      o["models"] = a.models.empty() ? boost::json::value("all") : boost::json::value(std::move(models));
      out.push_back(std::move(o));
    }
    std::puts(boost::json::serialize(out).c_str());
    return;
  }
  std::printf("%-16s %-9s %4s  %s\n", "ACCOUNT", "PROVIDER", "CAP", "STATE");
  for (const auto& a : s->config.accounts) {
    std::string serves;
    for (const auto& m : a.models) serves += (serves.empty() ? " [serves " : ", ") + m;
    if (!serves.empty()) serves += "]";
    std::printf("%-16s %-9s %4d  %s%s\n", a.name.c_str(), std::string(ops::to_string(a.provider)).c_str(), a.cap(),
                describe(find(a.name), now).c_str(), serves.c_str());
  }
  // Pauses of accounts that left the config: harmless (nothing submits for them), but shown
  // so that re-adding the account does not come back paused by surprise.
  for (const auto& p : *pauses) {
    if (!s->config.find_account(p.account)) {
      std::printf("%-16s %-9s %4s  %s (not in the config)\n", p.account.c_str(), "-", "-", describe(&p, now).c_str());
    }
  }
}

}  // namespace

void register_account(CLI::App& root, context& ctx) {
  auto* cmd = root.add_subcommand("account", "Pause, resume and list provider accounts");
  cmd->require_subcommand(1);
  cmd->footer("A running daemon notices pauses and resumes within a second; in-flight tasks keep running.");

  auto f = std::make_shared<account_flags>();
  auto* pause = cmd->add_subcommand("pause", "Stop submitting new jobs for an account");
  pause->add_option("name", f->name, "Account name from the config")->required();
  pause->add_option("--reason", f->reason, "Shown in `vidq account list` and the status page")->capture_default_str();
  pause->add_option("--until", f->until,
                    "Resume automatically: a duration (90s, 30m, 2h, 1d) or a UTC time (2026-05-01 12:00)");
  pause->footer("Queued jobs stay queued; tasks already at the provider are still polled and downloaded.");
  pause->callback([&ctx, f] { run_pause(ctx, *f); });

  auto* resume = cmd->add_subcommand("resume", "Submit again for a paused account (operator or provider pause)");
  resume->add_option("name", f->name, "Account name from the config")->required();
  resume->callback([&ctx, f] { run_resume(ctx, *f); });

  auto* list = cmd->add_subcommand("list", "Configured accounts with provider, cap and pause state");
  list->add_flag("--json", f->json, "JSON array of accounts");
  list->callback([&ctx, f] { run_list(ctx, *f); });
}

}  // namespace vidq::cli
