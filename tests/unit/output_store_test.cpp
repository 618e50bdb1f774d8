#include "vidq/store/output_store.hpp"

#include "support/test_db.hpp"

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

struct output_store_fixture : ::testing::Test {
  test::test_db t;
  job_store jobs{t.db, t.clock};
  output_store outputs{t.db};

  std::int64_t add(const std::string& batch, const std::string& key) {
    std::int64_t id = 0;
    EXPECT_EQ(jobs.insert(test::make_job("cogvideox-3", batch, key), &id).value(), insert_outcome::inserted);
    return id;
  }
  void set_state(std::int64_t id, const std::string& state) {
    t.exec("UPDATE jobs SET state = '" + state + "' WHERE id = " + std::to_string(id));
  }
};

TEST_F(output_store_fixture, AReservedVideoPathIsTakenForEveryOtherJob) {
  const auto a = add("b", "k1");
  const auto b = add("b", "k2");
  set_state(a, "downloading");
  EXPECT_FALSE(outputs.video_path_taken("/v/b/x.mp4", b).value());
  EXPECT_TRUE(outputs.reserve_video_path(a, "/v/b/x.mp4").value());
  EXPECT_TRUE(outputs.video_path_taken("/v/b/x.mp4", b).value());
  EXPECT_FALSE(outputs.video_path_taken("/v/b/x.mp4", a).value()) << "a job's own name is not taken for it";
  EXPECT_FALSE(outputs.reserve_video_path(b, "/v/b/y.mp4").value()) << "only a downloading row reserves";
  EXPECT_EQ(t.text("SELECT video_path FROM jobs WHERE id = " + std::to_string(a)), "/v/b/x.mp4");
}

TEST_F(output_store_fixture, ManifestOfABatchHoldsEveryStateInIdOrder) {
  const auto q = add("春季 促销", "SKU-1");
  const auto s = add("春季 促销", "SKU-2");
  const auto f = add("春季 促销", "SKU-3");
  add("other", "X-1");
  set_state(s, "succeeded");
  set_state(f, "failed");
  t.exec("UPDATE jobs SET video_path = '/v/s.mp4', video_sha256 = 'ab', video_bytes = 3, cost = 1250, "
         "task_id = 't-1', submitted_at = 1000, finished_at = 2000 WHERE id = " + std::to_string(s));
  // The manifest's cost is the job's total in the ledger: two attempts, 1.25 CNY each.
  for (const char* rid : {"rq-1", "rq-2"}) {
    t.exec(std::string("INSERT INTO charges(job_id, attempt, request_id, account, model, batch, price, origin) "
                       "SELECT id, 1, '") + rid + "', account, model, batch, 1250, 'accepted' FROM jobs WHERE id = " +
           std::to_string(s));
  }
  manifest_filter filter;
  filter.batch = "春季 促销";
  const auto rows = outputs.manifest(filter).value();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].id, q);
  EXPECT_EQ(rows[0].state, job_state::queued);
  EXPECT_EQ(rows[1].key, "SKU-2");
  EXPECT_EQ(rows[1].video_path, "/v/s.mp4");
  EXPECT_EQ(rows[1].cost, 2500) << "every attempt's charge, not jobs.cost";
  EXPECT_EQ(rows[1].task_id, "t-1");
  EXPECT_EQ(rows[1].finished_at, 2000);
  EXPECT_EQ(rows[2].state, job_state::failed);
  filter.state = job_state::failed;
  EXPECT_EQ(outputs.manifest(filter).value().size(), 1u);
  EXPECT_EQ(outputs.manifest({}).value().size(), 4u);
}

TEST_F(output_store_fixture, ABatchIsFinishedWhenNothingIsQueuedOrInFlight) {
  const auto a = add("b", "a");
  const auto b = add("b", "b");
  EXPECT_FALSE(outputs.batch_finished("b").value()) << "all queued";
  set_state(a, "succeeded");
  EXPECT_FALSE(outputs.batch_finished("b").value()) << "one still queued";
  for (const char* busy : {"submitting", "processing", "downloading"}) {
    set_state(b, busy);
    EXPECT_FALSE(outputs.batch_finished("b").value()) << busy;
  }
  set_state(b, "failed");
  EXPECT_TRUE(outputs.batch_finished("b").value());
  EXPECT_FALSE(outputs.batch_finished("no such batch").value());
}

}  // namespace
}  // namespace vidq::store
