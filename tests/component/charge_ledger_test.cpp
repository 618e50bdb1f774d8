// The charge ledger (migrations/0005) through the store seam: written in the transaction
// that records the task id, one row per request_id whatever replays, every attempt counted
// by the views, budgets and manifest; the back-fill of an old database; and the operator's
// retry modes that never pay twice for a result the provider already produced.
#include "support/test_db.hpp"
#include "vidq/store/charge_store.hpp"
#include "vidq/store/dispatch_store.hpp"
#include "vidq/store/output_store.hpp"

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

constexpr std::int64_t price = 1000;  // cogvideox-3, milli-CNY

struct ledger : ::testing::Test {
  test::test_db t;
  job_store jobs{t.db, t.clock};
  dispatch_store dispatch{t.db, t.clock};
  charge_store charges{t.db};

  job_row claim_one(const std::string& model = "cogvideox-3", const std::string& batch = "default") {
    std::int64_t id = 0;
    EXPECT_TRUE(jobs.insert(test::make_job(model, batch), &id));
    return claim_again(model, batch);
  }
  job_row claim_again(const std::string& model = "cogvideox-3", const std::string& batch = "default") {
    auto claimed = dispatch.claim({"default", model, 0, batch}, 1).value();
    EXPECT_EQ(claimed.size(), 1u);
    return claimed.front();
  }
  job_row row(std::int64_t id) { return *jobs.get(id).value(); }
  // accepted → downloading: the provider's task succeeded, its result URL is on the row.
  void finish_remotely(const job_row& job, const std::string& task, std::int64_t cost = price) {
    ASSERT_TRUE(dispatch.record_accepted(job, *job.request_id, task, t.clock.now(), cost).value());
    ASSERT_TRUE(dispatch.record_remote_success(job.id, "https://cdn/" + task + ".mp4", "").value());
  }
};

TEST_F(ledger, AcceptWritesTheChargeWithTheTaskId) {
  const auto job = claim_one("cogvideox-3", "spring");
  t.clock.advance(1234);
  ASSERT_TRUE(dispatch.record_accepted(job, *job.request_id, "task-1", t.clock.now(), price).value());
  const auto rows = charges.of_job(job.id).value();
  ASSERT_EQ(rows.size(), 1u);
  const auto& c = rows.front();
  EXPECT_EQ(c.request_id, *job.request_id);
  EXPECT_EQ(c.task_id, "task-1");
  EXPECT_EQ(c.attempt, 1);
  EXPECT_EQ(c.account, "default");
  EXPECT_EQ(c.model, "cogvideox-3");
  EXPECT_EQ(c.batch, "spring");
  EXPECT_EQ(c.price, price);
  EXPECT_EQ(c.refunded, 0);
  EXPECT_EQ(c.origin, "accepted");
  EXPECT_EQ(c.at, t.clock.now());
  EXPECT_EQ(row(job.id).cost, price) << "jobs.cost: the latest attempt's price";
}

TEST_F(ledger, TheChargeAndTheTaskIdCommitTogetherOrNotAtAll) {
  const auto job = claim_one();
  t.exec("CREATE TEMP TRIGGER no_charges BEFORE INSERT ON charges BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
  EXPECT_FALSE(dispatch.record_accepted(job, *job.request_id, "task-1", t.clock.now(), price));
  EXPECT_EQ(row(job.id).state, job_state::submitting) << "no task id without its charge";
  EXPECT_FALSE(row(job.id).task_id);
  t.exec("DROP TRIGGER no_charges");
  ASSERT_TRUE(dispatch.record_accepted(job, *job.request_id, "task-1", t.clock.now(), price).value());
  EXPECT_EQ(t.scalar("SELECT count(*) FROM charges"), 1);
}

TEST_F(ledger, AReplayOfTheSameRequestIdNeverChargesTwice) {
  const auto job = claim_one();
  ASSERT_TRUE(dispatch.record_accepted(job, *job.request_id, "task-1", t.clock.now(), price).value());
  EXPECT_FALSE(dispatch.record_accepted(job, *job.request_id, "task-1", t.clock.now(), price).value())
      << "the row moved on";
  new_charge again;
  again.job_id = job.id;
  again.request_id = *job.request_id;
  again.task_id = "task-1";
  again.account = "default";
  again.model = "cogvideox-3";
  again.batch = "default";
  again.price = price;
  ASSERT_TRUE(record_charge(t.db, again));
  EXPECT_EQ(t.scalar("SELECT count(*) FROM charges"), 1);
  EXPECT_EQ(charges.spent_since(0).value(), price);
}

TEST_F(ledger, AcceptAfterAnOperatorsCancelIsStillCharged) {
  const auto job = claim_one();
  ASSERT_EQ(jobs.cancel({.ids = {job.id}}).value(), 1);
  EXPECT_FALSE(dispatch.record_accepted(job, *job.request_id, "task-1", t.clock.now(), price).value());
  EXPECT_EQ(row(job.id).state, job_state::cancelled);
  EXPECT_EQ(charges.spent_since(0).value(), price) << "the provider created and billed the task anyway";
}

TEST_F(ledger, AnAmbiguousSubmitIsChargedAndAProvenTaskFillsItIn) {
  const auto job = claim_one();
  ASSERT_TRUE(
      dispatch.record_failed_charged(job, charge_origin::ambiguous, "submit_ambiguous", "no answer", price).value());
  EXPECT_EQ(row(job.id).state, job_state::failed);
  auto rows = charges.of_job(job.id).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].origin, "ambiguous");
  EXPECT_FALSE(rows[0].task_id);
  EXPECT_EQ(charges.spent_since(0).value(), price) << "a possible task counts against the budget";

  // A resubmit with the same request_id that the provider answers proves the task.
  new_charge proven;
  proven.job_id = job.id;
  proven.attempt = 1;
  proven.request_id = *job.request_id;
  proven.task_id = "task-7";
  proven.account = "default";
  proven.model = "cogvideox-3";
  proven.batch = "default";
  proven.price = price;
  ASSERT_TRUE(record_charge(t.db, proven));
  rows = charges.of_job(job.id).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].task_id, "task-7");
  EXPECT_EQ(rows[0].origin, "accepted");
  EXPECT_EQ(charges.spent_since(0).value(), price);
}

TEST_F(ledger, AStaleAmbiguousCopyChargesNothing) {
  const auto job = claim_one();
  ASSERT_EQ(jobs.cancel({.ids = {job.id}}).value(), 1);
  EXPECT_FALSE(
      dispatch.record_failed_charged(job, charge_origin::ambiguous, "submit_ambiguous", "no answer", price).value());
  EXPECT_EQ(t.scalar("SELECT count(*) FROM charges"), 0);
}

TEST_F(ledger, EveryRetriedAttemptIsCountedByViewsBudgetsAndManifest) {
  // Attempt 1: the task FAILs at the provider (billed). The operator retries; attempt 2
  // succeeds. The provider billed two tasks.
  auto job = claim_one("cogvideox-3", "spring");
  ASSERT_TRUE(dispatch.record_accepted(job, *job.request_id, "task-1", t.clock.now(), price).value());
  ASSERT_TRUE(dispatch.record_failed(job.id, job_state::processing, "task_failed", "FAIL").value());
  ASSERT_EQ(jobs.retry({.ids = {job.id}}).value(), 1);
  job = claim_again("cogvideox-3", "spring");
  finish_remotely(job, "task-2");
  ASSERT_TRUE(dispatch.record_succeeded(job.id, {"/out/1.mp4", 10, "ab", "", price}).value());

  EXPECT_EQ(t.scalar("SELECT count(*) FROM charges WHERE job_id = " + std::to_string(job.id)), 2);
  EXPECT_EQ(row(job.id).cost, price) << "jobs.cost is only the last attempt";
  EXPECT_EQ(charges.spent_by_batch("spring").value(), 2 * price);
  EXPECT_EQ(charges.spent_since(0).value(), 2 * price);
  EXPECT_EQ(t.text("SELECT spent_cny FROM batch_progress WHERE batch = 'spring'"), "2.0");
  EXPECT_EQ(t.scalar("SELECT cost FROM batch_state_counts WHERE batch = 'spring' AND state = 'succeeded'"),
            2 * price);
  EXPECT_EQ(t.text("SELECT jobs || ' ' || tasks || ' ' || spent_cny FROM spend_by_day"), "1 2 2.0");
  EXPECT_EQ(jobs.batch_summaries().value().front().cost, 2 * price);
  output_store outputs(t.db);
  manifest_filter filter;
  filter.batch = "spring";
  EXPECT_EQ(outputs.manifest(filter).value().front().cost, 2 * price) << "the job's total charge";
}

TEST_F(ledger, FreeModelsCountInSpendByDayAndRefundsAreSubtracted) {
  auto free_job = claim_one("cogvideox-flash");
  ASSERT_TRUE(dispatch.record_accepted(free_job, *free_job.request_id, "task-f", t.clock.now(), 0).value());
  auto paid = claim_one();
  ASSERT_TRUE(dispatch.record_accepted(paid, *paid.request_id, "task-p", t.clock.now(), price).value());
  EXPECT_EQ(t.text("SELECT jobs || ' ' || spent_cny FROM spend_by_day WHERE model = 'cogvideox-flash'"), "1 0.0");
  EXPECT_EQ(t.scalar("SELECT sum(jobs) FROM spend_by_day"), 2);

  // A provider credit (none of ours refunds FAIL today): the documented column, subtracted.
  t.exec("UPDATE charges SET refunded = price WHERE task_id = 'task-p'");
  EXPECT_EQ(charges.spent_since(0).value(), 0);
  EXPECT_EQ(t.text("SELECT refunded_cny FROM spend_by_day WHERE model = 'cogvideox-3'"), "1.0");
  EXPECT_FALSE(t.db.exec("UPDATE charges SET refunded = price + 1")) << "never more than was charged";
}

TEST_F(ledger, SpendSinceCountsOnlyChargesFromThatTimeOn) {
  auto first = claim_one();
  ASSERT_TRUE(dispatch.record_accepted(first, *first.request_id, "task-1", t.clock.now(), price).value());
  t.clock.advance(10'000);
  const millis cut = t.clock.now();
  auto second = claim_one();
  ASSERT_TRUE(dispatch.record_accepted(second, *second.request_id, "task-2", t.clock.now(), price).value());
  EXPECT_EQ(charges.spent_since(cut).value(), price);
  EXPECT_EQ(charges.spent_since(0).value(), 2 * price);
}

TEST_F(ledger, PlainRetryRefusesAPaidResultAndDownloadRepollsTheStoredTask) {
  const auto job = claim_one();
  finish_remotely(job, "task-1");
  ASSERT_TRUE(dispatch.record_failed(job.id, job_state::downloading, "download_io", "permission denied").value());

  std::vector<transition_miss> missed;
  EXPECT_EQ(jobs.retry({.ids = {job.id}}, &missed).value(), 0);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].why, retry_decision::needs_resubmit);
  EXPECT_EQ(row(job.id).state, job_state::failed);

  missed.clear();
  EXPECT_EQ(jobs.retry({.ids = {job.id}}, &missed, retry_mode::download).value(), 1);
  EXPECT_TRUE(missed.empty());
  auto r = row(job.id);
  EXPECT_EQ(r.state, job_state::processing);
  EXPECT_EQ(r.task_id, "task-1") << "the stored task is polled, nothing is submitted";
  EXPECT_EQ(r.request_id, job.request_id);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.refetches, 1);
  EXPECT_EQ(r.next_poll_at, t.clock.now());
  EXPECT_EQ(dispatch.due_polls(10).value().size(), 1u);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM charges"), 1) << "a re-download charges nothing";
}

TEST_F(ledger, ResubmitPaysAgainAndDownloadNeedsASucceededTask) {
  const auto paid = claim_one();
  finish_remotely(paid, "task-1");
  ASSERT_TRUE(dispatch.record_failed(paid.id, job_state::downloading, "download_network", "reset").value());
  const auto failed_remotely = claim_one();
  ASSERT_TRUE(dispatch.record_accepted(failed_remotely, *failed_remotely.request_id, "task-2", 0, price).value());
  ASSERT_TRUE(dispatch.record_failed(failed_remotely.id, job_state::processing, "task_failed", "FAIL").value());

  std::vector<transition_miss> missed;
  EXPECT_EQ(jobs.retry({.batch = "default"}, &missed, retry_mode::download).value(), 1);
  ASSERT_EQ(missed.size(), 1u) << "batch selections report what needs a decision too";
  EXPECT_EQ(missed[0].id, failed_remotely.id);
  EXPECT_EQ(missed[0].why, retry_decision::nothing_to_fetch);

  ASSERT_TRUE(dispatch.record_failed(paid.id, job_state::processing, "url_expired", "gone").value());
  EXPECT_EQ(jobs.retry({.ids = {paid.id}}, nullptr, retry_mode::resubmit).value(), 1);
  const auto r = row(paid.id);
  EXPECT_EQ(r.state, job_state::queued);
  EXPECT_FALSE(r.task_id);
  EXPECT_FALSE(r.video_url);
  EXPECT_EQ(r.refetches, 0);
}

TEST_F(ledger, RefetchMovesADownloadBackToPollingAndCounts) {
  const auto job = claim_one();
  finish_remotely(job, "task-1");
  ASSERT_TRUE(dispatch.record_refetch(job.id, "download_truncated", "3 attempts").value());
  auto r = row(job.id);
  EXPECT_EQ(r.state, job_state::processing);
  EXPECT_EQ(r.refetches, 1);
  EXPECT_EQ(r.error_code, "download_truncated");
  EXPECT_TRUE(r.video_url) << "kept: it tells the poll this is a re-poll";
  EXPECT_FALSE(dispatch.record_refetch(job.id, "x", "y").value()) << "only from downloading";
}

TEST(LedgerMigration, BackFillsChargesFromAnOldDatabase) {
  test::temp_dir dir;
  auto db = database::open(dir.file("old.db")).value();
  const auto all = embedded_migrations();
  ASSERT_GE(all.size(), 5u);
  ASSERT_EQ(all[4].name, std::string_view("0005_charge_ledger"));
  ASSERT_TRUE(migrate(db, all.first(4)));
  ASSERT_TRUE(db.exec(
      "INSERT INTO jobs(model, prompt, batch, state, attempts, request_id, task_id, submitted_at, cost) VALUES "
      "('cogvideox-3', 'a', 'b1', 'succeeded', 1, 'rq-1', 'task-1', 1764633600000, 1000), "
      "('vidu2-image', 'b', 'b1', 'failed',    2, 'rq-2', 'task-2', 1764633600000, 1250), "
      "('cogvideox-flash', 'c', 'b2', 'processing', 1, 'rq-3', 'task-3', 1764633600000, 0), "
      "('cogvideox-3', 'd', 'b2', 'failed', 1, 'rq-4', NULL, NULL, 0), "
      "('cogvideox-3', 'e', 'b2', 'queued', 0, NULL, NULL, NULL, 0)"));
  ASSERT_TRUE(migrate(db));
  auto count = db.prepare("SELECT count(*), sum(price), min(origin), max(origin) FROM charges");
  ASSERT_TRUE(count && count->step().value());
  EXPECT_EQ(count->get_int64(0), 3) << "one charge per row with a task id, free ones too";
  EXPECT_EQ(count->get_int64(1), 2250);
  EXPECT_EQ(count->get_text(2), "backfill");
  EXPECT_EQ(count->get_text(3), "backfill");
  charge_store charges(db);
  EXPECT_EQ(charges.spent_by_batch("b1").value(), 2250);
  EXPECT_EQ(charges.spent_since(1764633600000).value(), 2250) << "dated by submitted_at";
  auto detail = db.prepare("SELECT request_id || '/' || task_id || '/' || attempt FROM charges WHERE job_id = 2");
  ASSERT_TRUE(detail && detail->step().value());
  EXPECT_EQ(detail->get_text(0), "rq-2/task-2/2");
  auto spent = db.prepare("SELECT group_concat(batch || '=' || spent_cny, ' ') FROM batch_progress");
  ASSERT_TRUE(spent && spent->step().value());
  EXPECT_EQ(spent->get_text(0), "b1=2.25 b2=0.0");
  auto refetches = db.prepare("SELECT sum(refetches) FROM jobs");
  ASSERT_TRUE(refetches && refetches->step().value());
  EXPECT_EQ(refetches->get_int64(0), 0);
}

}  // namespace
}  // namespace vidq::store
