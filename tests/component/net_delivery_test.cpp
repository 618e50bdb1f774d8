// Deadlines, failure points and cancellation of https_client::request, each asserting the
// `delivery` the daemon's ambiguous-submit rule depends on: not_sent before the request was
// completely written, maybe_delivered after.
#include "vidq/net/https_client.hpp"

#include "support/net_test_server.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

namespace vidq::net {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using std::chrono::steady_clock;
using net_test::accept_action;
using net_test::received_request;
using net_test::run_test;
using net_test::scripted_reply;
using net_test::test_server;
using resp = std::optional<net_result<http_response>>;

constexpr milliseconds short_limit{200};

// One request; returns its result and how long it took.
struct timed {
  resp r;
  milliseconds took{0};
};

timed run_one(asio::io_context& ioc, https_client& client, http_request req) {
  timed out;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    const auto t0 = steady_clock::now();
    out.r = co_await client.request(req);
    out.took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0);
  }));
  return out;
}

void expect_failure(const timed& t, error_code ec, step s, delivery d) {
  ASSERT_TRUE(t.r.has_value());
  ASSERT_FALSE(*t.r) << "unexpected success";
  const request_error& e = t.r->error();
  EXPECT_EQ(e.ec, ec) << e.message();
  EXPECT_EQ(e.step, s) << e.message();
  EXPECT_EQ(e.delivery, d) << e.message();
}

client_options with_deadline(milliseconds timeouts::*which) {
  auto o = net_test::test_client_options();
  o.deadlines.*which = short_limit;
  return o;
}

http_request post(std::string url) {
  return http_request(std::move(url), http::verb::post, R"({"model":"cogvideox-3"})");
}

TEST(NetDelivery, ConnectRefusedIsNotSent) {
  asio::io_context ioc;
  unsigned short port = 0;
  {
    tcp::acceptor probe(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  auto client = net_test::make_test_client(ioc);
  auto t = run_one(ioc, *client, post("https://127.0.0.1:" + std::to_string(port) + "/"));
  expect_failure(t, asio::error::connection_refused, step::connect, delivery::not_sent);
}

TEST(NetDelivery, ConnectTimeoutIsNotSent) {
  // A listener with a full accept queue: Linux drops further SYNs, so connect hangs.
  asio::io_context ioc;
  tcp::acceptor full(ioc);
  full.open(tcp::v4());
  full.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  full.listen(0);
  const auto ep = full.local_endpoint();
  std::vector<std::unique_ptr<tcp::socket>> fillers;
  for (int i = 0; i < 4; ++i) {
    fillers.push_back(std::make_unique<tcp::socket>(ioc));
    fillers.back()->async_connect(ep, [](error_code) {});
  }
  auto client = net_test::make_test_client(ioc, with_deadline(&timeouts::connect));
  auto t = run_one(ioc, *client, post("https://127.0.0.1:" + std::to_string(ep.port()) + "/"));
  ASSERT_TRUE(t.r && !*t.r);
  if (t.r->error().step == step::handshake) GTEST_SKIP() << "kernel accepted past the backlog";
  expect_failure(t, vidq::errc::timeout, step::connect, delivery::not_sent);
  EXPECT_LT(t.took.count(), 1500);
}

TEST(NetDelivery, ResolveTimeoutIsNotSent) {
  // A zero deadline expires before getaddrinfo, running on Asio's resolver thread, answers.
  asio::io_context ioc;
  auto o = net_test::test_client_options();
  o.deadlines.resolve = milliseconds(0);
  auto client = net_test::make_test_client(ioc, o);
  auto t = run_one(ioc, *client, post("https://localhost:1/"));
  // The race is by construction: on a loaded machine the lookup may still answer first.
  if (!t.r->has_value() && t.r->error().step != step::resolve) GTEST_SKIP() << "getaddrinfo answered before 0 ms";
  expect_failure(t, vidq::errc::timeout, step::resolve, delivery::not_sent);
}

TEST(NetDelivery, HandshakeTimeoutIsNotSent) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_accept = [](std::size_t) { return accept_action::stall_handshake; }});
  auto client = net_test::make_test_client(ioc, with_deadline(&timeouts::handshake));
  auto t = run_one(ioc, *client, post(srv.url()));
  expect_failure(t, vidq::errc::timeout, step::handshake, delivery::not_sent);
  EXPECT_LT(t.took.count(), 1500);
}

TEST(NetDelivery, ServerClosingBeforeTheHandshakeIsNotSent) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_accept = [](std::size_t) { return accept_action::close_at_once; }});
  auto client = net_test::make_test_client(ioc);
  auto t = run_one(ioc, *client, post(srv.url()));
  ASSERT_TRUE(t.r && !*t.r);
  EXPECT_EQ(t.r->error().step, step::handshake);
  EXPECT_EQ(t.r->error().delivery, delivery::not_sent);
}

TEST(NetDelivery, WriteTimeoutIsNotSent) {
  // The server completes TLS and never reads: a 32 MiB body fills the socket buffers.
  asio::io_context ioc;
  test_server srv(ioc,
                  {.on_accept = [](std::size_t) { return accept_action::stall_after_handshake; }});
  auto client = net_test::make_test_client(ioc, with_deadline(&timeouts::write));
  auto t = run_one(ioc, *client,
                   http_request(srv.url(), http::verb::post, std::string(32u << 20, 'x')));
  expect_failure(t, vidq::errc::timeout, step::write, delivery::not_sent);
  EXPECT_TRUE(srv.requests().empty());
}

TEST(NetDelivery, ServerClosingAfterReadingTheRequestIsMaybeDelivered) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.action = scripted_reply::kind::close;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  auto t = run_one(ioc, *client, post(srv.url("/submit")));
  ASSERT_TRUE(t.r && !*t.r);
  EXPECT_EQ(t.r->error().step, step::read_header);
  EXPECT_EQ(t.r->error().delivery, delivery::maybe_delivered) << t.r->error().message();
  ASSERT_EQ(srv.requests().size(), 1u);  // indeed the server had the whole request
  EXPECT_EQ(srv.requests()[0].body, R"({"model":"cogvideox-3"})");
}

TEST(NetDelivery, FailureOnAReusedConnectionIsFlagged) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request& q) {
                          scripted_reply r;
                          r.body = "ok";
                          if (q.index_on_connection == 1) r.action = scripted_reply::kind::close;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  resp first, second;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    first = co_await client->request(http_request(srv.url()));
    second = co_await client->request(post(srv.url()));
  }));
  ASSERT_TRUE(*first);
  ASSERT_FALSE(*second);
  EXPECT_TRUE(second->error().reused_connection);
  EXPECT_EQ(second->error().delivery, delivery::maybe_delivered);
}

TEST(NetDelivery, ReadHeaderTimeoutIsMaybeDelivered) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.action = scripted_reply::kind::stall;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc, with_deadline(&timeouts::read_header));
  auto t = run_one(ioc, *client, post(srv.url()));
  expect_failure(t, vidq::errc::timeout, step::read_header, delivery::maybe_delivered);
  EXPECT_LT(t.took.count(), 1500);
}

TEST(NetDelivery, ReadBodyTimeoutIsMaybeDelivered) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.body = std::string(100, 'x');
                          r.cut_after = 10;
                          r.end = scripted_reply::ending::stall;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc, with_deadline(&timeouts::read_body));
  auto t = run_one(ioc, *client, post(srv.url()));
  expect_failure(t, vidq::errc::timeout, step::read_body, delivery::maybe_delivered);
  EXPECT_LT(t.took.count(), 1500);
}

TEST(NetDelivery, TruncatedBodyIsMaybeDelivered) {
  // Cut with a TCP close (no close_notify) and with a clean TLS close: both are truncation.
  for (auto ending : {scripted_reply::ending::abort, scripted_reply::ending::close}) {
    asio::io_context ioc;
    test_server srv(ioc, {.on_request = [ending](const received_request&) {
                            scripted_reply r;
                            r.body = std::string(100, 'x');
                            r.cut_after = 10;
                            r.end = ending;
                            return r;
                          }});
    auto client = net_test::make_test_client(ioc);
    auto t = run_one(ioc, *client, post(srv.url()));
    expect_failure(t, net_errc::truncated, step::read_body, delivery::maybe_delivered);
    EXPECT_EQ(client->stats().idle, 0u);
  }
}

// Runs `req` with a cancellation signal emitted after `after`; returns the request's result.
timed cancel_after(asio::io_context& ioc, https_client& client, http_request req,
                   milliseconds after) {
  timed out;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    asio::cancellation_signal sig;
    const auto t0 = steady_clock::now();
    asio::co_spawn(co_await asio::this_coro::executor, client.request(req),
                   asio::bind_cancellation_slot(
                       sig.slot(), [&](std::exception_ptr e, net_result<http_response> r) {
                         EXPECT_FALSE(e);
                         out.r = std::move(r);
                         out.took = std::chrono::duration_cast<milliseconds>(
                             steady_clock::now() - t0);
                       }));
    co_await net_test::sleep_for(after);
    sig.emit(asio::cancellation_type::terminal);
    while (!out.r) co_await net_test::sleep_for(milliseconds(5));
  }));
  return out;
}

TEST(NetDeliveryCancel, WhileWaitingForTheResponseIsMaybeDelivered) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.action = scripted_reply::kind::stall;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);  // 2 s deadlines: cancellation must come first
  auto t = cancel_after(ioc, *client, post(srv.url()), milliseconds(100));
  expect_failure(t, asio::error::operation_aborted, step::read_header, delivery::maybe_delivered);
  EXPECT_LT(t.took.count(), 1000);
  EXPECT_EQ(client->stats().idle, 0u);
}

TEST(NetDeliveryCancel, DuringTheHandshakeIsNotSent) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_accept = [](std::size_t) { return accept_action::stall_handshake; }});
  auto client = net_test::make_test_client(ioc);
  auto t = cancel_after(ioc, *client, post(srv.url()), milliseconds(100));
  expect_failure(t, asio::error::operation_aborted, step::handshake, delivery::not_sent);
  EXPECT_LT(t.took.count(), 1000);
}

TEST(NetDeliveryCancel, RacedWithOrReturnsPromptlyAndTheNextRequestWorks) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request& q) {
                          scripted_reply r;
                          r.body = "ok";
                          if (q.target == "/slow") r.action = scripted_reply::kind::stall;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  std::size_t winner = 99;
  milliseconds took{0};
  resp after;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    const auto t0 = steady_clock::now();
    auto v = co_await (client->request(http_request(srv.url("/slow"))) ||
                       net_test::sleep_for(milliseconds(100)));
    took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0);
    winner = v.index();
    after = co_await client->request(http_request(srv.url("/fast")));
  }));
  EXPECT_EQ(winner, 1u);
  EXPECT_LT(took.count(), 1000);
  ASSERT_TRUE(*after) << after->error().message();
  EXPECT_FALSE((*after)->reused_connection);  // the cancelled connection was closed
  EXPECT_EQ(srv.connections(), 2u);
}

}  // namespace
}  // namespace vidq::net
