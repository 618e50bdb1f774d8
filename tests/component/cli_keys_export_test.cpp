// The CLI as a pipeline uses it: keys everywhere (list, show, enqueue), spreadsheet imports,
// and `vidq export`.
#include "support/temp_dir.hpp"
#include "vidq/store/sqlite.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>

namespace vidq {
namespace {

struct cli_keys_fixture : ::testing::Test {
  test::temp_dir dir;
  std::string db = dir.file("vidq.db");

  test::command_result vidq(const std::string& args) {
    return test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --db '" + db + "' " + args);
  }
  // stdout only: what `id=$(vidq ...)` captures. A group, because run_command adds its own
  // 2>&1 after the whole line.
  test::command_result vidq_stdout(const std::string& args) {
    return test::run_command("cd '" + dir.path().string() + "' && { '" VIDQ_BINARY "' --db '" + db + "' " + args +
                             " 2>/dev/null; }");
  }
  void sql(const std::string& statement) {
    auto r = test::run_command("sqlite3 '" + db + "' \"" + statement + "\"");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
};

TEST_F(cli_keys_fixture, ADuplicateKeyPrintsTheExistingIdOnStdout) {
  auto first = vidq_stdout("enqueue -m cogvideox-3 -p hi -k SKU-1");
  ASSERT_EQ(first.exit_code, 0) << first.out;
  auto second = vidq_stdout("enqueue -m cogvideox-3 -p other -k SKU-1");
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_EQ(second.out, first.out);
  auto told = vidq("enqueue -m cogvideox-3 -p other -k SKU-1");
  EXPECT_NE(told.out.find("key 'SKU-1' is already job 1 (queued); nothing inserted"), std::string::npos) << told.out;
}

TEST_F(cli_keys_fixture, ListShowsKeysAndFiltersByKey) {
  ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p one -k SKU-0001 -b '春季 促销'").exit_code, 0);
  ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p two -k SKU-0002").exit_code, 0);
  auto table = vidq("list");
  EXPECT_NE(table.out.find("KEY"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("SKU-0001"), std::string::npos) << table.out;
  auto one = vidq_stdout("list --key SKU-0002 --json");
  ASSERT_EQ(one.exit_code, 0) << one.out;
  const auto page = boost::json::parse(one.out).as_object();
  ASSERT_EQ(page.at("jobs").as_array().size(), 1u);
  EXPECT_EQ(page.at("jobs").as_array()[0].as_object().at("key").as_string(), "SKU-0002");
  EXPECT_FALSE(page.at("truncated").as_bool());
  EXPECT_EQ(vidq_stdout("list --key nope --json").out.find("\"jobs\":[]"), 1u);
}

TEST_F(cli_keys_fixture, ListJsonSaysWhenItStoppedAtTheLimit) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p x").exit_code, 0);
  const auto cut = boost::json::parse(vidq_stdout("list -n 2 --json").out).as_object();
  EXPECT_EQ(cut.at("jobs").as_array().size(), 2u);
  EXPECT_TRUE(cut.at("truncated").as_bool());
  EXPECT_EQ(cut.at("limit").as_int64(), 2);
  const auto all = boost::json::parse(vidq_stdout("list -n 3 --json").out).as_object();
  EXPECT_EQ(all.at("jobs").as_array().size(), 3u);
  EXPECT_FALSE(all.at("truncated").as_bool());
  EXPECT_NE(vidq("list -n 2").out.find("stopped at the limit of 2 rows"), std::string::npos);
}

TEST_F(cli_keys_fixture, ShowAcceptsAnIdOrAKey) {
  ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p one -k SKU-1").exit_code, 0);
  ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p two -k 2025").exit_code, 0);  // job 2, key "2025"
  auto by_key = vidq_stdout("show SKU-1 --json");
  ASSERT_EQ(by_key.exit_code, 0) << by_key.out;
  EXPECT_EQ(boost::json::parse(by_key.out).as_object().at("id").as_int64(), 1);
  EXPECT_EQ(boost::json::parse(vidq_stdout("show 2 --json").out).as_object().at("key").as_string(), "2025");
  EXPECT_EQ(boost::json::parse(vidq_stdout("show 2025 --json").out).as_object().at("id").as_int64(), 2)
      << "no job 2025: read as a key";
  EXPECT_EQ(vidq("show --key 2 --json").exit_code, 1) << "no key '2'";
  auto missing = vidq("show SKU-9");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("no job with key 'SKU-9'"), std::string::npos) << missing.out;
}

TEST_F(cli_keys_fixture, ImportSkipsAByteOrderMarkAndRefusesADuplicateHeader) {
  test::write_file(dir.path() / "excel.csv", "\xEF\xBB\xBFkey,model,prompt\r\nX-1,cogvideox-3,hello\r\n");
  auto ok = vidq("import excel.csv");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("inserted 1, duplicate key 0, invalid 0"), std::string::npos) << ok.out;
  test::write_file(dir.path() / "dup.csv", "key,model,prompt,model\nX-2,cogvideox-3,hi,cogvideox-2\n");
  auto dup = vidq("import dup.csv");
  EXPECT_EQ(dup.exit_code, 1) << dup.out;
  EXPECT_NE(dup.out.find("dup.csv:1: header: column 4 'model' repeats column 2 'model'"), std::string::npos)
      << dup.out;
  EXPECT_EQ(vidq("show X-2").exit_code, 1);
}

TEST_F(cli_keys_fixture, ExportWritesEveryJobOfTheBatch) {
  ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p one -k SKU-1 -b '春季 促销'").exit_code, 0);
  ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p two -k SKU-2 -b '春季 促销'").exit_code, 0);
  ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p three -k O-1 -b other").exit_code, 0);
  sql("UPDATE jobs SET state = 'failed', error_code = '1301', error_message = 'unsafe, said \\\"no\\\"' WHERE id = 2");  // \" survives the shell
  auto csv = vidq_stdout("export --batch '春季 促销'");
  ASSERT_EQ(csv.exit_code, 0) << csv.out;
  EXPECT_EQ(csv.out.substr(0, 12), "id,key,batch");
  EXPECT_NE(csv.out.find("\r\n1,SKU-1,春季 促销,queued,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find("\r\n2,SKU-2,春季 促销,failed,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find("1301,\"unsafe, said \"\"no\"\"\""), std::string::npos) << csv.out;
  EXPECT_EQ(csv.out.find("O-1"), std::string::npos);
  auto jsonl = vidq_stdout("export --batch '春季 促销' --state failed --format jsonl");
  EXPECT_EQ(jsonl.out, "{\"id\":2" + jsonl.out.substr(7));
  EXPECT_EQ(std::count(jsonl.out.begin(), jsonl.out.end(), '\n'), 1);
  ASSERT_EQ(vidq("export --bom -o out.csv").exit_code, 0);
  EXPECT_EQ(test::read_file(dir.path() / "out.csv").substr(0, 5), "\xEF\xBB\xBFid");
}

}  // namespace
}  // namespace vidq
