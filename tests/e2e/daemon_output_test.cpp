// Issue 9 acceptance: a batch keyed by SKU ends as files named by SKU in a folder named
// after the batch (CJK kept), `vidq export` lists every job with paths that exist and
// sha256 values that match, keys that sanitize to one name get distinct files, and
// write_manifest leaves manifest.csv in the batch folder.
#include "support/daemon_harness.hpp"
#include "vidq/net/sha256.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

namespace vidq::test {
namespace {

using namespace std::chrono_literals;

// Splits one CSV record of fields without quotes (what these keys and paths give).
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

TEST(DaemonOutput, FiftySkuJobsEndAsNamedFilesAndTheExportVerifies) {
  daemon_settings settings;
  settings.output_extra = "path_template = \"{batch}/{key}\"\nwrite_manifest = true\n";
  daemon_harness h(settings);
  const std::string batch = "春季 促销";
  std::vector<std::string> lines;
  for (int i = 1; i <= 50; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "SKU-%04d", i);
    lines.push_back(std::string(R"({"key":")") + key + R"(","batch":")" + batch +
                    R"(","model":"cogvideox-flash","prompt":"product clip )" + key + "\"}");
  }
  // Two keys the name rules map to one file: the second job must get its own.
  lines.push_back(R"({"key":"a/b","batch":"collide","model":"cogvideox-flash","prompt":"one"})");
  lines.push_back(R"({"key":"a_b","batch":"collide","model":"cogvideox-flash","prompt":"two"})");
  ASSERT_EQ(h.import_jobs(lines).exit_code, 0);

  const pid_t pid = h.start();
  const auto code = h.wait(pid, 180s);
  ASSERT_TRUE(code.has_value()) << h.log_text().substr(0, 4000);
  ASSERT_EQ(*code, 0) << h.log_text().substr(0, 4000);
  ASSERT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'"), 52)
      << h.text("SELECT group_concat(state || ':' || coalesce(error_code, ''), ' ') FROM jobs");
  EXPECT_EQ(h.verify_files(), "");

  const auto folder = h.output_dir() / batch;
  for (int i = 1; i <= 50; ++i) {
    char name[24];
    std::snprintf(name, sizeof name, "SKU-%04d.mp4", i);
    EXPECT_TRUE(std::filesystem::is_regular_file(folder / name)) << (folder / name);
  }

  auto exported = h.vidq("export --batch '" + batch + "' --format csv -o '" + (h.dir() / "export.csv").string() + "'");
  ASSERT_EQ(exported.exit_code, 0) << exported.out;
  EXPECT_NE(exported.out.find("exported 50 job(s)"), std::string::npos) << exported.out;
  std::stringstream csv(read_file(h.dir() / "export.csv"));
  std::string line;
  ASSERT_TRUE(std::getline(csv, line));
  const auto header = split(line.substr(0, line.size() - 1));  // without the CR
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  ASSERT_TRUE(column.contains("video_path") && column.contains("video_sha256") && column.contains("key"));
  int rows = 0;
  while (std::getline(csv, line)) {
    ASSERT_EQ(line.back(), '\r') << "RFC 4180 records end in CRLF";
    const auto f = split(line.substr(0, line.size() - 1));
    ASSERT_EQ(f.size(), header.size()) << line;
    ++rows;
    const std::filesystem::path video = f[column["video_path"]];
    EXPECT_EQ(video, folder / (f[column["key"]] + ".mp4"));
    EXPECT_EQ(f[column["video_relpath"]], batch + "/" + f[column["key"]] + ".mp4");
    ASSERT_TRUE(std::filesystem::is_regular_file(video)) << video;
    EXPECT_EQ(net::sha256_hex(read_file(video)), f[column["video_sha256"]]) << video;
    EXPECT_EQ(f[column["state"]], "succeeded");
  }
  EXPECT_EQ(rows, 50);

  const auto manifest = read_file(folder / "manifest.csv");
  EXPECT_EQ(std::count(manifest.begin(), manifest.end(), '\n'), 51) << "header + 50 rows, written when the batch finished";

  namespace fs = std::filesystem;
  const auto name_a = fs::path(h.text("SELECT video_path FROM jobs WHERE key = 'a/b'")).filename().string();
  const auto name_b = fs::path(h.text("SELECT video_path FROM jobs WHERE key = 'a_b'")).filename().string();
  const auto id_a = h.text("SELECT id FROM jobs WHERE key = 'a/b'");
  const auto id_b = h.text("SELECT id FROM jobs WHERE key = 'a_b'");
  // Whichever downloaded first got the plain name; the other one its id added.
  if (name_a == "a_b.mp4") {
    EXPECT_EQ(name_b, "a_b-" + id_b + ".mp4");
  } else {
    EXPECT_EQ(name_b, "a_b.mp4");
    EXPECT_EQ(name_a, "a_b-" + id_a + ".mp4");
  }
}

}  // namespace
}  // namespace vidq::test
