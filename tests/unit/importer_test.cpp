#include "vidq/ingest/importer.hpp"

#include "support/test_db.hpp"
#include "vidq/store/sqlite_operator_store.hpp"

#include <gtest/gtest.h>

namespace vidq::ingest {
namespace {

struct importer_fixture : ::testing::Test {
  test::test_db t;
  store::sqlite_operator_store store{t.db, t.clock};

  import_summary run(const std::string& name, const std::string& content, import_options options = {}) {
    const auto path = t.dir.file(name);
    test::write_file(path, content);
    options.record.base_dir = t.dir.path();
    auto summary = import_file(store, path, guess_format(path), options);
    EXPECT_TRUE(summary) << summary.error().message() << " " << t.db.last_error();
    return summary ? *summary : import_summary{};
  }

  std::string reason_at(const import_summary& s, std::size_t line) {
    for (const auto& p : s.problems) {
      if (p.line == line) return p.reason;
    }
    return "<no problem reported on line " + std::to_string(line) + ">";
  }
};

TEST_F(importer_fixture, ValidLinesAreInsertedInvalidOnesReportedByLine) {
  const std::string ten_mb(10 * 1024 * 1024, 'x');
  const std::string content =
      R"({"model":"cogvideox-3","prompt":"a red sneaker","key":"a"})" "\n"           // 1 ok
      R"({"model":"cogvideox-3","prompt":)" "\n"                                     // 2 malformed JSON
      R"({"model":"sora-9","prompt":"x"})" "\n"                                      // 3 unknown model
      R"({"model":"cogvideox-3","prompt":"x","duration":"5"})" "\n"                  // 4 wrong type
      R"({"model":"cogvideox-3","prompt":")" + ten_mb + "\"}\n"                      // 5 10 MB line
      "{\"model\":\"cogvideox-3\",\"prompt\":\"bad \xFF utf8\"}\n"                   // 6 invalid UTF-8
      R"({"model":"vidu2-start-end","image_url":["https://e.com/a.png"]})" "\n"      // 7 one image
      "\n"                                                                           // 8 blank: ignored
      R"([1,2,3])" "\n"                                                              // 9 not an object
      R"({"model":"vidu2-image","image_url":"https://e.com/a.png","batch":"b","priority":3})";  // 10 ok, no \n
  const auto s = run("mixed.jsonl", content);
  EXPECT_EQ(s.inserted, 2u);
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(s.invalid, 7u);
  EXPECT_NE(reason_at(s, 2).find("not valid JSON"), std::string::npos) << reason_at(s, 2);
  EXPECT_NE(reason_at(s, 3).find("model: 'sora-9' is not a known model"), std::string::npos);
  EXPECT_EQ(reason_at(s, 4), "duration: must be an integer, one of: 5, 10");
  EXPECT_NE(reason_at(s, 5).find("line is longer than"), std::string::npos);
  EXPECT_NE(reason_at(s, 6).find("not valid JSON"), std::string::npos) << reason_at(s, 6);
  EXPECT_EQ(reason_at(s, 7), "image_url: vidu2-start-end takes 2 image(s), got 1");
  EXPECT_EQ(reason_at(s, 9), "must be a JSON object");
  EXPECT_EQ(t.scalar("SELECT priority FROM jobs WHERE batch = 'b'"), 3);
}

TEST_F(importer_fixture, ReimportingTheSameFileInsertsNothing) {
  std::string content;
  for (int i = 0; i < 250; ++i) {
    content += R"({"key":"sku-)" + std::to_string(i) + R"(","model":"cogvideox-2","prompt":"clip )" +
               std::to_string(i) + "\"}\n";
  }
  import_options small_chunks;
  small_chunks.chunk_rows = 100;
  EXPECT_EQ(run("a.jsonl", content, small_chunks).inserted, 250u);
  const auto again = run("a.jsonl", content, small_chunks);
  EXPECT_EQ(again.inserted, 0u);
  EXPECT_EQ(again.duplicates, 250u);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM jobs"), 250);
}

TEST_F(importer_fixture, RelativeImagePathsResolveAgainstTheFilesFolder) {
  test::write_file(t.dir.path() / "images" / "shoe.png", std::string("\x89PNG\r\n\x1a\n", 8) + "data");
  const auto s = run("imgs.jsonl", R"({"model":"vidu2-image","image_url":"images/shoe.png"})" "\n"
                                   R"({"model":"vidu2-image","image_url":"images/missing.png"})" "\n");
  EXPECT_EQ(s.inserted, 1u);
  EXPECT_NE(reason_at(s, 2).find("does not exist"), std::string::npos);
  EXPECT_EQ(t.text("SELECT image_url FROM jobs"), (t.dir.path() / "images" / "shoe.png").string());
}

TEST_F(importer_fixture, CsvWithHeaderQuotesAndTypedColumns) {
  const std::string content =
      "key,batch,model,prompt,duration,with_audio,image_url,size\n"
      "c1,spring,cogvideox-3,\"a sneaker, rotating\",10,true,,1920x1080\n"
      "c2,spring,cogvideox-3,\"multi\nline prompt\",5,false,,\n"
      "c3,spring,cogvideox-3,x,ten,false,,\n"
      "c4,spring,vidu2-start-end,,,,\"[\"\"https://e.com/a.png\"\",\"\"https://e.com/b.png\"\"]\",\n"
      "c5,spring,cogvideox-3,too,few\n"
      "c6,spring,cogvideox-3,\"unterminated,5,true,,\n";
  const auto s = run("jobs.csv", content);
  EXPECT_EQ(s.inserted, 3u);
  EXPECT_EQ(reason_at(s, 5), "duration: must be an integer");
  EXPECT_NE(reason_at(s, 7).find("has 5 fields"), std::string::npos) << reason_at(s, 7);
  EXPECT_NE(reason_at(s, 8).find("unterminated"), std::string::npos) << reason_at(s, 8);
  EXPECT_EQ(t.text("SELECT params FROM jobs WHERE key = 'c1'"), R"({"duration":10,"with_audio":true,"size":"1920x1080"})");
  EXPECT_EQ(t.text("SELECT prompt FROM jobs WHERE key = 'c2'"), "multi\nline prompt");
  EXPECT_EQ(t.text("SELECT image_url FROM jobs WHERE key = 'c4'"), R"(["https://e.com/a.png","https://e.com/b.png"])");
}

TEST_F(importer_fixture, ByteOrderMarkAtTheStartIsSkipped) {
  const std::string bom = "\xEF\xBB\xBF";
  const auto csv = run("excel.csv", bom + "key,model,prompt\r\nb1,cogvideox-3,a sneaker\r\n");
  EXPECT_EQ(csv.inserted, 1u);
  EXPECT_EQ(csv.invalid, 0u) << reason_at(csv, 2);
  EXPECT_EQ(t.text("SELECT key FROM jobs WHERE key = 'b1'"), "b1");  // the first column's name has no BOM
  const auto jsonl = run("bom.jsonl", bom + R"({"key":"b2","model":"cogvideox-3","prompt":"x"})" "\n");
  EXPECT_EQ(jsonl.inserted, 1u);
  EXPECT_EQ(jsonl.invalid, 0u) << reason_at(jsonl, 1);
}

TEST_F(importer_fixture, AByteOrderMarkAfterTheFirstLineIsStillAnError) {
  const auto s = run("late.jsonl", R"({"model":"cogvideox-3","prompt":"x"})" "\n"
                                   "\xEF\xBB\xBF" R"({"model":"cogvideox-3","prompt":"y"})" "\n");
  EXPECT_EQ(s.inserted, 1u);
  EXPECT_NE(reason_at(s, 2).find("not valid JSON"), std::string::npos) << reason_at(s, 2);
}

TEST_F(importer_fixture, DuplicateCsvHeaderRefusesTheFileNamingBothColumns) {
  const auto s = run("dup.csv", "key,prompt,model,prompt\nd1,a,cogvideox-3,b\n");
  ASSERT_TRUE(s.refused);
  EXPECT_EQ(s.refused->line, 1u);
  EXPECT_EQ(s.refused->reason, "header: column 4 'prompt' repeats column 2 'prompt'");
  EXPECT_EQ(s.inserted, 0u);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM jobs"), 0);
}

TEST_F(importer_fixture, MissingFileIsAnError) {
  auto r = import_file(store, t.dir.file("nope.jsonl"), input_format::jsonl, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::not_found));
}

}  // namespace
}  // namespace vidq::ingest
