#include "vidq/provider/validation.hpp"

#include "vidq/core/utf8.hpp"
#include "vidq/provider/image_file.hpp"
#include "vidq/provider/models.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

namespace vidq::provider {
namespace {

using json_value = boost::json::value;

template <class T>
std::string join(std::span<const T> values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    if constexpr (std::is_same_v<T, std::string_view>) {
      out += v;
    } else {
      out += std::to_string(v);
    }
  }
  return out;
}

// The first C0/C1 control character or DEL other than newline and tab, in valid UTF-8: a
// NUL or an escape sequence in a prompt is a damaged input, never a description of a video.
std::optional<unsigned> first_control_character(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return c;
    if (c == 0xc2 && i + 1 < text.size()) {  // U+0080..U+009F are 0xC2 0x80..0x9F
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return next;
    }
  }
  return std::nullopt;
}

std::optional<invalid_field> bad(std::string field, std::string reason) {
  return invalid_field{std::move(field), std::move(reason)};
}

std::optional<invalid_field> check_string_enum(const char* field, const json_value& value,
                                               std::span<const std::string_view> allowed,
                                               std::string_view model) {
  if (allowed.empty()) return bad(field, "not supported by " + std::string(model));
  if (!value.is_string()) return bad(field, "must be a string, one of: " + join(allowed));
  const std::string_view text = value.get_string();
  if (std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
    return bad(field, "'" + std::string(text) + "' is not allowed for " + std::string(model) +
                          "; allowed: " + join(allowed));
  }
  return std::nullopt;
}

std::optional<invalid_field> check_int_enum(const char* field, const json_value& value,
                                            std::span<const std::int64_t> allowed, std::string_view model) {
  if (allowed.empty()) return bad(field, "not supported by " + std::string(model));
  if (!value.is_int64() && !value.is_uint64()) return bad(field, "must be an integer, one of: " + join(allowed));
  const auto number = value.is_int64() ? value.get_int64() : static_cast<std::int64_t>(value.get_uint64());
  if (std::find(allowed.begin(), allowed.end(), number) == allowed.end()) {
    return bad(field, std::to_string(number) + " is not allowed for " + std::string(model) +
                          "; allowed: " + join(allowed));
  }
  return std::nullopt;
}

std::optional<invalid_field> check_bool(const char* field, const json_value& value, bool supported,
                                        std::string_view model) {
  if (!supported) return bad(field, "not supported by " + std::string(model));
  if (!value.is_bool()) return bad(field, "must be true or false");
  return std::nullopt;
}

std::optional<invalid_field> check_param(const model_rules& rules, std::string_view key,
                                         const json_value& value) {
  const std::string_view model = rules.name;
  if (key == "quality") return check_string_enum("quality", value, rules.qualities, model);
  if (key == "size") return check_string_enum("size", value, rules.sizes, model);
  if (key == "aspect_ratio") return check_string_enum("aspect_ratio", value, rules.aspect_ratios, model);
  if (key == "style") return check_string_enum("style", value, rules.styles, model);
  if (key == "duration") return check_int_enum("duration", value, rules.durations, model);
  if (key == "fps") return check_int_enum("fps", value, rules.fps, model);
  if (key == "with_audio") return check_bool("with_audio", value, rules.with_audio, model);
  if (key == "watermark_enabled") return check_bool("watermark_enabled", value, rules.watermark_enabled, model);
  if (key == "off_peak") return check_bool("off_peak", value, true, model);
  if (key == "movement_amplitude") {
    static constexpr std::string_view amplitudes[] = {"auto", "small", "medium", "large"};
    return check_string_enum("movement_amplitude", value,
                             rules.movement_amplitude ? std::span<const std::string_view>(amplitudes)
                                                      : std::span<const std::string_view>(),
                             model);
  }
  if (key == "user_id") {
    if (!value.is_string()) return bad("user_id", "must be a string of 6 to 128 characters");
    const auto length = utf8_length(value.get_string());
    if (!length || *length < min_user_id_chars || *length > max_user_id_chars) {
      return bad("user_id", "must be 6 to 128 characters long");
    }
    return std::nullopt;
  }
  if (key == "sensitive_word_check") {
    const auto* object = value.if_object();
    const auto* status = object ? object->if_contains("status") : nullptr;
    if (!status || !status->is_string() ||
        (status->get_string() != "ENABLE" && status->get_string() != "DISABLE")) {
      return bad("sensitive_word_check", R"(must be {"type":"ALL","status":"ENABLE"|"DISABLE"})");
    }
    return std::nullopt;
  }
  if (key == "request_id") return bad("request_id", "is chosen by vidq (one per submit attempt); remove it");
  return bad(std::string(key),
             "unknown field; allowed: quality, size, duration, fps, with_audio, watermark_enabled, "
             "aspect_ratio, style, movement_amplitude, user_id, sensitive_word_check, off_peak "
             "(each only where the model supports it)");
}

std::optional<invalid_field> check_data_uri(const std::string& field, std::string_view uri,
                                            const model_rules& rules) {
  // The data-URI prefix is required by Vidu and shown by the CogVideoX schema (API.md §2.4).
  static constexpr std::string_view prefixes[] = {"data:image/png;base64,", "data:image/jpeg;base64,",
                                                  "data:image/jpg;base64,", "data:image/webp;base64,"};
  auto it = std::find_if(std::begin(prefixes), std::end(prefixes),
                         [&](std::string_view p) { return uri.starts_with(p); });
  if (it == std::end(prefixes)) {
    return bad(field, "data URI must start with data:image/png|jpeg|webp;base64,");
  }
  if (it->find("webp") != std::string_view::npos && !rules.webp_allowed) {
    return bad(field, "webp is not accepted by " + std::string(rules.name) + "; use png or jpeg");
  }
  const auto decoded_bytes = static_cast<std::int64_t>((uri.size() - it->size()) / 4 * 3);
  if (decoded_bytes > rules.max_image_bytes) {
    return bad(field, "image is larger than the model's limit of " +
                          std::to_string(rules.max_image_bytes / (1024 * 1024)) + " MB");
  }
  return std::nullopt;
}

std::optional<invalid_field> check_local_image(const std::string& field, const std::string& path,
                                               const model_rules& rules) {
  auto info = inspect_image_file(path);
  if (!info) return bad(field, "local file '" + path + "' does not exist or is not a regular file");
  if (info->format == image_format::unknown) {
    return bad(field, "'" + path + "' is not a PNG or JPEG" + (rules.webp_allowed ? " or WEBP" : "") + " image");
  }
  if (info->format == image_format::webp && !rules.webp_allowed) {
    return bad(field, "'" + path + "' is WEBP, which " + std::string(rules.name) + " does not accept; use PNG or JPEG");
  }
  if (static_cast<std::int64_t>(info->bytes) > rules.max_image_bytes) {
    return bad(field, "'" + path + "' is " + std::to_string(info->bytes) + " bytes, over the " +
                          std::to_string(rules.max_image_bytes / (1024 * 1024)) + " MB limit");
  }
  return std::nullopt;
}

std::optional<invalid_field> check_image(std::size_t index, std::size_t count, const std::string& ref,
                                         const model_rules& rules, const validation_options& options) {
  const std::string field = count > 1 ? "image_url[" + std::to_string(index) + "]" : "image_url";
  if (ref.empty()) return bad(field, "is empty");
  switch (classify_image_ref(ref)) {
    case image_ref_kind::url: {
      auto url = boost::urls::parse_absolute_uri(ref);
      if (!url || url->host().empty() || (url->scheme() != "https" && url->scheme() != "http")) {
        return bad(field, "is not a valid http(s) URL");
      }
      return std::nullopt;
    }
    case image_ref_kind::data_uri: return check_data_uri(field, ref, rules);
    case image_ref_kind::local_path:
      if (!options.check_local_files) return std::nullopt;
      return check_local_image(field, ref, rules);
  }
  return std::nullopt;
}

}  // namespace

image_ref_kind classify_image_ref(std::string_view ref) noexcept {
  if (ref.starts_with("https://") || ref.starts_with("http://")) return image_ref_kind::url;
  if (ref.starts_with("data:")) return image_ref_kind::data_uri;
  return image_ref_kind::local_path;
}

std::optional<invalid_field> validate(const job_spec& spec, const validation_options& options) {
  const model_rules* rules = find_model(spec.model);
  if (!rules) {
    std::string known;
    for (const auto& m : all_models()) known += (known.empty() ? "" : ", ") + std::string(m.name);
    return bad("model", spec.model.empty() ? "is required; one of: " + known
                                           : "'" + spec.model + "' is not a known model; one of: " + known);
  }

  const auto prompt_length = utf8_length(spec.prompt);
  if (!prompt_length) return bad("prompt", "is not valid UTF-8");
  if (auto control = first_control_character(spec.prompt)) {
    char code[16];
    std::snprintf(code, sizeof code, "U+%04X", *control);
    return bad("prompt", std::string("contains the control character ") + code +
                             "; only newline and tab are allowed");
  }
  if (*prompt_length > max_prompt_chars) {
    return bad("prompt", "is " + std::to_string(*prompt_length) + " characters; the limit is " +
                             std::to_string(max_prompt_chars));
  }
  if (rules->prompt_required && *prompt_length == 0) return bad("prompt", "is required by " + spec.model);

  const auto images = static_cast<int>(spec.images.size());
  if (images < rules->min_images || images > rules->max_images) {
    const std::string expected = rules->min_images == rules->max_images
                                     ? std::to_string(rules->min_images)
                                     : std::to_string(rules->min_images) + " to " + std::to_string(rules->max_images);
    return bad("image_url", spec.model + " takes " + expected + " image(s), got " + std::to_string(images));
  }
  if (*prompt_length == 0 && images == 0) return bad("prompt", "prompt or image_url is required");
  for (std::size_t i = 0; i < spec.images.size(); ++i) {
    if (auto problem = check_image(i, spec.images.size(), spec.images[i], *rules, options)) return problem;
  }

  for (const auto& [key, value] : spec.params) {
    if (auto problem = check_param(*rules, key, value)) return problem;
  }
  return std::nullopt;
}

}  // namespace vidq::provider
