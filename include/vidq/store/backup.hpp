#pragma once
// A consistent copy of the live database (`vidq db backup FILE`) through SQLite's online
// backup API, safe while the daemon runs:
// - one read transaction on the source for the whole copy, so the copy is the database at
//   one instant and the backup never restarts when the daemon commits (in WAL mode a reader
//   blocks no writer; the WAL only cannot be checkpointed past that instant meanwhile);
// - pages are copied in chunks with a short sleep between them, so the disk is shared;
// - the copy goes to a temporary file next to the target, is checked with PRAGMA
//   integrity_check, fsynced, renamed over the target and the folder fsynced: a crash
//   leaves either no target or a complete one.

#include "vidq/core/error.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace vidq::store {

class database;

struct backup_options {
  bool overwrite = false;              // replace an existing target (`--force`)
  int pages_per_step = 256;            // 2 MiB with 8 KiB pages
  std::chrono::milliseconds pause{2};  // between steps
};

struct backup_outcome {
  std::int64_t pages = 0;
  std::int64_t bytes = 0;   // size of the finished file
  std::int64_t jobs = 0;    // rows in the copy
  std::int64_t events = 0;  // job_events rows in the copy
  int steps = 0;
  std::chrono::milliseconds elapsed{0};
};

// Copies `source` to `target`. Errors (with a sentence in `why`, never partial files left):
//   errc::invalid_argument  target exists (without overwrite), is the source itself, or
//                           has a non-empty -wal next to it (a database in use: refused
//                           even with overwrite, SQLite would replay that WAL over the copy;
//                           an empty -wal and a -shm are stale and removed after the rename)
//   errc::io_error          cannot create, fsync or rename the files
//   errc::database_error    SQLite failed, or the copy failed integrity_check
//   errc::database_busy     the source stayed locked past busy_timeout
result<backup_outcome> backup(database& source, const std::filesystem::path& target, const backup_options& options,
                              std::string& why);

}  // namespace vidq::store
