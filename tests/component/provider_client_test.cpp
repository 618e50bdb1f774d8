// The provider client and the result fetcher against the in-process simulator (real TLS on
// 127.0.0.1, the simulator's CA, a manual clock that finishes tasks): each reply class of
// the simulator ends as the right result or verdict. One scripted loopback server checks the
// headers and that a key echoed by the provider never reaches a verdict or a log line.
#include "vidq/engine/fetch.hpp"
#include "vidq/provider/client.hpp"

#include "support/net_test_server.hpp"
#include "support/sim_fixture.hpp"
#include "support/temp_dir.hpp"
#include "vidq/ops/log.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>

namespace vidq {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using provider::action;
using provider::retry_hint;
using provider::verdict;
using test::sim_v0;

class ProviderClient : public ::testing::Test {
 protected:
  manual_clock clock_;
  test::sim_fixture sim_{clock_};
  test::sim_https_client admin_ = sim_.client();
  test::temp_dir out_;
  asio::io_context ioc_;  // the client's loop: runs on this thread inside run()
  std::unique_ptr<net::https_client> http_ = make_http();

  std::unique_ptr<net::https_client> make_http() {
    ops::config cfg = ops::default_config();
    cfg.tls_ca_file = sim_.ca_file().string();
    net::client_options o = provider::provider_client_options(cfg);
    const std::chrono::milliseconds two_s{2'000};
    o.deadlines = net::timeouts{two_s, two_s, two_s, two_s, two_s, two_s};
    auto c = net::https_client::create(ioc_.get_executor(), o);
    if (!c) throw std::runtime_error("client: " + c.error().message());
    return std::move(*c);
  }

  ops::account_config account(ops::provider_kind kind = ops::provider_kind::bigmodel) const {
    ops::account_config a;
    a.name = "sim";
    a.provider = kind;
    const std::string root = "https://127.0.0.1:" + std::to_string(sim_.port());
    a.base_url = root + (kind == ops::provider_kind::geekai ? "/api/v1/" : "/api/paas/v4");
    return a;
  }
  std::unique_ptr<provider::provider_client> client(ops::provider_kind kind = ops::provider_kind::bigmodel,
                                                    const char* key = sim_v0) {
    return std::make_unique<provider::https_provider_client>(account(kind), ops::secret(key), *http_, clock_);
  }

  template <class T>
  T run(std::function<asio::awaitable<T>()> body) {
    std::optional<T> out;
    ioc_.restart();
    EXPECT_TRUE(net_test::run_test(ioc_, [&]() -> asio::awaitable<void> { out = co_await body(); }));
    if (!out) throw std::runtime_error("the coroutine did not finish");
    return std::move(*out);
  }
  provider::submit_result submit(provider::provider_client& c, const provider::job_spec& spec, std::string rid) {
    return run<provider::submit_result>([&] { return c.submit(spec, rid); });
  }
  provider::poll_result poll(provider::provider_client& c, const std::string& id) {
    provider::poll_context ctx;
    ctx.submitted_at = clock_.now();
    return run<provider::poll_result>([&] { return c.poll(id, ctx); });
  }
  engine::fetch_result fetch(const engine::fetch_request& req) {
    engine::https_result_fetcher f(*http_, out_.path() / "videos");
    return run<engine::fetch_result>([&] { return f.fetch(req); });
  }
  void faults(const std::string& patch) { ASSERT_EQ(admin_.request("POST", "/__sim/faults", patch).status, 200); }

  static provider::job_spec cat(std::string prompt = "a cat on a skateboard") {
    provider::job_spec s;
    s.model = "cogvideox-3";
    s.prompt = std::move(prompt);
    return s;
  }
  // Submits, lets the simulator finish the task, polls: the succeeded URLs.
  provider::task_succeeded finished(provider::provider_client& c, const std::string& rid = "rid-1") {
    auto sub = submit(c, cat(), rid);
    const auto* ok = std::get_if<provider::submit_accepted>(&sub);
    if (!ok) throw std::runtime_error("submit: " + std::get<verdict>(sub).message);
    clock_.advance(20'000);  // 5.5 simulated hours at time_scale 0.001: done, URLs fresh
    auto p = poll(c, ok->task_id);
    if (!std::holds_alternative<provider::task_succeeded>(p)) throw std::runtime_error("not succeeded");
    return std::get<provider::task_succeeded>(p);
  }
  engine::fetch_request fetch_of(const provider::task_succeeded& s, std::string batch = "spring sale") {
    return engine::fetch_request(42, std::move(batch), s.video_url, s.cover_url);
  }
  std::vector<std::string> listing(const fs::path& dir) const {
    std::vector<std::string> names;
    if (fs::exists(dir))
      for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

// The fetcher's cases: same simulator set-up, their own suite name.
class Fetch : public ProviderClient {};

verdict verdict_of(const provider::submit_result& r) {
  if (!std::holds_alternative<verdict>(r)) throw std::runtime_error("accepted, expected a verdict");
  return std::get<verdict>(r);
}

TEST_F(ProviderClient, SubmitPollFetchMatchesTheSimulator) {
  auto c = client();
  auto sub = submit(*c, cat(), "rid-ok");
  ASSERT_TRUE(std::holds_alternative<provider::submit_accepted>(sub)) << std::get<verdict>(sub).message;
  const std::string task = std::get<provider::submit_accepted>(sub).task_id;
  EXPECT_TRUE(std::holds_alternative<provider::task_running>(poll(*c, task)));
  clock_.advance(20'000);
  auto p = poll(*c, task);
  ASSERT_TRUE(std::holds_alternative<provider::task_succeeded>(p));
  const auto urls = std::get<provider::task_succeeded>(p);

  auto f = fetch(fetch_of(urls));
  ASSERT_TRUE(std::holds_alternative<engine::fetched>(f)) << std::get<verdict>(f).message;
  const auto& got = std::get<engine::fetched>(f);
  const fs::path folder = out_.path() / "videos" / engine::sanitize_batch_name("spring sale");
  EXPECT_EQ(got.video_path, folder / "42.mp4");
  EXPECT_EQ(got.cover_path, folder / "42.png");
  EXPECT_EQ(fs::file_size(got.video_path), got.video_bytes);
  EXPECT_EQ(test::read_file(got.cover_path).substr(1, 3), "PNG");
  EXPECT_EQ(listing(folder), (std::vector<std::string>{"42.mp4", "42.png"}));  // no .part

  const auto stats = sim_.stats_when([](const json::object& s) { return !s.at("tasks").at(0).at("video_sha256").is_null(); });
  const auto& t = stats.at("tasks").at(0);
  EXPECT_EQ(t.at("request_id"), "rid-ok");
  EXPECT_EQ(t.at("video_sha256").as_string(), got.video_sha256);
  EXPECT_EQ(t.at("video_bytes").to_number<std::uint64_t>(), got.video_bytes);
  EXPECT_EQ(stats.at("polls"), 2);
}

TEST_F(ProviderClient, CapHeldByAForeignClientIsRateLimited) {
  ASSERT_EQ(admin_.request("POST", "/__sim/hold", R"({"key":"v0","model":"cogvideox-3","count":5})").status, 200);
  auto c = client();
  const verdict v = verdict_of(submit(*c, cat(), "rid-capped"));
  EXPECT_EQ(v.what, action::retry);
  EXPECT_EQ(v.hint, retry_hint::rate_limited);
  EXPECT_EQ(v.error_code, "1302");
  EXPECT_FALSE(v.consumes_attempt);
}

TEST_F(ProviderClient, BadKeyPausesTheAccountAndNeverShowsTheKey) {
  const std::string bad = "sim-key-wrong-9999999999999";
  ::setenv("VIDQ_TEST_PROVIDER_KEY", bad.c_str(), 1);
  ops::account_config a = account();
  a.api_key_env = "VIDQ_TEST_PROVIDER_KEY";
  std::string why;
  auto made = provider::https_provider_client::create(a, *http_, clock_, why);
  ::unsetenv("VIDQ_TEST_PROVIDER_KEY");
  ASSERT_TRUE(made) << why;
  const verdict v = verdict_of(submit(**made, cat(), "rid-bad-key"));
  EXPECT_EQ(v.what, action::pause_account);
  EXPECT_EQ(v.error_code, "1000");
  EXPECT_EQ(v.message.find(bad), std::string::npos) << v.message;

  a.api_key_env = "VIDQ_TEST_PROVIDER_KEY_UNSET";
  EXPECT_FALSE(provider::https_provider_client::create(a, *http_, clock_, why));
  EXPECT_NE(why.find("VIDQ_TEST_PROVIDER_KEY_UNSET"), std::string::npos) << why;
}

TEST_F(ProviderClient, BannedWordFailsTheJob) {
  auto c = client();
  const verdict v = verdict_of(submit(*c, cat("a simforbidden cat"), "rid-banned"));
  EXPECT_EQ(v.what, action::fail_job);
  EXPECT_EQ(v.error_code, "1301");
}

TEST_F(ProviderClient, InvalidSpecFailsWithoutARequest) {
  auto c = client();
  auto spec = cat();
  spec.images = {"/nonexistent/vidq-test-image.png"};
  const verdict v = verdict_of(submit(*c, spec, "rid-no-image"));
  EXPECT_EQ(v.what, action::fail_job);
  EXPECT_EQ(sim_.sim().stats(false).at("submissions"), 0);
}

TEST_F(ProviderClient, CreatedThenClosedIsAmbiguous) {
  faults(R"({"submit_close_after_create":1})");
  auto c = client();
  const verdict v = verdict_of(submit(*c, cat(), "rid-ambiguous"));
  EXPECT_EQ(v.what, action::ambiguous);
  EXPECT_EQ(v.error_code, "submit_ambiguous");
  EXPECT_EQ(sim_.sim().stats(false).at("tasks_created"), 1);  // the task really exists
}

TEST_F(ProviderClient, Poll5xxIsRetried) {
  auto c = client();
  auto sub = submit(*c, cat(), "rid-poll5xx");
  ASSERT_TRUE(std::holds_alternative<provider::submit_accepted>(sub));
  faults(R"({"poll_5xx":1})");
  auto p = poll(*c, std::get<provider::submit_accepted>(sub).task_id);
  ASSERT_TRUE(std::holds_alternative<verdict>(p));
  EXPECT_EQ(std::get<verdict>(p).what, action::retry);
  EXPECT_FALSE(std::get<verdict>(p).consumes_attempt);
}

TEST_F(Fetch, ExpiredUrlAsksForARefreshThenFails) {
  auto c = client();
  const auto urls = finished(*c);
  clock_.advance(86'400);  // the 24 h TTL scaled by 0.001
  auto first = fetch(fetch_of(urls));
  ASSERT_TRUE(std::holds_alternative<verdict>(first));
  EXPECT_EQ(std::get<verdict>(first).what, action::retry);
  EXPECT_EQ(std::get<verdict>(first).hint, retry_hint::refresh_urls);

  auto again = fetch_of(urls);
  again.urls_refreshed = true;  // a re-poll does not extend the TTL: still expired
  auto second = fetch(again);
  ASSERT_TRUE(std::holds_alternative<verdict>(second));
  EXPECT_EQ(std::get<verdict>(second).what, action::fail_job);
  EXPECT_EQ(std::get<verdict>(second).error_code, "url_expired");
  EXPECT_TRUE(listing(out_.path() / "videos" / engine::sanitize_batch_name("spring sale")).empty());
}

TEST_F(Fetch, TruncatedDownloadIsRetriedAndLeavesNoFile) {
  auto c = client();
  const auto urls = finished(*c);
  faults(R"({"download_truncate":1})");
  auto f = fetch(fetch_of(urls, "batch-1"));
  ASSERT_TRUE(std::holds_alternative<verdict>(f));
  EXPECT_EQ(std::get<verdict>(f).what, action::retry);
  EXPECT_EQ(std::get<verdict>(f).error_code, "download_truncated");
  EXPECT_TRUE(listing(out_.path() / "videos" / "batch-1").empty());  // neither .mp4 nor .part
}

TEST_F(Fetch, MissingCoverKeepsTheVideo) {
  auto c = client();
  auto urls = finished(*c);
  urls.cover_url = urls.cover_url.substr(0, urls.cover_url.size() - 1) + "x";  // bad signature: 404
  auto f = fetch(fetch_of(urls, "covers"));
  ASSERT_TRUE(std::holds_alternative<engine::fetched>(f)) << std::get<verdict>(f).message;
  const auto& got = std::get<engine::fetched>(f);
  EXPECT_TRUE(got.cover_path.empty());
  EXPECT_FALSE(got.cover_error.empty());
  EXPECT_EQ(listing(out_.path() / "videos" / "covers"), std::vector<std::string>{"42.mp4"});
}

TEST_F(ProviderClient, GeekAiRoundTrip) {
  auto c = client(ops::provider_kind::geekai);
  auto sub = submit(*c, cat(), "rid-geek");
  ASSERT_TRUE(std::holds_alternative<provider::submit_accepted>(sub)) << std::get<verdict>(sub).message;
  const std::string task = std::get<provider::submit_accepted>(sub).task_id;
  EXPECT_EQ(task.size(), 36u);  // a GeekAI UUID
  clock_.advance(20'000);
  auto p = poll(*c, task);
  ASSERT_TRUE(std::holds_alternative<provider::task_succeeded>(p));
  auto f = fetch(fetch_of(std::get<provider::task_succeeded>(p), "geek"));
  ASSERT_TRUE(std::holds_alternative<engine::fetched>(f)) << std::get<verdict>(f).message;
  const auto stats = sim_.stats_when([](const json::object& s) { return !s.at("tasks").at(0).at("video_sha256").is_null(); });
  EXPECT_EQ(stats.at("tasks").at(0).at("dialect"), "geekai");
  EXPECT_EQ(stats.at("tasks").at(0).at("video_sha256").as_string(), std::get<engine::fetched>(f).video_sha256);
}

// A provider that echoes the credential in its error body (seen in the wild on 401s).
TEST_F(ProviderClient, EchoedKeyIsRedactedInVerdictsAndLogs) {
  const std::string key = "echo-key-abcdefghijklmnopqrstu";
  net_test::test_server_options so;
  so.on_request = [](const net_test::received_request& r) {
    net_test::scripted_reply reply;
    reply.status = 401;
    reply.headers = {{"Content-Type", "application/json"}};
    reply.body = R"({"error":{"code":"1000","message":"invalid key: )" + r.headers.at("authorization") + R"("}})";
    return reply;
  };
  net_test::test_server server(ioc_, so);
  net::client_options opts = net_test::test_client_options();
  opts.user_agent = provider::provider_client_options(ops::default_config()).user_agent;
  auto http = net_test::make_test_client(ioc_, opts);
  ops::account_config a = account();
  a.base_url = server.url("/api/paas/v4");
  provider::https_provider_client c(a, ops::secret(key), *http, clock_);

  std::vector<std::string> lines;
  struct capture {  // restores the global logger even when an assertion throws
    explicit capture(std::vector<std::string>& out) {
      log::set_sink([](std::string_view line, void* user) { static_cast<std::vector<std::string>*>(user)->emplace_back(line); },
                    &out);
      log::set_min_level(log::level::debug);
    }
    ~capture() {
      log::set_min_level(log::level::info);
      log::set_sink(nullptr, nullptr);
    }
  };
  std::optional<verdict> v_holder;
  std::optional<provider::poll_result> p_holder;
  {
    const capture guard(lines);
    v_holder = verdict_of(submit(c, cat(), "rid-echo"));
    p_holder = poll(c, "task-1");
  }
  const verdict& v = *v_holder;
  const provider::poll_result& p = *p_holder;

  EXPECT_EQ(v.what, action::pause_account);
  EXPECT_EQ(v.message.find(key), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("[REDACTED]"), std::string::npos) << v.message;
  ASSERT_TRUE(std::holds_alternative<verdict>(p));
  EXPECT_EQ(std::get<verdict>(p).message.find(key), std::string::npos);
  EXPECT_FALSE(lines.empty());  // the exchanges were logged...
  for (const auto& l : lines) EXPECT_EQ(l.find(key), std::string::npos) << l;  // ...without the key

  ASSERT_EQ(server.requests().size(), 2u);
  const auto& post = server.requests()[0];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.target, "/api/paas/v4/videos/generations");
  EXPECT_EQ(post.headers.at("authorization"), "Bearer " + key);
  EXPECT_EQ(post.headers.at("content-type"), "application/json");
  EXPECT_EQ(post.headers.at("user-agent"), std::string("vidq/") + VIDQ_VERSION);
  EXPECT_EQ(server.requests()[1].target, "/api/paas/v4/async-result/task-1");
  EXPECT_EQ(json::parse(post.body).at("request_id"), "rid-echo");
}

// Cancellation (shutdown) while the provider thinks: the POST was written, so the submit is
// ambiguous; a cancelled poll is just retried.
TEST_F(ProviderClient, CancelledAfterTheWriteIsAmbiguous) {
  net_test::test_server_options so;
  so.on_request = [](const net_test::received_request&) {
    net_test::scripted_reply reply;
    reply.action = net_test::scripted_reply::kind::stall;
    return reply;
  };
  net_test::test_server server(ioc_, so);
  auto http = net_test::make_test_client(ioc_);
  ops::account_config a = account();
  a.base_url = server.url("/api/paas/v4");
  provider::https_provider_client c(a, ops::secret("stall-key-0123456789"), *http, clock_);
  const provider::job_spec spec = cat();

  // Cancels (terminal) after 150 ms, as a shutdown does, then runs until `done`.
  auto cancel_soon = [&](asio::cancellation_signal& stop, const std::function<bool()>& done) {
    asio::steady_timer timer(ioc_, std::chrono::milliseconds(150));
    timer.async_wait([&](boost::system::error_code) { stop.emit(asio::cancellation_type::terminal); });
    ioc_.restart();
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!done() && std::chrono::steady_clock::now() < limit) ioc_.run_one_for(std::chrono::milliseconds(50));
  };

  std::optional<provider::submit_result> sub;
  asio::cancellation_signal stop_submit;
  asio::co_spawn(ioc_, c.submit(spec, "rid-cancel"),
                 asio::bind_cancellation_slot(stop_submit.slot(), [&](std::exception_ptr, provider::submit_result r) {
                   sub = std::move(r);
                 }));
  cancel_soon(stop_submit, [&] { return sub.has_value(); });
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(verdict_of(*sub).what, action::ambiguous) << verdict_of(*sub).message;

  std::optional<provider::poll_result> polled;
  asio::cancellation_signal stop_poll;
  const provider::poll_context ctx;
  asio::co_spawn(ioc_, c.poll("task-1", ctx),
                 asio::bind_cancellation_slot(stop_poll.slot(), [&](std::exception_ptr, provider::poll_result r) {
                   polled = std::move(r);
                 }));
  cancel_soon(stop_poll, [&] { return polled.has_value(); });
  ASSERT_TRUE(polled.has_value());
  ASSERT_TRUE(std::holds_alternative<verdict>(*polled));
  EXPECT_EQ(std::get<verdict>(*polled).what, action::retry);
  EXPECT_EQ(server.requests().size(), 2u);  // both requests were written before the cancel
}

}  // namespace
}  // namespace vidq
