// A raw-SQL row as the request it describes (daemon/row_spec.hpp).
#include "vidq/daemon/row_spec.hpp"

#include <gtest/gtest.h>

namespace vidq::daemon {
namespace {

store::job_row row(std::string model, std::optional<std::string> prompt) {
  store::job_row r;
  r.model = std::move(model);
  r.prompt = std::move(prompt);
  return r;
}

TEST(RowSpec, AValidRowBecomesItsSpec) {
  row_problem problem;
  auto spec = spec_from_row(row("cogvideox-3", "a cat\non a mat"), problem);
  ASSERT_TRUE(spec) << problem.message;
  EXPECT_EQ(spec->prompt, "a cat\non a mat");
}

// Issue 12 #8: a row INSERTed by hand with a NUL (or another control character) in its
// prompt fails with a reason instead of being sent.
TEST(RowSpec, APromptWithAControlCharacterFailsTheRowWithAReason) {
  row_problem problem;
  EXPECT_FALSE(spec_from_row(row("cogvideox-3", std::string(1, '\0')), problem));
  EXPECT_EQ(problem.error_code, "invalid_request");
  EXPECT_EQ(problem.message, "prompt: contains the control character U+0000; only newline and tab are allowed");
  EXPECT_FALSE(spec_from_row(row("cogvideox-3", "bell\a"), problem));
  EXPECT_EQ(problem.message, "prompt: contains the control character U+0007; only newline and tab are allowed");
}

}  // namespace
}  // namespace vidq::daemon
