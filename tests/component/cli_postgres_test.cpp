// The CLI with [database] url (issue 14): `vidq migrate` and `vidq doctor` work on
// PostgreSQL; the commands not ported yet refuse with exit 2 and say so, and no password
// from the URL reaches the output.
#include "support/pg_test_db.hpp"
#include "support/temp_dir.hpp"
#include "vidq/store/postgres/migrate.hpp"

#include <gtest/gtest.h>

namespace vidq {
namespace {

struct pg_cli {
  test::temp_dir dir;
  explicit pg_cli(const std::string& url) {
    test::write_file(dir.file("vidq.toml"), "[database]\nurl = \"" + url + "\"\n");
  }
  test::command_result run(const std::string& args) {
    return test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --config vidq.toml " + args);
  }
};

// The test cluster trusts every local user, so a password in the URL is accepted and ignored:
// enough to see that it never comes back out.
std::string with_password(const std::string& url) {
  const auto at = url.find("postgres@");
  return at == std::string::npos ? url : url.substr(0, at) + "postgres:hunter2@" + url.substr(at + 9);
}

TEST(CliPostgres, MigrateCreatesTheSchemaOnceAndDoctorReadsIt) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  pg_cli cli(with_password(db.conninfo()));
  auto first = cli.run("migrate");
  EXPECT_EQ(first.exit_code, 0) << first.out;
  const std::string latest = std::to_string(store::pg::latest_schema_version());
  EXPECT_NE(first.out.find("schema migrated from version 0 to " + latest), std::string::npos) << first.out;
  EXPECT_EQ(first.out.find("hunter2"), std::string::npos) << first.out;
  auto again = cli.run("migrate");
  EXPECT_NE(again.out.find("schema already at version " + latest), std::string::npos) << again.out;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), store::pg::latest_schema_version());

  auto doctor = cli.run("doctor");
  EXPECT_NE(doctor.out.find("(PostgreSQL)"), std::string::npos) << doctor.out;
  EXPECT_NE(doctor.out.find("database schema            version " + latest), std::string::npos) << doctor.out;
  EXPECT_EQ(doctor.out.find("hunter2"), std::string::npos) << doctor.out;
}

TEST(CliPostgres, CommandsNotPortedYetRefuseWithExit2) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  pg_cli cli(db.conninfo());
  for (const char* command : {"list", "status", "enqueue --model cogvideox-3 --prompt x"}) {
    auto r = cli.run(command);
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.out;
    EXPECT_NE(r.out.find("works on SQLite only in this version"), std::string::npos) << command << ": " << r.out;
  }
}

TEST(CliPostgres, AnUnreachableServerIsAFailureNamingItWithoutThePassword) {
  pg_cli cli("postgresql://vidq:hunter2@127.0.0.1:1/vidq?connect_timeout=2");
  auto r = cli.run("migrate");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("cannot connect"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("postgresql://vidq:***@127.0.0.1:1/vidq"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace vidq
