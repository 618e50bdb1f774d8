// Throughput and scale of the simulator (docs/SIMULATOR.md §Performance): an in-process
// server on one io_context thread, and C keep-alive HTTPS client connections on another.
// Phase 1 creates T tasks that stay in flight (durations at time_scale 1 are minutes);
// phase 2 polls them round-robin for S seconds. Prints one JSON line of figures.
//   bench_sim_throughput [connections=32] [tasks=2500] [seconds=5]
#include "vidq/net/tls_identity.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/sim/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

constexpr const char* bulk_key = "Bearer sim-key-bulk-555555555555555";

struct shared_state {
  std::atomic<int> tasks_to_create;
  std::vector<std::string> ids;  // filled in phase 1 (client thread only)
  std::atomic<std::uint64_t> requests{0}, errors{0};
  steady::time_point poll_until;
};

asio::awaitable<void> client(asio::ssl::context& tls, unsigned short port, shared_state& st, std::size_t index) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  auto ex = co_await asio::this_coro::executor;
  beast::ssl_stream<beast::tcp_stream> stream(ex, tls);
  auto [cec] = co_await beast::get_lowest_layer(stream).async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), tuple);
  if (cec) co_return;
  if (auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, tuple); hec) co_return;
  beast::flat_buffer buffer;
  auto exchange = [&](http::request<http::string_body>& req) -> asio::awaitable<std::string> {
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, bulk_key);
    req.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, req, tuple);
    http::response<http::string_body> res;
    auto [rec, rn] = co_await http::async_read(stream, buffer, res, tuple);
    ++st.requests;
    if (wec || rec || res.result_int() != 200) {
      ++st.errors;
      co_return std::string();
    }
    co_return std::move(res.body());
  };
  while (st.tasks_to_create.fetch_sub(1) > 0) {
    http::request<http::string_body> req{http::verb::post, "/api/paas/v4/videos/generations", 11};
    req.set(http::field::content_type, "application/json");
    req.body() = R"({"model":"cogvideox-3","prompt":"bench","quality":"quality"})";
    std::string body = co_await exchange(req);
    if (body.empty()) continue;
    st.ids.emplace_back(json::parse(body).at("id").as_string());
  }
  for (std::size_t i = index; steady::now() < st.poll_until; i += 7) {
    if (st.ids.empty()) break;
    http::request<http::string_body> req{http::verb::get, "/api/paas/v4/async-result/" + st.ids[i % st.ids.size()], 11};
    co_await exchange(req);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int connections = argc > 1 ? std::atoi(argv[1]) : 32;
  const int tasks = argc > 2 ? std::atoi(argv[2]) : 2500;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 5.0;
  vidq::log::set_min_level(vidq::log::level::warn);

  const auto dir = std::filesystem::temp_directory_path() / "vidq-bench-sim-tls";
  auto id = vidq::net::ensure_tls_identity(dir);
  if (!id) return 1;
  auto tls = vidq::sim::make_server_tls(*id);
  vidq::system_clock clock;
  auto cfg = vidq::sim::default_sim_config();
  cfg.faults = vidq::sim::fault_rates::none();
  vidq::sim::simulator sim(cfg, clock);
  asio::io_context server_ioc(1);
  auto srv = vidq::sim::server::listen(server_ioc, sim, *tls, *vidq::sim::parse_listen("127.0.0.1:0"));
  if (!srv) return 1;
  (*srv)->start();
  std::thread server_thread([&] { server_ioc.run(); });

  asio::ssl::context client_tls(asio::ssl::context::tls_client);
  client_tls.load_verify_file(id->ca_cert.string());
  client_tls.set_verify_mode(asio::ssl::verify_peer);
  client_tls.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));

  shared_state st;
  st.tasks_to_create = tasks;
  asio::io_context client_ioc(1);
  // Phase 1: create the tasks.
  const auto t0 = steady::now();
  st.poll_until = t0;  // no polling in phase 1
  for (int c = 0; c < connections; ++c)
    asio::co_spawn(client_ioc, client(client_tls, (*srv)->port(), st, static_cast<std::size_t>(c)), asio::detached);
  client_ioc.run();
  const double create_s = std::chrono::duration<double>(steady::now() - t0).count();
  const std::uint64_t create_requests = st.requests.load();
  const auto mid = sim.stats(false);

  // Phase 2: poll them.
  st.requests = 0;
  st.tasks_to_create = 0;
  st.poll_until = steady::now() + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  const auto t1 = steady::now();
  client_ioc.restart();
  for (int c = 0; c < connections; ++c)
    asio::co_spawn(client_ioc, client(client_tls, (*srv)->port(), st, static_cast<std::size_t>(c)), asio::detached);
  client_ioc.run();
  const double poll_s = std::chrono::duration<double>(steady::now() - t1).count();

  (*srv)->stop();
  server_thread.join();
  std::int64_t in_flight = 0;
  for (const auto& s : mid.at("slots").as_array()) in_flight += s.at("in_flight").as_int64();
  const json::object out{{"connections", connections},
                         {"tasks_created", mid.at("tasks_created")},
                         {"in_flight_after_create", in_flight},
                         {"create_seconds", create_s},
                         {"create_per_s", static_cast<double>(create_requests) / create_s},
                         {"poll_requests", st.requests.load()},
                         {"poll_per_s", static_cast<double>(st.requests.load()) / poll_s},
                         {"errors", st.errors.load()}};
  std::printf("%s\n", json::serialize(out).c_str());
  return st.errors.load() == 0 ? 0 : 1;
}
