#include "support/sim_https_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>
#include <optional>

namespace vidq::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

boost::json::value sim_response::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value(nullptr) : v;
}

struct sim_https_client::impl {
  asio::io_context ioc;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  unsigned short port;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;

  asio::awaitable<void> run(const std::string& method, const std::string& target, const std::string& body,
                            const std::vector<std::pair<std::string, std::string>>& headers, sim_response& out) {
    constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
    if (!stream) {
      stream.emplace(ioc, tls);
      buffer.clear();
      beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(10));
      auto [ec] = co_await beast::get_lowest_layer(*stream).async_connect(
          tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), tuple);
      if (!ec) std::tie(ec) = co_await stream->async_handshake(asio::ssl::stream_base::client, tuple);
      if (ec) {
        out.error = ec;
        stream.reset();
        co_return;
      }
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    if (!body.empty() || method == "POST") req.prepare_payload();
    req.keep_alive(true);
    beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(20));
    auto [wec, wn] = co_await http::async_write(*stream, req, tuple);
    http::response_parser<http::string_body> parser;
    parser.body_limit(200u << 20);
    if (method == "HEAD") parser.skip(true);
    boost::system::error_code rec = wec;
    if (!rec) std::tie(rec, wn) = co_await http::async_read(*stream, buffer, parser, tuple);
    if (rec) {
      out.error = rec;
      stream.reset();
      co_return;
    }
    auto& res = parser.get();
    out.status = res.result_int();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) stream.reset();
  }
};

sim_https_client::sim_https_client(unsigned short port, std::filesystem::path ca_file) : impl_(std::make_unique<impl>()) {
  impl_->port = port;
  impl_->tls.load_verify_file(ca_file.string());
  impl_->tls.set_verify_mode(asio::ssl::verify_peer);
  impl_->tls.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
}

sim_https_client::~sim_https_client() = default;

sim_response sim_https_client::request(const std::string& method, const std::string& target, const std::string& body,
                                       const std::vector<std::pair<std::string, std::string>>& headers) {
  sim_response out;
  // The coroutine completes before run() returns, so detached is owned by this call frame.
  asio::co_spawn(impl_->ioc, impl_->run(method, target, body, headers, out), asio::detached);
  impl_->ioc.restart();
  impl_->ioc.run();
  return out;
}

sim_response sim_https_client::post(const std::string& target, const std::string& key, const boost::json::value& body) {
  return request("POST", target, boost::json::serialize(body),
                 {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
}

sim_response sim_https_client::get(const std::string& target, const std::string& key) {
  if (key.empty()) return request("GET", target);
  return request("GET", target, {}, {{"Authorization", "Bearer " + key}});
}

}  // namespace vidq::test
