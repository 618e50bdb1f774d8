#include "vidq/provider/validation.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace vidq::provider {
namespace {

const validation_options pure{.check_local_files = false};

job_spec spec(std::string model, std::string prompt, std::vector<std::string> images = {},
              boost::json::object params = {}) {
  return {std::move(model), std::move(prompt), std::move(images), std::move(params)};
}

std::string problem(const job_spec& s, const validation_options& o = pure) {
  auto p = validate(s, o);
  return p ? p->message() : "";
}

TEST(Validation, AcceptsTheDocumentedShapes) {
  EXPECT_EQ(problem(spec("cogvideox-3", "a red sneaker", {}, {{"quality", "quality"}, {"size", "1920x1080"},
                                                                 {"fps", 60}, {"duration", 10}, {"with_audio", true}})),
            "");
  EXPECT_EQ(problem(spec("cogvideox-3", "", {"https://example.com/first.png", "https://example.com/last.png"})), "");
  EXPECT_EQ(problem(spec("cogvideox-2", "", {"https://example.com/a.jpg"}, {{"size", "720x480"}})), "");
  EXPECT_EQ(problem(spec("cogvideox-flash", "a cat", {}, {{"duration", 5}, {"with_audio", false}})), "");
  EXPECT_EQ(problem(spec("vidu2-image", "", {"https://example.com/a.webp"}, {{"movement_amplitude", "small"}})), "");
  EXPECT_EQ(problem(spec("vidu2-start-end", "", {"https://e.com/a.png", "https://e.com/b.png"})), "");
  EXPECT_EQ(problem(spec("vidu2-reference", "x", {"https://e.com/a.png", "https://e.com/b.png", "https://e.com/c.png"},
                         {{"aspect_ratio", "9:16"}})),
            "");
  EXPECT_EQ(problem(spec("viduq1-text", "a dog", {}, {{"style", "anime"}})), "");
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"user_id", "user-123"}, {"watermark_enabled", false}})), "");
}

TEST(Validation, UnknownModelListsTheKnownOnes) {
  const auto p = problem(spec("sora-9", "x"));
  EXPECT_NE(p.find("model: 'sora-9' is not a known model"), std::string::npos) << p;
  EXPECT_NE(p.find("cogvideox-3"), std::string::npos);
  EXPECT_NE(p.find("vidu2-reference"), std::string::npos);
}

TEST(Validation, ImageCountPerModel) {
  EXPECT_EQ(problem(spec("vidu2-start-end", "", {"https://e.com/a.png"})),
            "image_url: vidu2-start-end takes 2 image(s), got 1");
  EXPECT_EQ(problem(spec("vidu2-image", "x")), "image_url: vidu2-image takes 1 image(s), got 0");
  EXPECT_EQ(problem(spec("cogvideox-2", "", {"https://e.com/a.png", "https://e.com/b.png"})),
            "image_url: cogvideox-2 takes 0 to 1 image(s), got 2");
  EXPECT_EQ(problem(spec("vidu2-reference", "", {"https://e.com/1.png", "https://e.com/2.png", "https://e.com/3.png",
                                                 "https://e.com/4.png"})),
            "image_url: vidu2-reference takes 1 to 3 image(s), got 4");
  EXPECT_EQ(problem(spec("viduq1-text", "x", {"https://e.com/a.png"})), "image_url: viduq1-text takes 0 image(s), got 1");
}

TEST(Validation, ParameterValuesNameTheAllowedOnes) {
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"size", "720x480"}})),
            "size: '720x480' is not allowed for cogvideox-3; allowed: 1280x720, 720x1280, 1024x1024, 1920x1080, "
            "1080x1920, 2048x1080, 3840x2160");
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"fps", 24}})), "fps: 24 is not allowed for cogvideox-3; allowed: 30, 60");
  EXPECT_EQ(problem(spec("vidu2-image", "", {"https://e.com/a.png"}, {{"duration", 5}})),
            "duration: 5 is not allowed for vidu2-image; allowed: 4");
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"quality", "best"}})),
            "quality: 'best' is not allowed for cogvideox-3; allowed: speed, quality");
}

TEST(Validation, FlashRejectsWhatItDoesNotSupport) {
  EXPECT_EQ(problem(spec("cogvideox-flash", "x", {}, {{"quality", "speed"}})), "quality: not supported by cogvideox-flash");
  EXPECT_EQ(problem(spec("cogvideox-flash", "x", {}, {{"size", "1920x1080"}})), "size: not supported by cogvideox-flash");
  EXPECT_EQ(problem(spec("cogvideox-flash", "x", {}, {{"fps", 30}})), "fps: not supported by cogvideox-flash");
}

TEST(Validation, WrongTypes) {
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"duration", "5"}})), "duration: must be an integer, one of: 5, 10");
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"with_audio", "yes"}})), "with_audio: must be true or false");
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"size", 1080}})),
            "size: must be a string, one of: 1280x720, 720x1280, 1024x1024, 1920x1080, 1080x1920, 2048x1080, 3840x2160");
}

TEST(Validation, PromptRules) {
  EXPECT_EQ(problem(spec("cogvideox-3", std::string(512, 'a'))), "");
  EXPECT_EQ(problem(spec("cogvideox-3", std::string(513, 'a'))), "prompt: is 513 characters; the limit is 512");
  std::string chinese;
  for (int i = 0; i < 512; ++i) chinese += "鞋";  // 1536 bytes, 512 characters
  EXPECT_EQ(problem(spec("cogvideox-3", chinese)), "");
  EXPECT_EQ(problem(spec("cogvideox-3", "bad \xFF utf8")), "prompt: is not valid UTF-8");
  EXPECT_EQ(problem(spec("cogvideox-3", "")), "prompt: prompt or image_url is required");
  EXPECT_EQ(problem(spec("viduq1-text", "")), "prompt: is required by viduq1-text");
}

// Issue 12 #8: a prompt of a single NUL was accepted and sent.
TEST(Validation, PromptsRefuseControlCharactersButNewlineAndTab) {
  EXPECT_EQ(problem(spec("cogvideox-3", std::string(1, '\0'))),
            "prompt: contains the control character U+0000; only newline and tab are allowed");
  EXPECT_EQ(problem(spec("cogvideox-3", "a cat\x1b[31m")),
            "prompt: contains the control character U+001B; only newline and tab are allowed");
  EXPECT_EQ(problem(spec("cogvideox-3", "a cat\r\n")),
            "prompt: contains the control character U+000D; only newline and tab are allowed");
  EXPECT_EQ(problem(spec("cogvideox-3", "del\x7f")),
            "prompt: contains the control character U+007F; only newline and tab are allowed");
  EXPECT_EQ(problem(spec("cogvideox-3", "c1 \xc2\x85 next line")),
            "prompt: contains the control character U+0085; only newline and tab are allowed");
  EXPECT_EQ(problem(spec("cogvideox-3", "line one\n\tline two, \xc2\xa9 2026")), "") << "newline, tab, U+00A9";
}

TEST(Validation, UserIdAndUnknownFields) {
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"user_id", "abc"}})), "user_id: must be 6 to 128 characters long");
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"user_id", std::string(129, 'u')}})),
            "user_id: must be 6 to 128 characters long");
  EXPECT_EQ(problem(spec("cogvideox-3", "x", {}, {{"request_id", "r1"}})),
            "request_id: is chosen by vidq (one per submit attempt); remove it");
  EXPECT_NE(problem(spec("cogvideox-3", "x", {}, {{"colour", "red"}})).find("colour: unknown field"), std::string::npos);
  EXPECT_EQ(problem(spec("vidu2-image", "", {"https://e.com/a.png"}, {{"watermark_enabled", true}})),
            "watermark_enabled: not supported by vidu2-image");
}

TEST(Validation, DataUrisAndUrls) {
  EXPECT_EQ(problem(spec("cogvideox-3", "", {"data:image/png;base64,iVBORw0KGgo="})), "");
  EXPECT_EQ(problem(spec("cogvideox-3", "", {"data:text/plain;base64,aGk="})),
            "image_url: data URI must start with data:image/png|jpeg|webp;base64,");
  EXPECT_EQ(problem(spec("cogvideox-3", "", {"data:image/webp;base64,UklGRg=="})),
            "image_url: webp is not accepted by cogvideox-3; use png or jpeg");
  EXPECT_EQ(problem(spec("cogvideox-3", "", {"https://"})), "image_url: is not a valid http(s) URL");
}

TEST(Validation, LocalFilesAreCheckedByMagicBytesAndSize) {
  test::temp_dir dir;
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, '\0');
  test::write_file(dir.path() / "ok.png", png);
  test::write_file(dir.path() / "fake.png", "GIF89a not a png");
  test::write_file(dir.path() / "pic.webp", std::string("RIFF\0\0\0\0WEBPVP8 ", 16));
  test::write_file(dir.path() / "huge.png", png + std::string(5 * 1024 * 1024, 'x'));
  const validation_options disk;
  EXPECT_EQ(problem(spec("cogvideox-3", "", {dir.file("ok.png")}), disk), "");
  EXPECT_NE(problem(spec("cogvideox-3", "", {dir.file("missing.png")}), disk).find("does not exist"), std::string::npos);
  EXPECT_NE(problem(spec("cogvideox-3", "", {dir.file("fake.png")}), disk).find("is not a PNG or JPEG image"),
            std::string::npos);
  EXPECT_NE(problem(spec("cogvideox-3", "", {dir.file("pic.webp")}), disk).find("is WEBP"), std::string::npos);
  EXPECT_EQ(problem(spec("vidu2-image", "", {dir.file("pic.webp")}), disk), "");
  EXPECT_NE(problem(spec("cogvideox-3", "", {dir.file("huge.png")}), disk).find("over the 5 MB limit"), std::string::npos);
  EXPECT_EQ(problem(spec("vidu2-image", "", {dir.file("huge.png")}), disk), "");  // Vidu allows 50 MB
  EXPECT_NE(problem(spec("vidu2-start-end", "", {dir.file("ok.png"), dir.file("nope.png")}), disk).find("image_url[1]"),
            std::string::npos);
}

}  // namespace
}  // namespace vidq::provider
