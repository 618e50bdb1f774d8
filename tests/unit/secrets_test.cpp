// Loading API keys and tokens (ops/secrets.hpp): issue 12 #4.
#include "support/temp_dir.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/ops/secrets.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <string>
#include <vector>

namespace vidq::ops {
namespace {

std::vector<std::string>* captured = nullptr;
void capture(std::string_view line, void*) {
  if (captured) captured->emplace_back(line);
}

class SecretsTest : public ::testing::Test {
 protected:
  test::temp_dir dir;
  std::vector<std::string> lines;
  void SetUp() override {
    captured = &lines;
    log::set_sink(capture, nullptr);
  }
  void TearDown() override {
    log::set_sink(nullptr, nullptr);
    captured = nullptr;
  }
  result<secret> load_file(const std::string& content, std::string& why, ::mode_t mode = 0600) {
    const auto path = dir.file("key");
    test::write_file(path, content);
    ::chmod(path.c_str(), mode);
    return load_secret({"", path, ""}, why);
  }
};

TEST_F(SecretsTest, AKeyFileGivesItsFirstLineOnly) {
  std::string why;
  auto key = load_file("sk-first-line-0123456789\r\nsecond line: a comment or another key\n", why);
  ASSERT_TRUE(key) << why;
  EXPECT_EQ(key->expose(), "sk-first-line-0123456789");
  key = load_file("  sk-padded-0123456789  \n", why);
  ASSERT_TRUE(key) << why;
  EXPECT_EQ(key->expose(), "sk-padded-0123456789");
}

TEST_F(SecretsTest, BlankKeysAndControlCharactersAreRefusedWithoutEchoingTheKey) {
  std::string why;
  EXPECT_FALSE(load_file("   \t \n", why));
  EXPECT_NE(why.find("blank"), std::string::npos) << why;
  EXPECT_FALSE(load_file("\nsk-on-the-second-line-0123\n", why));
  EXPECT_NE(why.find("blank"), std::string::npos) << why;
  EXPECT_FALSE(load_file(std::string("sk-with-nul-\0-0123456789\n", 25), why));
  EXPECT_NE(why.find("control character"), std::string::npos) << why;
  EXPECT_EQ(why.find("sk-with"), std::string::npos) << "never echo the key: " << why;
  EXPECT_FALSE(load_file("sk-with-escape-\x1b[2J-0123\n", why));
  EXPECT_NE(why.find("control character"), std::string::npos) << why;
  EXPECT_EQ(why.find("sk-with"), std::string::npos) << why;

  ::setenv("VIDQ_TEST_BLANK_KEY", "    ", 1);
  EXPECT_FALSE(load_secret({"VIDQ_TEST_BLANK_KEY", "", ""}, why));
  EXPECT_NE(why.find("blank"), std::string::npos) << why;
  ::setenv("VIDQ_TEST_BLANK_KEY", "sk-tab\tinside-0123456789", 1);
  EXPECT_FALSE(load_secret({"VIDQ_TEST_BLANK_KEY", "", ""}, why));
  EXPECT_NE(why.find("control character"), std::string::npos) << why;
  ::unsetenv("VIDQ_TEST_BLANK_KEY");
}

TEST_F(SecretsTest, AKeyFileReadableByOthersLoadsWithAWarning) {
  std::string why;
  ASSERT_TRUE(load_file("sk-private-0123456789\n", why, 0600));
  for (const auto& l : lines) EXPECT_EQ(l.find("key_file_permissions"), std::string::npos) << l;
  EXPECT_EQ(key_file_permission_warning(dir.file("key")), "");

  ASSERT_TRUE(load_file("sk-shared-0123456789\n", why, 0644));
  bool warned = false;
  for (const auto& l : lines) warned = warned || l.find("key_file_permissions") != std::string::npos;
  EXPECT_TRUE(warned);
  EXPECT_NE(key_file_permission_warning(dir.file("key")).find("0644"), std::string::npos);
  ::chmod(dir.file("key").c_str(), 0640);
  EXPECT_NE(key_file_permission_warning(dir.file("key")), "") << "group-readable counts too";
}

// Issue 12 #3: the logger redacts values before serializing them.
TEST_F(SecretsTest, TheLogRedactsKeysWithQuotesAndBackslashes) {
  const std::string key = R"(sk-"quoted"\back\slash-0123)";
  log::register_secret(key);
  log::warn("provider.reply", {{"body", "echo: " + key + " end"}, {"nested", boost::json::object{{"k", key}}}});
  ASSERT_FALSE(lines.empty());
  const std::string& line = lines.back();
  EXPECT_EQ(line.find("quoted"), std::string::npos) << line;
  EXPECT_EQ(line.find("slash-0123"), std::string::npos) << line;
  EXPECT_NE(line.find("[REDACTED]"), std::string::npos) << line;
}

}  // namespace
}  // namespace vidq::ops
