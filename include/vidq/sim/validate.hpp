#pragma once
// The provider side of API.md §2: per-model rules applied to a submit body, written from the
// vendor schemas independently of the daemon's client-side validation (provider/), so that a
// misreading in one is caught by the other instead of hidden in both.

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vidq::sim {

enum class dialect { bigmodel, geekai };

// A rejection as the provider sends it: HTTP status + {"error":{"code","message"}}.
struct api_error {
  int http_status = 400;
  std::string code;  // business code, e.g. "1214"
  std::string message;
};

// A submit request that passed validation, with every default resolved.
struct task_spec {
  std::string model;
  std::string quality;  // "speed" or "quality" for cogvideox-2/-3; empty otherwise
  int duration_s = 5;
  int fps = 30;
  int width = 1920;
  int height = 1080;
  std::string prompt;
  std::optional<std::string> request_id;
  bool async = true;  // GeekAI `async` (default false there); always true for BigModel
};

struct validation_rules {
  std::size_t max_prompt_chars = 512;
  std::vector<std::string> banned_words;
};

// Validates a BigModel-dialect body (API.md §2). Check order: JSON object, model present
// (1213) and known (1211), field types and enums (1214), required fields (1213), prompt
// length (1261), banned words (1301). Unknown extra fields are ignored, as JSON APIs do.
std::variant<task_spec, api_error> validate_bigmodel(const boost::json::value& body, const validation_rules& rules);

// Validates a GeekAI-dialect body (API.md §9): maps image/image_tail/extra_body/watermark
// onto the BigModel fields, rejects the parameters GeekAI lists as unsupported per model,
// then applies the same per-model rules.
std::variant<task_spec, api_error> validate_geekai(const boost::json::value& body, const validation_rules& rules);

// Number of Unicode code points in UTF-8 text (the unit of the 512 prompt limit).
std::size_t utf8_length(std::string_view text);

}  // namespace vidq::sim
