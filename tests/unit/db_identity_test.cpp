#include "vidq/store/db_identity.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace vidq::store {
namespace {

using vidq::test::temp_dir;
using vidq::test::write_file;

TEST(DbIdentity, SameFilesPass) {
  temp_dir d;
  write_file(d.file("q.db"), "db");
  write_file(d.file("q.db-wal"), "wal");
  const auto id = db_identity::record(d.file("q.db"));
  EXPECT_FALSE(id.check());
  write_file(d.file("q.db-wal"), "rewritten in place");  // truncate + write keeps the inode
  EXPECT_FALSE(id.check());
}

TEST(DbIdentity, DeletedWalIsNoticedAndRescuable) {
  temp_dir d;
  write_file(d.file("q.db"), "db");
  write_file(d.file("q.db-wal"), "wal");
  const auto id = db_identity::record(d.file("q.db"));
  // Held open, as SQLite holds it: the deleted file keeps its inode, so a new file at the
  // path cannot reuse the number.
  std::ifstream held(d.file("q.db-wal"));
  std::filesystem::remove(d.file("q.db-wal"));
  const auto p = id.check();
  ASSERT_TRUE(p);
  EXPECT_NE(p->find("WAL file"), std::string::npos) << *p;
  EXPECT_NE(p->find("deleted"), std::string::npos) << *p;
  EXPECT_TRUE(id.only_wal_lost());
  // A new, empty WAL at the path (another process opened the database) is another file.
  write_file(d.file("q.db-wal"), "");
  ASSERT_TRUE(id.check());
  EXPECT_NE(id.check()->find("replaced"), std::string::npos) << *id.check();
}

TEST(DbIdentity, ReplacedDatabaseIsNoticedAndNotRescuable) {
  temp_dir d;
  write_file(d.file("q.db"), "db");
  write_file(d.file("q.db-wal"), "wal");
  const auto id = db_identity::record(d.file("q.db"));
  write_file(d.file("other.db"), "a restored backup");
  std::filesystem::rename(d.file("other.db"), d.file("q.db"));
  const auto p = id.check();
  ASSERT_TRUE(p);
  EXPECT_NE(p->find("database file"), std::string::npos) << *p;
  EXPECT_FALSE(id.only_wal_lost());
}

TEST(DbIdentity, InMemoryAndMissingWalRecordNothing) {
  EXPECT_FALSE(db_identity::record(":memory:").check());
  temp_dir d;
  write_file(d.file("q.db"), "db");
  const auto id = db_identity::record(d.file("q.db"));  // no -wal at open: not watched
  EXPECT_FALSE(id.check());
  EXPECT_FALSE(identity_problem("WAL", "x", file_id{1, 2}, file_id{1, 2}));
  EXPECT_TRUE(identity_problem("WAL", "x", file_id{1, 2}, file_id{1, 3}));
  EXPECT_TRUE(identity_problem("WAL", "x", file_id{1, 2}, std::nullopt));
}

}  // namespace
}  // namespace vidq::store
