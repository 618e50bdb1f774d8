#pragma once
// A throwaway PostgreSQL database for one benchmark run, in a cluster the operator started
// (scripts/pg-test-cluster start DIR prints its URL). Blocking libpq: a benchmark is not the
// daemon's loop. Every failure exits the process (a benchmark has nobody to report to).

#include <memory>
#include <string>
#include <vector>

struct pg_conn;

namespace vidq::bench {

using table = std::vector<std::vector<std::string>>;  // rows of columns as text, "" for NULL

class pg_bench_db {
 public:
  // Creates database `name` in the cluster of `cluster_url` (dropping a leftover first).
  pg_bench_db(const std::string& cluster_url, const std::string& name);
  ~pg_bench_db();  // drops it
  pg_bench_db(const pg_bench_db&) = delete;
  pg_bench_db& operator=(const pg_bench_db&) = delete;

  const std::string& url() const { return url_; }
  void exec(const std::string& sql);
  table rows(const std::string& sql);

 private:
  struct close_conn {
    void operator()(pg_conn* c) const;
  };
  std::string cluster_url_, name_, url_;
  std::unique_ptr<pg_conn, close_conn> conn_;
};

}  // namespace vidq::bench
