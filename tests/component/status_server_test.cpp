// The status server on 127.0.0.1:0 with a temp database, a fake daemon_control and a manual
// clock; a small blocking Beast client on the test thread while the server's io_context
// runs on its own thread. Anything the server also touches (DB, control, clock moves that
// must be seen in order) is changed through on_io() on the server's thread.
//
// The endpoints that read or change the database run on both backends
// (Backends/StatusServerOnBoth.*/sqlite, …/postgres): the server reads through
// sqlite_status_store, or through pg::postgres_status_store over a pool on the server's
// io_context. Rows are seeded with operator_store and SQL both backends understand. The
// transport's tests (limits, files, Host, tokens) run on SQLite only: they touch no query.
#include "support/backend.hpp"
#include "support/pg_test_db.hpp"
#include "support/temp_dir.hpp"
#include "support/test_db.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/status/connection_limits.hpp"
#include "vidq/status/files.hpp"
#include "vidq/status/handlers.hpp"
#include "vidq/status/server.hpp"
#include "vidq/store/postgres/operator_store.hpp"
#include "vidq/store/postgres/pool.hpp"
#include "vidq/store/postgres/status_store.hpp"
#include "vidq/store/sqlite_operator_store.hpp"
#include "vidq/store/sqlite_status_store.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <future>
#include <map>
#include <thread>

namespace vidq {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr const char* token = "test-token-0123456789abcdef";

class fake_control final : public daemon::daemon_control {
 public:
  daemon::runtime_view view;
  int wakes = 0;
  daemon::runtime_view runtime() const override { return view; }
  void wake() override { ++wakes; }
  boost::asio::awaitable<result<bool>> pause_account(std::string_view name, std::string_view reason) override {
    co_return set(name, true, std::string(reason));
  }
  boost::asio::awaitable<result<bool>> resume_account(std::string_view name) override {
    co_return set(name, false, {});
  }

 private:
  bool set(std::string_view name, bool paused, std::string reason) {
    for (auto& a : view.accounts) {
      if (a.name != name) continue;
      a.paused = paused;
      a.reason = std::move(reason);
      return true;
    }
    return false;
  }
};

struct reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  json::value json() const { return json::parse(body); }
};

class StatusServerTest : public ::testing::Test {
 protected:
  test::test_db t;  // the SQLite backend, and the clock and temp dir of both
  ops::config cfg = ops::default_config();
  fake_control control;
  ops::metrics metrics;
  asio::io_context ioc;
  std::unique_ptr<test::pg_test_db> pg;
  std::unique_ptr<store::pg::pool> pool;  // on ioc: the server's thread uses it
  std::unique_ptr<store::status_store> store;
  std::unique_ptr<store::operator_store> seed;  // rows for the tests, from the test thread
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<status::status_server> server;
  std::thread io_thread;
  std::uint16_t port = 0;

  void SetUp() override {
    cfg.output_dir = (t.dir.path() / "videos").string();
    std::filesystem::create_directories(cfg.output_dir);
    control.view.started_at = t.clock.now() - 60'000;
    control.view.last_tick = t.clock.now();
    control.view.accounts.push_back({"default", "bigmodel", false, "", std::nullopt});
    control.view.lanes.push_back({"default", "cogvideox-3", 2, 4, 5});
    store = std::make_unique<store::sqlite_status_store>(t.db, t.clock);
    seed = std::make_unique<store::sqlite_operator_store>(t.db, t.clock);
  }

  // Serves from a migrated PostgreSQL database instead (call VIDQ_REQUIRE_PG(*pg) first).
  void use_postgres() {
    pg->migrate();
    store::pg::failure why;
    auto connected = store::pg::postgres_operator_store::connect(pg->conninfo(), t.clock, 5000, &why);
    ASSERT_TRUE(connected) << why.message;
    seed = std::move(*connected);
    pool = std::make_unique<store::pg::pool>(ioc.get_executor(), store::pg::pool_options{.conninfo = pg->conninfo()});
    store = std::make_unique<store::pg::postgres_status_store>(*pool, t.clock);
  }
  bool postgres() const { return pool != nullptr; }

  void start(bool with_token = true) {
    std::optional<ops::secret> secret;
    if (with_token) secret = ops::secret(token);
    server = std::make_unique<status::status_server>(
        ioc.get_executor(), status::status_server_deps{*store, cfg, control, metrics, t.clock, std::move(secret)});
    auto bound = server->start("127.0.0.1:0");
    ASSERT_TRUE(bound);
    port = *bound;
    work.emplace(ioc.get_executor());
    io_thread = std::thread([this] { ioc.run(); });
  }

  template <class F>
  auto on_io(F f) {  // runs f on the server's thread and waits for it
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto done = task.get_future();
    asio::post(ioc, [&task] { task(); });
    return done.get();
  }

  void TearDown() override {
    if (!io_thread.joinable()) return;
    on_io([this] { server->stop(); });
    work.reset();
    io_thread.join();
  }

  // SQL both backends understand; on SQLite only before start() or through on_io().
  void sql(const std::string& statement) {
    if (pg) {
      pg->exec(statement);
    } else {
      t.exec(statement);
    }
  }
  std::int64_t scalar(const std::string& q) { return pg ? pg->scalar(q) : t.scalar(q); }

  std::int64_t insert(const store::new_job& job) {
    std::int64_t id = 0;
    auto done = seed->insert(job, &id);
    EXPECT_TRUE(done && *done == store::insert_outcome::inserted) << seed->last_error();
    return id;
  }

  std::int64_t add_job(const std::string& batch, const std::string& state, millis finished_ago = -1,
                       std::int64_t cost = 0) {
    const auto id = insert(test::make_job("cogvideox-3", batch));
    const auto n = [](std::int64_t v) { return std::to_string(v); };
    if (state != "queued") {
      const bool failed = state == "failed";
      const bool ok = state == "succeeded";
      sql("UPDATE jobs SET state = '" + state + "', cost = " + n(cost) +
          ", finished_at = " + (finished_ago >= 0 ? n(t.clock.now() - finished_ago) : "NULL") + ", error_code = " +
          (failed ? "'1301'" : "NULL") + ", error_message = " + (failed ? "'content \"filtered\"'" : "NULL") +
          ", video_path = " + (ok ? "'v'" : "NULL") + ", cover_path = " + (ok ? "'c'" : "NULL") +
          " WHERE id = " + n(id));
    }
    if (cost > 0) {
      // Spend is read from the ledger: the task was charged when it was accepted.
      sql("INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, origin, at) "
          "VALUES (" +
          n(id) + ", 1, 'rq-" + n(id) + "', 'task-" + n(id) + "', 'default', 'cogvideox-3', '" + batch + "', " +
          n(cost) + ", 'accepted', " + n(t.clock.now() - std::max<millis>(finished_ago, 0)) + ")");
    }
    return id;
  }

  reply request(http::verb method, const std::string& target, const std::string& body = {},
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    asio::io_context cioc;
    tcp::socket s(cioc);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    if (!body.empty() || method == http::verb::post) req.prepare_payload();
    http::write(s, req);
    return read_reply(s, method == http::verb::head);
  }
  reply get(const std::string& target) { return request(http::verb::get, target); }
  reply post(const std::string& target, const std::string& body = {}, const char* bearer = token) {
    std::vector<std::pair<std::string, std::string>> h;
    if (bearer) h.emplace_back("Authorization", std::string("Bearer ") + bearer);
    return request(http::verb::post, target, body, h);
  }

  static reply read_reply(tcp::socket& s, bool head = false) {
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (head) parser.skip(true);
    http::read(s, buffer, parser);
    reply r;
    r.status = parser.get().result_int();
    r.body = parser.get().body();
    for (const auto& f : parser.get()) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    return r;
  }
};

// The same fixture on each backend: what reads or changes the database.
class StatusServerOnBoth : public StatusServerTest, public testing::WithParamInterface<test::backend> {
 protected:
  void SetUp() override {
    StatusServerTest::SetUp();
    if (GetParam() != test::backend::postgres) return;
    pg = std::make_unique<test::pg_test_db>();
    VIDQ_REQUIRE_PG(*pg);
    use_postgres();
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, StatusServerOnBoth, test::both_backends(), test::backend_name);

// PostgreSQL only: what depends on the handlers waiting for the database.
class StatusServerOnPostgres : public StatusServerTest {
 protected:
  void SetUp() override {
    StatusServerTest::SetUp();
    pg = std::make_unique<test::pg_test_db>();
    VIDQ_REQUIRE_PG(*pg);
    use_postgres();
  }
};

// The loop is never blocked on PostgreSQL: while one request waits for a lock another
// client holds, the same server thread answers the next requests.
TEST_F(StatusServerOnPostgres, ARequestWaitingForTheDatabaseHoldsUpNoOther) {
  const auto id = add_job("alpha", "queued");
  start();
  ASSERT_EQ(get("/healthz").status, 200u);                      // the pool has a connection already
  pg->exec("BEGIN; LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE");  // held until COMMIT
  auto waiting = std::async(std::launch::async, [&] { return get("/api/jobs/" + std::to_string(id)); });
  // Until the server's query waits on the lock (pg_locks is read live, not per snapshot).
  bool blocked = false;
  for (int i = 0; i < 500 && !blocked; ++i) {
    blocked = pg->scalar("SELECT count(*) FROM pg_locks WHERE NOT granted") > 0;
    if (!blocked) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(blocked);
  EXPECT_EQ(get("/healthz").status, 200u);
  EXPECT_EQ(get("/api/accounts").status, 200u);
  EXPECT_EQ(waiting.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  pg->exec("COMMIT");
  const auto got = waiting.get();
  EXPECT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(got.json().at("job").at("id").as_int64(), id);
}

// An unreachable database is 503 with Retry-After, never a hang or a 500 with internals.
TEST_F(StatusServerOnPostgres, AnUnreachableDatabaseIs503) {
  pool = std::make_unique<store::pg::pool>(
      ioc.get_executor(),
      store::pg::pool_options{.conninfo = "postgresql://vidq:secret-pw@127.0.0.1:1/none", .connect_timeout_ms = 2'000});
  store = std::make_unique<store::pg::postgres_status_store>(*pool, t.clock);
  start();
  auto jobs = get("/api/jobs");
  EXPECT_EQ(jobs.status, 503u) << jobs.body;
  EXPECT_EQ(jobs.headers["retry-after"], "1");
  EXPECT_EQ(jobs.body.find("secret-pw"), std::string::npos);
  auto health = get("/healthz");
  EXPECT_EQ(health.status, 503u);
  EXPECT_EQ(health.json().at("reason"), "the database does not answer");
}

TEST_P(StatusServerOnBoth, HealthzIsOkWhileTheLoopTicksAnd503WhenStale) {
  start();
  auto ok = get("/healthz");
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.json().at("status"), "ok");
  EXPECT_EQ(ok.headers["content-type"], "application/json");
  t.clock.advance(31'000);
  auto stale = get("/healthz");
  EXPECT_EQ(stale.status, 503u);
  EXPECT_EQ(stale.json().at("status"), "unavailable");
  EXPECT_NE(std::string(stale.json().at("reason").as_string()).find("31 s"), std::string::npos);
}

// Issue 11: an operator's lock or a full disk is "degraded" (200: nothing to restart), a
// lost database file is 503; /api/accounts and /metrics say the same.
TEST_F(StatusServerTest, HealthzIsDegradedForALockOrAFullDiskAndUnavailableForALostDatabase) {
  start();
  control.view.db_locked_since = t.clock.now() - 1'500;
  auto locked = get("/healthz");
  EXPECT_EQ(locked.status, 200u);
  EXPECT_EQ(locked.json().at("status"), "degraded");
  EXPECT_EQ(locked.json().at("db_locked_ms").to_number<std::int64_t>(), 1'500);
  control.view.db_locked_since.reset();
  control.view.disk.downloads_paused = true;
  control.view.disk.reason = "downloads paused: disk_full: No space left on device";
  control.view.disk.free_bytes = 4096;
  auto full = get("/healthz");
  EXPECT_EQ(full.status, 200u);
  EXPECT_EQ(full.json().at("status"), "degraded");
  EXPECT_NE(std::string(full.json().at("reason").as_string()).find("No space left"), std::string::npos);
  auto api = get("/api/accounts");
  EXPECT_EQ(api.json().at("disk").at("downloads_paused"), true);
  EXPECT_EQ(api.json().at("disk").at("free_bytes").to_number<std::int64_t>(), 4096);
  const auto exposition = get("/metrics").body;
  EXPECT_NE(exposition.find("vidq_disk_paused{what=\"downloads\"} 1"), std::string::npos) << exposition;
  EXPECT_NE(exposition.find("vidq_output_free_bytes 4096"), std::string::npos) << exposition;
  control.view.db_lost = "the WAL file /x/vidq.db-wal was deleted while the daemon had it open";
  auto lost = get("/healthz");
  EXPECT_EQ(lost.status, 503u);
  EXPECT_EQ(lost.json().at("status"), "unavailable");
  EXPECT_NE(std::string(lost.json().at("reason").as_string()).find("deleted"), std::string::npos);
}

TEST_F(StatusServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  start();
  EXPECT_EQ(get("/nope").status, 404u);
  EXPECT_EQ(get("/api/jobs/").status, 404u);
  EXPECT_EQ(get("/api").status, 404u);
  auto del = request(http::verb::delete_, "/api/jobs");
  EXPECT_EQ(del.status, 405u);
  EXPECT_EQ(del.headers["allow"], "GET, HEAD, POST");
  auto post_health = request(http::verb::post, "/healthz");
  EXPECT_EQ(post_health.status, 405u);
  EXPECT_EQ(post_health.headers["allow"], "GET, HEAD");
  auto get_cancel = get("/api/jobs/1/cancel");
  EXPECT_EQ(get_cancel.status, 405u);
  EXPECT_EQ(get_cancel.headers["allow"], "POST");
  EXPECT_EQ(request(http::verb::put, "/app.js").status, 405u);
}

TEST_F(StatusServerTest, ServesTheEmbeddedDashboard) {
  start();
  auto page = get("/");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(page.headers["content-security-policy"].find("default-src 'self'"), std::string::npos);
  EXPECT_NE(page.body.find("/app.js"), std::string::npos);
  EXPECT_EQ(page.body.find("http"), std::string::npos) << "no external resources";
  auto js = get("/app.js");
  EXPECT_EQ(js.status, 200u);
  EXPECT_EQ(js.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/app.css").status, 200u);
  auto head = request(http::verb::head, "/app.css");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_NE(head.headers["content-length"], "0");
}

TEST_P(StatusServerOnBoth, ListsJobsBatchesAndOneJobWithItsEvents) {
  const auto a1 = add_job("alpha", "succeeded", 1000, 1000);
  add_job("alpha", "queued");
  add_job("beta", "failed", 2000);
  start();
  auto all = get("/api/jobs");
  ASSERT_EQ(all.status, 200u);
  EXPECT_EQ(all.json().at("jobs").as_array().size(), 3u);
  auto failed = get("/api/jobs?state=failed&limit=10");
  ASSERT_EQ(failed.json().at("jobs").as_array().size(), 1u);
  EXPECT_EQ(failed.json().at("jobs").at(0).at("batch"), "beta");
  EXPECT_EQ(get("/api/jobs?batch=alpha").json().at("jobs").as_array().size(), 2u);
  EXPECT_EQ(get("/api/jobs?limit=0").status, 400u);
  EXPECT_EQ(get("/api/jobs?limit=1001").status, 400u);
  EXPECT_EQ(get("/api/jobs?state=bogus").status, 400u);

  auto one = get("/api/jobs/" + std::to_string(a1));
  ASSERT_EQ(one.status, 200u);
  const auto j = one.json();
  EXPECT_EQ(j.at("job").at("state"), "succeeded");
  EXPECT_EQ(std::string(j.at("job").at("files").at("video").as_string()),
            "/files/jobs/" + std::to_string(a1) + "/video");
  EXPECT_EQ(j.at("events").as_array().size(), 1u);  // queued → succeeded, by the trigger
  EXPECT_EQ(get("/api/jobs/999").status, 404u);
  EXPECT_EQ(get("/api/jobs/abc").status, 404u);

  auto batches = get("/api/batches").json();
  ASSERT_EQ(batches.at("batches").as_array().size(), 2u);
  const auto& alpha = batches.at("batches").at(0);
  EXPECT_EQ(alpha.at("batch"), "alpha");
  EXPECT_EQ(alpha.at("total"), 2);
  EXPECT_EQ(alpha.at("succeeded"), 1);
  EXPECT_EQ(alpha.at("queued"), 1);
  EXPECT_EQ(alpha.at("pct_done"), 50.0);
  EXPECT_EQ(alpha.at("spent_cny"), 1.0);
  EXPECT_EQ(batches.at("totals").at("failed"), 1);

  auto accounts = get("/api/accounts").json();
  EXPECT_EQ(accounts.at("lanes").at(0).at("in_flight"), 2);
  EXPECT_EQ(accounts.at("lanes").at(0).at("effective_cap"), 4);
  EXPECT_EQ(accounts.at("accounts").at(0).at("name"), "default");
}

TEST_P(StatusServerOnBoth, TimelineFailuresAndGalleryComeFromIndexedRanges) {
  add_job("alpha", "succeeded", 30'000);
  add_job("alpha", "succeeded", 90'000);
  add_job("alpha", "failed", 90'000);
  add_job("alpha", "succeeded", 2 * 3'600'000);  // outside the hour
  start();
  auto tl = get("/api/timeline?minutes=60").json();
  const auto& buckets = tl.at("buckets").as_array();
  ASSERT_EQ(buckets.size(), 60u);
  std::int64_t ok = 0;
  std::int64_t bad = 0;
  for (const auto& b : buckets) {
    ok += b.at("succeeded").as_int64();
    bad += b.at("failed").as_int64();
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(bad, 1);
  EXPECT_EQ(get("/api/timeline?minutes=0").status, 400u);

  auto failures = get("/api/failures").json().at("failures");
  ASSERT_EQ(failures.as_array().size(), 1u);
  EXPECT_EQ(failures.at(0).at("error_code"), "1301");

  auto gallery = get("/api/gallery?batch=alpha").json().at("items");
  ASSERT_EQ(gallery.as_array().size(), 3u);
  EXPECT_NE(gallery.at(0).at("cover"), nullptr);
  EXPECT_EQ(get("/api/gallery").json().at("items").as_array().size(), 3u);
  EXPECT_EQ(get("/api/gallery?batch=nothing").json().at("items").as_array().size(), 0u);
}

TEST_P(StatusServerOnBoth, MutationsNeedTheBearerToken) {
  const auto id = add_job("alpha", "queued");
  start();
  const auto path = "/api/jobs/" + std::to_string(id) + "/cancel";
  auto none = post(path, {}, nullptr);
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.headers["www-authenticate"], "Bearer realm=\"vidq\"");
  EXPECT_EQ(post(path, {}, "test-token-0123456789abcdeX").status, 401u);
  EXPECT_EQ(post(path, {}, "short").status, 401u);
  EXPECT_EQ(request(http::verb::post, path, {}, {{"Authorization", std::string("Basic ") + token}}).status, 401u);
  EXPECT_EQ(control.wakes, 0);
  EXPECT_EQ(get("/api/jobs/" + std::to_string(id)).json().at("job").at("state"), "queued");

  auto ok = post(path);
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(ok.json().at("state"), "cancelled");
  EXPECT_EQ(on_io([this] { return control.wakes; }), 1);
  EXPECT_EQ(post(path).status, 409u);  // already cancelled
  auto retried = post("/api/jobs/" + std::to_string(id) + "/retry");
  EXPECT_EQ(retried.status, 200u);
  EXPECT_EQ(retried.json().at("state"), "queued");
  EXPECT_EQ(post("/api/jobs/" + std::to_string(id) + "/retry").status, 409u);
  EXPECT_EQ(post("/api/jobs/4242/cancel").status, 404u);
  EXPECT_EQ(on_io([this] { return control.wakes; }), 2);
}

TEST_F(StatusServerTest, WithoutATokenMutationsAreForbidden) {
  start(false);
  auto r = post("/api/accounts/default/pause");
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(r.json().at("error"), "read_only");
  EXPECT_EQ(get("/api/batches").status, 200u);
}

TEST_P(StatusServerOnBoth, CreatesJobsWithImportValidationAndIdempotentKeys) {
  start();
  const std::string body =
      R"({"model":"cogvideox-3","prompt":"a red sneaker","key":"k-1","batch":"api","size":"1920x1080"})";
  auto created = post("/api/jobs", body);
  ASSERT_EQ(created.status, 201u) << created.body;
  const auto id = created.json().at("id").as_int64();
  EXPECT_EQ(created.headers["location"], "/api/jobs/" + std::to_string(id));
  auto again = post("/api/jobs", body);
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(again.json().at("outcome"), "duplicate_key");
  EXPECT_EQ(again.json().at("id").as_int64(), id);
  EXPECT_EQ(on_io([this] { return control.wakes; }), 1);

  auto bad_size = post("/api/jobs", R"({"model":"cogvideox-3","prompt":"x","size":"7x7"})");
  EXPECT_EQ(bad_size.status, 400u);
  EXPECT_EQ(bad_size.json().at("field"), "size");
  auto bad_model = post("/api/jobs", R"({"model":"no-such-model","prompt":"x"})");
  EXPECT_EQ(bad_model.status, 400u);
  EXPECT_EQ(bad_model.json().at("field"), "model");
  auto nul_prompt = post("/api/jobs", R"({"model":"cogvideox-3","prompt":"\u0000"})");  // issue 12 #8
  EXPECT_EQ(nul_prompt.status, 400u) << nul_prompt.body;
  EXPECT_EQ(nul_prompt.json().at("field"), "prompt");
  auto bad_account = post("/api/jobs", R"({"model":"cogvideox-3","prompt":"x","account":"ghost"})");
  EXPECT_EQ(bad_account.status, 400u);
  EXPECT_EQ(bad_account.json().at("field"), "account");
  EXPECT_EQ(post("/api/jobs", "not json").status, 400u);
  EXPECT_EQ(post("/api/jobs", "[1,2]").status, 400u);
  EXPECT_EQ(on_io([this] { return scalar("SELECT count(*) FROM jobs"); }), 1);
}

TEST_F(StatusServerTest, PausesAndResumesAccountsThroughTheControl) {
  start();
  auto paused = post("/api/accounts/default/pause", R"({"reason":"maintenance"})");
  ASSERT_EQ(paused.status, 200u) << paused.body;
  EXPECT_TRUE(on_io([this] { return control.view.accounts[0].paused; }));
  EXPECT_EQ(on_io([this] { return control.view.accounts[0].reason; }), "maintenance");
  EXPECT_EQ(get("/api/accounts").json().at("accounts").at(0).at("paused"), true);
  EXPECT_EQ(post("/api/accounts/default/resume").status, 200u);
  EXPECT_FALSE(on_io([this] { return control.view.accounts[0].paused; }));
  EXPECT_EQ(post("/api/accounts/ghost/pause").status, 404u);
  EXPECT_EQ(post("/api/accounts/default/pause", "{\"reason\": 5}").status, 400u);
}

TEST_F(StatusServerTest, BodiesOverOneMebibyteAre413) {
  start();
  asio::io_context cioc;
  tcp::socket s(cioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  // Headers only: the server must answer from Content-Length without reading 2 MiB.
  const std::string head = "POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + std::string(token) +
                           "\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n";
  asio::write(s, asio::buffer(head));
  EXPECT_EQ(read_reply(s).status, 413u);

  // A chunked body has no length up front: the parser's limit catches it.
  tcp::socket c(cioc);
  c.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string chunk(512 * 1024, 'x');
  std::string req = "POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += "80000\r\n" + chunk + "\r\n";
  req += "0\r\n\r\n";
  asio::write(c, asio::buffer(req));
  EXPECT_EQ(read_reply(c).status, 413u);
}

TEST_F(StatusServerTest, ServesOutputFilesWithRangesAndRefusesEscapes) {
  std::string video(100'000, '\0');
  for (std::size_t i = 0; i < video.size(); ++i) video[i] = static_cast<char>(i * 7);
  test::write_file(std::filesystem::path(cfg.output_dir) / "alpha" / "12.mp4", video);
  test::write_file(std::filesystem::path(cfg.output_dir) / "alpha" / "12.png", "png-bytes");
  test::write_file(t.dir.path() / "outside" / "13.mp4", "secret");
  std::filesystem::create_symlink(t.dir.path() / "outside" / "13.mp4",
                                  std::filesystem::path(cfg.output_dir) / "alpha" / "13.mp4");
  std::filesystem::create_directory_symlink(t.dir.path() / "outside", std::filesystem::path(cfg.output_dir) / "evil");
  start();

  auto whole = get("/files/alpha/12.mp4");
  ASSERT_EQ(whole.status, 200u);
  EXPECT_EQ(whole.body, video);
  EXPECT_EQ(whole.headers["content-type"], "video/mp4");
  EXPECT_EQ(whole.headers["accept-ranges"], "bytes");
  EXPECT_EQ(get("/files/alpha/12.png").headers["content-type"], "image/png");

  auto part = request(http::verb::get, "/files/alpha/12.mp4", {}, {{"Range", "bytes=70000-"}});
  ASSERT_EQ(part.status, 206u);
  EXPECT_EQ(part.headers["content-range"], "bytes 70000-99999/100000");
  EXPECT_EQ(part.body, video.substr(70000));
  auto suffix = request(http::verb::get, "/files/alpha/12.mp4", {}, {{"Range", "bytes=-10"}});
  EXPECT_EQ(suffix.status, 206u);
  EXPECT_EQ(suffix.body, video.substr(99990));
  auto beyond = request(http::verb::get, "/files/alpha/12.mp4", {}, {{"Range", "bytes=200000-"}});
  EXPECT_EQ(beyond.status, 416u);
  EXPECT_EQ(beyond.headers["content-range"], "bytes */100000");
  auto head = request(http::verb::head, "/files/alpha/12.mp4");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.headers["content-length"], "100000");

  for (const char* bad :
       {"/files/../x", "/files/alpha/../../etc/passwd", "/files/%2e%2e/12.mp4", "/files/alpha/..%2F..%2Fvidq.db",
        "/files//etc/passwd", "/files/alpha/12.txt", "/files/alpha/012.mp4", "/files/.hidden/12.mp4",
        "/files/alpha/x12.mp4", "/files/alpha/99.mp4", "/files/%2Fetc/12.mp4", "/files/alpha/12.mp4/x"}) {
    EXPECT_EQ(get(bad).status, 404u) << bad;
  }
  EXPECT_EQ(get("/files/alpha/13.mp4").status, 403u) << "symlinked file leading out";
  EXPECT_EQ(get("/files/evil/13.mp4").status, 403u) << "symlinked folder leading out";
}

TEST_P(StatusServerOnBoth, FiltersJobsByKeyAndShowsKeysInFailuresAndGallery) {
  const auto ok = insert(test::make_job("cogvideox-3", "春季 促销", "SKU-0001"));
  const auto bad = insert(test::make_job("cogvideox-3", "春季 促销", "SKU-0002"));
  sql("UPDATE jobs SET state = 'succeeded', finished_at = 1, video_path = 'x.mp4' WHERE id = " + std::to_string(ok));
  sql("UPDATE jobs SET state = 'failed', finished_at = 2, error_code = '1301' WHERE id = " + std::to_string(bad));
  start();
  auto by_key = get("/api/jobs?key=SKU-0002").json().at("jobs");
  ASSERT_EQ(by_key.as_array().size(), 1u);
  EXPECT_EQ(by_key.at(0).at("id"), bad);
  EXPECT_EQ(get("/api/jobs?key=SKU-0002&state=succeeded").json().at("jobs").as_array().size(), 0u);
  EXPECT_EQ(get("/api/jobs?key=nope").json().at("jobs").as_array().size(), 0u);
  EXPECT_EQ(get("/api/jobs?batch=%E6%98%A5%E5%AD%A3%20%E4%BF%83%E9%94%80&state=failed").json().at("jobs").as_array().size(),
            1u);
  EXPECT_EQ(get("/api/failures").json().at("failures").at(0).at("key"), "SKU-0002");
  const auto gallery = get("/api/gallery").json().at("items");
  ASSERT_EQ(gallery.as_array().size(), 1u);
  EXPECT_EQ(gallery.at(0).at("key"), "SKU-0001");
  EXPECT_EQ(std::string(gallery.at(0).at("video").as_string()), "/files/jobs/" + std::to_string(ok) + "/video");
}

TEST_P(StatusServerOnBoth, ServesAJobsFilesFromThePathsRecordedInTheDatabase) {
  const auto folder = std::filesystem::path(cfg.output_dir) / "春季 促销";
  test::write_file(folder / "SKU-0001.mp4", "video-bytes");
  test::write_file(folder / "SKU-0001.jpg", "\xFF\xD8\xFFjpeg");
  test::write_file(t.dir.path() / "outside.mp4", "secret");
  const auto id = insert(test::make_job("cogvideox-3", "春季 促销", "SKU-0001"));
  const auto escaping = insert(test::make_job());
  const auto downloading = insert(test::make_job());
  sql("UPDATE jobs SET state = 'succeeded', video_path = '" + (folder / "SKU-0001.mp4").string() + "', cover_path = '" +
      (folder / "SKU-0001.jpg").string() + "' WHERE id = " + std::to_string(id));
  sql("UPDATE jobs SET state = 'succeeded', video_path = '" + (t.dir.path() / "outside.mp4").string() +
      "' WHERE id = " + std::to_string(escaping));
  sql("UPDATE jobs SET state = 'downloading', video_path = '" + (folder / "SKU-0001.mp4").string() +
      "' WHERE id = " + std::to_string(downloading));
  start();
  auto video = get("/files/jobs/" + std::to_string(id) + "/video");
  ASSERT_EQ(video.status, 200u);
  EXPECT_EQ(video.body, "video-bytes");
  EXPECT_EQ(video.headers["content-type"], "video/mp4");
  auto cover = get("/files/jobs/" + std::to_string(id) + "/cover");
  EXPECT_EQ(cover.status, 200u);
  EXPECT_EQ(cover.headers["content-type"], "image/jpeg");
  EXPECT_EQ(get("/files/jobs/" + std::to_string(escaping) + "/video").status, 403u);
  EXPECT_EQ(get("/files/jobs/" + std::to_string(downloading) + "/video").status, 404u) << "not finished";
  for (const std::string& bad :
       std::vector<std::string>{"/files/jobs/999/video", "/files/jobs/abc/video", "/files/jobs/1/other",
                                "/files/jobs/-1/video", "/files/jobs/" + std::to_string(escaping) + "/cover"}) {
    EXPECT_EQ(get(bad).status, 404u) << bad;
  }
}

TEST_P(StatusServerOnBoth, ServesABatchManifestAsCsvOrJsonl) {
  for (const char* key : {"SKU-1", "SKU-2"}) insert(test::make_job("cogvideox-3", "春季 促销", key));
  insert(test::make_job("cogvideox-3", "other", "O-1"));
  start();
  const std::string path = "/api/batches/%E6%98%A5%E5%AD%A3%20%E4%BF%83%E9%94%80/manifest";
  auto csv = get(path + "?format=csv");
  ASSERT_EQ(csv.status, 200u) << csv.body;
  EXPECT_EQ(csv.headers["content-type"], "text/csv; charset=utf-8");
  EXPECT_NE(csv.headers["content-disposition"].find("filename*=UTF-8''%E6%98%A5"), std::string::npos);
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 3);  // header + 2 rows
  EXPECT_NE(csv.body.find("SKU-2"), std::string::npos);
  EXPECT_EQ(csv.body.find("O-1"), std::string::npos);
  auto jsonl = get(path + "?format=jsonl");
  EXPECT_EQ(jsonl.status, 200u);
  EXPECT_EQ(std::count(jsonl.body.begin(), jsonl.body.end(), '\n'), 2);
  EXPECT_EQ(get(path + "?format=xml").status, 400u);
  EXPECT_EQ(get("/api/batches/nothing/manifest").status, 404u);
  EXPECT_EQ(get(path + "?bom=1").body.substr(0, 3), "\xEF\xBB\xBF");
}

TEST_F(StatusServerTest, KeepsConnectionsAliveAndChecksTheHost) {
  start();
  asio::io_context cioc;
  tcp::socket s(cioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  for (int i = 0; i < 3; ++i) {
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "localhost:" + std::to_string(port));
    http::write(s, req);
    EXPECT_EQ(read_reply(s).status, 200u) << "request " << i << " on one connection";
  }
  auto rebound = request(http::verb::get, "/api/batches", {}, {{"Host", "attacker.example:8788"}});
  EXPECT_EQ(rebound.status, 421u);
}

TEST_P(StatusServerOnBoth, ServesMetricsThatPromtoolAccepts) {
  add_job("alpha", "succeeded", 1000, 2500);
  add_job("alpha", "queued");
  control.view.lanes.push_back({"we\"ird\\acct", "vidu2-image", 1, 3, 3});
  control.view.accounts.push_back({"we\"ird\\acct", "geekai", true, "1113", std::nullopt});
  ops::metrics::bump(metrics.submits, "accepted", 3);
  ops::metrics::bump(metrics.provider_errors, "1302");
  metrics.job_duration.observe(42);
  metrics.job_duration.observe(7000);
  metrics.loop_ticks = 17;
  metrics.loop_tick.record(0.05);
  metrics.loop_tick.record(3);
  metrics.loop_tick.record(4000);
  ops::metrics::bump(metrics.notices, "gave_up");
  sql("INSERT INTO notices(event, fanned_out) VALUES ('budget_blocked', 1);"
      "INSERT INTO notice_deliveries(notice_id, target, next_attempt_at, gave_up_at) "
      "VALUES ((SELECT max(id) FROM notices), 'h', 0, 1);"
      "INSERT INTO notices(event, fanned_out) VALUES ('budget_blocked', 1);"
      "INSERT INTO notice_deliveries(notice_id, target, next_attempt_at) VALUES ((SELECT max(id) FROM notices), 'h', "
      "0);");
  start();
  auto m = get("/metrics");
  ASSERT_EQ(m.status, 200u);
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  const auto& b = m.body;
  EXPECT_NE(b.find("vidq_jobs{state=\"queued\"} 1\n"), std::string::npos) << b;
  EXPECT_NE(b.find("vidq_jobs{state=\"succeeded\"} 1\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_spend_total_cny 2.5\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_spend_today_cny 2.5\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_lane_in_flight{account=\"we\\\"ird\\\\acct\",model=\"vidu2-image\"} 1\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_account_paused{account=\"we\\\"ird\\\\acct\"} 1\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_submits_total{outcome=\"accepted\"} 3\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_job_duration_seconds_bucket{le=\"60\"} 1\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_job_duration_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_job_duration_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_loop_ticks_total 17\n"), std::string::npos);
  EXPECT_NE(b.find("# TYPE vidq_loop_tick_seconds histogram\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_loop_tick_seconds_bucket{le=\"0.0001\"} 1\n"), std::string::npos) << b;
  EXPECT_NE(b.find("vidq_loop_tick_seconds_bucket{le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_loop_tick_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_loop_tick_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_loop_tick_seconds_sum 4.00305\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_loop_tick_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_notice_attempts_total{outcome=\"gave_up\"} 1\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_notice_deliveries_failed 1\n"), std::string::npos);
  EXPECT_NE(b.find("vidq_notice_deliveries_pending 1\n"), std::string::npos);

  if (test::run_command("command -v promtool").exit_code != 0)
    GTEST_SKIP() << "promtool not installed (scripts/install-deps installs it)";
  test::temp_dir dir;
  test::write_file(dir.path() / "metrics.txt", b);
  const auto check = test::run_command("promtool check metrics < " + dir.file("metrics.txt"));
  EXPECT_EQ(check.exit_code, 0) << check.out << "\n" << b;
}

TEST(StatusPure, RangeParsingAndFileNames) {
  using status::parse_range;
  using status::range_status;
  EXPECT_EQ(parse_range("", 10).status, range_status::whole);
  EXPECT_EQ(parse_range("bytes=0-4,6-7", 10).status, range_status::whole);
  EXPECT_EQ(parse_range("bytes=5-2", 10).status, range_status::whole);
  EXPECT_EQ(parse_range("bytes=2-100", 10).range.last, 9u);
  EXPECT_EQ(parse_range("bytes=-100", 10).range.first, 0u);
  EXPECT_EQ(parse_range("bytes=10-", 10).status, range_status::unsatisfiable);
  EXPECT_TRUE(status::parse_file_ref("spring-sale", "42.mp4"));
  EXPECT_FALSE(status::parse_file_ref("..", "42.mp4"));
  EXPECT_FALSE(status::parse_file_ref("a/b", "42.mp4"));
  EXPECT_FALSE(status::parse_file_ref("a", "42.mp4.part"));
  EXPECT_TRUE(status::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(status::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(status::constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(status::constant_time_equal("", "a"));
}

// The status of handlers::handle's reply, run to completion on an io_context of its own
// (the SQLite store never suspends).
unsigned answer(status::handlers& h, status::http_request_view req) {
  asio::io_context local;
  unsigned status = 0;
  asio::co_spawn(
      local, [&]() -> asio::awaitable<void> { status = (co_await h.handle(req)).status; }, asio::detached);
  local.run();
  return status;
}

// Issue 12 #1: off loopback the Host check stays on and reads need the token.
TEST_F(StatusServerTest, OffLoopbackTheHostIsCheckedAndReadsNeedTheToken) {
  cfg.status.allowed_hosts = {"VIDQ.lan"};
  status::status_server_deps deps{*store, cfg, control, metrics, t.clock, ops::secret(token)};
  status::handlers h(deps, status::make_access_policy(asio::ip::make_address("0.0.0.0"), cfg.status));
  const std::string bearer = std::string("Bearer ") + token;
  auto ask = [&](std::string_view target, std::string_view host, std::string_view auth = {}) {
    return answer(h, {http::verb::get, target, host, auth, {}, {}});
  };
  EXPECT_EQ(ask("/api/batches", "attacker.example:8788", bearer), 421u) << "a rebinding name, even with the token";
  EXPECT_EQ(ask("/api/batches", "vidq.lan:8788"), 401u);
  EXPECT_EQ(ask("/files/a/1.mp4", "vidq.lan"), 401u);
  EXPECT_EQ(ask("/", "vidq.lan"), 401u);
  EXPECT_EQ(ask("/metrics", "127.0.0.1:8788"), 401u);
  EXPECT_EQ(ask("/api/batches", "vidq.lan:8788", bearer), 200u);
  EXPECT_EQ(ask("/api/batches", "[::1]:8788", bearer), 200u);
  EXPECT_EQ(ask("/healthz", "vidq.lan"), 200u) << "the container's HEALTHCHECK has no token";

  // Bound to a named address, that address is a valid Host.
  status::handlers on_lan(deps, status::make_access_policy(asio::ip::make_address("192.0.2.7"), cfg.status));
  EXPECT_EQ(answer(on_lan, {http::verb::get, "/api/batches", "192.0.2.7:8788", bearer, {}, {}}), 200u);

  // public_read opens the reads, never the writes.
  cfg.status.public_read = true;
  status::handlers open_reads(deps, status::make_access_policy(asio::ip::make_address("0.0.0.0"), cfg.status));
  EXPECT_EQ(answer(open_reads, {http::verb::get, "/api/batches", "vidq.lan", {}, {}, {}}), 200u);
  EXPECT_EQ(answer(open_reads, {http::verb::post, "/api/jobs/1/cancel", "vidq.lan", {}, {}, {}}), 401u);
  EXPECT_EQ(answer(open_reads, {http::verb::get, "/api/batches", "evil.example", {}, {}, {}}), 421u);

  // Off loopback without a token, only /healthz answers.
  cfg.status.public_read = false;
  status::status_server_deps no_token{*store, cfg, control, metrics, t.clock, std::nullopt};
  status::handlers closed(no_token, status::make_access_policy(asio::ip::make_address("::"), cfg.status));
  EXPECT_EQ(answer(closed, {http::verb::get, "/api/batches", "vidq.lan", {}, {}, {}}), 403u);
  EXPECT_EQ(answer(closed, {http::verb::get, "/healthz", "vidq.lan", {}, {}, {}}), 200u);
}

TEST(StatusAccess, V4MappedLoopbackIsLoopback) {
  EXPECT_TRUE(status::is_loopback(asio::ip::make_address("::ffff:127.0.0.1")));
  EXPECT_TRUE(status::is_loopback(asio::ip::make_address("127.3.4.5")));
  EXPECT_TRUE(status::is_loopback(asio::ip::make_address("::1")));
  EXPECT_FALSE(status::is_loopback(asio::ip::make_address("::ffff:192.0.2.1")));
  EXPECT_FALSE(status::is_loopback(asio::ip::make_address("0.0.0.0")));
  const ops::status_config cfg;
  EXPECT_FALSE(status::make_access_policy(asio::ip::make_address("::ffff:127.0.0.1"), cfg).token_for_reads);
  EXPECT_TRUE(status::make_access_policy(asio::ip::make_address("::ffff:192.0.2.1"), cfg).token_for_reads);
  const status::access_policy none;
  EXPECT_TRUE(status::host_allowed("[::ffff:127.0.0.1]:8788", none));
  EXPECT_TRUE(status::host_allowed("LOCALHOST:1", none));
  EXPECT_TRUE(status::host_allowed("127.0.0.1", none));
  EXPECT_FALSE(status::host_allowed("127.0.0.1.evil.example", none));
  EXPECT_FALSE(status::host_allowed("[::1", none));
  EXPECT_FALSE(status::host_allowed("::1", none)) << "a bare v6 address is not a valid Host";
}

// Whether the server closed `s` within `wait_ms` (well under the 60 s idle timeout, which
// would close it anyway): poll + recv on the descriptor, as Asio's blocking read has no timeout.
bool closed_by_server(tcp::socket& s, int wait_ms = 5000) {
  pollfd p{s.native_handle(), POLLIN, 0};
  if (::poll(&p, 1, wait_ms) != 1) return false;
  char byte = 0;
  return ::recv(s.native_handle(), &byte, 1, MSG_DONTWAIT) == 0;
}

// Issue 12 #2: 64 kept-alive connections must not lock /healthz out.
TEST_F(StatusServerTest, HealthzAnswersWhenEveryConnectionSlotIsKeptAlive) {
  start();
  asio::io_context cioc;
  std::vector<std::unique_ptr<tcp::socket>> held;
  auto keep_alive_get = [&](tcp::socket& s) {
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    return read_reply(s).status;
  };
  for (int i = 0; i < 80; ++i) {
    auto s = std::make_unique<tcp::socket>(cioc);
    // Two peers (all of 127/8 is loopback): neither may lock the other out.
    s->open(tcp::v4());
    s->bind({asio::ip::make_address(i % 2 ? "127.0.0.1" : "127.0.0.2"), 0});
    s->connect({asio::ip::make_address("127.0.0.1"), port});
    ASSERT_EQ(keep_alive_get(*s), 200u) << "connection " << i;
    held.push_back(std::move(s));
  }
  EXPECT_EQ(get("/healthz").status, 200u);
  // The first connection was the oldest idle one: the server closed it to make room.
  EXPECT_TRUE(closed_by_server(*held.front())) << "the oldest idle connection made room";
  // The newest still works.
  EXPECT_EQ(keep_alive_get(*held.back()), 200u);
}

TEST_F(StatusServerTest, OnePeerCannotHoldMoreThanItsShareOfConnections) {
  start();
  asio::io_context cioc;
  std::vector<std::unique_ptr<tcp::socket>> held;
  for (int i = 0; i < 33; ++i) {  // the per-peer limit is 32
    auto s = std::make_unique<tcp::socket>(cioc);
    s->open(tcp::v4());
    s->bind({asio::ip::make_address("127.0.0.3"), 0});
    s->connect({asio::ip::make_address("127.0.0.1"), port});
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(*s, req);
    ASSERT_EQ(read_reply(*s).status, 200u);
    held.push_back(std::move(s));
  }
  EXPECT_TRUE(closed_by_server(*held.front())) << "33 of one peer: its own oldest idle connection went";
  EXPECT_FALSE(closed_by_server(*held[1], 0)) << "the second oldest stays";
}

TEST(ConnectionLimits, EvictsTheOldestIdleOfThePeerThenOfAnyoneElseRefuses) {
  const status::connection_limits limits{4, 2};
  using view = status::connection_view;
  // Under both limits: accept.
  auto d = status::admit_connection({{1, "a", true, 5}}, "a", limits);
  EXPECT_TRUE(d.accept);
  EXPECT_FALSE(d.evict);
  // Peer at its limit: its own oldest idle goes, not b's older one.
  d = status::admit_connection({{1, "b", true, 1}, {2, "a", true, 9}, {3, "a", true, 4}}, "a", limits);
  EXPECT_TRUE(d.accept);
  EXPECT_EQ(d.evict, 3u);
  // Peer at its limit with both busy: refused.
  d = status::admit_connection({{1, "b", true, 1}, {2, "a", false, 0}, {3, "a", false, 0}}, "a", limits);
  EXPECT_FALSE(d.accept);
  // Total limit: the oldest idle of anyone.
  std::vector<view> full{{1, "a", false, 0}, {2, "b", true, 7}, {3, "c", true, 3}, {4, "d", false, 0}};
  d = status::admit_connection(full, "e", limits);
  EXPECT_TRUE(d.accept);
  EXPECT_EQ(d.evict, 3u);
  for (auto& c : full) c.idle = false;
  EXPECT_FALSE(status::admit_connection(full, "e", limits).accept);
}

TEST_F(StatusServerTest, HeadersOver16KiBAre431) {
  start();
  asio::io_context cioc;
  tcp::socket s(cioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(20 * 1024, 'a') +
                          "\r\n\r\n";
  asio::write(s, asio::buffer(req));
  EXPECT_EQ(read_reply(s).status, 431u);
}

TEST(StatusToken, NoneConfiguredIsReadOnlyAndShortTokensAreRefused) {
  std::string why;
  auto none = status::load_status_token({}, why);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  test::temp_dir dir;
  test::write_file(dir.path() / "token", "short\n");
  ops::status_config cfg;
  cfg.token_file = dir.file("token");
  EXPECT_FALSE(status::load_status_token(cfg, why));
  EXPECT_EQ(why.find("short"), std::string::npos) << "never echo the value";
  test::write_file(dir.path() / "token", "a-long-enough-token-value\n");
  auto ok = status::load_status_token(cfg, why);
  ASSERT_TRUE(ok && ok->has_value());
  EXPECT_EQ((*ok)->expose(), "a-long-enough-token-value");
  cfg.token_file = dir.file("missing");
  EXPECT_FALSE(status::load_status_token(cfg, why));
}

}  // namespace
}  // namespace vidq
