// A status server over a known database, for the browser test (dashboard.test.mjs): seeds a
// temporary DB with 13 jobs in 3 batches (succeeded ones with real MP4/PNG files in the
// output folder), starts the server on 127.0.0.1:0 with a fake daemon_control, prints
//   line 1: the dashboard URL
//   line 2: the expected counts as JSON, read back from the DB with plain SQL
// and runs until SIGTERM/SIGINT or EOF on stdin. Read-only: no token.
#include "vidq/engine/fetch.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/sim/assets.hpp"
#include "vidq/status/server.hpp"
#include "vidq/store/job_store.hpp"
#include "vidq/store/migrations.hpp"
#include "vidq/store/sqlite.hpp"
#include "vidq/store/sqlite_status_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>

#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

namespace {

using namespace vidq;
namespace fs = std::filesystem;

class fake_control final : public daemon::daemon_control {
 public:
  daemon::runtime_view view;
  daemon::runtime_view runtime() const override { return view; }
  void wake() override {}
  boost::asio::awaitable<result<bool>> pause_account(std::string_view, std::string_view) override { co_return false; }
  boost::asio::awaitable<result<bool>> resume_account(std::string_view) override { co_return false; }
};

void write_bytes(const fs::path& path, std::span<const unsigned char> bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

struct seed {
  const char* batch;
  const char* state;
  const char* prompt;
  int finished_minutes_ago;  // < 0: not finished
};

// 13 jobs: succeeded 5, failed 3, cancelled 1, queued 3, processing 1.
constexpr seed seeds[] = {
    {"spring-sale", "succeeded", "a red sneaker rotating on a white table", 50},
    {"spring-sale", "succeeded", "a leather handbag on a marble counter, soft light", 35},
    {"spring-sale", "succeeded", "a steaming coffee cup, slow zoom in", 20},
    {"spring-sale", "succeeded", "sunglasses on sand, waves behind", 5},
    {"spring-sale", "failed", "a watch face, macro shot", 12},
    {"spring-sale", "queued", "a backpack on a mountain trail", -1},
    {"Summer Launch 2025", "succeeded", "a surfboard leaning on a beach hut", 8},
    {"Summer Launch 2025", "processing", "ice cream melting in the sun", -1},
    {"Summer Launch 2025", "queued", "a straw hat spinning slowly", -1},
    {"retarget", "failed", "a phone case falling in slow motion", 40},
    {"retarget", "failed", "headphones on a desk, neon light", 3},
    {"retarget", "cancelled", "a kettle boiling", 25},
    {"retarget", "queued", "a lamp switching on at dusk", -1},
};

bool seed_db(store::database& db, const vidq::clock& clk, const fs::path& output) {
  store::job_store jobs(db, clk);
  for (const auto& s : seeds) {
    store::new_job job;
    job.batch = s.batch;
    job.spec.model = "cogvideox-3";
    job.spec.prompt = s.prompt;
    std::int64_t id = 0;
    if (!jobs.insert(job, &id)) return false;
    if (std::string_view(s.state) == "queued") continue;
    const bool ok = std::string_view(s.state) == "succeeded";
    const auto video = engine::job_file_path(output, s.batch, id, ".mp4");
    const auto cover = engine::job_file_path(output, s.batch, id, ".png");
    if (ok) {
      write_bytes(video, sim::sample_mp4());
      write_bytes(cover, sim::cover_png());
    }
    auto stmt = db.prepare(
        "UPDATE jobs SET state = ?1, finished_at = ?2, cost = ?3, video_path = ?4, cover_path = ?5, "
        "video_bytes = ?6, error_code = ?7, error_message = ?8, task_id = 'task-' || id WHERE id = ?9");
    if (!stmt) return false;
    const millis now = clk.now();
    stmt->bind(1, s.state);
    if (s.finished_minutes_ago >= 0) {
      stmt->bind(2, now - static_cast<millis>(s.finished_minutes_ago) * 60'000);
    } else {
      stmt->bind(2, nullptr);
    }
    stmt->bind(3, ok ? 1000 : 0);
    if (ok) {
      stmt->bind(4, video.string())
          .bind(5, cover.string())
          .bind(6, static_cast<std::int64_t>(sim::sample_mp4().size()));
    } else {
      stmt->bind(4, nullptr).bind(5, nullptr).bind(6, nullptr);
    }
    if (std::string_view(s.state) == "failed") {
      stmt->bind(7, "1301").bind(8, "the prompt or image was flagged by the content filter");
    } else {
      stmt->bind(7, nullptr).bind(8, nullptr);
    }
    stmt->bind(9, id);
    if (!stmt->run()) return false;
  }
  return true;
}

// The counts the page must show, straight from SQL (not through the server's code).
std::string expected_counts(store::database& db) {
  boost::json::object totals{{"queued", 0},    {"submitting", 0}, {"processing", 0}, {"downloading", 0},
                             {"succeeded", 0}, {"failed", 0},     {"cancelled", 0}};
  boost::json::object batches;
  auto stmt = db.prepare("SELECT batch, state, count(*) FROM jobs GROUP BY batch, state");
  if (!stmt) return "{}";
  (void)stmt->for_each_row([&](const store::statement& r) {
    const auto batch = r.get_text(0);
    const auto state = r.get_text(1);
    const auto n = r.get_int64(2);
    totals[state] = totals[state].as_int64() + n;
    auto& b = batches[batch];
    if (!b.is_object()) b = boost::json::object{{"total", 0}};
    b.as_object()[state] = n;
    b.as_object()["total"] = b.as_object()["total"].as_int64() + n;
  });
  return boost::json::serialize(boost::json::object{{"totals", totals}, {"batches", batches}});
}

}  // namespace

int main() {
  char dir_template[] = "/tmp/vidq-status-fixture-XXXXXX";
  if (!::mkdtemp(dir_template)) return 1;
  const fs::path dir = dir_template;
  {
    system_clock clk;
    ops::config cfg = ops::default_config();
    cfg.output_dir = (dir / "videos").string();
    auto db = store::database::open((dir / "vidq.db").string());
    if (!db || !store::migrate(*db) || !seed_db(*db, clk, cfg.output_dir)) {
      std::fprintf(stderr, "status_fixture: cannot seed the database\n");
      fs::remove_all(dir);
      return 1;
    }
    fake_control control;
    control.view.started_at = clk.now() - 3'600'000;
    control.view.accounts = {{"default", "bigmodel", false, "", std::nullopt},
                             {"backup", "geekai", true, "1308: quota exhausted until 00:00", std::nullopt}};
    control.view.lanes = {{"default", "cogvideox-3", 1, 5, 5}, {"backup", "cogvideox-3", 0, 3, 5}};
    ops::metrics metrics;

    boost::asio::io_context ioc;
    store::sqlite_status_store status_store(*db, clk);
    status::status_server server(ioc.get_executor(), {status_store, cfg, control, metrics, clk, std::nullopt});
    auto port = server.start("127.0.0.1:0");
    if (!port) {
      fs::remove_all(dir);
      return 1;
    }
    // The dashboard's health badge wants a live loop: tick like a scheduler would.
    control.view.last_tick = clk.now();
    boost::asio::steady_timer ticker(ioc);
    std::function<void()> tick = [&] {
      control.view.last_tick = clk.now();
      ticker.expires_after(std::chrono::seconds(1));
      ticker.async_wait([&](boost::system::error_code ec) {
        if (!ec) tick();
      });
    };
    tick();

    std::cout << "http://127.0.0.1:" << *port << "/\n" << expected_counts(*db) << std::endl;

    auto shutdown = [&] {
      server.stop();
      ticker.cancel();
      ioc.stop();
    };
    boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
    signals.async_wait([&](boost::system::error_code, int) { shutdown(); });
    boost::asio::posix::stream_descriptor in(ioc, ::dup(STDIN_FILENO));
    std::array<char, 256> sink{};
    std::function<void()> read_stdin = [&] {
      in.async_read_some(boost::asio::buffer(sink), [&](boost::system::error_code ec, std::size_t) {
        if (ec) {
          shutdown();  // EOF: the test that started us is gone
        } else {
          read_stdin();
        }
      });
    };
    read_stdin();
    ioc.run();
  }
  fs::remove_all(dir);
  return 0;
}
