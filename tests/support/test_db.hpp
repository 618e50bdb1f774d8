#pragma once
// A migrated database for store tests: a file in a temp dir (WAL needs a real file).

#include "support/temp_dir.hpp"
#include "vidq/core/clock.hpp"
#include "vidq/store/job_store.hpp"
#include "vidq/store/migrations.hpp"
#include "vidq/store/sqlite.hpp"

#include <gtest/gtest.h>

namespace vidq::test {

struct test_db {
  temp_dir dir;
  store::database db = open();
  manual_clock clock;

  store::database open() {
    auto opened = store::database::open(dir.file("vidq.db"));
    if (!opened) throw std::runtime_error("cannot open test db");
    if (!store::migrate(*opened)) throw std::runtime_error("cannot migrate test db");
    return std::move(*opened);
  }

  std::int64_t scalar(const std::string& sql) {
    auto stmt = db.prepare(sql);
    EXPECT_TRUE(stmt) << db.last_error();
    auto row = stmt->step();
    EXPECT_TRUE(row && *row) << sql;
    return stmt->get_int64(0);
  }

  std::string text(const std::string& sql) {
    auto stmt = db.prepare(sql);
    EXPECT_TRUE(stmt) << db.last_error();
    auto row = stmt->step();
    EXPECT_TRUE(row && *row) << sql;
    return stmt->get_text(0);
  }

  void exec(const std::string& sql) {
    auto r = db.exec(sql);
    ASSERT_TRUE(r) << db.last_error() << "\n" << sql;
  }
};

inline store::new_job make_job(std::string model = "cogvideox-3", std::string batch = "default",
                               std::optional<std::string> key = std::nullopt) {
  store::new_job job;
  job.key = std::move(key);
  job.batch = std::move(batch);
  job.spec.model = std::move(model);
  job.spec.prompt = "a red sneaker rotating on a white table";
  return job;
}

}  // namespace vidq::test
