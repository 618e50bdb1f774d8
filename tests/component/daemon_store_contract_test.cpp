// The daemon's store interface (store/daemon_store.hpp) on both backends: the same tests,
// the same expectations, on SQLite (sqlite_daemon_store) and on PostgreSQL
// (postgres_daemon_store over a throwaway database). What differs by design is asserted
// per backend and says why.
#include "support/backend.hpp"
#include "support/net_test_server.hpp"
#include "support/pg_test_db.hpp"
#include "support/test_db.hpp"
#include "vidq/store/daemon_store.hpp"
#include "vidq/store/postgres/daemon_store.hpp"
#include "vidq/store/postgres/queue_listener.hpp"
#include "vidq/store/sqlite_daemon_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

using test::backend;

// One backend with a migrated, empty database and a store over it. SQL for setting up rows
// and reading results back goes through `sql` / `scalar`, which both backends understand.
class DaemonStoreContract : public testing::TestWithParam<backend> {
 protected:
  void SetUp() override {
    if (GetParam() == backend::sqlite) {
      sqlite_ = std::make_unique<test::test_db>();
      store_ = std::make_unique<sqlite_daemon_store>(sqlite_->db, clock_);
      return;
    }
    pg_ = std::make_unique<test::pg_test_db>();
    if (!pg_->available()) GTEST_SKIP() << "PostgreSQL tests need VIDQ_TEST_PG_URL (scripts/test starts a cluster)";
    pg_->migrate();
    pool_ = std::make_unique<pg::pool>(ioc_.get_executor(), pg::pool_options{.conninfo = pg_->conninfo(), .size = 2});
    store_ = std::make_unique<pg::postgres_daemon_store>(*pool_, clock_, "node-test");
  }

  void TearDown() override {
    store_.reset();
    pool_.reset();
  }

  void sql(const std::string& text) {
    if (sqlite_) {
      sqlite_->exec(text);
    } else {
      pg_->exec(text);
    }
  }
  std::int64_t scalar(const std::string& text) { return sqlite_ ? sqlite_->scalar(text) : pg_->scalar(text); }
  std::string text(const std::string& q) { return sqlite_ ? sqlite_->text(q) : pg_->text(q); }

  void insert_jobs(int n, const std::string& account = "acct", const std::string& batch = "b1") {
    for (int i = 0; i < n; ++i) {
      sql("INSERT INTO jobs(account, model, prompt, batch) VALUES ('" + account + "', 'cogvideox-3', 'p', '" + batch +
          "')");
    }
  }

  // Claims the one job of group b1; nullopt (and a failure) when that did not give one row.
  awaitable<std::optional<job_row>> claim_one(const queue_group& group) {
    auto rows = co_await store_->claim(group, 1, "acct", 20);
    if (!rows || rows->size() != 1) {
      ADD_FAILURE() << "claim gave " << (rows ? rows->size() : 0) << " rows";
      co_return std::nullopt;
    }
    co_return (*rows)[0];
  }

  // Runs `body` on the io_context (PostgreSQL needs the loop; SQLite never suspends).
  void run(std::function<awaitable<void>()> body) {
    ioc_.restart();  // a second run() in one test
    EXPECT_TRUE(net_test::run_test(ioc_, std::move(body)));
  }

  asio::io_context ioc_;
  manual_clock clock_;
  std::unique_ptr<test::test_db> sqlite_;
  std::unique_ptr<test::pg_test_db> pg_;
  std::unique_ptr<pg::pool> pool_;
  std::unique_ptr<daemon_store> store_;
};

const queue_group group_b1{"acct", "cogvideox-3", 0, "b1"};

TEST_P(DaemonStoreContract, ClaimsOldestFirstWithAFreshRequestIdPerAttempt) {
  insert_jobs(3);
  run([&]() -> awaitable<void> {
    auto groups = co_await store_->queued_groups();
    EXPECT_TRUE(groups && groups->size() == 1 && (*groups)[0] == group_b1);
    auto rows = co_await store_->claim(group_b1, 2, "acct", 20);
    EXPECT_TRUE(rows);
    if (!rows || rows->size() != 2) {
      ADD_FAILURE() << "claimed " << (rows ? rows->size() : 0);
      co_return;
    }
    EXPECT_EQ((*rows)[0].id, 1);
    EXPECT_EQ((*rows)[1].id, 2);
    for (const auto& r : *rows) {
      EXPECT_EQ(r.state, job_state::submitting);
      EXPECT_EQ(r.attempts, 1);
      EXPECT_TRUE(r.request_id && r.request_id->starts_with("vq" + std::to_string(r.id) + "-1-"));
    }
    auto counts = co_await store_->inflight_counts();
    EXPECT_TRUE(counts && counts->size() == 1);
    if (counts && counts->size() == 1) {
      EXPECT_EQ((*counts)[0].count, 2);
    }
    auto transient = co_await store_->transient_rows();
    EXPECT_TRUE(transient && transient->size() == 2);
  });
}

TEST_P(DaemonStoreContract, AnAcceptedTaskIsChargedPolledAndSucceeds) {
  insert_jobs(1);
  run([&]() -> awaitable<void> {
    auto claimed = co_await claim_one(group_b1);
    if (!claimed) co_return;
    auto row = *claimed;
    const std::string request_id = *row.request_id;
    const millis first_poll = clock_.now() + 5'000;
    EXPECT_TRUE(is_true(co_await store_->record_accepted(row, request_id, "task-1", first_poll, 500)));
    row.state = job_state::processing;
    auto spent = co_await store_->spent_since(0);
    EXPECT_TRUE(spent && *spent == 500);
    auto next = co_await store_->next_poll_time();
    EXPECT_TRUE(next && *next == first_poll);
    auto early = co_await store_->due_polls(10);
    EXPECT_TRUE(early && early->empty());
    clock_.advance(5'000);
    auto due = co_await store_->due_polls(10);
    EXPECT_TRUE(due && due->size() == 1);
    if (due && due->size() == 1) row = (*due)[0];
    EXPECT_EQ(row.task_id, "task-1");

    EXPECT_TRUE(is_true(co_await store_->record_polled(row, clock_.now() + 5'000, true)));
    clock_.advance(5'000);
    EXPECT_TRUE(is_true(co_await store_->record_remote_success(row, "https://cdn/v.mp4", "")));
    row.state = job_state::downloading;
    dispatch_store::download_outcome out;
    out.video_path = "videos/1.mp4";
    out.video_bytes = 1234;
    out.video_sha256 = "ab";
    out.cost = 500;
    EXPECT_TRUE(is_true(co_await store_->record_succeeded(row, out)));
    auto samples = co_await store_->recent_duration_samples(10);
    EXPECT_TRUE(samples && samples->size() == 1) << "the finished task left a run-time sample";
    if (samples && samples->size() == 1) {
      EXPECT_EQ((*samples)[0].model, "cogvideox-3");
      EXPECT_EQ((*samples)[0].at_least, 5'000) << "seen running 5 s after the submit";
      EXPECT_EQ((*samples)[0].at_most, 10'000) << "seen done 10 s after it";
    }
  });
  EXPECT_EQ(text("SELECT state FROM jobs WHERE id = 1"), "succeeded");
  EXPECT_EQ(scalar("SELECT polls FROM jobs WHERE id = 1"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM charges WHERE request_id IS NOT NULL AND task_id = 'task-1'"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM job_events WHERE job_id = 1"), 4);  // queued→sub→proc→dl→ok
}

TEST_P(DaemonStoreContract, ExpiredUrlsAndRefetchesPollTheSameTaskAgain) {
  insert_jobs(1);
  run([&]() -> awaitable<void> {
    auto claimed = co_await claim_one(group_b1);
    if (!claimed) co_return;
    auto row = *claimed;
    const std::string request_id = *row.request_id;
    EXPECT_TRUE(is_true(co_await store_->record_accepted(row, request_id, "task-1", clock_.now(), 500)));
    EXPECT_TRUE(is_true(co_await store_->record_remote_success(row, "https://cdn/v.mp4", "https://cdn/c.jpg")));
    EXPECT_TRUE(is_true(co_await store_->record_urls_expired(row)));
    EXPECT_TRUE(is_true(co_await store_->record_remote_success(row, "https://cdn/v2.mp4", "")));
    EXPECT_TRUE(is_true(co_await store_->record_refetch(row, "disk_full", "no space")));
    // Not in downloading any more: a second refetch of the same copy changes nothing.
    EXPECT_FALSE(is_true(co_await store_->record_refetch(row, "disk_full", "no space")));
  });
  EXPECT_EQ(text("SELECT state FROM jobs"), "processing");
  EXPECT_EQ(text("SELECT task_id FROM jobs"), "task-1");
  EXPECT_EQ(scalar("SELECT refetches FROM jobs"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM charges"), 1) << "one task, one charge";
}

TEST_P(DaemonStoreContract, ARequeueRefundsTheAttemptAndGivesAPoolJobBackItsAsk) {
  insert_jobs(1, "*");
  run([&]() -> awaitable<void> {
    const queue_group pool_group{"*", "cogvideox-3", 0, "b1"};
    auto claimed = co_await claim_one(pool_group);
    if (!claimed) co_return;
    const auto row = *claimed;
    EXPECT_EQ(row.account, "acct");
    EXPECT_EQ(row.requested_account, "*");
    const std::string request_id = *row.request_id;
    EXPECT_TRUE(
        is_true(co_await store_->record_requeued(row, request_id, clock_.now() + 1'000, "1302", "busy", true)));
  });
  EXPECT_EQ(text("SELECT state FROM jobs"), "queued");
  EXPECT_EQ(text("SELECT account FROM jobs"), "*");
  EXPECT_EQ(scalar("SELECT attempts FROM jobs"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM charges"), 0);
}

TEST_P(DaemonStoreContract, AnAmbiguousSubmitFailsChargedOnce) {
  insert_jobs(1);
  run([&]() -> awaitable<void> {
    auto claimed = co_await claim_one(group_b1);
    if (!claimed) co_return;
    const auto row = *claimed;
    EXPECT_TRUE(is_true(co_await store_->record_failed_charged(row, charge_origin::ambiguous, "submit_ambiguous",
                                                               "no answer", 700)));
    // The same stale copy again: the row moved, nothing more is charged.
    EXPECT_FALSE(is_true(co_await store_->record_failed_charged(row, charge_origin::ambiguous, "submit_ambiguous",
                                                                "no answer", 700)));
    auto by_batch = co_await store_->spent_by_batch("b1");
    EXPECT_TRUE(by_batch && *by_batch == 700);
  });
  EXPECT_EQ(text("SELECT state FROM jobs"), "failed");
  EXPECT_EQ(text("SELECT origin FROM charges"), "ambiguous");
}

TEST_P(DaemonStoreContract, AnOperatorsCancelWinsOverTheDaemonsNextWrite) {
  insert_jobs(1);
  job_row row;
  run([&]() -> awaitable<void> {
    auto claimed = co_await claim_one(group_b1);
    if (!claimed) co_return;
    row = *claimed;
    const std::string request_id = *row.request_id;
    EXPECT_TRUE(is_true(co_await store_->record_accepted(row, request_id, "task-1", clock_.now(), 500)));
  });
  sql("UPDATE jobs SET state = 'cancelled'");
  run([&]() -> awaitable<void> {
    auto polled = co_await store_->record_polled(row, clock_.now() + 1'000, true);
    EXPECT_TRUE(polled);
    EXPECT_FALSE(is_true(polled));
    EXPECT_FALSE(is_true(co_await store_->record_failed(row, job_state::processing, "x", "y")));
  });
  EXPECT_EQ(text("SELECT state FROM jobs"), "cancelled");
}

TEST_P(DaemonStoreContract, PausesAreKeptAndOnlyTheirSetterLiftsThem) {
  run([&]() -> awaitable<void> {
    EXPECT_TRUE(co_await store_->pause("acct", "1113 arrears", std::nullopt, paused_by::provider));
    EXPECT_TRUE(co_await store_->pause("other", "endpoint down", clock_.now() + 60'000, paused_by::breaker));
    auto lifted_wrong = co_await store_->lift("acct", paused_by::breaker);
    EXPECT_TRUE(lifted_wrong && !*lifted_wrong) << "the breaker must not lift the provider's pause";
    auto all = co_await store_->pauses();
    EXPECT_TRUE(all && all->size() == 2);
    if (all && all->size() == 2) {
      EXPECT_EQ((*all)[0].account, "acct");
      EXPECT_EQ((*all)[0].by, paused_by::provider);
      EXPECT_FALSE((*all)[0].until);
      EXPECT_EQ((*all)[1].until, clock_.now() + 60'000);
    }
    auto lifted = co_await store_->lift("other", paused_by::breaker);
    EXPECT_TRUE(lifted && *lifted);
  });
  EXPECT_EQ(scalar("SELECT count(*) FROM account_pauses"), 1);
  run([&]() -> awaitable<void> {
    auto resumed = co_await store_->resume("acct");
    EXPECT_TRUE(resumed && *resumed) << "the operator's resume lifts a pause whoever set it";
    auto again = co_await store_->resume("acct");
    EXPECT_TRUE(again && !*again);
  });
  EXPECT_EQ(scalar("SELECT count(*) FROM account_pauses"), 0);
}

TEST_P(DaemonStoreContract, AnOutputNameBelongsToOneJob) {
  insert_jobs(2);
  std::vector<job_row> rows;
  run([&]() -> awaitable<void> {
    auto claimed = co_await store_->claim(group_b1, 2, "acct", 20);
    if (!claimed || claimed->size() != 2) {
      ADD_FAILURE() << "claim";
      co_return;
    }
    rows = *claimed;
    for (auto& r : rows) {
      const std::string request_id = *r.request_id;
      const std::string task_id = "task-" + std::to_string(r.id);
      EXPECT_TRUE(is_true(co_await store_->record_accepted(r, request_id, task_id, clock_.now(), 500)));
      EXPECT_TRUE(is_true(co_await store_->record_remote_success(r, "https://cdn/v.mp4", "")));
    }
    auto first = co_await store_->reserve_video_path(rows[0], "/out/sku-1.mp4");
    EXPECT_TRUE(first && *first == output_reservation::reserved);
    auto second = co_await store_->reserve_video_path(rows[1], "/out/sku-1.mp4");
    EXPECT_TRUE(second && *second == output_reservation::taken);
    auto again = co_await store_->reserve_video_path(rows[0], "/out/sku-1.mp4");
    EXPECT_TRUE(again && *again == output_reservation::reserved) << "its own name stays its own";
  });
  sql("UPDATE jobs SET state = 'cancelled' WHERE id = 2");
  run([&]() -> awaitable<void> {
    auto moved = co_await store_->reserve_video_path(rows[1], "/out/sku-1-2.mp4");
    EXPECT_TRUE(moved && *moved == output_reservation::moved);
  });
  EXPECT_EQ(text("SELECT video_path FROM jobs WHERE id = 1"), "/out/sku-1.mp4");
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs WHERE video_path IS NOT NULL"), 1);
}

TEST_P(DaemonStoreContract, RetentionAndTheSampleTrimAreBoundedSteps) {
  insert_jobs(3);
  // Two jobs finished long ago, one recently.
  sql("UPDATE jobs SET state = 'succeeded', finished_at = 1000 WHERE id <= 2");
  sql("UPDATE jobs SET state = 'failed', finished_at = " + std::to_string(clock_.now()) + " WHERE id = 3");
  ops::retention_config rules;
  rules.finished_jobs = 86'400'000;
  run([&]() -> awaitable<void> {
    auto r = co_await store_->apply_retention(rules, clock_.now());
    EXPECT_TRUE(r);
    if (r) {
      EXPECT_EQ(r->jobs_deleted, 2);
      EXPECT_EQ(r->events_deleted, 2) << "queued -> succeeded, one each";
      EXPECT_FALSE(r->more);
    }
    auto trimmed = co_await store_->trim_duration_samples();
    EXPECT_TRUE(trimmed && *trimmed == 0) << "nothing beyond the newest 20,000";
  });
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM job_events"), 1);
}

// What another client writes (cron's INSERT, an operator's pause), the daemon hears of; its
// own writes it does not need to hear. SQLite: a second connection on the file bumps
// PRAGMA data_version; PostgreSQL: the NOTIFY reaches the queue listener.
TEST_P(DaemonStoreContract, NoticesWhatAnotherClientWrote) {
  std::optional<database> other;
  std::unique_ptr<pg::queue_listener> listener;
  if (sqlite_) {
    auto opened = database::open(sqlite_->dir.file("vidq.db"));
    ASSERT_TRUE(opened);
    other = std::move(*opened);
  } else {
    auto* pg_store = static_cast<pg::postgres_daemon_store*>(store_.get());
    listener = std::make_unique<pg::queue_listener>(ioc_.get_executor(), pg_->conninfo(),
                                                    [pg_store] { pg_store->note_change(); });
  }
  auto another_client_writes = [&](const std::string& text) {
    if (other) {
      ASSERT_TRUE(other->exec(text));
    } else {
      pg_->exec(text);
    }
  };
  auto changed_within = [&](int ms) -> awaitable<bool> {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (int waited = 0;; waited += 10) {
      auto changed = co_await store_->changed_elsewhere();
      if (changed && *changed) co_return true;
      if (waited >= ms) co_return false;
      t.expires_after(std::chrono::milliseconds(10));
      co_await t.async_wait(asio::use_awaitable);
    }
  };
  run([&]() -> awaitable<void> {
    if (listener) asio::co_spawn(co_await asio::this_coro::executor, listener->run(), asio::detached);
    (void)co_await changed_within(2'000);  // the baseline (and the listener's first connect)
    auto quiet = co_await store_->changed_elsewhere();
    EXPECT_TRUE(quiet && !*quiet) << "nothing happened since";
    another_client_writes("INSERT INTO jobs(account, model, prompt, batch) VALUES ('acct', 'cogvideox-3', 'cron', 'b1')");
    EXPECT_TRUE(co_await changed_within(1'000)) << "an INSERT by another client is noticed within a second";
    another_client_writes("INSERT INTO account_pauses(account, reason, paused_by) VALUES ('acct', 'x', 'operator')");
    EXPECT_TRUE(co_await changed_within(1'000)) << "so is an operator's pause";
    // The daemon's own write: nobody needs to be told (SQLite never says; PostgreSQL's
    // NOTIFY only fires for rows left queued, which a claim does not leave).
    auto rows = co_await store_->claim(group_b1, 1, "acct", 20);
    EXPECT_TRUE(rows && rows->size() == 1);
    EXPECT_FALSE(co_await changed_within(200));
    if (listener) listener->stop();
  });
}

// ---- The notice outbox (store/notice_outbox.hpp) ----

TEST_P(DaemonStoreContract, ANoticeIsFannedOutOnceWithADeliveryPerTarget) {
  sql("INSERT INTO notices(id, event, at, batch) VALUES (1, 'batch_finished', 100, 'spring')");
  clock_.set(1'000);
  run([&]() -> awaitable<void> {
    auto& outbox = store_->notices();
    auto waiting = co_await outbox.to_fan_out(10);
    EXPECT_TRUE(waiting && waiting->size() == 1 && (*waiting)[0].batch == "spring");
    const std::vector<std::string> targets{"ops", "shop"};
    const std::string payload = R"({"batch":"spring","cost_cny":1.5})";
    auto first = co_await outbox.fan_out(1, payload, targets);
    EXPECT_TRUE(first && *first);
    auto second = co_await outbox.fan_out(1, payload, targets);
    EXPECT_TRUE(second && !*second) << "already fanned out: nothing changes";
    auto left = co_await outbox.to_fan_out(10);
    EXPECT_TRUE(left && left->empty());
    auto due = co_await outbox.due(1'000, 10);
    EXPECT_TRUE(due && due->size() == 2);
    if (due && due->size() == 2) {
      EXPECT_EQ((*due)[0].notice.payload, payload);
      EXPECT_EQ((*due)[0].attempts, 0);
    }
    auto next = co_await outbox.next_due();
    EXPECT_TRUE(next && *next == std::optional<millis>(1'000));
  });
  EXPECT_EQ(scalar("SELECT count(*) FROM notice_deliveries"), 2);
}

TEST_P(DaemonStoreContract, AttemptOutcomesMoveTheDeliveryAndFinishedNoticesArePruned) {
  sql("INSERT INTO notices(id, event, at, batch) VALUES (1, 'batch_finished', 100, 'a')");
  sql("INSERT INTO notices(id, event, at, batch) VALUES (2, 'batch_finished', 100, 'b')");
  clock_.set(1'000);
  run([&]() -> awaitable<void> {
    auto& outbox = store_->notices();
    const std::vector<std::string> targets{"ops"};
    (void)co_await outbox.fan_out(1, "{}", targets);
    (void)co_await outbox.fan_out(2, "{}", targets);
    auto claimed = co_await outbox.claim_delivery(1, "ops", 1'000, 60'000);
    EXPECT_TRUE(claimed && *claimed);
    auto delivered = co_await outbox.record_delivered(1, "ops");
    EXPECT_TRUE(delivered);
    auto failed = co_await outbox.record_failed(2, "ops", "HTTP 500", std::optional<millis>(5'000));
    EXPECT_TRUE(failed);
    auto due = co_await outbox.due(1'000, 10);
    EXPECT_TRUE(due && due->empty()) << "delivered, and the other retries at 5,000";
    auto later = co_await outbox.due(5'000, 10);
    EXPECT_TRUE(later && later->size() == 1 && (*later)[0].attempts == 1);
    auto pruned = co_await outbox.prune(200, 100);
    EXPECT_TRUE(pruned && *pruned == 1) << "the delivered notice; the pending one stays";
    auto gave_up = co_await outbox.record_failed(2, "ops", "HTTP 500", std::nullopt);
    EXPECT_TRUE(gave_up);
    auto none = co_await outbox.next_due();
    EXPECT_TRUE(none && !*none) << "nothing pending";
    auto budget = co_await outbox.record_budget_blocked("daily budget 5.00 CNY reached");
    EXPECT_TRUE(budget);
  });
  EXPECT_EQ(text("SELECT last_error FROM notice_deliveries WHERE notice_id = 2"), "HTTP 500");
  EXPECT_EQ(scalar("SELECT count(*) FROM notice_deliveries WHERE gave_up_at IS NOT NULL"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM notices WHERE event = 'budget_blocked' AND fanned_out = 0"), 1);
}

TEST_P(DaemonStoreContract, OneDaemonClaimsADeliveryTheOthersLeaveIt) {
  sql("INSERT INTO notices(id, event, at, batch) VALUES (1, 'batch_finished', 100, 'a')");
  clock_.set(1'000);
  std::unique_ptr<pg::pool> second_pool;
  std::unique_ptr<daemon_store> second;
  if (GetParam() == backend::postgres) {
    second_pool = std::make_unique<pg::pool>(ioc_.get_executor(), pg::pool_options{.conninfo = pg_->conninfo(), .size = 1});
    second = std::make_unique<pg::postgres_daemon_store>(*second_pool, clock_, "node-other");
  }
  run([&]() -> awaitable<void> {
    const std::vector<std::string> targets{"ops"};
    (void)co_await store_->notices().fan_out(1, "{}", targets);
    auto mine = co_await store_->notices().claim_delivery(1, "ops", 1'000, 60'000);
    EXPECT_TRUE(mine && *mine);
    if (!second) co_return;  // SQLite: one daemon per file, nobody to keep out
    auto theirs = co_await second->notices().claim_delivery(1, "ops", 1'000, 60'000);
    EXPECT_TRUE(theirs && !*theirs) << "held by the first daemon";
    auto due = co_await second->notices().due(1'000, 10);
    EXPECT_TRUE(due && due->empty());
    auto after_hold = co_await second->notices().claim_delivery(1, "ops", 61'000, 60'000);
    EXPECT_TRUE(after_hold && *after_hold) << "the first daemon died: the hold ends, another sends it";
  });
  if (GetParam() == backend::sqlite) {
    EXPECT_EQ(scalar("SELECT next_attempt_at FROM notice_deliveries"), 1'000) << "a claim holds nothing on SQLite";
  }
}

TEST_P(DaemonStoreContract, TheBatchManifestListsTheBatchInIdOrder) {
  insert_jobs(2, "acct", "spring");
  insert_jobs(1, "acct", "autumn");
  sql("UPDATE jobs SET state = 'succeeded', video_path = '/out/1.mp4' WHERE id = 1");
  run([&]() -> awaitable<void> {
    auto rows = co_await store_->notices().batch_manifest("spring");
    EXPECT_TRUE(rows && rows->size() == 2);
    if (!rows || rows->size() != 2) co_return;
    EXPECT_EQ((*rows)[0].id, 1);
    EXPECT_EQ((*rows)[0].video_path, "/out/1.mp4");
    EXPECT_EQ((*rows)[1].state, job_state::queued);
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, DaemonStoreContract, test::both_backends(), test::backend_name);

}  // namespace
}  // namespace vidq::store
