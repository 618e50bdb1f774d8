#pragma once
// A database of its own for each PostgreSQL test, in the throwaway cluster that scripts/test
// starts (scripts/pg-test-cluster; its URL in VIDQ_TEST_PG_URL). Tests run in parallel, one
// process per gtest case, so every instance creates a database with a unique name and drops
// it at destruction. Blocking libpq: tests are not the event loop.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct pg_conn;

namespace vidq::test {

class pg_test_db {
 public:
  // Creates database vidq_t_<pid>_<counter>_<random>. Never throws: without
  // VIDQ_TEST_PG_URL, available() is false (and under CI=true the test fails, since
  // scripts/test starts the cluster there); an unreachable cluster is a test failure.
  pg_test_db();
  // DROP DATABASE ... WITH (FORCE): connections a test left open do not keep it.
  ~pg_test_db();
  pg_test_db(const pg_test_db&) = delete;
  pg_test_db& operator=(const pg_test_db&) = delete;

  bool available() const { return conn_ != nullptr; }
  // URL of the new database, for a second connection (LISTEN) or the code under test.
  const std::string& conninfo() const { return conninfo_; }

  // Runs a script (several statements are one implicit transaction); a failure is a test
  // failure (ADD_FAILURE) carrying the server's message.
  void exec(const std::string& sql);
  // First column of the first row; a failure or no row is a test failure (and 0 / "").
  std::int64_t scalar(const std::string& sql);
  std::string text(const std::string& sql);  // "" for NULL
  // Every row, each column as text ("" for NULL); a failure is a test failure (and no rows).
  std::vector<std::vector<std::string>> rows(const std::string& sql);

  // Applies every embedded PostgreSQL migration with the store's runner (store::pg::migrate).
  void migrate();

 private:
  struct close_conn {
    void operator()(pg_conn* c) const;
  };
  using conn_ptr = std::unique_ptr<pg_conn, close_conn>;

  bool run(const std::string& sql);  // exec that says whether it worked

  std::string name_;
  std::string conninfo_;
  conn_ptr admin_;  // to the cluster's maintenance database: creates and drops ours
  conn_ptr conn_;   // to ours
};

}  // namespace vidq::test

#define VIDQ_REQUIRE_PG(db) \
  if (!(db).available()) GTEST_SKIP() << "PostgreSQL tests need VIDQ_TEST_PG_URL (scripts/test starts a cluster)"
