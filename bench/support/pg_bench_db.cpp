#include "support/pg_bench_db.hpp"

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>

namespace vidq::bench {
namespace {

void ignore_notice(void*, const char*) {}

PGconn* connect_or_exit(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::fprintf(stderr, "cannot connect to %s: %s\n", url.c_str(), PQerrorMessage(c));
    std::exit(1);
  }
  PQsetNoticeProcessor(c, ignore_notice, nullptr);
  return c;
}

// Exits on failure; returns the result for the caller to read and clear.
PGresult* run_or_exit(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::fprintf(stderr, "query failed: %s: %s\n", sql.c_str(), PQerrorMessage(c));
    std::exit(1);
  }
  return r;
}

// postgresql://user@host:port/db?options → the same URL naming database `name`.
std::string with_database(const std::string& url, const std::string& name) {
  const auto scheme = url.find("://");
  const auto query = url.find('?', scheme + 3);
  const auto path = std::min(url.find('/', scheme + 3), query);
  return url.substr(0, path) + "/" + name + (query == std::string::npos ? "" : url.substr(query));
}

void drop(const std::string& cluster_url, const std::string& name) {
  PGconn* admin = connect_or_exit(cluster_url);
  PQclear(run_or_exit(admin, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"));
  PQfinish(admin);
}

}  // namespace

void pg_bench_db::close_conn::operator()(pg_conn* c) const { PQfinish(c); }

pg_bench_db::pg_bench_db(const std::string& cluster_url, const std::string& name)
    : cluster_url_(cluster_url), name_(name), url_(with_database(cluster_url, name)) {
  if (cluster_url.find("://") == std::string::npos) {
    std::fprintf(stderr, "--pg-url must be a postgresql:// URL\n");
    std::exit(2);
  }
  drop(cluster_url_, name_);
  PGconn* admin = connect_or_exit(cluster_url_);
  PQclear(run_or_exit(admin, "CREATE DATABASE " + name_));
  PQfinish(admin);
  conn_.reset(connect_or_exit(url_));
}

pg_bench_db::~pg_bench_db() {
  conn_.reset();
  drop(cluster_url_, name_);
}

void pg_bench_db::exec(const std::string& sql) { PQclear(run_or_exit(conn_.get(), sql)); }

table pg_bench_db::rows(const std::string& sql) {
  PGresult* r = run_or_exit(conn_.get(), sql);
  table out;
  for (int i = 0; i < PQntuples(r); ++i) {
    auto& row = out.emplace_back();
    for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
  }
  PQclear(r);
  return out;
}

}  // namespace vidq::bench
