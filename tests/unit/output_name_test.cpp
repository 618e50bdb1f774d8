#include "vidq/engine/output_name.hpp"

#include "vidq/core/utf8.hpp"
#include "vidq/engine/fetch.hpp"

#include <gtest/gtest.h>

namespace vidq::engine {
namespace {

output_tokens job(std::int64_t id, std::string_view batch, std::optional<std::string_view> key) {
  output_tokens t;
  t.id = id;
  t.batch = batch;
  t.key = key;
  t.model = "cogvideox-3";
  t.submitted_at = 1'764'547'200'000;  // 2025-12-01 00:00:00 UTC
  return t;
}

std::string stem(std::string_view tmpl, const output_tokens& t) { return render_output_stem(tmpl, t).string(); }

TEST(output_name, BatchAndKeyKeepCjkAndSpaces) {
  EXPECT_EQ(stem("{batch}/{key}", job(7, "春季 促销", "SKU-0001")), "春季 促销/SKU-0001");
  EXPECT_EQ(stem("{batch}/{key}", job(7, "Été café", "ñandú-1")), "Été café/ñandú-1");
}

TEST(output_name, EveryTokenRenders) {
  EXPECT_EQ(stem("{date}/{model}/{batch}-{id}-{key}", job(42, "b", "k")), "2025-12-01/cogvideox-3/b-42-k");
  EXPECT_EQ(stem("{batch_folder}/{id}", job(42, "春季 促销/2025", "k")),
            sanitize_batch_name("春季 促销/2025") + "/42");
}

TEST(output_name, EmptyOrMissingKeyFallsBackToTheId) {
  EXPECT_EQ(stem("{batch}/{key}", job(9, "b", std::nullopt)), "b/9");
  EXPECT_EQ(stem("{batch}/{key}", job(9, "b", "")), "b/9");
}

TEST(output_name, ATokenValueNeverAddsAComponentOrClimbs) {
  EXPECT_EQ(stem("{batch}/{key}", job(1, "b", "../../etc")), "b/_._.__etc");
  EXPECT_EQ(stem("{batch}/{key}", job(1, "..", "..")), "_./_.");
  EXPECT_EQ(stem("{batch}/{key}", job(1, "/abs/olute", "/etc/passwd")), "_abs_olute/_etc_passwd");
  EXPECT_EQ(stem("{batch}/{key}", job(1, "b", "a\\b")), "b/a_b");
  EXPECT_EQ(stem("{batch}/{key}", job(1, "b", ".hidden")), "b/_hidden");
  for (const auto* bad : {"../../etc", "/etc/passwd", "..", ".", "a/../b"}) {
    const auto p = render_output_stem("{batch}/{key}", job(1, "b", bad));
    EXPECT_TRUE(p.is_relative()) << bad;
    for (const auto& part : p) {
      EXPECT_NE(part, "..") << bad;
      EXPECT_NE(part, ".") << bad;
      EXPECT_NE(part.string().front(), '.') << bad;
    }
  }
}

TEST(output_name, AnAbsoluteOrClimbingTemplateStaysInsideTheOutputFolder) {
  EXPECT_EQ(stem("/etc/{key}", job(1, "b", "k")), "etc/k");
  EXPECT_EQ(stem("../{key}", job(1, "b", "k")), "_./k");
  EXPECT_EQ(stem("{batch}//{key}/", job(1, "b", "k")), "b/k");
}

TEST(output_name, NulAndControlCharactersAreReplaced) {
  const std::string with_nul("a\0b", 3);
  EXPECT_EQ(sanitize_component(with_nul), "a_b");
  EXPECT_EQ(sanitize_component("tab\there\nnl\x7f"), "tab_here_nl_");
  EXPECT_EQ(sanitize_component("bad \xFF utf8"), "bad _ utf8");
  EXPECT_EQ(sanitize_component("a\xE2\x80\xAE" "gnp.exe"), "a_gnp.exe");  // U+202E right-to-left override
  EXPECT_EQ(sanitize_component("win:*?\"<>|"), "win_______");
  EXPECT_EQ(sanitize_component(""), "_");
  EXPECT_EQ(sanitize_component("   "), "_");
  EXPECT_EQ(sanitize_component("  padded  "), "padded");
}

TEST(output_name, LongComponentsAreCutOnACodePointBoundary) {
  std::string long_cjk;
  for (int i = 0; i < 100; ++i) long_cjk += "春";  // 300 bytes
  const auto cut = sanitize_component(long_cjk);
  EXPECT_LE(cut.size(), max_component_bytes);
  EXPECT_EQ(cut.size(), 198u);  // 66 whole characters of 3 bytes
  EXPECT_TRUE(utf8_length(cut));
  const auto p = render_output_stem("{batch}/{key}", job(5, long_cjk, long_cjk));
  for (const auto& part : p) EXPECT_LE(part.string().size(), max_component_bytes);
  const auto suffixed = with_id_suffix(p, 123456, 1);
  EXPECT_TRUE(utf8_length(suffixed.filename().string()));
  EXPECT_LE(suffixed.filename().string().size() + 4 + 5, 255u);  // + ".mp4" + ".part" within NAME_MAX
}

TEST(output_name, TwoKeysThatSanitizeToOneNameAreTellApartBySuffix) {
  const auto a = render_output_stem("{batch}/{key}", job(1, "b", "SKU/1"));
  const auto b = render_output_stem("{batch}/{key}", job(2, "b", "SKU_1"));
  EXPECT_EQ(a, b);  // the rule alone maps both here: the caller must detect it
  EXPECT_EQ(with_id_suffix(b, 2, 1).string(), "b/SKU_1-2");
  EXPECT_EQ(with_id_suffix(b, 2, 2).string(), "b/SKU_1-2-2");
  EXPECT_NE(with_id_suffix(b, 2, 1), a);
}

TEST(output_name, TemplatesAreChecked) {
  EXPECT_FALSE(check_path_template("{batch}/{key}"));
  EXPECT_FALSE(check_path_template("{batch_folder}/{id}"));
  EXPECT_FALSE(check_path_template(legacy_path_template));
  EXPECT_NE(check_path_template("{batch}/{sku}").value_or("").find("unknown token {sku}"), std::string::npos);
  EXPECT_NE(check_path_template("{batch}").value_or("").find("{key} or {id}"), std::string::npos);
  EXPECT_TRUE(check_path_template("{batch/{key}"));
  EXPECT_TRUE(check_path_template("batch}/{key}"));
}

TEST(output_name, TheBatchFolderIsTheTemplateUpToTheBatch) {
  EXPECT_EQ(batch_folder("{batch}/{key}", "春季 促销").string(), "春季 促销");
  EXPECT_EQ(batch_folder("{date}/{batch}/{model}/{key}", "b/c").string(), "");  // {date} needs a job
  EXPECT_EQ(batch_folder("out/{batch}/{model}/{key}", "b/c").string(), "out/b_c");
  EXPECT_EQ(batch_folder("{batch_folder}/{id}", "spring").string(), sanitize_batch_name("spring"));
  EXPECT_EQ(batch_folder("{key}", "b").string(), "");
  EXPECT_EQ(batch_folder("{batch}-{key}", "b").string(), "");  // the batch is in the file name only
}

TEST(output_name, CoverExtensionFollowsTheContent) {
  EXPECT_EQ(cover_extension("\xFF\xD8\xFF\xE0rest"), ".jpg");
  EXPECT_EQ(cover_extension("\x89PNG\r\n\x1a\n"), ".png");
  EXPECT_EQ(cover_extension(""), ".png");
}

}  // namespace
}  // namespace vidq::engine
