#include "vidq/output/manifest.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace vidq::output {
namespace {

store::manifest_row succeeded_row() {
  store::manifest_row r;
  r.id = 7;
  r.key = "SKU-0001";
  r.batch = "春季 促销";
  r.state = job_state::succeeded;
  r.model = "cogvideox-3";
  r.video_path = "/srv/videos/春季 促销/SKU-0001.mp4";
  r.cover_path = "/srv/videos/春季 促销/SKU-0001.png";
  r.video_bytes = 1234;
  r.video_sha256 = "abc123";
  r.cost = 1250;
  r.task_id = "task-1";
  r.request_id = "vq7-1-xyz";
  r.submitted_at = 1'764'547'200'000;
  r.finished_at = 1'764'547'260'000;
  return r;
}

TEST(manifest, CsvFieldsAreQuotedAsRfc4180Wants) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field(" padded"), "\" padded\"");
  EXPECT_EQ(csv_field(""), "");
}

TEST(manifest, CsvHasAHeaderCrlfRowsAndRelativePaths) {
  store::manifest_row failed;
  failed.id = 8;
  failed.batch = "b";
  failed.state = job_state::failed;
  failed.model = "cogvideox-3";
  failed.video_path = "/srv/videos/b/8.mp4";  // reserved, never written: not a file to list
  failed.error_code = "1301";
  failed.error_message = "unsafe content, \"flagged\"";
  const std::vector<store::manifest_row> rows = {succeeded_row(), failed};
  manifest_options options;
  options.output_dir = "/srv/videos";
  const auto csv = render_manifest(rows, options);
  EXPECT_EQ(csv,
            "id,key,batch,state,model,video_path,video_relpath,cover_path,video_bytes,video_sha256,cost_cny,"
            "error_code,error_message,task_id,request_id,submitted_at,finished_at\r\n"
            "7,SKU-0001,春季 促销,succeeded,cogvideox-3,/srv/videos/春季 促销/SKU-0001.mp4,春季 促销/SKU-0001.mp4,"
            "/srv/videos/春季 促销/SKU-0001.png,1234,abc123,1.250,,,task-1,vq7-1-xyz,2025-12-01T00:00:00Z,"
            "2025-12-01T00:01:00Z\r\n"
            "8,,b,failed,cogvideox-3,,,,,,0.000,1301,\"unsafe content, \"\"flagged\"\"\",,,,\r\n");
  options.bom = true;
  EXPECT_EQ(render_manifest(rows, options).substr(0, 5), "\xEF\xBB\xBFid");
}

TEST(manifest, JsonlIsOneObjectPerLineWithTypedValues) {
  const std::vector<store::manifest_row> rows = {succeeded_row()};
  manifest_options options;
  options.format = manifest_format::jsonl;
  options.output_dir = "/srv/videos";
  const auto text = render_manifest(rows, options);
  ASSERT_EQ(text.back(), '\n');
  const auto o = boost::json::parse(text).as_object();
  EXPECT_EQ(o.at("id").as_int64(), 7);
  EXPECT_EQ(o.at("key").as_string(), "SKU-0001");
  EXPECT_EQ(o.at("video_relpath").as_string(), "春季 促销/SKU-0001.mp4");
  EXPECT_EQ(o.at("video_bytes").as_int64(), 1234);
  EXPECT_DOUBLE_EQ(o.at("cost_cny").as_double(), 1.25);
  EXPECT_TRUE(o.at("error_code").is_null());
}

TEST(manifest, WritesTheFileAtomically) {
  test::temp_dir dir;
  const auto path = dir.path() / "manifest.csv";
  ASSERT_TRUE(write_manifest_file(path, "old"));
  ASSERT_TRUE(write_manifest_file(path, "new,content\r\n"));
  std::ifstream in(path, std::ios::binary);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), "new,content\r\n");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  EXPECT_FALSE(write_manifest_file(dir.path() / "missing" / "manifest.csv", "x"));
}

}  // namespace
}  // namespace vidq::output
