// The `vidq` binary as operators and cron jobs use it: exit codes, the plain-SQL insert,
// import reports, concurrent access, and the API key never leaking into any output or file.

#include "support/temp_dir.hpp"
#include "vidq/store/migrations.hpp"
#include "vidq/store/sqlite.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace vidq {
namespace {

struct cli_fixture : ::testing::Test {
  test::temp_dir dir;
  std::string db = dir.file("vidq.db");

  test::command_result vidq(const std::string& args) {
    return test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --db '" + db + "' " + args);
  }
};

TEST_F(cli_fixture, MigrateTwiceIsANoOp) {
  auto first = vidq("migrate");
  EXPECT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("migrated from version 0 to"), std::string::npos) << first.out;
  auto second = vidq("migrate");
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_NE(second.out.find("already at version"), std::string::npos) << second.out;
}

TEST_F(cli_fixture, ADatabaseFromANewerVidqIsRefused) {
  {
    auto handle = store::database::open(db);
    ASSERT_TRUE(handle);
    ASSERT_TRUE(handle->exec("PRAGMA user_version = 999"));
  }
  for (const char* command : {"migrate", "list", "import /dev/null"}) {
    auto r = vidq(command);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.out;
    EXPECT_NE(r.out.find("newer"), std::string::npos) << r.out;
  }
}

TEST_F(cli_fixture, PlainSqlInsertShowsUpInList) {
  ASSERT_EQ(vidq("migrate").exit_code, 0);
  auto insert = test::run_command("sqlite3 '" + db +
                                  "' \"INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', "
                                  "'a red sneaker rotating on a white table')\"");
  ASSERT_EQ(insert.exit_code, 0) << insert.out;
  auto list = vidq("list --json");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find(R"("prompt":"a red sneaker rotating on a white table")"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(R"("state":"queued")"), std::string::npos);
  auto show = vidq("show 1");
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("created -> queued"), std::string::npos) << show.out;
}

TEST_F(cli_fixture, ImportReportsInvalidLinesAndExitsThree) {
  test::write_file(dir.path() / "jobs.jsonl",
                   R"({"model":"cogvideox-3","prompt":"ok","key":"a"})" "\n"
                   R"({"model":"vidu2-start-end","image_url":["https://e.com/a.png"]})" "\n"
                   R"({"model":"cogvideox-3","prompt":"ok too","key":"b"})" "\n");
  auto r = vidq("import jobs.jsonl");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("jobs.jsonl:2: image_url: vidu2-start-end takes 2 image(s), got 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("inserted 2, duplicate key 0, invalid 1"), std::string::npos) << r.out;
  auto again = vidq("import jobs.jsonl");
  EXPECT_NE(again.out.find("inserted 0, duplicate key 2, invalid 1"), std::string::npos) << again.out;
}

TEST_F(cli_fixture, SampleBatchImportsCleanly) {
  auto r = vidq("import '" VIDQ_SOURCE_DIR "/config/samples/ecommerce.jsonl'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("inserted 20, duplicate key 0, invalid 0"), std::string::npos) << r.out;
  auto status = vidq("status");
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("spring-sneakers"), std::string::npos) << status.out;
}

TEST_F(cli_fixture, UsageErrorsExitTwoAndHelpWorksEverywhere) {
  EXPECT_EQ(vidq("").exit_code, 2);
  EXPECT_EQ(vidq("frobnicate").exit_code, 2);
  EXPECT_EQ(vidq("list --state nonsense").exit_code, 2);
  EXPECT_EQ(vidq("enqueue --model sora-9 --prompt x").exit_code, 2);
  for (const char* sub : {"", "migrate", "enqueue", "import", "list", "show", "status", "cancel", "retry", "version"}) {
    auto r = vidq(std::string(sub) + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub << "\n" << r.out;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
  }
  EXPECT_EQ(vidq("show 42").exit_code, 1) << "no database yet";
}

TEST_F(cli_fixture, CommandsWorkWhileAnotherProcessHoldsTheDatabase) {
  ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p first").exit_code, 0);
  auto other = store::database::open(db);
  ASSERT_TRUE(other);
  // An open read transaction in another connection, as an operator's sqlite3 session has.
  auto reader = other->prepare("SELECT id FROM jobs");
  ASSERT_TRUE(reader && reader->step().value());
  EXPECT_EQ(vidq("enqueue -m cogvideox-3 -p second").exit_code, 0);
  EXPECT_EQ(vidq("list").exit_code, 0);
  EXPECT_EQ(vidq("status").exit_code, 0);
  EXPECT_EQ(vidq("cancel 1").exit_code, 0);
  EXPECT_EQ(vidq("retry 1").exit_code, 0);
  EXPECT_EQ(vidq("import '" VIDQ_SOURCE_DIR "/config/samples/ecommerce.jsonl'").exit_code, 0);
}

TEST_F(cli_fixture, TheApiKeyNeverAppearsInOutputOrFiles) {
  const std::string key = "sk-test-9f8e7d6c5b4a39281706";
  test::write_file(dir.path() / "vidq.toml",
                   "[[accounts]]\nname = \"default\"\napi_key_env = \"VIDQ_TEST_API_KEY\"\n");
  test::write_file(dir.path() / "leaky.toml", "[[accounts]]\nname = \"x\"\napi_key = \"" + key + "\"\n");
  const std::string env = "VIDQ_TEST_API_KEY=" + key + " ";
  std::string all_output;
  for (const std::string args : {"--help", "migrate", "enqueue -m cogvideox-3 -p hi", "list --json", "status",
                                  "show 1", "import '" VIDQ_SOURCE_DIR "/config/samples/ecommerce.jsonl'",
                                  "enqueue -m nope -p x", "version"}) {
    auto r = test::run_command("cd '" + dir.path().string() + "' && " + env + "'" VIDQ_BINARY "' --config vidq.toml " + args);
    all_output += r.out;
  }
  auto leaky = vidq("--config leaky.toml list");
  EXPECT_EQ(leaky.exit_code, 2);
  EXPECT_NE(leaky.out.find("api_key: keys are never read from the config file"), std::string::npos) << leaky.out;
  all_output += leaky.out;
  EXPECT_EQ(all_output.find(key), std::string::npos) << all_output;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!entry.is_regular_file() || entry.path().filename() == "leaky.toml") continue;
    EXPECT_EQ(test::read_file(entry.path()).find(key), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace vidq
