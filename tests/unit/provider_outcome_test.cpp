// The pure parts of the provider client and the fetcher: transport result → transport_outcome
// (the write-ahead rule depends on it), download errors → verdicts, batch folder names.
#include "vidq/engine/fetch.hpp"
#include "vidq/provider/client.hpp"

#include <boost/asio/error.hpp>

#include <gtest/gtest.h>

#include <set>

namespace vidq {
namespace {

using provider::action;
using provider::retry_hint;
using provider::to_outcome;
using kind = provider::transport_outcome::kind;

net::net_result<net::http_response> failure(net::step s, net::delivery d, error_code ec = make_error_code(errc::timeout)) {
  net::request_error e;
  e.ec = ec;
  e.step = s;
  e.delivery = d;
  return e;
}

TEST(ProviderOutcome, ResponseCarriesStatusBodyAndRetryAfter) {
  net::http_response r;
  r.status = 429;
  r.body = R"({"error":{"code":"1302"}})";
  r.retry_after = "7";
  const auto o = to_outcome(net::net_result<net::http_response>(r));
  EXPECT_EQ(o.what, kind::response);
  EXPECT_EQ(o.http_status, 429);
  EXPECT_EQ(o.body, r.body);
  EXPECT_EQ(o.retry_after, "7");

  r.retry_after.clear();
  EXPECT_FALSE(to_outcome(net::net_result<net::http_response>(r)).retry_after.has_value());
}

TEST(ProviderOutcome, EveryStepAndDeliveryCombination) {
  struct row {
    net::step s;
    kind with_not_sent;  // what the outcome is when the transport said not_sent
  };
  // Before the request was completely written the transport's not_sent is believed; after
  // it, the request may have been acted on whatever the flag says.
  const row rows[] = {
      {net::step::prepare, kind::not_sent},       {net::step::resolve, kind::not_sent},
      {net::step::connect, kind::not_sent},       {net::step::handshake, kind::not_sent},
      {net::step::write, kind::not_sent},         {net::step::read_header, kind::maybe_delivered},
      {net::step::read_body, kind::maybe_delivered}, {net::step::file, kind::maybe_delivered},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(net::to_string(r.s)));
    const auto sent = to_outcome(failure(r.s, net::delivery::not_sent));
    EXPECT_EQ(sent.what, r.with_not_sent);
    EXPECT_NE(sent.detail.find(net::to_string(r.s)), std::string::npos) << sent.detail;
    // maybe_delivered is never downgraded, whatever the step.
    EXPECT_EQ(to_outcome(failure(r.s, net::delivery::maybe_delivered)).what, kind::maybe_delivered);
  }
}

TEST(ProviderOutcome, CancellationKeepsTheDeliveryOfTheMoment) {
  const auto aborted = make_error_code(boost::asio::error::operation_aborted);
  EXPECT_EQ(to_outcome(failure(net::step::write, net::delivery::not_sent, aborted)).what, kind::not_sent);
  EXPECT_EQ(to_outcome(failure(net::step::read_header, net::delivery::maybe_delivered, aborted)).what,
            kind::maybe_delivered);
}

TEST(ProviderOutcome, JoinUrlToleratesSlashes) {
  EXPECT_EQ(provider::join_url("https://h/api/paas/v4", "/videos/generations"), "https://h/api/paas/v4/videos/generations");
  EXPECT_EQ(provider::join_url("https://h/api/v1/", "/video/x/result"), "https://h/api/v1/video/x/result");
  EXPECT_EQ(provider::join_url("https://h/api//", "p"), "https://h/api/p");
}

TEST(ProviderOutcome, ClientOptionsFromConfig) {
  ops::config cfg = ops::default_config();
  cfg.tls_ca_file = "/etc/vidq/ca.pem";
  const auto o = provider::provider_client_options(cfg);
  EXPECT_EQ(o.tls.ca_file, "/etc/vidq/ca.pem");
  EXPECT_EQ(o.user_agent, std::string("vidq/") + VIDQ_VERSION);
  // One V0 account (5 slots): the transport's own 8 idle connections per host.
  EXPECT_EQ(o.pool.max_idle_per_host, 8u);
  EXPECT_EQ(o.pool.max_idle_total, 64u);
}

TEST(ProviderOutcome, ClientPoolKeepsAsManyIdleConnectionsAsSlots) {
  ops::config cfg = ops::default_config();
  ops::account_config a = cfg.accounts.front();
  a.tier = 3;  // 20 slots
  cfg.accounts.clear();
  for (int i = 0; i < 3; ++i) {
    a.name = "a" + std::to_string(i);
    cfg.accounts.push_back(a);
  }
  auto o = provider::provider_client_options(cfg);
  EXPECT_EQ(o.pool.max_idle_per_host, 60u);
  EXPECT_EQ(o.pool.max_idle_total, 120u);
  for (int i = 3; i < 100; ++i) {
    a.name = "a" + std::to_string(i);
    cfg.accounts.push_back(a);
  }
  o = provider::provider_client_options(cfg);
  EXPECT_EQ(o.pool.max_idle_per_host, 256u);  // 2,000 slots: capped
  EXPECT_EQ(o.pool.max_idle_total, 512u);
}

// --- download errors ---------------------------------------------------------------------

net::request_error dl_error(error_code ec, net::step s, unsigned status = 0) {
  net::request_error e;
  e.ec = ec;
  e.step = s;
  e.status = status;
  e.delivery = net::delivery::maybe_delivered;
  return e;
}

TEST(ProviderOutcome, DownloadErrorsToVerdicts) {
  using net::net_errc;
  const auto expired = engine::classify_download_error(dl_error(net_errc::http_status, net::step::read_header, 403), false);
  EXPECT_EQ(expired.what, action::retry);
  EXPECT_EQ(expired.hint, retry_hint::refresh_urls);
  const auto final_404 = engine::classify_download_error(dl_error(net_errc::http_status, net::step::read_header, 404), true);
  EXPECT_EQ(final_404.what, action::fail_job);
  EXPECT_EQ(final_404.error_code, "url_expired");
  const auto busy = engine::classify_download_error(dl_error(net_errc::http_status, net::step::read_header, 503), false);
  EXPECT_EQ(busy.what, action::retry);
  EXPECT_EQ(busy.hint, retry_hint::normal);

  const auto cut = engine::classify_download_error(dl_error(net_errc::truncated, net::step::read_body), false);
  EXPECT_EQ(cut.what, action::retry);
  EXPECT_EQ(cut.error_code, "download_truncated");
  const auto slow = engine::classify_download_error(dl_error(make_error_code(errc::timeout), net::step::connect), false);
  EXPECT_EQ(slow.what, action::retry);
  EXPECT_EQ(slow.error_code, "download_network");
  const auto disk = engine::classify_download_error(dl_error(std::make_error_code(std::errc::no_space_on_device), net::step::file), false);
  EXPECT_EQ(disk.what, action::retry);
  EXPECT_EQ(disk.error_code, "download_io");
  for (auto ec : {net_errc::bad_url, net_errc::scheme_refused, net_errc::redirect_refused, net_errc::too_many_redirects}) {
    EXPECT_EQ(engine::classify_download_error(dl_error(ec, net::step::prepare), false).what, action::fail_job);
  }
  EXPECT_EQ(engine::classify_download_error(dl_error(net_errc::body_too_large, net::step::read_body), false).error_code,
            "download_too_large");
  const auto cancelled = engine::classify_download_error(
      dl_error(make_error_code(boost::asio::error::operation_aborted), net::step::read_body), false);
  EXPECT_EQ(cancelled.what, action::retry);
  EXPECT_EQ(cancelled.error_code, "cancelled");
  EXPECT_FALSE(cancelled.consumes_attempt);
}

// --- batch folder names ------------------------------------------------------------------

bool safe_folder(const std::string& s) {
  if (s.empty() || s.front() == '.' || s.find("..") != std::string::npos || s.size() > 77) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

TEST(ProviderOutcome, SafeBatchNamesAreKept) {
  for (const char* s : {"spring-2026", "ecommerce_v2.1", "A", "x.y-z_0"}) EXPECT_EQ(engine::sanitize_batch_name(s), s);
}

TEST(ProviderOutcome, UnsafeBatchNamesBecomeSafeAndDistinct) {
  const std::string inputs[] = {"",       ".",         "..",        "../etc",         "a/b",       "a b",  "a_b",
                                "a?b",    "春季",      "春季 sale", std::string(300, 'x'), std::string(300, 'x') + "y",
                                ".hidden", "a..b",     "a\nb",      "x-0123456789ab", std::string("nul\0byte", 8)};
  std::set<std::string> seen;
  for (const auto& in : inputs) {
    const std::string out = engine::sanitize_batch_name(in);
    EXPECT_TRUE(safe_folder(out)) << "'" << in << "' -> '" << out << "'";
    EXPECT_NE(out, ".");
    EXPECT_NE(out, "..");
    EXPECT_TRUE(seen.insert(out).second) << "collision on '" << in << "' -> " << out;
    EXPECT_EQ(engine::sanitize_batch_name(in), out);  // deterministic: a restart finds the folder
  }
  // "a b" and "a?b" clean alike ("a_b") but are different batches, and "a_b" itself is kept.
  EXPECT_EQ(engine::sanitize_batch_name("a_b"), "a_b");
  EXPECT_TRUE(engine::sanitize_batch_name("a b").starts_with("a_b-"));
  // A safe name shaped like a hashed one is hashed too, so it cannot equal another's output.
  EXPECT_NE(engine::sanitize_batch_name("x-0123456789ab"), "x-0123456789ab");
}

TEST(ProviderOutcome, JobFilePath) {
  EXPECT_EQ(engine::job_file_path("/out", "spring", 42, ".mp4"), std::filesystem::path("/out/spring/42.mp4"));
  EXPECT_EQ(engine::job_file_path("/out", "../x", 7, ".png").parent_path().parent_path(), std::filesystem::path("/out"));
}

}  // namespace
}  // namespace vidq
