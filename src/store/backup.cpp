#include "vidq/store/backup.hpp"

#include "vidq/store/sqlite.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <system_error>
#include <thread>

namespace vidq::store {
namespace {

namespace fs = std::filesystem;

struct sqlite_closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using raw_db = std::unique_ptr<sqlite3, sqlite_closer>;

// Removes the temporary copy (and any -wal/-shm SQLite made for it) unless released.
class temp_files {
 public:
  explicit temp_files(fs::path path) : path_(std::move(path)) { remove(); }
  ~temp_files() {
    if (armed_) remove();
  }
  void release() { armed_ = false; }
  const fs::path& path() const { return path_; }

 private:
  void remove() const {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path_.string() + suffix, ignored);
  }
  fs::path path_;
  bool armed_ = true;
};

bool fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// First column of the first row of `sql` on a raw connection, as text ("" when no row).
result<std::string> query_text(sqlite3* db, const char* sql, std::string& why) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, &sqlite3_finalize);
  if (rc == SQLITE_OK) rc = sqlite3_step(raw);
  if (rc == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(raw, 0);
    return std::string(text ? reinterpret_cast<const char*>(text) : "");
  }
  if (rc == SQLITE_DONE) return std::string();
  why = std::string("checking the copy: ") + sqlite3_errmsg(db);
  return make_error_code(errc::database_error);
}

error_code refuse(std::string& why, std::string text) {
  why = std::move(text);
  return make_error_code(errc::invalid_argument);
}

error_code io_failure(std::string& why, std::string text) {
  why = std::move(text);
  return make_error_code(errc::io_error);
}

// Copies every page under the caller's read transaction, `pages_per_step` at a time.
result<void> copy_pages(database& source, sqlite3* dest, const backup_options& options, backup_outcome& out,
                        std::string& why) {
  sqlite3_backup* b = sqlite3_backup_init(dest, "main", source.handle(), "main");
  if (!b) {
    why = std::string("cannot start the backup: ") + sqlite3_errmsg(dest);
    return make_error_code(errc::database_error);
  }
  int busy_waits = 0;
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(b, options.pages_per_step);
    ++out.steps;
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      // Only while the source is being recovered by another process; give up like
      // busy_timeout would after ~5 s.
      if (++busy_waits > 500) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (rc != SQLITE_OK) break;
    busy_waits = 0;
    if (options.pause.count() > 0) std::this_thread::sleep_for(options.pause);
  }
  out.pages = sqlite3_backup_pagecount(b);
  const int finish = sqlite3_backup_finish(b);
  if (rc == SQLITE_DONE && finish == SQLITE_OK) return {};
  why = std::string("backup failed: ") + sqlite3_errstr(rc == SQLITE_DONE ? finish : rc);
  return make_error_code((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? errc::database_busy
                                                                                     : errc::database_error);
}

result<void> verify(sqlite3* dest, backup_outcome& out, std::string& why) {
  auto integrity = query_text(dest, "PRAGMA integrity_check", why);
  if (!integrity) return integrity.error();
  if (*integrity != "ok") {
    why = "the copy failed integrity_check: " + *integrity;
    return make_error_code(errc::database_error);
  }
  auto jobs = query_text(dest, "SELECT count(*) FROM jobs", why);
  if (!jobs) return jobs.error();
  auto events = query_text(dest, "SELECT count(*) FROM job_events", why);
  if (!events) return events.error();
  out.jobs = std::stoll(*jobs);
  out.events = std::stoll(*events);
  return {};
}

}  // namespace

result<backup_outcome> backup(database& source, const fs::path& target, const backup_options& options,
                              std::string& why) {
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  const fs::path wal = target.string() + "-wal";
  const fs::path shm = target.string() + "-shm";
  if (source.path() != ":memory:" && fs::exists(target, ec) && fs::equivalent(source.path(), target, ec)) {
    return refuse(why, target.string() + " is the database itself");
  }
  // Frames in a -wal belong to the file next to them: SQLite would replay them over the
  // copy. A database in use (or not closed cleanly) has them; a closed one has none.
  if (const auto frames = fs::file_size(wal, ec); !ec && frames > 0) {
    return refuse(why, target.string() + " has a non-empty -wal file next to it: a database in use or not closed "
                                          "cleanly; not replacing it");
  }
  if (fs::exists(target, ec)) {
    if (!options.overwrite) return refuse(why, target.string() + " exists (use --force to replace it)");
    if (fs::is_directory(target, ec)) return refuse(why, target.string() + " is a directory");
  }
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  temp_files temp(folder / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid())));

  backup_outcome out;
  {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(temp.path().c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    raw_db dest(raw);
    if (rc != SQLITE_OK) return io_failure(why, "cannot create " + temp.path().string() + ": " + sqlite3_errstr(rc));
    // A private file that is checked and fsynced as a whole below: no journal needed.
    sqlite3_exec(raw, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF", nullptr, nullptr, nullptr);

    // One read transaction for the whole copy: a snapshot that the daemon's commits do not
    // disturb (without it, every commit between two steps restarts the backup).
    auto snapshot = transaction::begin(source, transaction::mode::deferred);
    if (!snapshot) {
      why = "cannot read the database: " + source.last_error();
      return snapshot.error();
    }
    if (auto first = source.exec("SELECT count(*) FROM sqlite_schema"); !first) {
      why = "cannot read the database: " + source.last_error();
      return first.error();
    }
    if (auto copied = copy_pages(source, raw, options, out, why); !copied) return copied.error();
    if (auto checked = verify(raw, out, why); !checked) return checked.error();
  }  // the snapshot ends (rollback of a read) and the copy is closed
  if (!fsync_path(temp.path(), O_RDONLY)) return io_failure(why, "cannot fsync " + temp.path().string());
  fs::rename(temp.path(), target, ec);
  if (ec) return io_failure(why, "cannot rename the copy to " + target.string() + ": " + ec.message());
  temp.release();
  // An empty -wal and a -shm left by a reader of the replaced file describe that file, not
  // the copy: SQLite rebuilds both on the next open.
  fs::remove(wal, ec);
  fs::remove(shm, ec);
  if (!fsync_path(folder, O_RDONLY | O_DIRECTORY)) return io_failure(why, "cannot fsync " + folder.string());
  out.bytes = static_cast<std::int64_t>(fs::file_size(target, ec));
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return out;
}

}  // namespace vidq::store
