#pragma once
// RAII over the SQLite C API (after SQLiteCpp): a database handle with a deleter, statements
// that finalize themselves, a transaction that rolls back unless committed.
// Errors: errc::database_busy when SQLite stays busy past busy_timeout, errc::database_error
// otherwise; database::last_error() holds SQLite's message for the most recent failure.

#include "vidq/core/error.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vidq::store {

class database;

namespace detail {
// Heap-allocated so that statements keep a stable pointer when the database is moved.
struct connection {
  struct closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, closer> db;
  std::string path;
  std::string last_error;
  int sync = 1;  // PRAGMA synchronous in force: 1 NORMAL, 2 FULL
  // Records SQLite's message and maps the code to an error_code.
  error_code fail(int sqlite_code);
};
}  // namespace detail

class statement {
 public:
  statement() = default;
  statement(statement&&) noexcept = default;
  statement& operator=(statement&&) noexcept = default;

  // Binding, 1-based like SQLite. Text is copied by SQLite (SQLITE_TRANSIENT).
  statement& bind(int index, std::int64_t value);
  statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  statement& bind(int index, double value);
  statement& bind(int index, std::string_view value);
  statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  statement& bind(int index, std::nullptr_t);
  // Binds text without copying it: `value` must stay alive until the statement is reset.
  // For hot loops (bulk import) where the copy shows in profiles.
  statement& bind_view(int index, std::string_view value);
  template <class T>
  statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }
  // Binds a named parameter (":name"); a name the SQL does not use is a programming error.
  template <class T>
  statement& bind(const char* name, const T& value) {
    return bind(parameter_index(name), value);
  }

  // Advances. true: a row is available; false: done.
  result<bool> step();
  // Steps until done, for statements without result rows.
  result<void> run();
  // Steps through every row, calling on_row(*this) for each. Errors: those of step().
  template <class F>
  result<void> for_each_row(F&& on_row) {
    for (;;) {
      auto more = step();
      if (!more) return more.error();
      if (!*more) return {};
      on_row(*this);
    }
  }
  // Makes the statement reusable and clears bindings.
  void reset();

  int column_count() const;
  bool is_null(int column) const;
  std::int64_t get_int64(int column) const;
  double get_double(int column) const;
  std::string get_text(int column) const;
  std::optional<std::string> get_optional_text(int column) const;
  std::optional<std::int64_t> get_optional_int64(int column) const;
  const char* column_name(int column) const;

  sqlite3_stmt* handle() const { return stmt_.get(); }

 private:
  friend class database;
  struct finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  statement(detail::connection* owner, sqlite3_stmt* stmt) : owner_(owner), stmt_(stmt) {}
  int parameter_index(const char* name) const;

  detail::connection* owner_ = nullptr;
  std::unique_ptr<sqlite3_stmt, finalizer> stmt_;
};

enum class sync_mode { normal, full };

struct open_options {
  bool create = true;
  bool read_only = false;
  int busy_timeout_ms = 5000;
  int cache_kib = 32 * 1024;  // page cache; the default 2 MB thrashes on bulk imports
  // FULL on the daemon connection: a lost "task id X" commit is a paid task nobody knows.
  sync_mode sync = sync_mode::full;
};

class database {
 public:
  database(database&&) noexcept = default;
  database& operator=(database&&) noexcept = default;
  ~database();

  // Opens `path` (":memory:" allowed), turns on WAL, foreign keys and busy_timeout.
  static result<database> open(const std::string& path, const open_options& options = {});

  // Runs one or more statements without results.
  result<void> exec(std::string_view sql);
  // A fresh statement owned by the caller.
  result<statement> prepare(std::string_view sql);
  // A statement kept for reuse on this connection (reset before it is handed out).
  // The pointer stays valid as long as the database.
  result<statement*> cached(std::string_view sql);

  // How long a statement waits for another connection's lock before SQLITE_BUSY
  // (database_busy). The daemon's loop uses tens of milliseconds (docs/DAEMON.md "A locked
  // database"); the CLI keeps open_options' default, an operator's command should wait.
  void set_busy_timeout(int ms);

  // PRAGMA synchronous for the commits that follow (outside a transaction). Errors: those
  // of exec. See relaxed_sync.
  result<void> set_sync(sync_mode mode);
  sync_mode sync() const { return conn_->sync == 2 ? sync_mode::full : sync_mode::normal; }

  std::int64_t last_insert_rowid() const;
  int changes() const;
  const std::string& last_error() const { return conn_->last_error; }
  const std::string& path() const { return conn_->path; }
  sqlite3* handle() const { return conn_->db.get(); }
  error_code fail(int sqlite_code) { return conn_->fail(sqlite_code); }

 private:
  database() : conn_(std::make_unique<detail::connection>()) {}

  std::unique_ptr<detail::connection> conn_;
  // Declared after conn_ so statements are finalized before the connection closes.
  std::unordered_map<std::string, std::unique_ptr<statement>> cache_;
};

// Commits in this scope skip the WAL fsync of a FULL connection (synchronous=NORMAL), for
// frequent writes whose loss in a power cut costs nothing that matters (a poll's progress: the
// task is polled again). In WAL mode the next FULL commit syncs every frame before it, so a
// power cut can lose only a tail of such commits, never one that precedes a durable commit.
// A kill -9 loses none of them. Restores the mode it found.
class relaxed_sync {
 public:
  explicit relaxed_sync(database& db);
  ~relaxed_sync();
  relaxed_sync(const relaxed_sync&) = delete;
  relaxed_sync& operator=(const relaxed_sync&) = delete;

 private:
  database& db_;
  sync_mode was_;
};

class transaction {
 public:
  enum class mode { deferred, immediate };

  // BEGIN DEFERRED / BEGIN IMMEDIATE. IMMEDIATE takes the write lock up front, which is
  // what every read-then-write needs so that it cannot fail with SQLITE_BUSY half way.
  static result<transaction> begin(database& db, mode m = mode::immediate);

  transaction(transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  transaction& operator=(transaction&&) = delete;
  ~transaction();  // rolls back unless committed

  result<void> commit();

 private:
  explicit transaction(database* db) : db_(db) {}
  database* db_;
};

}  // namespace vidq::store
