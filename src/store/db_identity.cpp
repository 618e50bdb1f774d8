#include "vidq/store/db_identity.hpp"

#include <sys/stat.h>

namespace vidq::store {

std::optional<file_id> file_id_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  // A path that still exists but whose last link is gone cannot be: stat found it by name.
  return file_id{st.st_dev, st.st_ino};
}

std::optional<std::string> identity_problem(const char* what, const std::string& path,
                                            const std::optional<file_id>& recorded,
                                            const std::optional<file_id>& now) {
  if (!recorded) return std::nullopt;  // nothing recorded (in-memory, or no WAL at open)
  if (!now) {
    return std::string("the ") + what + " file " + path +
           " was deleted while the daemon had it open: every further commit would go into the deleted file";
  }
  if (*now != *recorded) {
    return std::string("the ") + what + " file " + path +
           " was replaced by another file while the daemon had it open (inode " + std::to_string(recorded->ino) +
           " → " + std::to_string(now->ino) + ")";
  }
  return std::nullopt;
}

db_identity db_identity::record(const std::string& db_path) {
  db_identity id;
  if (db_path.empty() || db_path == ":memory:") return id;
  id.db_path_ = db_path;
  id.wal_path_ = db_path + "-wal";
  id.db_ = file_id_of(id.db_path_);
  id.wal_ = file_id_of(id.wal_path_);
  return id;
}

std::optional<std::string> db_identity::check() const {
  if (auto p = identity_problem("database", db_path_, db_, db_ ? file_id_of(db_path_) : std::nullopt)) return p;
  return identity_problem("WAL", wal_path_, wal_, wal_ ? file_id_of(wal_path_) : std::nullopt);
}

bool db_identity::only_wal_lost() const {
  return !identity_problem("database", db_path_, db_, db_ ? file_id_of(db_path_) : std::nullopt) &&
         identity_problem("WAL", wal_path_, wal_, wal_ ? file_id_of(wal_path_) : std::nullopt).has_value();
}

}  // namespace vidq::store
