// download(): streaming to <dest>.part, sha256, atomic publish, redirects, statuses,
// truncation, size limits, deadlines, cancellation, and constant memory on a big file.
#include "vidq/net/download.hpp"

#include "support/net_test_server.hpp"
#include "support/temp_dir.hpp"
#include "vidq/net/sha256.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

namespace vidq::net {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;
using net_test::received_request;
using net_test::run_test;
using net_test::scripted_reply;
using net_test::test_server;
using dl = std::optional<net_result<download_result>>;

using test::read_file;
using test::temp_dir;

// The directory holds exactly the given file names (no stray .part).
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

dl fetch(asio::io_context& ioc, https_client& client, std::string url, const fs::path& dest,
         download_options opts = {}) {
  dl out;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    out = co_await download(client, url, dest, opts);
  }));
  return out;
}

void expect_error(const dl& r, error_code ec) {
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(*r) << "unexpected success";
  EXPECT_EQ(r->error().ec, ec) << r->error().message();
}

TEST(NetDownload, WritesTheFileAtomicallyWithItsSha256) {
  asio::io_context ioc;
  temp_dir dir;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.pattern_bytes = 300'000;
                          r.headers = {{"Content-Type", "video/mp4"}};
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  const auto dest = dir.path() / "42.mp4";
  auto r = fetch(ioc, *client, srv.url("/v/42.mp4?sig=abc"), dest);
  ASSERT_TRUE(*r) << r->error().message();
  EXPECT_EQ((*r)->bytes, 300'000u);
  EXPECT_EQ((*r)->sha256_hex, net_test::pattern_sha256(300'000));
  EXPECT_EQ((*r)->redirects, 0u);
  EXPECT_EQ(read_file(dest), net_test::pattern(300'000));
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"42.mp4"});
  EXPECT_EQ(srv.requests().at(0).headers.at("accept-encoding"), "identity");
}

TEST(NetDownload, BigFileStreamsInConstantMemory) {
  // 48 MiB through a 64 KiB buffer: the live heap, sampled every 5 ms during the transfer
  // (server side included), must not grow by anything like the file size.
  constexpr std::uint64_t size = 48ull << 20;
  asio::io_context ioc;
  temp_dir dir;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.pattern_bytes = size;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  const auto dest = dir.path() / "big.mp4";
  dl r;
  std::uint64_t baseline = 0, peak = 0;
  milliseconds took{0};
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    baseline = net_test::live_heap_bytes();
    bool done = false;
    asio::co_spawn(co_await asio::this_coro::executor,
                   [&]() -> awaitable<void> {
                     while (!done) {
                       peak = std::max(peak, net_test::live_heap_bytes());
                       co_await net_test::sleep_for(milliseconds(5));
                     }
                   }, [](std::exception_ptr) {});
    const auto t0 = std::chrono::steady_clock::now();
    r = co_await download(*client, srv.url("/big"), dest);
    took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
    done = true;
    co_await net_test::sleep_for(milliseconds(10));
  }, milliseconds(120'000)));
  ASSERT_TRUE(*r) << r->error().message();
  EXPECT_EQ((*r)->bytes, size);
  EXPECT_EQ((*r)->sha256_hex, net_test::pattern_sha256(size));
  EXPECT_EQ(fs::file_size(dest), size);
  const auto growth = peak > baseline ? peak - baseline : 0;
  std::printf("[ figures  ] 48 MiB download: %lld ms, peak live-heap growth %.2f MiB\n",
              static_cast<long long>(took.count()), static_cast<double>(growth) / (1 << 20));
  EXPECT_LT(growth, 4ull << 20);
}

TEST(NetDownload, FollowsRelativeAndCrossOriginRedirects) {
  asio::io_context ioc;
  temp_dir dir;
  test_server cdn(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.body = "video bytes";
                          return r;
                        }});
  const std::string cdn_url = cdn.url("/file.mp4", "localhost");
  test_server api(ioc, {.on_request = [cdn_url](const received_request& q) {
                          scripted_reply r;
                          r.status = 302;
                          r.body = "moved";
                          r.headers = {{"Location", q.target == "/a" ? "/b?x=1" : cdn_url}};
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  auto r = fetch(ioc, *client, api.url("/a"), dir.path() / "v.mp4");
  ASSERT_TRUE(*r) << r->error().message();
  EXPECT_EQ((*r)->redirects, 2u);
  EXPECT_EQ(read_file(dir.path() / "v.mp4"), "video bytes");
  ASSERT_EQ(api.requests().size(), 2u);
  EXPECT_EQ(api.requests()[1].target, "/b?x=1");
  EXPECT_EQ(api.connections(), 1u);  // the drained redirect kept the connection alive
  EXPECT_EQ(cdn.requests().size(), 1u);
}

TEST(NetDownload, RedirectToPlainHttpIsRefused) {
  asio::io_context ioc;
  temp_dir dir;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.status = 301;
                          r.headers = {{"Location", "http://127.0.0.1:1/file.mp4"}};
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  auto r = fetch(ioc, *client, srv.url("/a"), dir.path() / "v.mp4");
  expect_error(r, net_errc::redirect_refused);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(NetDownload, RedirectLoopIsBounded) {
  asio::io_context ioc;
  temp_dir dir;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.status = 307;
                          r.headers = {{"Location", "/loop"}};
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  auto r = fetch(ioc, *client, srv.url("/loop"), dir.path() / "v.mp4");
  expect_error(r, net_errc::too_many_redirects);
  EXPECT_EQ(srv.requests().size(), 6u);  // the original + 5 redirects (the default)
  download_options two;
  two.max_redirects = 2;
  ioc.restart();
  auto r2 = fetch(ioc, *client, srv.url("/loop"), dir.path() / "v.mp4", two);
  expect_error(r2, net_errc::too_many_redirects);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(NetDownload, ForbiddenAndNotFoundAreReportedWithTheirStatus) {
  asio::io_context ioc;
  temp_dir dir;
  test_server srv(ioc, {.on_request = [](const received_request& q) {
                          scripted_reply r;
                          r.status = q.target == "/expired" ? 403 : 404;
                          r.body = "<Error><Code>AccessDenied</Code>Request has expired</Error>";
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  auto forbidden = fetch(ioc, *client, srv.url("/expired"), dir.path() / "v.mp4");
  ioc.restart();
  auto missing = fetch(ioc, *client, srv.url("/gone"), dir.path() / "v.mp4");
  expect_error(forbidden, net_errc::http_status);
  EXPECT_EQ(forbidden->error().status, 403u);
  EXPECT_NE(forbidden->error().detail.find("Request has expired"), std::string::npos);
  expect_error(missing, net_errc::http_status);
  EXPECT_EQ(missing->error().status, 404u);
  EXPECT_TRUE(listing(dir.path()).empty());
  EXPECT_EQ(srv.connections(), 1u);  // error bodies are drained, the connection reused
}

TEST(NetDownload, TruncationLeavesNoFile) {
  // Content-Length 100000, only 40000 sent: TCP close, TLS close, and a stall past the
  // per-read deadline. None may produce a file or leave a .part.
  struct fault {
    scripted_reply::ending end;
    error_code ec;
  };
  for (const fault f : {fault{scripted_reply::ending::abort, net_errc::truncated},
                        fault{scripted_reply::ending::close, net_errc::truncated},
                        fault{scripted_reply::ending::stall, vidq::errc::timeout}}) {
    asio::io_context ioc;
    temp_dir dir;
    test_server srv(ioc, {.on_request = [f](const received_request&) {
                            scripted_reply r;
                            r.pattern_bytes = 100'000;
                            r.cut_after = 40'000;
                            r.end = f.end;
                            return r;
                          }});
    auto o = net_test::test_client_options();
    o.deadlines.read_body = milliseconds(200);
    auto client = net_test::make_test_client(ioc, o);
    auto r = fetch(ioc, *client, srv.url("/v.mp4"), dir.path() / "v.mp4");
    expect_error(r, f.ec);
    EXPECT_EQ(r->error().step, step::read_body);
    EXPECT_TRUE(listing(dir.path()).empty());
  }
}

TEST(NetDownload, ContentLengthLongerThanTheBodyIsAnError) {
  asio::io_context ioc;
  temp_dir dir;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.body = std::string(1000, 'v');
                          r.content_length = 2000;
                          r.end = scripted_reply::ending::close;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  auto r = fetch(ioc, *client, srv.url("/v.mp4"), dir.path() / "v.mp4");
  expect_error(r, net_errc::truncated);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(NetDownload, EofDelimitedBodyNeedsACleanTlsClose) {
  for (auto end : {scripted_reply::ending::close, scripted_reply::ending::abort}) {
    asio::io_context ioc;
    temp_dir dir;
    test_server srv(ioc, {.on_request = [end](const received_request&) {
                            scripted_reply r;
                            r.pattern_bytes = 50'000;
                            r.omit_content_length = true;
                            r.end = end;
                            return r;
                          }});
    auto client = net_test::make_test_client(ioc);
    auto r = fetch(ioc, *client, srv.url("/v.mp4"), dir.path() / "v.mp4");
    if (end == scripted_reply::ending::close) {
      ASSERT_TRUE(*r) << r->error().message();
      EXPECT_EQ((*r)->sha256_hex, net_test::pattern_sha256(50'000));
    } else {
      expect_error(r, net_errc::truncated);  // no close_notify: cannot tell the end
      EXPECT_TRUE(listing(dir.path()).empty());
    }
  }
}

TEST(NetDownload, MaxBytesIsEnforcedDeclaredOrStreamed) {
  asio::io_context ioc;
  temp_dir dir;
  test_server srv(ioc, {.on_request = [](const received_request& q) {
                          scripted_reply r;
                          r.pattern_bytes = 100'000;
                          if (q.target == "/eof") {
                            r.omit_content_length = true;
                            r.end = scripted_reply::ending::close;
                          }
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  download_options small;
  small.max_bytes = 10'000;
  auto declared = fetch(ioc, *client, srv.url("/cl"), dir.path() / "v.mp4", small);
  ioc.restart();
  auto streamed = fetch(ioc, *client, srv.url("/eof"), dir.path() / "v.mp4", small);
  expect_error(declared, net_errc::body_too_large);
  expect_error(streamed, net_errc::body_too_large);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(NetDownload, MissingDirectoryIsAFileError) {
  asio::io_context ioc;
  temp_dir dir;
  test_server srv(ioc, {});
  auto client = net_test::make_test_client(ioc);
  auto r = fetch(ioc, *client, srv.url("/v.mp4"), dir.path() / "no" / "v.mp4");
  ASSERT_TRUE(r && !*r);
  EXPECT_TRUE(r->error().ec == boost::system::errc::no_such_file_or_directory)
      << r->error().message();
  EXPECT_EQ(r->error().step, step::file);
}

TEST(NetDownload, CancellationRemovesThePartFile) {
  asio::io_context ioc;
  temp_dir dir;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.pattern_bytes = 1'000'000;
                          r.cut_after = 200'000;
                          r.end = scripted_reply::ending::stall;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  dl out;
  bool part_existed = false;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    asio::cancellation_signal sig;
    asio::co_spawn(co_await asio::this_coro::executor,
                   download(*client, srv.url("/v.mp4"), dir.path() / "v.mp4"),
                   asio::bind_cancellation_slot(
                       sig.slot(), [&](std::exception_ptr, net_result<download_result> r) {
                         out = std::move(r);
                       }));
    co_await net_test::sleep_for(milliseconds(150));
    part_existed = fs::exists(dir.path() / "v.mp4.part");
    sig.emit(asio::cancellation_type::terminal);
    while (!out) co_await net_test::sleep_for(milliseconds(5));
  }));
  EXPECT_TRUE(part_existed);
  expect_error(out, asio::error::operation_aborted);
  EXPECT_TRUE(listing(dir.path()).empty());
}

}  // namespace
}  // namespace vidq::net
