#include "vidq/sim/validate.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

namespace vidq::sim {
namespace {

namespace json = boost::json;

enum class images { none, one, one_or_pair, list };

struct model_rules {
  std::string_view name;
  bool vidu = false;
  images image = images::one;
  std::size_t min_images = 1, max_images = 1;  // for images::list
  bool image_required = false;
  bool prompt_required = false;
  bool quality = false, fps = false;
  std::span<const std::string_view> sizes;  // empty: `size` not accepted
  std::string_view default_size;
  std::span<const int> durations;
  bool aspect_ratio = false, style = false, movement = false, audio = true, watermark = false;
};

constexpr std::string_view cogx3_sizes[] = {"1280x720", "720x1280", "1024x1024", "1920x1080",
                                           "1080x1920", "2048x1080", "3840x2160"};
constexpr std::string_view cogx2_sizes[] = {"720x480",   "1024x1024", "1280x960", "960x1280",
                                           "1920x1080", "1080x1920", "2048x1080", "3840x2160"};
constexpr std::string_view vidu2_sizes[] = {"1280x720"};
constexpr std::string_view vidu2_se_sizes[] = {"1280x720", "480x360"};
constexpr std::string_view q1_sizes[] = {"1920x1080"};
constexpr int five_or_ten[] = {5, 10};
constexpr int four[] = {4};
constexpr int five[] = {5};

// Designated initializers leave the defaults of model_rules in place; that is the point.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
constexpr std::array all_models{
    model_rules{.name = "cogvideox-3", .image = images::one_or_pair, .quality = true, .fps = true,
                .sizes = cogx3_sizes, .default_size = "1920x1080", .durations = five_or_ten, .watermark = true},
    model_rules{.name = "cogvideox-2", .quality = true, .fps = true, .sizes = cogx2_sizes,
                .default_size = "1920x1080", .durations = five_or_ten, .watermark = true},
    // Legacy v1 (still accepted by GeekAI, S004); modelled on cogvideox-2.
    model_rules{.name = "cogvideox", .quality = true, .fps = true, .sizes = cogx2_sizes,
                .default_size = "1920x1080", .durations = five_or_ten, .watermark = true},
    // S001: flash supports neither quality, size nor fps.
    model_rules{.name = "cogvideox-flash", .default_size = "1920x1080", .durations = five_or_ten, .watermark = true},
    model_rules{.name = "vidu2-image", .vidu = true, .image_required = true, .sizes = vidu2_sizes,
                .default_size = "1280x720", .durations = four, .movement = true},
    model_rules{.name = "vidu2-start-end", .vidu = true, .image = images::list, .min_images = 1, .max_images = 2,
                .image_required = true, .sizes = vidu2_se_sizes, .default_size = "1280x720", .durations = four,
                .movement = true},
    model_rules{.name = "vidu2-reference", .vidu = true, .image = images::list, .min_images = 1, .max_images = 3,
                .image_required = true, .sizes = vidu2_sizes, .default_size = "1280x720", .durations = four,
                .aspect_ratio = true, .movement = true},
    model_rules{.name = "viduq1-text", .vidu = true, .image = images::none, .prompt_required = true,
                .sizes = q1_sizes, .default_size = "1920x1080", .durations = five, .aspect_ratio = true,
                .style = true, .movement = true, .audio = false},
    model_rules{.name = "viduq1-image", .vidu = true, .image_required = true, .sizes = q1_sizes,
                .default_size = "1920x1080", .durations = five, .movement = true},
    model_rules{.name = "viduq1-start-end", .vidu = true, .image = images::list, .min_images = 2, .max_images = 2,
                .image_required = true, .sizes = q1_sizes, .default_size = "1920x1080", .durations = five,
                .movement = true},
};
#pragma GCC diagnostic pop

api_error bad(std::string code, std::string message) { return {400, std::move(code), std::move(message)}; }

bool is_b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
         c == '=' || c == '-' || c == '_';
}

std::uint64_t decoded_size(std::string_view b64) {
  while (!b64.empty() && b64.back() == '=') b64.remove_suffix(1);
  return b64.size() * 3 / 4;
}

// API.md §2.4. Returns an error message, or nothing when the image is acceptable.
std::optional<std::string> check_image(std::string_view s, const model_rules& m) {
  const std::uint64_t limit = m.vidu ? 50ull << 20 : 5ull << 20;
  if (s.empty()) return "image_url: empty";
  if (s.starts_with("http://") || s.starts_with("https://")) return std::nullopt;
  std::string_view data = s;
  if (s.starts_with("data:")) {
    const auto comma = s.find(',');
    if (comma == std::string_view::npos) return "image_url: malformed data URI";
    const std::string_view head = s.substr(5, comma - 5);
    const bool ok = head == "image/png;base64" || head == "image/jpeg;base64" || head == "image/jpg;base64" ||
                    (m.vidu && head == "image/webp;base64");
    if (!ok) return "image_url: unsupported image type " + std::string(head);
    data = s.substr(comma + 1);
  } else if (m.vidu) {
    return "image_url: base64 must carry a data:image/...;base64, prefix";
  }
  // API.md §11.7: CogVideoX is documented as "URL or base64"; a bare base64 string is accepted.
  if (data.empty() || !std::all_of(data.begin(), data.end(), is_b64_char)) return "image_url: not a URL nor base64";
  if (decoded_size(data) > limit) return m.vidu ? "image_url: image larger than 50MB" : "image_url: image larger than 5MB";
  return std::nullopt;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != hay.end();
}

// Checks an optional string enum field. Returns false (and fills err) when present but invalid.
bool check_enum(const json::object& o, std::string_view key, std::span<const std::string_view> allowed, api_error& err) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return true;
  if (v->is_string() && std::find(allowed.begin(), allowed.end(), std::string_view(v->as_string())) != allowed.end())
    return true;
  err = bad("1214", std::string(key) + ": invalid value");
  return false;
}

bool reject_field(const json::object& o, std::string_view key, std::string_view model, api_error& err) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return true;
  err = bad("1214", std::string(key) + ": not supported by " + std::string(model));
  return false;
}

bool check_bool(const json::object& o, std::string_view key, api_error& err) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null() || v->is_bool()) return true;
  err = bad("1214", std::string(key) + ": expected a boolean");
  return false;
}

std::variant<task_spec, api_error> validate_fields(const json::object& o, const model_rules& m,
                                                  const validation_rules& rules) {
  api_error err;
  task_spec spec;
  spec.model = std::string(m.name);

  // Common fields (API.md §2.1).
  for (const char* key : {"request_id", "user_id", "prompt"}) {
    const json::value* v = o.if_contains(key);
    if (v != nullptr && !v->is_null() && !v->is_string()) return bad("1214", std::string(key) + ": expected a string");
  }
  if (const json::value* v = o.if_contains("request_id"); v && v->is_string() && !v->as_string().empty())
    spec.request_id = std::string(v->as_string());
  if (const json::value* v = o.if_contains("user_id"); v && v->is_string()) {
    const std::size_t n = utf8_length(v->as_string());
    if (n < 6 || n > 128) return bad("1214", "user_id: length must be 6 to 128 characters");
  }
  if (const json::value* v = o.if_contains("prompt"); v && v->is_string()) spec.prompt = std::string(v->as_string());
  if (const json::value* v = o.if_contains("sensitive_word_check"); v && !v->is_null() && !v->is_object())
    return bad("1214", "sensitive_word_check: expected an object");
  if (!check_bool(o, "with_audio", err)) return err;
  if (!m.audio && !reject_field(o, "with_audio", m.name, err)) return err;
  if (!check_bool(o, "watermark_enabled", err)) return err;
  if (!m.watermark && !reject_field(o, "watermark_enabled", m.name, err)) return err;

  // Images.
  std::size_t image_count = 0;
  if (const json::value* v = o.if_contains("image_url"); v && !v->is_null()) {
    if (m.image == images::none) return bad("1214", "image_url: not supported by " + spec.model);
    if (v->is_string()) {
      if (m.image == images::list && m.min_images > 1) return bad("1214", "image_url: expected an array of 2 images");
      if (auto e = check_image(v->as_string(), m)) return bad("1214", *e);
      image_count = v->as_string().empty() ? 0 : 1;
    } else if (v->is_array()) {
      const auto& arr = v->as_array();
      const bool pair_ok = m.image == images::one_or_pair && arr.size() == 2;
      const bool list_ok = m.image == images::list && arr.size() >= m.min_images && arr.size() <= m.max_images;
      if (!pair_ok && !list_ok) return bad("1214", "image_url: wrong number of images for " + spec.model);
      for (const auto& item : arr) {
        if (!item.is_string()) return bad("1214", "image_url: expected strings");
        if (auto e = check_image(item.as_string(), m)) return bad("1214", *e);
      }
      image_count = arr.size();
    } else {
      return bad("1214", "image_url: expected a string or an array");
    }
  }

  // Model-specific enums.
  static constexpr std::string_view qualities[] = {"speed", "quality"};
  static constexpr std::string_view ratios[] = {"16:9", "9:16", "1:1"};
  static constexpr std::string_view styles[] = {"general", "anime"};
  static constexpr std::string_view amplitudes[] = {"auto", "small", "medium", "large"};
  if (m.quality) {
    if (!check_enum(o, "quality", qualities, err)) return err;
    const json::value* q = o.if_contains("quality");
    spec.quality = q && q->is_string() ? std::string(q->as_string()) : "speed";
    // API.md §11.5: cogvideox-3 first/last-frame mode runs as `speed` whatever was asked.
    if (image_count == 2) spec.quality = "speed";
  } else if (!reject_field(o, "quality", m.name, err)) {
    return err;
  }
  if (m.fps) {
    if (const json::value* v = o.if_contains("fps"); v && !v->is_null()) {
      if (!v->is_int64() || (v->as_int64() != 30 && v->as_int64() != 60)) return bad("1214", "fps: must be 30 or 60");
      spec.fps = static_cast<int>(v->as_int64());
    }
  } else if (!reject_field(o, "fps", m.name, err)) {
    return err;
  }
  std::string_view size = m.default_size;
  if (!m.sizes.empty()) {
    if (!check_enum(o, "size", m.sizes, err)) return err;
    if (const json::value* v = o.if_contains("size"); v && v->is_string()) size = v->as_string();
  } else if (!reject_field(o, "size", m.name, err)) {
    return err;
  }
  const auto x = size.find('x');
  spec.width = std::stoi(std::string(size.substr(0, x)));
  spec.height = std::stoi(std::string(size.substr(x + 1)));
  spec.duration_s = m.durations.front();
  if (const json::value* v = o.if_contains("duration"); v && !v->is_null()) {
    if (!v->is_int64() || std::find(m.durations.begin(), m.durations.end(), v->as_int64()) == m.durations.end())
      return bad("1214", "duration: not allowed for " + spec.model);
    spec.duration_s = static_cast<int>(v->as_int64());
  }
  if (m.aspect_ratio) {
    if (!check_enum(o, "aspect_ratio", ratios, err)) return err;
  } else if (!reject_field(o, "aspect_ratio", m.name, err)) {
    return err;
  }
  if (m.style) {
    if (!check_enum(o, "style", styles, err)) return err;
  } else if (!reject_field(o, "style", m.name, err)) {
    return err;
  }
  if (m.movement) {
    if (!check_enum(o, "movement_amplitude", amplitudes, err)) return err;
  } else if (!reject_field(o, "movement_amplitude", m.name, err)) {
    return err;
  }

  // Presence (1213), then length (1261), then content (1301).
  if (m.prompt_required && spec.prompt.empty()) return bad("1213", "prompt: required for " + spec.model);
  if (m.image_required && image_count == 0) return bad("1213", "image_url: required for " + spec.model);
  if (spec.prompt.empty() && image_count == 0) return bad("1213", "prompt or image_url: one is required");
  if (utf8_length(spec.prompt) > rules.max_prompt_chars) return bad("1261", "prompt: longer than the limit");
  for (const auto& word : rules.banned_words) {
    if (contains_ci(spec.prompt, word)) return bad("1301", "The input contains unsafe or sensitive content");
  }
  return spec;
}

const model_rules* find_model(std::string_view name) {
  for (const auto& m : all_models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::variant<const model_rules*, api_error> model_of(const json::value& body) {
  if (!body.is_object()) return bad("1210", "request body must be a JSON object");
  const json::value* model = body.as_object().if_contains("model");
  if (model == nullptr || model->is_null() || (model->is_string() && model->as_string().empty()))
    return bad("1213", "model: required");
  if (!model->is_string()) return bad("1214", "model: expected a string");
  const model_rules* m = find_model(model->as_string());
  if (m == nullptr) return bad("1211", "model does not exist: " + std::string(model->as_string()));
  return m;
}

}  // namespace

std::size_t utf8_length(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::variant<task_spec, api_error> validate_bigmodel(const json::value& body, const validation_rules& rules) {
  auto m = model_of(body);
  if (auto* e = std::get_if<api_error>(&m)) return *e;
  return validate_fields(body.as_object(), *std::get<const model_rules*>(m), rules);
}

std::variant<task_spec, api_error> validate_geekai(const json::value& body, const validation_rules& rules) {
  auto mr = model_of(body);
  if (auto* e = std::get_if<api_error>(&mr)) return *e;
  const model_rules& m = *std::get<const model_rules*>(mr);
  const json::object& in = body.as_object();
  api_error err;

  // S004 / GK cogvideox-3.md: parameters GeekAI does not support for the CogVideoX family.
  if (!m.vidu) {
    for (const char* key : {"negative_prompt", "image_tail", "resolution", "aspect_ratio"}) {
      if (!reject_field(in, key, m.name, err)) return err;
    }
    if (m.name != "cogvideox-3" && !reject_field(in, "duration", m.name, err)) return err;
  }
  if (!check_bool(in, "async", err) || !check_bool(in, "watermark", err) || !check_bool(in, "wartermark", err))
    return err;
  if (const json::value* v = in.if_contains("retries"); v && !v->is_null() && !(v->is_int64() && v->as_int64() >= 0))
    return bad("1214", "retries: expected a non-negative integer");

  // Rewrite into the BigModel vocabulary, then apply the one set of model rules.
  json::object out;
  for (const auto& [key, value] : in) {
    if (key == "image" || key == "image_tail" || key == "async" || key == "watermark" || key == "wartermark" ||
        key == "retries" || key == "extra_body" || key == "negative_prompt" || key == "resolution")
      continue;
    out[key] = value;
  }
  const json::value* image = in.if_contains("image");
  if (image == nullptr || image->is_null()) image = in.if_contains("image_url");  // older CN schema
  const json::value* tail = in.if_contains("image_tail");
  json::array frames;
  if (image && !image->is_null()) frames.push_back(*image);
  if (tail && !tail->is_null()) frames.push_back(*tail);
  if (const json::value* extra = in.if_contains("extra_body"); extra && !extra->is_null()) {
    if (!extra->is_object()) return bad("1214", "extra_body: expected an object");
    if (const json::value* amp = extra->as_object().if_contains("movement_amplitude")) out["movement_amplitude"] = *amp;
    if (const json::value* list = extra->as_object().if_contains("image_list"); list && list->is_array())
      for (const auto& item : list->as_array()) frames.push_back(item);
  }
  out.erase("image_url");
  if (frames.size() == 1 && m.image != images::list) out["image_url"] = frames[0];
  else if (!frames.empty()) out["image_url"] = std::move(frames);
  if (const json::value* w = in.if_contains("watermark"); w && w->is_bool() && m.watermark) out["watermark_enabled"] = *w;

  auto result = validate_fields(out, m, rules);
  if (auto* spec = std::get_if<task_spec>(&result)) {
    const json::value* async = in.if_contains("async");
    spec->async = async != nullptr && async->is_bool() && async->as_bool();  // GK: default false
  }
  return result;
}

}  // namespace vidq::sim
