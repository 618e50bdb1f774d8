#pragma once
// Is the daemon still writing into the database an operator sees at its path? (issue 11
// item 5, docs/DAEMON.md "A deleted or replaced database file"). SQLite keeps its file
// descriptors: after `rm vidq.db-wal` (or a copy over vidq.db) every commit goes into a
// file nobody can open any more, and a restart reads the old state back, with paid tasks
// forgotten. So the (st_dev, st_ino) of the database and of its -wal are recorded once
// the connection is open and compared with what the paths name now: each loop tick and
// right before every submit. Two stat(2) calls, microseconds.

#include <sys/types.h>

#include <optional>
#include <string>

namespace vidq::store {

struct file_id {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const file_id&) const = default;
};

// What stat(2) says about a path now: nullopt when it names nothing.
std::optional<file_id> file_id_of(const std::string& path);

// Pure: what is wrong with `what` ("database", "WAL") given the identity recorded at open
// and the one its path has now; nullopt when it is the same file.
std::optional<std::string> identity_problem(const char* what, const std::string& path,
                                            const std::optional<file_id>& recorded,
                                            const std::optional<file_id>& now);

class db_identity {
 public:
  // Records the database file and its -wal (the WAL must exist: the connection is in WAL
  // mode and has read). An in-memory database records nothing and never fails a check.
  static db_identity record(const std::string& db_path);
  // nullopt while both paths still name the files recorded; else what happened.
  std::optional<std::string> check() const;
  // true when the database file itself is intact and only the WAL is gone or replaced:
  // then our connection can still copy its WAL into it (a checkpoint) before exiting.
  bool only_wal_lost() const;

 private:
  std::string db_path_;
  std::string wal_path_;
  std::optional<file_id> db_;
  std::optional<file_id> wal_;
};

}  // namespace vidq::store
