#include "vidq/store/postgres/copy_from_sqlite.hpp"

#include "vidq/store/migrations.hpp"
#include "vidq/store/postgres/migrate.hpp"
#include "vidq/store/postgres/pool.hpp"

#include <algorithm>
#include <set>
#include <utility>

namespace vidq::store::pg {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// The tables that carry state, in copy order: parents before children (job_events → jobs,
// notice_deliveries → notices). account_pauses precedes notices because its insert trigger
// writes an `account_paused` notice; those are deleted before the source's notices (which
// hold the ones SQLite wrote for the same pauses) are copied. Tables on one side only
// (PostgreSQL's nodes and lanes, schema_migrations) are not copied: the daemons fill them.
struct table_plan {
  const char* name;
  const char* order;     // ORDER BY of the source: key order, so ids arrive ascending
  bool identity;         // `id` is an identity column whose sequence must pass the copy
  const char* checksum;  // compared on both sides after the copy (integers only: exact text)
};
constexpr table_plan copied_tables[] = {
    {"jobs", "id", true, "count(*), coalesce(sum(id), 0), coalesce(sum(attempts), 0), coalesce(sum(cost), 0)"},
    {"job_events", "id", true, "count(*), coalesce(sum(id), 0), coalesce(sum(job_id), 0)"},
    {"charges", "id", true, "count(*), coalesce(sum(id), 0), coalesce(sum(price), 0), coalesce(sum(refunded), 0)"},
    {"duration_samples", "id", true, "count(*), coalesce(sum(id), 0), coalesce(sum(at_least_ms), 0)"},
    {"account_pauses", "account", false, "count(*), coalesce(sum(length(account)), 0)"},
    {"notices", "id", true, "count(*), coalesce(sum(id), 0), coalesce(sum(fanned_out), 0)"},
    {"notice_deliveries", "notice_id, target", false,
     "count(*), coalesce(sum(notice_id), 0), coalesce(sum(attempts), 0)"},
};

constexpr const char* jobs_per_state = "SELECT state, count(*) FROM jobs GROUP BY state";

// A statement carries at most this many parameters (PostgreSQL's limit is 65535) and rows:
// ~900 jobs per INSERT, one round trip per few hundred kilobytes.
constexpr int max_params_per_statement = 32'000;
constexpr int max_rows_per_statement = 1'000;

// How long the copy waits for a client that is writing the target (a daemon started early).
constexpr const char* lock_wait = "SET LOCAL lock_timeout = '30s'";

std::string quoted(std::string_view name) {
  return "\"" + std::string(name) + "\"";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + quoted(n);
  return out;
}

// INSERT INTO t (c1, ..., cn) VALUES ($1, ..., $n), ... for `row_count` rows.
std::string insert_sql(std::string_view table, const std::string& column_list, int width, int row_count) {
  std::string sql = "INSERT INTO " + quoted(table) + " (" + column_list + ") VALUES ";
  sql.reserve(sql.size() + static_cast<std::size_t>(row_count) * static_cast<std::size_t>(width) * 8);
  int next = 1;
  for (int r = 0; r < row_count; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (int c = 0; c < width; ++c) {
      if (c > 0) sql += ", ";
      sql += "$" + std::to_string(next++);
    }
    sql += ")";
  }
  return sql;
}

// Rows as "a|b|NULL" lines, sorted, so that two backends' answers compare as text.
std::string digest(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
  return out;
}

result<std::string> sqlite_digest(database& db, const std::string& sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  std::vector<std::string> lines;
  auto walked = stmt->for_each_row([&](statement& s) {
    std::string line;
    for (int c = 0; c < s.column_count(); ++c) {
      if (c > 0) line += "|";
      line += s.is_null(c) ? std::string("NULL") : s.get_text(c);
    }
    lines.push_back(std::move(line));
  });
  if (!walked) return walked.error();
  return digest(std::move(lines));
}

std::string pg_digest(const rows& r) {
  std::vector<std::string> lines;
  for (int i = 0; i < r.size(); ++i) {
    std::string line;
    for (int c = 0; c < r.columns(); ++c) {
      if (c > 0) line += "|";
      line += r.is_null(i, c) ? std::string("NULL") : std::string(r.text(i, c));
    }
    lines.push_back(std::move(line));
  }
  return digest(std::move(lines));
}

result<std::vector<std::string>> sqlite_columns(database& db, std::string_view table) {
  auto stmt = db.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid");
  if (!stmt) return stmt.error();
  stmt->bind(1, table);
  std::vector<std::string> names;
  auto walked = stmt->for_each_row([&](statement& s) { names.push_back(s.get_text(0)); });
  if (!walked) return walked.error();
  return names;
}

result<std::int64_t> sqlite_count(database& db, std::string_view table) {
  auto stmt = db.prepare("SELECT count(*) FROM " + quoted(table));
  if (!stmt) return stmt.error();
  auto stepped = stmt->step();
  if (!stepped) return stepped.error();
  return stmt->get_int64(0);
}

// Sets *why and returns the error as a result<T>.
template <class T>
result<T> refuse(std::string* why, error_code ec, std::string message) {
  if (why) *why = std::move(message);
  return failed_with<T>(ec);
}

// The PostgreSQL failure of the last call, for *why.
std::string pg_message(const connection& c, std::string_view what) {
  return std::string(what) + ": " + c.last_failure().message;
}

// Copies one table's rows from the source snapshot, in key order, several hundred per INSERT.
// Returns the rows copied.
awaitable<result<std::int64_t>> copy_table(database& source, connection& target, const table_plan& table,
                                           std::int64_t total, const copy_progress& progress, std::string* why) {
  auto columns = sqlite_columns(source, table.name);
  if (!columns || columns->empty()) {
    co_return refuse<std::int64_t>(
        why, columns ? make_error_code(errc::database_error) : columns.error(),
        std::string("cannot read the columns of ") + table.name + ": " + source.last_error());
  }
  auto present = co_await target.query(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
      "AND table_name = $1",
      args(text(table.name)));
  if (!present)
    co_return refuse<std::int64_t>(why, present.error(), pg_message(target, "reading the target's columns"));
  std::set<std::string, std::less<>> known;
  for (int i = 0; i < present->size(); ++i) known.emplace(present->text(i, 0));
  for (const auto& c : *columns) {
    if (!known.contains(c)) {
      co_return refuse<std::int64_t>(
          why, make_error_code(errc::database_error),
          std::string("the target's ") + table.name + " has no column " + c + " (is this vidq's PostgreSQL schema?)");
    }
  }

  const std::string column_list = joined(*columns);
  auto stmt = source.prepare("SELECT " + column_list + " FROM " + quoted(table.name) + " ORDER BY " + table.order);
  if (!stmt)
    co_return refuse<std::int64_t>(why, stmt.error(),
                                   "reading " + std::string(table.name) + ": " + source.last_error());
  const int width = static_cast<int>(columns->size());
  const int per_statement = std::clamp(max_params_per_statement / width, 1, max_rows_per_statement);
  const std::string full = insert_sql(table.name, column_list, width, per_statement);

  std::vector<param> batch;
  batch.reserve(static_cast<std::size_t>(per_statement * width));
  std::int64_t done = 0;
  int pending = 0;
  for (bool more = true; more;) {
    auto stepped = stmt->step();
    if (!stepped) {
      co_return refuse<std::int64_t>(why, stepped.error(),
                                     "reading " + std::string(table.name) + ": " + source.last_error());
    }
    more = *stepped;
    if (more) {
      for (int c = 0; c < width; ++c) batch.push_back(stmt->get_optional_text(c));
      ++pending;
    }
    if (pending == 0 || (more && pending < per_statement)) continue;
    std::string tail;
    if (pending < per_statement) tail = insert_sql(table.name, column_list, width, pending);
    const std::string_view sql = pending < per_statement ? std::string_view(tail) : std::string_view(full);
    std::vector<param> chunk;
    chunk.swap(batch);
    auto inserted = co_await target.query(sql, std::move(chunk));
    if (!inserted) {
      co_return refuse<std::int64_t>(
          why, inserted.error(),
          pg_message(target, "copying " + std::string(table.name) + " after row " + std::to_string(done)));
    }
    done += pending;
    pending = 0;
    batch.reserve(static_cast<std::size_t>(per_statement * width));
    if (progress) progress(table.name, done, total);
  }
  co_return done;
}

// Everything between BEGIN and COMMIT. The target's transaction is open; the source's
// snapshot too.
awaitable<result<void>> copy_in_transaction(database& source, connection& target, const copy_progress& progress,
                                            copy_summary& summary, std::string* why) {
  std::string names;
  for (const auto& t : copied_tables) names += (names.empty() ? "" : ", ") + std::string(t.name);

  // Writers of the target (a daemon started too early, an operator's INSERT) wait until the
  // COMMIT; readers do not. The emptiness check below holds until then.
  if (auto r = co_await target.query(lock_wait); !r)
    co_return refuse<void>(why, r.error(), pg_message(target, "lock_timeout"));
  const std::string lock = "LOCK TABLE " + names + " IN SHARE ROW EXCLUSIVE MODE";
  if (auto r = co_await target.query(lock); !r) {
    co_return refuse<void>(why, r.error(), pg_message(target, "locking the target's tables (is a daemon writing it?)"));
  }

  std::string occupied_sql;
  for (const auto& t : copied_tables) {
    occupied_sql += std::string(occupied_sql.empty() ? "" : " UNION ALL ") + "SELECT '" + t.name +
                    "' WHERE EXISTS (SELECT 1 FROM " + t.name + ")";
  }
  auto occupied = co_await target.query(occupied_sql);
  if (!occupied) co_return refuse<void>(why, occupied.error(), pg_message(target, "checking that the target is empty"));
  if (occupied->size() > 0) {
    std::string list;
    for (int i = 0; i < occupied->size(); ++i) list += (i ? ", " : "") + std::string(occupied->text(i, 0));
    co_return refuse<void>(why, make_error_code(errc::invalid_argument),
                           "the target already holds rows (" + list +
                               "): `vidq db copy` fills an empty database only and never merges into a live queue");
  }

  for (const auto& t : copied_tables) {
    auto total = sqlite_count(source, t.name);
    if (!total)
      co_return refuse<void>(why, total.error(), "counting " + std::string(t.name) + ": " + source.last_error());
    if (std::string_view(t.name) == "notices") {
      // The account_paused notices that copying account_pauses just made the trigger write.
      if (auto r = co_await target.query("DELETE FROM notices"); !r) {
        co_return refuse<void>(why, r.error(), pg_message(target, "removing the pause trigger's notices"));
      }
    }
    auto copied = co_await copy_table(source, target, t, *total, progress, why);
    if (!copied) co_return failed_with<void>(copied.error());
    summary.tables.push_back({t.name, *copied});
  }

  // New rows take ids past the copied ones (identity columns do not follow explicit ids).
  for (const auto& t : copied_tables) {
    if (!t.identity) continue;
    const std::string sql = std::string("SELECT setval(pg_get_serial_sequence('") + t.name +
                            "', 'id'), coalesce(max(id), 0) + 1, false) FROM " + t.name;
    if (auto r = co_await target.query(sql); !r) {
      co_return refuse<void>(why, r.error(), pg_message(target, "moving the id sequence of " + std::string(t.name)));
    }
  }

  // The same figures on both sides before anything is committed: counts and sums per table
  // (ids included, so a row that took another id shows), jobs per state, the ledger's sums.
  for (const auto& t : copied_tables) {
    const std::string sql = std::string("SELECT ") + t.checksum + " FROM " + t.name;
    auto want = sqlite_digest(source, sql);
    if (!want)
      co_return refuse<void>(why, want.error(), "verifying " + std::string(t.name) + ": " + source.last_error());
    auto got = co_await target.query(sql);
    if (!got) co_return refuse<void>(why, got.error(), pg_message(target, "verifying " + std::string(t.name)));
    if (pg_digest(*got) != *want) {
      co_return refuse<void>(why, make_error_code(errc::database_error),
                             "verification failed for " + std::string(t.name) + " (" + t.checksum + "): source " +
                                 *want + ", target " + pg_digest(*got) + "; nothing was committed");
    }
  }
  auto want_states = sqlite_digest(source, jobs_per_state);
  if (!want_states)
    co_return refuse<void>(why, want_states.error(), "verifying jobs per state: " + source.last_error());
  auto got_states = co_await target.query(jobs_per_state);
  if (!got_states) co_return refuse<void>(why, got_states.error(), pg_message(target, "verifying jobs per state"));
  if (pg_digest(*got_states) != *want_states) {
    co_return refuse<void>(why, make_error_code(errc::database_error),
                           "verification failed for jobs per state: source " + *want_states + ", target " +
                               pg_digest(*got_states) + "; nothing was committed");
  }
  for (int i = 0; i < got_states->size(); ++i) {
    const std::string state(got_states->text(i, 0));
    const std::int64_t n = got_states->int64(i, 1);
    summary.jobs_by_state.push_back({state, n});
    if (state == "submitting" || state == "processing" || state == "downloading") summary.in_flight += n;
  }
  std::sort(summary.jobs_by_state.begin(), summary.jobs_by_state.end(),
            [](const copied_table& a, const copied_table& b) { return a.name < b.name; });
  auto ledger = co_await target.query("SELECT coalesce(sum(price), 0), coalesce(sum(refunded), 0) FROM charges");
  if (!ledger) co_return refuse<void>(why, ledger.error(), pg_message(target, "summing the ledger"));
  summary.charged = ledger->int64(0, 0);
  summary.refunded = ledger->int64(0, 1);
  co_return result<void>{};
}

}  // namespace

awaitable<result<copy_summary>> copy_from_sqlite(database& source, connection& target, copy_progress progress,
                                                 std::string* why) {
  const auto started = std::chrono::steady_clock::now();
  copy_summary summary;

  // One read transaction: every table, count and sum below comes from the same snapshot.
  auto snapshot = transaction::begin(source, transaction::mode::deferred);
  if (!snapshot) co_return refuse<copy_summary>(why, snapshot.error(), "reading the source: " + source.last_error());
  auto version = store::schema_version(source);
  if (!version) co_return refuse<copy_summary>(why, version.error(), "reading the source: " + source.last_error());
  summary.source_schema = *version;
  const int latest = store::latest_schema_version();
  if (*version != latest) {
    const bool newer = *version > latest;
    co_return refuse<copy_summary>(
        why, make_error_code(newer ? errc::schema_too_new : errc::invalid_argument),
        "the source is at schema version " + std::to_string(*version) + ", this vidq at " + std::to_string(latest) +
            (newer ? "; upgrade vidq" : "; bring it up to date first: vidq --db FILE migrate"));
  }

  auto migrated = co_await migrate(target);
  if (!migrated) {
    if (migrated.error() == errc::schema_too_new) {
      co_return refuse<copy_summary>(why, migrated.error(),
                                     "the target was migrated by a newer vidq (this binary knows schema " +
                                         std::to_string(latest_schema_version()) + "); upgrade vidq");
    }
    co_return refuse<copy_summary>(why, migrated.error(), pg_message(target, "migrating the target"));
  }
  summary.target_schema = migrated->to_version;

  if (auto begun = co_await target.query("BEGIN"); !begun) {
    co_return refuse<copy_summary>(why, begun.error(), pg_message(target, "BEGIN"));
  }
  auto copied = co_await copy_in_transaction(source, target, progress, summary, why);
  if (!copied) {
    if (!target.broken() && target.in_transaction()) (void)co_await target.query("ROLLBACK");
    co_return failed_with<copy_summary>(copied.error());
  }
  if (auto committed = co_await target.query("COMMIT"); !committed) {
    co_return refuse<copy_summary>(why, committed.error(), pg_message(target, "COMMIT"));
  }
  summary.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  co_return summary;
}

}  // namespace vidq::store::pg
