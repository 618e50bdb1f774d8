#include "vidq/store/job_store.hpp"

#include "vidq/store/charge_store.hpp"
#include "vidq/store/sqlite.hpp"

#include <boost/json/serialize.hpp>

namespace vidq::store {

result<insert_outcome> job_store::insert(const new_job& job, std::int64_t* id) {
  auto stmt = db_.cached(
      "INSERT INTO jobs(key, batch, priority, account, model, prompt, image_url, params, "
      "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) "
      "ON CONFLICT(key) DO NOTHING");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  const auto images = provider::encode_images(job.spec.images);
  const auto params = job.spec.params.empty() ? std::string("{}") : boost::json::serialize(job.spec.params);
  // bind_view: every bound string outlives the step below, and the reset that follows it
  // drops the pointers before they dangle.
  if (job.key) {
    s.bind_view(1, *job.key);
  } else {
    s.bind(1, nullptr);
  }
  s.bind_view(2, job.batch).bind(3, job.priority).bind_view(4, job.account).bind_view(5, job.spec.model);
  if (job.spec.prompt.empty()) {
    s.bind(6, nullptr);
  } else {
    s.bind_view(6, job.spec.prompt);
  }
  if (images.empty()) {
    s.bind(7, nullptr);
  } else {
    s.bind_view(7, images);
  }
  s.bind_view(8, params).bind(9, clock_.now());
  auto ran = s.run();
  s.reset();
  if (!ran) return ran.error();
  if (db_.changes() == 0) return insert_outcome::duplicate_key;
  if (id) *id = db_.last_insert_rowid();
  return insert_outcome::inserted;
}

result<std::optional<job_row>> job_store::get(std::int64_t id) {
  auto stmt = db_.cached("SELECT " VIDQ_JOB_COLUMNS " FROM jobs WHERE id = ?1");
  if (!stmt) return stmt.error();
  (*stmt)->bind(1, id);
  auto row = (*stmt)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<job_row>();
  std::optional<job_row> found(read_job_row(**stmt));
  (*stmt)->reset();  // an unfinished statement would hold a read snapshot on the daemon's connection
  return found;
}

result<std::optional<job_row>> job_store::get_by_key(std::string_view key) {
  auto stmt = db_.cached("SELECT " VIDQ_JOB_COLUMNS " FROM jobs WHERE key = ?1");
  if (!stmt) return stmt.error();
  (*stmt)->bind(1, key);
  auto row = (*stmt)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<job_row>();
  std::optional<job_row> found(read_job_row(**stmt));
  (*stmt)->reset();
  return found;
}

result<std::vector<job_event>> job_store::events(std::int64_t job_id) {
  auto stmt = db_.cached(
      "SELECT id, job_id, at, from_state, to_state, detail FROM job_events WHERE job_id = ?1 ORDER BY id");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind(1, job_id);
  std::vector<job_event> out;
  auto rows = s.for_each_row([&](const statement& r) {
    out.push_back({r.get_int64(0), r.get_int64(1), r.get_int64(2), r.get_optional_text(3), r.get_text(4),
                   r.get_optional_text(5)});
  });
  if (!rows) return rows.error();
  return out;
}

result<std::vector<job_row>> job_store::list(const list_filter& filter) {
  // NULL filters match everything. Newest first by walking the rowid backwards until the
  // limit is met: right for an operator's listing, which is not a hot path.
  // A key names at most one row: looked up through its unique index, never by a walk.
  auto stmt = filter.key ? db_.cached("SELECT " VIDQ_JOB_COLUMNS
                                      " FROM jobs WHERE key = ?5 AND (?1 IS NULL OR state = ?1) AND "
                                      "(?2 IS NULL OR batch = ?2) AND (?3 IS NULL OR model = ?3) LIMIT ?4")
                         : db_.cached("SELECT " VIDQ_JOB_COLUMNS
                                      " FROM jobs WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR batch = ?2)"
                                      " AND (?3 IS NULL OR model = ?3) ORDER BY id DESC LIMIT ?4");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  if (filter.state) {
    s.bind(1, to_string(*filter.state));
  } else {
    s.bind(1, nullptr);
  }
  s.bind(2, filter.batch).bind(3, filter.model).bind(4, filter.limit);
  if (filter.key) s.bind(5, *filter.key);
  return read_job_rows(s);
}

result<std::vector<batch_summary>> job_store::batch_summaries() {
  // The counts come straight from the two indexes that cover them (the shape of the
  // batch_state_counts view without its cost join); spend per batch from the ledger.
  auto stmt = db_.cached(
      "SELECT batch, state, count(*) FROM jobs WHERE state <> 'queued' GROUP BY batch, state "
      "UNION ALL SELECT batch, 'queued', count(*) FROM jobs WHERE state = 'queued' GROUP BY batch "
      "ORDER BY 1");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  std::vector<batch_summary> out;
  auto rows = s.for_each_row([&](const statement& r) {
    std::string batch = r.get_text(0);
    if (out.empty() || out.back().batch != batch) out.push_back({std::move(batch)});
    auto& summary = out.back();
    const auto count = r.get_int64(2);
    if (auto state = parse_job_state(r.get_text(1))) summary.by_state[static_cast<int>(*state)] += count;
    summary.total += count;
  });
  s.reset();
  if (!rows) return rows.error();
  charge_store ledger(db_);
  auto spent = ledger.spent_per_batch();
  if (!spent) return spent.error();
  for (auto& summary : out) {
    if (auto it = spent->find(summary.batch); it != spent->end()) summary.cost = it->second;
  }
  return out;
}

result<int> job_store::transition(const job_selector& which, const char* set_clause, const char* from_states,
                                  std::vector<transition_miss>* missed) {
  const std::string where = std::string("state IN (") + from_states +
                            ") AND (?3 IS NULL OR state = ?3) AND (?4 IS NULL OR error_code IS ?4)";
  const auto bind_filters = [&](statement& stmt) {
    if (which.state) {
      stmt.bind(3, to_string(*which.state));
    } else {
      stmt.bind(3, nullptr);
    }
    stmt.bind(4, which.error_code);
  };
  int changed = 0;
  const bool everything = which.ids.empty() && !which.batch && (which.state || which.error_code);
  if (which.batch || everything) {
    auto stmt = db_.prepare(std::string("UPDATE jobs SET ") + set_clause + " WHERE " +
                            (everything ? "" : "batch = ?2 AND ") + where);
    if (!stmt) return stmt.error();
    stmt->bind(1, clock_.now());
    if (!everything) stmt->bind(2, *which.batch);
    bind_filters(*stmt);
    if (auto r = stmt->run(); !r) return r.error();
    changed += db_.changes();
  }
  if (!which.ids.empty()) {
    auto stmt = db_.prepare(std::string("UPDATE jobs SET ") + set_clause + " WHERE id = ?2 AND " + where);
    if (!stmt) return stmt.error();
    auto look = db_.prepare("SELECT state, error_code FROM jobs WHERE id = ?1");
    if (!look) return look.error();
    for (const auto id : which.ids) {
      stmt->reset();
      stmt->bind(1, clock_.now()).bind(2, id);
      bind_filters(*stmt);
      if (auto r = stmt->run(); !r) return r.error();
      const int n = db_.changes();
      changed += n;
      if (n > 0 || !missed) continue;
      look->reset();
      look->bind(1, id);
      auto row = look->step();
      if (!row) return row.error();
      transition_miss miss{id, std::nullopt, std::nullopt};
      if (*row) {
        miss.state = parse_job_state(look->get_text(0));
        miss.error_code = look->get_optional_text(1);
      }
      missed->push_back(std::move(miss));
    }
  }
  return changed;
}

result<int> job_store::cancel(const job_selector& which, std::vector<transition_miss>* missed) {
  auto tx = transaction::begin(db_);
  if (!tx) return tx.error();
  auto changed = transition(
      which,
      "state = 'cancelled', updated_at = ?1, finished_at = ?1, next_poll_at = NULL, "
      "error_code = 'cancelled', error_message = 'cancelled by operator'",
      "'queued', 'submitting', 'processing', 'downloading'", missed);
  if (!changed) return changed;
  if (auto r = tx->commit(); !r) return r.error();
  return changed;
}

namespace {

// A failed or cancelled job as `vidq retry` judges it.
struct retry_candidate {
  std::int64_t id = 0;
  std::optional<job_state> state;
  bool has_task = false;
  bool task_succeeded = false;
  std::optional<std::string> error_code;
};

constexpr const char* retry_candidate_columns =
    "SELECT id, state, task_id IS NOT NULL, video_url IS NOT NULL, error_code FROM jobs ";

retry_candidate read_candidate(const statement& s) {
  return {s.get_int64(0), parse_job_state(s.get_text(1)), s.get_int64(2) != 0, s.get_int64(3) != 0,
          s.get_optional_text(4)};
}

}  // namespace

result<int> job_store::retry(const job_selector& which, std::vector<transition_miss>* missed, retry_mode mode) {
  auto tx = transaction::begin(db_);
  if (!tx) return tx.error();
  std::vector<retry_candidate> found;
  std::vector<transition_miss> left;
  const bool everything = which.ids.empty() && !which.batch && (which.state || which.error_code);
  if (which.batch || everything) {
    auto stmt = db_.prepare(std::string(retry_candidate_columns) + "WHERE " + (everything ? "" : "batch = ?2 AND ") +
                            "state IN ('failed', 'cancelled') AND (?3 IS NULL OR state = ?3) AND "
                            "(?4 IS NULL OR error_code IS ?4) ORDER BY id");
    if (!stmt) return stmt.error();
    if (!everything) stmt->bind(2, *which.batch);
    stmt->bind(3, which.state ? std::optional<std::string>(std::string(to_string(*which.state))) : std::nullopt);
    stmt->bind(4, which.error_code);
    if (auto r = stmt->for_each_row([&](const statement& row) { found.push_back(read_candidate(row)); }); !r) {
      return r.error();
    }
  }
  if (!which.ids.empty()) {
    auto look = db_.prepare(std::string(retry_candidate_columns) + "WHERE id = ?1");
    if (!look) return look.error();
    for (const auto id : which.ids) {
      look->reset();
      look->bind(1, id);
      auto row = look->step();
      if (!row) return row.error();
      if (!*row) {
        left.push_back({id, std::nullopt, std::nullopt});
        continue;
      }
      auto c = read_candidate(*look);
      const bool filtered_out = (which.state && c.state != which.state) ||
                                (which.error_code && c.error_code != which.error_code);
      if (filtered_out) {
        left.push_back({c.id, c.state, c.error_code});
        continue;
      }
      found.push_back(std::move(c));
    }
  }
  // A retried job is a new submission: it gets a new request_id at claim, so the provider
  // cannot mistake it for the old one; task and result columns are cleared. A re-download
  // keeps them: the stored task is what gets polled.
  auto requeue = db_.prepare(
      "UPDATE jobs SET state = 'queued', updated_at = ?1, attempts = 0, not_before = 0, request_id = NULL, "
      "task_id = NULL, submitted_at = NULL, next_poll_at = NULL, polls = 0, finished_at = NULL, "
      "video_url = NULL, cover_url = NULL, error_code = NULL, error_message = NULL, refetches = 0 "
      "WHERE id = ?2 AND state IN ('failed', 'cancelled')");
  if (!requeue) return requeue.error();
  auto refetch = db_.prepare(
      "UPDATE jobs SET state = 'processing', updated_at = ?1, next_poll_at = ?1, finished_at = NULL, "
      "refetches = refetches + 1, error_code = NULL, error_message = NULL "
      "WHERE id = ?2 AND state IN ('failed', 'cancelled') AND task_id IS NOT NULL");
  if (!refetch) return refetch.error();
  int changed = 0;
  for (const auto& c : found) {
    const auto decision = decide_retry(c.state.value_or(job_state::queued), c.has_task, c.task_succeeded, mode);
    statement* apply = decision == retry_decision::requeue ? &*requeue
                       : decision == retry_decision::refetch ? &*refetch
                                                             : nullptr;
    if (apply == nullptr) {
      left.push_back({c.id, c.state, c.error_code, decision});
      continue;
    }
    apply->reset();
    apply->bind(1, clock_.now()).bind(2, c.id);
    if (auto r = apply->run(); !r) return r.error();
    changed += db_.changes();
  }
  if (auto r = tx->commit(); !r) return r.error();
  if (missed) missed->insert(missed->end(), left.begin(), left.end());
  return changed;
}

}  // namespace vidq::store
