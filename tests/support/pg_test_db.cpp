#include "support/pg_test_db.hpp"

#include "vidq/store/postgres/migrate.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <random>
#include <string_view>

namespace vidq::test {
namespace {

struct clear_result {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, clear_result>;

bool ok(const PGresult* r) {
  const auto status = PQresultStatus(r);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

// The server's error, or libpq's when there is no result at all (connection lost).
std::string error_of(PGconn* c, const PGresult* r) {
  const char* message = r ? PQresultErrorMessage(r) : "";
  return *message ? message : PQerrorMessage(c);
}

// NOTICEs ("... does not exist, skipping") are not test output.
void ignore_notice(void*, const char*) {}

// A bounded connect, so that a cluster that went away fails the test instead of hanging it.
// Later keywords override what the URL says.
PGconn* connect(const std::string& url, const char* dbname = nullptr) {
  const char* keys[] = {"dbname", "connect_timeout", dbname ? "dbname" : nullptr, nullptr};
  const char* values[] = {url.c_str(), "10", dbname, nullptr};
  PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (c) PQsetNoticeProcessor(c, ignore_notice, nullptr);
  return c;
}

// postgresql://user@host:port/db?options → the same URL naming database `name`.
std::string with_database(const std::string& url, const std::string& name) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url + " dbname=" + name;  // key=value form
  const auto query = url.find('?', scheme + 3);
  const auto path = std::min(url.find('/', scheme + 3), query);
  return url.substr(0, path) + "/" + name + (query == std::string::npos ? "" : url.substr(query));
}

// Unique across the parallel test processes (pid), the instances of one process (counter),
// and a database a killed run left behind under a reused pid (random).
std::string fresh_name() {
  static std::atomic<int> counter{0};
  std::uint32_t random = 0;
  try {
    random = std::random_device{}();
  } catch (...) {
    random = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(&random));
  }
  return "vidq_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(random);
}

}  // namespace

void pg_test_db::close_conn::operator()(pg_conn* c) const {
  PQfinish(c);
}

pg_test_db::pg_test_db() {
  const char* url = std::getenv("VIDQ_TEST_PG_URL");
  if (!url || !*url) {
    const char* ci = std::getenv("CI");
    if (ci && std::string_view(ci) == "true") {
      ADD_FAILURE() << "VIDQ_TEST_PG_URL is not set: scripts/test starts a PostgreSQL cluster "
                       "(scripts/pg-test-cluster) and exports it; CI must run the tests through it";
    }
    return;
  }
  try {
    conn_ptr admin(connect(url));
    if (PQstatus(admin.get()) != CONNECTION_OK) {
      ADD_FAILURE() << "cannot reach the test cluster at VIDQ_TEST_PG_URL=" << url << ": "
                    << PQerrorMessage(admin.get());
      return;
    }
    const std::string name = fresh_name();
    result_ptr created(PQexec(admin.get(), ("CREATE DATABASE " + name).c_str()));
    if (!ok(created.get())) {
      ADD_FAILURE() << "CREATE DATABASE " << name << ": " << error_of(admin.get(), created.get());
      return;
    }
    admin_ = std::move(admin);
    name_ = name;
    conninfo_ = with_database(url, name);
    conn_ptr conn(connect(url, name.c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      ADD_FAILURE() << "cannot connect to the new database " << name << ": " << PQerrorMessage(conn.get());
      return;
    }
    conn_ = std::move(conn);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "pg_test_db: " << e.what();
  }
}

pg_test_db::~pg_test_db() {
  conn_.reset();
  if (!admin_) return;
  result_ptr dropped(PQexec(admin_.get(), ("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str()));
  if (!ok(dropped.get())) ADD_FAILURE() << "DROP DATABASE " << name_ << ": " << error_of(admin_.get(), dropped.get());
}

void pg_test_db::exec(const std::string& sql) {
  run(sql);
}

bool pg_test_db::run(const std::string& sql) {
  if (!conn_) {
    ADD_FAILURE() << "no test database: " << sql;
    return false;
  }
  result_ptr r(PQexec(conn_.get(), sql.c_str()));
  if (ok(r.get())) return true;
  ADD_FAILURE() << error_of(conn_.get(), r.get()) << sql;
  return false;
}

std::string pg_test_db::text(const std::string& sql) {
  if (!conn_) {
    ADD_FAILURE() << "no test database: " << sql;
    return "";
  }
  result_ptr r(PQexec(conn_.get(), sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) < 1 || PQnfields(r.get()) < 1) {
    ADD_FAILURE() << "no row: " << error_of(conn_.get(), r.get()) << sql;
    return "";
  }
  return PQgetvalue(r.get(), 0, 0);  // "" for NULL
}

std::vector<std::vector<std::string>> pg_test_db::rows(const std::string& sql) {
  std::vector<std::vector<std::string>> out;
  if (!conn_) {
    ADD_FAILURE() << "no test database: " << sql;
    return out;
  }
  result_ptr r(PQexec(conn_.get(), sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    ADD_FAILURE() << error_of(conn_.get(), r.get()) << sql;
    return out;
  }
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    auto& row = out.emplace_back();
    for (int j = 0; j < PQnfields(r.get()); ++j) row.emplace_back(PQgetvalue(r.get(), i, j));
  }
  return out;
}

std::int64_t pg_test_db::scalar(const std::string& sql) {
  const std::string value = text(sql);
  if (value.empty()) return 0;
  try {
    return std::stoll(value);
  } catch (const std::exception&) {
    ADD_FAILURE() << "not an integer: '" << value << "' from " << sql;
    return 0;
  }
}

void pg_test_db::migrate() {
  // The store's own runner (store/postgres/migrate), on a loop of its own: one runner to test.
  if (!available()) return;
  boost::asio::io_context ioc;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        auto c = co_await store::pg::connection::open(ioc.get_executor(), conninfo_, 10'000);
        if (!c) {
          ADD_FAILURE() << "migrate: cannot connect";
          co_return;
        }
        auto m = co_await store::pg::migrate(**c);
        if (!m) ADD_FAILURE() << "migrate: " << (*c)->last_failure().message;
      },
      boost::asio::detached);
  ioc.run();
}

}  // namespace vidq::test
