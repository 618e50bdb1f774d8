// The operator's store interface (store/operator_store.hpp) on both backends: the same tests,
// the same expectations, on SQLite (sqlite_operator_store, job_store's SQL) and on PostgreSQL
// (pg::postgres_operator_store over a throwaway database). What differs by design is asserted
// per backend and says why.
#include "support/backend.hpp"
#include "support/pg_test_db.hpp"
#include "support/test_db.hpp"
#include "vidq/store/operator_store.hpp"
#include "vidq/store/postgres/operator_store.hpp"
#include "vidq/store/sqlite_operator_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace vidq::store {
namespace {

using test::backend;

// One backend with a migrated, empty database and a store over it. Rows the operator's verbs
// act on (failed, processing, charged …) are written with `sql`, and results read back with
// `scalar` / `text`, in SQL both backends understand.
class OperatorStoreContract : public testing::TestWithParam<backend> {
 protected:
  void SetUp() override {
    if (GetParam() == backend::sqlite) {
      sqlite_ = std::make_unique<test::test_db>();
      store_ = std::make_unique<sqlite_operator_store>(sqlite_->db, clock_);
      return;
    }
    pg_ = std::make_unique<test::pg_test_db>();
    VIDQ_REQUIRE_PG(*pg_);
    pg_->migrate();
    pg::failure why;
    auto connected = pg::postgres_operator_store::connect(pg_->conninfo(), clock_, 5000, &why);
    ASSERT_TRUE(connected) << why.sqlstate << " " << why.message;
    store_ = std::move(*connected);
  }

  void TearDown() override { store_.reset(); }

  bool postgres() const { return pg_ != nullptr; }

  void sql(const std::string& statement) {
    if (sqlite_) {
      sqlite_->exec(statement);
    } else {
      pg_->exec(statement);
    }
  }
  std::int64_t scalar(const std::string& q) { return sqlite_ ? sqlite_->scalar(q) : pg_->scalar(q); }
  std::string text(const std::string& q) { return sqlite_ ? sqlite_->text(q) : pg_->text(q); }
  std::string state_of(std::int64_t id) { return text("SELECT state FROM jobs WHERE id = " + std::to_string(id)); }

  // The value of a call that must succeed; a failure says what the database reported.
  template <class T>
  T ok(result<T> r) {
    if (!r) {
      ADD_FAILURE() << r.error().message() << ": " << store_->last_error();
      return T{};
    }
    return std::move(*r);
  }

  std::int64_t add(const std::string& batch = "b1", const std::string& model = "cogvideox-3",
                   std::optional<std::string> key = std::nullopt) {
    std::int64_t id = 0;
    EXPECT_EQ(ok(store_->insert(test::make_job(model, batch, std::move(key)), &id)), insert_outcome::inserted);
    return id;
  }

  // A charges row as dispatch writes it at time `at`: accepted with a task id, or ambiguous.
  void charge(std::int64_t job_id, const std::string& request_id, std::int64_t price, std::int64_t refunded, millis at,
              const std::string& batch = "b1", const std::optional<std::string>& task = std::nullopt) {
    sql("INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, refunded, origin, "
        "at) VALUES (" +
        std::to_string(job_id) + ", 1, '" + request_id + "', " + (task ? "'" + *task + "'" : "NULL") +
        ", 'default', 'cogvideox-3', '" + batch + "', " + std::to_string(price) + ", " + std::to_string(refunded) +
        ", '" + (task ? "accepted" : "ambiguous") + "', " + std::to_string(at) + ")");
  }

  manual_clock clock_;
  std::unique_ptr<test::test_db> sqlite_;
  std::unique_ptr<test::pg_test_db> pg_;
  std::unique_ptr<operator_store> store_;
};

std::vector<std::int64_t> ids_of(const std::vector<job_row>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& r : rows) ids.push_back(r.id);
  return ids;
}

// `missed` in id order: the contract says which ids were left alone, not in what order.
std::vector<transition_miss> by_id(std::vector<transition_miss> missed) {
  std::ranges::sort(missed, {}, &transition_miss::id);
  return missed;
}

TEST_P(OperatorStoreContract, InsertGivesTheIdAndASecondInsertWithTheSameKeyAddsNothing) {
  auto job = test::make_job("cogvideox-3", "spring", "k1");
  job.priority = 5;
  job.account = "acct";
  job.spec.params["quality"] = "speed";
  std::int64_t id = 0;
  EXPECT_EQ(ok(store_->insert(job, &id)), insert_outcome::inserted);
  EXPECT_GT(id, 0);

  auto again = job;
  again.spec.prompt = "something else";
  std::int64_t second = 0;
  EXPECT_EQ(ok(store_->insert(again, &second)), insert_outcome::duplicate_key);
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs"), 1);

  const auto row = ok(store_->get(id));
  ASSERT_TRUE(row);
  EXPECT_EQ(row->id, id);
  EXPECT_EQ(row->key, "k1");
  EXPECT_EQ(row->batch, "spring");
  EXPECT_EQ(row->priority, 5);
  EXPECT_EQ(row->account, "acct");
  EXPECT_EQ(row->model, "cogvideox-3");
  EXPECT_EQ(row->prompt, job.spec.prompt) << "the first insert's, not the duplicate's";
  EXPECT_EQ(row->image_url, std::nullopt);
  EXPECT_EQ(row->params, R"({"quality":"speed"})");
  EXPECT_EQ(row->state, job_state::queued);
  EXPECT_EQ(row->attempts, 0);
  EXPECT_EQ(row->created_at, clock_.now()) << "stamped by the store's clock";

  const auto by_key = ok(store_->get_by_key("k1"));
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->id, id);
  EXPECT_FALSE(ok(store_->get(id + 100)));
  EXPECT_FALSE(ok(store_->get_by_key("k2")));

  EXPECT_GT(add(), id) << "a job without a key is never a duplicate";
  EXPECT_GT(add(), id);
}

TEST_P(OperatorStoreContract, InsertAllCountsKeysStoredOrRepeatedInTheCallAsDuplicates) {
  add("b1", "cogvideox-3", "k0");
  // More rows than PostgreSQL sends in one statement (500), so that a key repeats both within
  // one statement and across two.
  std::vector<new_job> jobs;
  jobs.push_back(test::make_job("cogvideox-3", "imp", "k1"));
  auto repeat = test::make_job("cogvideox-3", "imp", "k1");
  repeat.spec.prompt = "the repeat";
  jobs.push_back(repeat);
  for (int i = 2; i <= 600; ++i) jobs.push_back(test::make_job("cogvideox-3", "imp", "k" + std::to_string(i)));
  jobs.push_back(test::make_job("cogvideox-3", "imp", "k0"));
  jobs.push_back(repeat);
  jobs.push_back(test::make_job("cogvideox-3", "imp"));

  const auto counts = ok(store_->insert_all(jobs));
  EXPECT_EQ(counts.inserted, 601u) << "k1..k600 and the job without a key";
  EXPECT_EQ(counts.duplicates, 3u) << "k1 twice, k0 once";
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs WHERE batch = 'imp'"), 601);
  const auto first = ok(store_->get_by_key("k1"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->prompt, jobs[0].spec.prompt) << "the first of a repeated key wins";
  EXPECT_EQ(first->created_at, clock_.now());

  const auto none = ok(store_->insert_all({}));
  EXPECT_EQ(none.inserted, 0u);
  EXPECT_EQ(none.duplicates, 0u);
}

TEST_P(OperatorStoreContract, EventsHoldTheCancelWrittenByTheHistoryTrigger) {
  const auto id = add();
  clock_.advance(1'000);
  EXPECT_EQ(ok(store_->cancel({.ids = {id}}, nullptr)), 1);

  const auto events = ok(store_->events(id));
  ASSERT_EQ(events.size(), 1u) << "an insert is no state change";
  EXPECT_EQ(events[0].job_id, id);
  EXPECT_EQ(events[0].from_state, "queued");
  EXPECT_EQ(events[0].to_state, "cancelled");
  EXPECT_EQ(events[0].at, clock_.now()) << "the cancel's updated_at";
  EXPECT_EQ(events[0].detail, "cancelled: cancelled by operator");
  EXPECT_TRUE(ok(store_->events(id + 100)).empty());
}

TEST_P(OperatorStoreContract, ListIsNewestFirstFilteredAndLimited) {
  add("b1", "cogvideox-3");
  add("b1", "viduq1");
  add("b2", "cogvideox-3", "k3");
  add("b2", "cogvideox-3");
  sql("UPDATE jobs SET state = 'failed', error_code = 'task_failed' WHERE id = 4");

  EXPECT_EQ(ids_of(ok(store_->list({}))), (std::vector<std::int64_t>{4, 3, 2, 1}));
  EXPECT_EQ(ids_of(ok(store_->list({.limit = 2}))), (std::vector<std::int64_t>{4, 3}));
  EXPECT_EQ(ids_of(ok(store_->list({.state = job_state::failed}))), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(ids_of(ok(store_->list({.state = job_state::queued}))), (std::vector<std::int64_t>{3, 2, 1}));
  EXPECT_EQ(ids_of(ok(store_->list({.batch = "b1"}))), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(ids_of(ok(store_->list({.model = "viduq1"}))), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(ids_of(ok(store_->list({.batch = "b2", .model = "cogvideox-3", .limit = 1}))),
            (std::vector<std::int64_t>{4}));
  EXPECT_EQ(ids_of(ok(store_->list({.key = "k3"}))), (std::vector<std::int64_t>{3}));
  EXPECT_TRUE(ok(store_->list({.batch = "b1", .key = "k3"})).empty()) << "the key's row is in b2";
  EXPECT_TRUE(ok(store_->list({.key = "nope"})).empty());

  const auto rows = ok(store_->list({.state = job_state::failed}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].error_code, "task_failed");
  EXPECT_EQ(rows[0].batch, "b2");
}

TEST_P(OperatorStoreContract, BatchSummariesCountPerStateAndTakeTheCostFromTheLedger) {
  add("b1");
  add("b1");
  add("b1");
  add("b2");
  sql("UPDATE jobs SET state = 'succeeded', cost = 1 WHERE id = 2");
  sql("UPDATE jobs SET state = 'failed', error_code = 'task_failed' WHERE id = 3");
  sql("UPDATE jobs SET state = 'processing', task_id = 't4' WHERE id = 4");
  charge(2, "r2", 500, 0, 1'000, "b1", "t2");
  charge(3, "r3", 300, 100, 1'000, "b1", "t3");
  charge(4, "r4", 200, 0, 1'000, "b2", "t4");

  const auto summaries = ok(store_->batch_summaries());
  ASSERT_EQ(summaries.size(), 2u);
  const auto& b1 = summaries[0];
  EXPECT_EQ(b1.batch, "b1");
  EXPECT_EQ(b1.total, 3);
  EXPECT_EQ(b1.count(job_state::queued), 1);
  EXPECT_EQ(b1.count(job_state::succeeded), 1);
  EXPECT_EQ(b1.count(job_state::failed), 1);
  EXPECT_EQ(b1.count(job_state::processing), 0);
  EXPECT_EQ(b1.cost, 500 + 300 - 100) << "net charges, never jobs.cost";
  const auto& b2 = summaries[1];
  EXPECT_EQ(b2.batch, "b2");
  EXPECT_EQ(b2.total, 1);
  EXPECT_EQ(b2.count(job_state::processing), 1);
  EXPECT_EQ(b2.cost, 200);
}

TEST_P(OperatorStoreContract, CancelByIdsReportsTheIdsItLeftAlone) {
  add();
  add();
  add();
  add();
  sql("UPDATE jobs SET state = 'processing', task_id = 't2' WHERE id = 2");
  sql("UPDATE jobs SET state = 'succeeded' WHERE id = 3");
  sql("UPDATE jobs SET state = 'failed', error_code = '1301' WHERE id = 4");
  clock_.advance(1'000);

  std::vector<transition_miss> missed;
  EXPECT_EQ(ok(store_->cancel({.ids = {1, 2, 3, 4, 99}}, &missed)), 2);
  EXPECT_EQ(state_of(1), "cancelled");
  EXPECT_EQ(state_of(2), "cancelled");
  EXPECT_EQ(state_of(3), "succeeded");
  EXPECT_EQ(state_of(4), "failed");

  missed = by_id(std::move(missed));
  ASSERT_EQ(missed.size(), 3u);
  EXPECT_EQ(missed[0].id, 3);
  EXPECT_EQ(missed[0].state, job_state::succeeded);
  EXPECT_EQ(missed[1].id, 4);
  EXPECT_EQ(missed[1].state, job_state::failed);
  EXPECT_EQ(missed[1].error_code, "1301");
  EXPECT_EQ(missed[2].id, 99);
  EXPECT_EQ(missed[2].state, std::nullopt) << "no such job";

  const auto row = ok(store_->get(2));
  ASSERT_TRUE(row);
  EXPECT_EQ(row->error_code, "cancelled");
  EXPECT_EQ(row->finished_at, clock_.now());
  EXPECT_EQ(row->next_poll_at, std::nullopt) << "nothing polls a cancelled job";
}

TEST_P(OperatorStoreContract, CancelByBatchTakesOnlyThatBatchsUnfinishedJobs) {
  add("b1");
  add("b1");
  add("b1");
  add("b2");
  sql("UPDATE jobs SET state = 'downloading', task_id = 't2' WHERE id = 2");
  sql("UPDATE jobs SET state = 'failed', error_code = 'task_failed' WHERE id = 3");

  std::vector<transition_miss> missed;
  EXPECT_EQ(ok(store_->cancel({.batch = "b1"}, &missed)), 2);
  EXPECT_TRUE(missed.empty()) << "a batch names no ids to account for";
  EXPECT_EQ(state_of(1), "cancelled");
  EXPECT_EQ(state_of(2), "cancelled");
  EXPECT_EQ(state_of(3), "failed");
  EXPECT_EQ(state_of(4), "queued");
  EXPECT_EQ(ok(store_->cancel({.batch = "nope"}, &missed)), 0);
}

TEST_P(OperatorStoreContract, CancelTakesAHeldRowFromItsOwner) {
  add();
  sql("UPDATE jobs SET state = 'processing', task_id = 't1' WHERE id = 1");
  if (postgres()) sql("UPDATE jobs SET owner = 'node-a', epoch = 3 WHERE id = 1");

  EXPECT_EQ(ok(store_->cancel({.ids = {1}}, nullptr)), 1);
  EXPECT_EQ(state_of(1), "cancelled");
  const auto row = ok(store_->get(1));
  ASSERT_TRUE(row);
  if (postgres()) {
    // The daemon that held the row writes it only while owner and epoch are still the ones it
    // claimed with: a cancel that changed neither would be overwritten by its next poll.
    EXPECT_EQ(scalar("SELECT count(*) FROM jobs WHERE id = 1 AND owner IS NULL"), 1);
    EXPECT_EQ(scalar("SELECT epoch FROM jobs WHERE id = 1"), 4);
    EXPECT_EQ(row->epoch, 4);
  } else {
    // One daemon per SQLite file, and its writes check the state: there is no owner to drop.
    EXPECT_EQ(row->epoch, 0);
  }
}

TEST_P(OperatorStoreContract, RetryRequeuesAFailedJobWithoutAResultAsANewSubmission) {
  add();
  add();
  sql("UPDATE jobs SET state = 'failed', error_code = 'task_failed', error_message = 'provider said FAIL', "
      "task_id = 't1', request_id = 'r1', attempts = 3, polls = 7, submitted_at = 5, finished_at = 9 WHERE id = 1");
  clock_.advance(1'000);

  std::vector<transition_miss> missed;
  EXPECT_EQ(ok(store_->retry({.ids = {1, 2, 99}}, &missed, retry_mode::plain)), 1);
  const auto row = ok(store_->get(1));
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state, job_state::queued);
  EXPECT_EQ(row->attempts, 0) << "a fresh attempt budget";
  EXPECT_EQ(row->task_id, std::nullopt);
  EXPECT_EQ(row->request_id, std::nullopt) << "the claim gives it a new one";
  EXPECT_EQ(row->polls, 0);
  EXPECT_EQ(row->finished_at, std::nullopt);
  EXPECT_EQ(row->error_code, std::nullopt);
  EXPECT_EQ(row->error_message, std::nullopt);
  EXPECT_EQ(row->updated_at, clock_.now());

  missed = by_id(std::move(missed));
  ASSERT_EQ(missed.size(), 2u);
  EXPECT_EQ(missed[0].id, 2);
  EXPECT_EQ(missed[0].state, job_state::queued);
  EXPECT_EQ(missed[0].why, retry_decision::not_retryable);
  EXPECT_EQ(missed[1].id, 99);
  EXPECT_EQ(missed[1].state, std::nullopt);

  const auto events = ok(store_->events(1));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().to_state, "queued");
  EXPECT_EQ(events.back().detail, "requeued by operator");
}

TEST_P(OperatorStoreContract, PlainRetryLeavesAJobWhoseTaskSucceededAlone) {
  add("b1");
  sql("UPDATE jobs SET state = 'failed', error_code = 'download_failed', task_id = 't1', "
      "video_url = 'https://cdn/v.mp4' WHERE id = 1");

  std::vector<transition_miss> missed;
  EXPECT_EQ(ok(store_->retry({.ids = {1}}, &missed, retry_mode::plain)), 0);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].id, 1);
  EXPECT_EQ(missed[0].state, job_state::failed);
  EXPECT_EQ(missed[0].error_code, "download_failed");
  EXPECT_EQ(missed[0].why, retry_decision::needs_resubmit);
  EXPECT_EQ(state_of(1), "failed");
  EXPECT_EQ(text("SELECT task_id FROM jobs WHERE id = 1"), "t1");

  // A batch selection reports it too: the operator has a decision to make about it.
  missed.clear();
  EXPECT_EQ(ok(store_->retry({.batch = "b1"}, &missed, retry_mode::plain)), 0);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].why, retry_decision::needs_resubmit);

  missed.clear();
  EXPECT_EQ(ok(store_->retry({.ids = {1}}, &missed, retry_mode::resubmit)), 1) << "--resubmit pays again";
  EXPECT_TRUE(missed.empty());
  EXPECT_EQ(state_of(1), "queued");
}

TEST_P(OperatorStoreContract, DownloadRetryPollsTheStoredTaskAgain) {
  add();
  add();
  sql("UPDATE jobs SET state = 'failed', error_code = 'download_failed', task_id = 't1', refetches = 1, "
      "video_url = 'https://cdn/v.mp4', finished_at = 9 WHERE id = 1");
  sql("UPDATE jobs SET state = 'failed', error_code = 'task_failed' WHERE id = 2");
  clock_.advance(1'000);

  std::vector<transition_miss> missed;
  EXPECT_EQ(ok(store_->retry({.ids = {1, 2}}, &missed, retry_mode::download)), 1);
  const auto row = ok(store_->get(1));
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state, job_state::processing);
  EXPECT_EQ(row->task_id, "t1") << "the paid task is what gets polled";
  EXPECT_EQ(row->refetches, 2);
  EXPECT_EQ(row->next_poll_at, clock_.now()) << "polled at once";
  EXPECT_EQ(row->finished_at, std::nullopt);
  EXPECT_EQ(row->error_code, std::nullopt);

  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].id, 2);
  EXPECT_EQ(missed[0].why, retry_decision::nothing_to_fetch);
  EXPECT_EQ(state_of(2), "failed");
}

TEST_P(OperatorStoreContract, RetryByErrorCodeLeavesOtherCodesAlone) {
  add("b1");
  add("b1");
  add("b1");
  add("b1");
  add("b2");
  sql("UPDATE jobs SET state = 'failed', error_code = 'task_failed' WHERE id IN (1, 5)");
  sql("UPDATE jobs SET state = 'failed', error_code = '1301' WHERE id = 2");
  sql("UPDATE jobs SET state = 'cancelled', error_code = 'cancelled' WHERE id = 3");
  sql("UPDATE jobs SET state = 'succeeded' WHERE id = 4");

  std::vector<transition_miss> missed;
  EXPECT_EQ(ok(store_->retry({.batch = "b1", .error_code = "task_failed"}, &missed, retry_mode::plain)), 1);
  EXPECT_TRUE(missed.empty());
  EXPECT_EQ(state_of(1), "queued");
  EXPECT_EQ(state_of(2), "failed");
  EXPECT_EQ(state_of(3), "cancelled");
  EXPECT_EQ(state_of(4), "succeeded");
  EXPECT_EQ(state_of(5), "failed") << "another batch";

  // Neither ids nor batch: every job with that code.
  EXPECT_EQ(ok(store_->retry({.error_code = "task_failed"}, &missed, retry_mode::plain)), 1);
  EXPECT_EQ(state_of(5), "queued");

  // An id the filter excludes is left alone and said so.
  EXPECT_EQ(ok(store_->retry({.ids = {2}, .error_code = "task_failed"}, &missed, retry_mode::plain)), 0);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].id, 2);
  EXPECT_EQ(missed[0].error_code, "1301");
  EXPECT_EQ(state_of(2), "failed");

  EXPECT_EQ(ok(store_->retry({.state = job_state::cancelled}, nullptr, retry_mode::plain)), 1);
  EXPECT_EQ(state_of(3), "queued");
  EXPECT_EQ(state_of(2), "failed");
}

TEST_P(OperatorStoreContract, PauseIsListedReplacedAndResumeSaysWhetherThereWasOne) {
  const millis until = clock_.now() + 60'000;
  ASSERT_TRUE(store_->pause("acct", "arrears", until, paused_by::provider)) << store_->last_error();
  ASSERT_TRUE(store_->pause("other", "unreachable", std::nullopt, paused_by::breaker)) << store_->last_error();
  auto pauses = ok(store_->pauses());
  ASSERT_EQ(pauses.size(), 2u);
  EXPECT_EQ(pauses[0].account, "acct");
  EXPECT_EQ(pauses[0].reason, "arrears");
  EXPECT_EQ(pauses[0].until, until);
  EXPECT_EQ(pauses[0].by, paused_by::provider);
  EXPECT_EQ(pauses[0].at, clock_.now());
  EXPECT_EQ(pauses[1].account, "other");
  EXPECT_EQ(pauses[1].until, std::nullopt);
  EXPECT_EQ(pauses[1].by, paused_by::breaker);

  clock_.advance(1'000);
  ASSERT_TRUE(store_->pause("acct", "by hand", std::nullopt, paused_by::operator_)) << store_->last_error();
  pauses = ok(store_->pauses());
  ASSERT_EQ(pauses.size(), 2u) << "a second pause replaces the first";
  EXPECT_EQ(pauses[0].reason, "by hand");
  EXPECT_EQ(pauses[0].until, std::nullopt);
  EXPECT_EQ(pauses[0].by, paused_by::operator_);
  EXPECT_EQ(pauses[0].at, clock_.now());

  EXPECT_TRUE(ok(store_->resume("acct")));
  EXPECT_FALSE(ok(store_->resume("acct")));
  EXPECT_FALSE(ok(store_->resume("never-paused")));
  pauses = ok(store_->pauses());
  ASSERT_EQ(pauses.size(), 1u);
  EXPECT_EQ(pauses[0].account, "other");
}

TEST_P(OperatorStoreContract, ChargesOfAJobAreOldestFirstAndSpentSinceIsNet) {
  charge(1, "r1", 500, 0, 1'000, "b1", "t1");
  charge(1, "r2", 300, 300, 2'000);
  charge(2, "r3", 200, 50, 3'000, "b2", "t3");

  const auto rows = ok(store_->charges_of(1));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_LT(rows[0].id, rows[1].id);
  EXPECT_EQ(rows[0].job_id, 1);
  EXPECT_EQ(rows[0].attempt, 1);
  EXPECT_EQ(rows[0].request_id, "r1");
  EXPECT_EQ(rows[0].task_id, "t1");
  EXPECT_EQ(rows[0].account, "default");
  EXPECT_EQ(rows[0].model, "cogvideox-3");
  EXPECT_EQ(rows[0].batch, "b1");
  EXPECT_EQ(rows[0].price, 500);
  EXPECT_EQ(rows[0].refunded, 0);
  EXPECT_EQ(rows[0].origin, "accepted");
  EXPECT_EQ(rows[0].at, 1'000);
  EXPECT_EQ(rows[1].request_id, "r2");
  EXPECT_EQ(rows[1].task_id, std::nullopt) << "an ambiguous submit";
  EXPECT_EQ(rows[1].origin, "ambiguous");
  EXPECT_EQ(rows[1].refunded, 300);
  EXPECT_TRUE(ok(store_->charges_of(99)).empty());

  EXPECT_EQ(ok(store_->spent_since(0)), 500 + 0 + 150);
  EXPECT_EQ(ok(store_->spent_since(2'000)), 0 + 150) << "at or after";
  EXPECT_EQ(ok(store_->spent_since(2'001)), 150);
  EXPECT_EQ(ok(store_->spent_since(3'001)), 0) << "nothing charged: zero, not an error";
}

TEST_P(OperatorStoreContract, InflightCountsOnlyJobsHoldingASlotPerLane) {
  for (int i = 0; i < 4; ++i) add("b1", "cogvideox-3");
  add("b1", "viduq1");
  add("b1", "cogvideox-3");
  sql("UPDATE jobs SET state = 'submitting', request_id = 'r1' WHERE id = 1");
  sql("UPDATE jobs SET state = 'processing', task_id = 't2' WHERE id = 2");
  sql("UPDATE jobs SET state = 'downloading', task_id = 't3' WHERE id = 3");
  sql("UPDATE jobs SET state = 'processing', task_id = 't5' WHERE id = 5");
  sql("UPDATE jobs SET state = 'processing', task_id = 't6', account = 'acct2' WHERE id = 6");

  auto counts = ok(store_->inflight_counts());
  std::ranges::sort(counts, {}, [](const inflight_count& c) { return std::tie(c.account, c.model); });
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0].account, "acct2");
  EXPECT_EQ(counts[0].model, "cogvideox-3");
  EXPECT_EQ(counts[0].count, 1);
  EXPECT_EQ(counts[1].account, "default");
  EXPECT_EQ(counts[1].model, "cogvideox-3");
  EXPECT_EQ(counts[1].count, 2) << "submitting + processing; queued and downloading hold no slot";
  EXPECT_EQ(counts[2].model, "viduq1");
  EXPECT_EQ(counts[2].count, 1);
}

TEST_P(OperatorStoreContract, LastErrorSaysWhatTheDatabaseReported) {
  // Renamed rather than dropped: a PostgreSQL view depends on it.
  sql("ALTER TABLE account_pauses RENAME TO account_pauses_moved");
  const auto pauses = store_->pauses();
  ASSERT_FALSE(pauses);
  EXPECT_EQ(pauses.error(), errc::database_error);
  EXPECT_NE(store_->last_error().find("account_pauses"), std::string::npos) << store_->last_error();
}

TEST_P(OperatorStoreContract, ManifestIsInIdOrderFilteredAndCostsEveryCharge) {
  const auto a = add("spring", "cogvideox-3", "sku-a");
  const auto b = add("spring", "cogvideox-3", "sku-b");
  add("autumn");
  sql("UPDATE jobs SET state = 'succeeded', video_path = '/out/sku-a.mp4', video_bytes = 1234, task_id = 't-a', "
      "finished_at = 50 WHERE id = " + std::to_string(a));
  charge(a, "rq-a1", 500, 500, 10, "spring", "t-a0");  // refunded in full: the first attempt failed
  charge(a, "rq-a2", 1500, 0, 20, "spring", "t-a");

  const auto spring = ok(store_->manifest({.batch = "spring", .state = std::nullopt}));
  ASSERT_EQ(spring.size(), 2u);
  EXPECT_EQ(spring[0].id, a);
  EXPECT_EQ(spring[0].key, "sku-a");
  EXPECT_EQ(spring[0].state, job_state::succeeded);
  EXPECT_EQ(spring[0].video_path, "/out/sku-a.mp4");
  EXPECT_EQ(spring[0].video_bytes, 1234);
  EXPECT_EQ(spring[0].cost, 1500) << "every charge, net of refunds";
  EXPECT_EQ(spring[0].finished_at, 50);
  EXPECT_EQ(spring[1].id, b);
  EXPECT_EQ(spring[1].state, job_state::queued);
  EXPECT_EQ(spring[1].cost, 0);

  EXPECT_EQ(ok(store_->manifest({.batch = std::nullopt, .state = job_state::queued})).size(), 2u);
  EXPECT_EQ(ok(store_->manifest({})).size(), 3u);
}

TEST_P(OperatorStoreContract, DeliveriesAreNewestNoticeFirstWithTheirStatus) {
  sql("INSERT INTO notices(id, event, at, batch) VALUES (1, 'batch_finished', 100, 'spring')");
  sql("INSERT INTO notices(id, event, at, job_id) VALUES (2, 'job_failed', 200, 7)");
  sql("INSERT INTO notice_deliveries(notice_id, target, attempts, next_attempt_at, delivered_at) "
      "VALUES (1, 'ops', 1, 100, 150)");
  sql("INSERT INTO notice_deliveries(notice_id, target, attempts, next_attempt_at, last_error, gave_up_at) "
      "VALUES (1, 'shop', 8, 100, 'HTTP 500', 900)");
  sql("INSERT INTO notice_deliveries(notice_id, target, attempts, next_attempt_at, last_error) "
      "VALUES (2, 'ops', 2, 400, 'timed out')");

  const auto all = ok(store_->deliveries(std::nullopt, 10));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].notice_id, 2);
  EXPECT_EQ(all[0].event, notice_event::job_failed);
  EXPECT_EQ(all[0].job_id, 7);
  EXPECT_EQ(all[0].status, delivery_status::pending);
  EXPECT_EQ(all[0].next_attempt, 400);
  EXPECT_EQ(all[0].last_error, "timed out");
  EXPECT_EQ(all[1].target, "ops") << "targets of one notice in name order";
  EXPECT_EQ(all[1].subject, "spring");
  EXPECT_EQ(all[1].status, delivery_status::delivered);
  EXPECT_EQ(all[1].delivered, 150);
  EXPECT_EQ(all[2].status, delivery_status::failed);
  EXPECT_EQ(all[2].attempts, 8);

  const auto failed = ok(store_->deliveries(delivery_status::failed, 10));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].target, "shop");
  EXPECT_EQ(ok(store_->deliveries(std::nullopt, 1)).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, OperatorStoreContract, test::both_backends(), test::backend_name);

}  // namespace
}  // namespace vidq::store
