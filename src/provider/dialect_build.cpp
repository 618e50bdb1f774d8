// Request building for the three dialects (API.md §2, §9). Response parsing lives in
// dialect_parse.cpp.

#include "vidq/provider/dialect.hpp"
#include "vidq/provider/image_file.hpp"
#include "vidq/provider/models.hpp"
#include "vidq/provider/validation.hpp"

#include <boost/json/serialize.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <span>

namespace vidq::provider {
namespace json = boost::json;
namespace {

constexpr std::size_t default_max_image_bytes = 50 * 1024 * 1024;

// Fields vidq owns or that a dialect renames: never copied from params as they are.
bool is_reserved(std::string_view key) {
  return key == "model" || key == "prompt" || key == "image_url" || key == "request_id" || key == "image" ||
         key == "image_tail" || key == "async" || key == "extra_body";
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string field_name(std::size_t index, std::size_t count) {
  return count == 1 ? std::string("image_url") : "image_url[" + std::to_string(index) + "]";
}

// URLs and data URIs travel as they are; a local path becomes a data URI (API.md §2.4: the
// Vidu family requires the data: prefix, and CogVideoX's schema example uses it too).
std::variant<std::string, build_error> resolve_image(const std::string& ref, const std::string& field,
                                                      std::size_t max_bytes, const image_reader& read) {
  if (classify_image_ref(ref) != image_ref_kind::local_path) return ref;
  auto bytes = read(ref, max_bytes);
  if (!bytes) {
    const bool too_big = bytes.error() == make_error_code(errc::invalid_argument);
    return build_error{too_big ? "invalid_request" : "image_unreadable",
                       field + ": " + (too_big ? "file is larger than " + std::to_string(max_bytes) + " bytes"
                                               : "cannot read '" + ref + "': " + bytes.error().message())};
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes->data());
  const auto format = sniff_image_format(std::span(data, std::min<std::size_t>(bytes->size(), 16)));
  if (format == image_format::unknown) {
    return build_error{"invalid_request", field + ": '" + ref + "' is not a PNG, JPEG or WebP file"};
  }
  return "data:" + std::string(mime_type(format)) + ";base64," + base64(*bytes);
}

}  // namespace

result<std::string> read_image_file(const std::string& path, std::size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return make_error_code(errc::not_found);
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error_code(errc::io_error);
  if (size > max_bytes) return make_error_code(errc::invalid_argument);
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error_code(errc::io_error);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<std::size_t>(in.gcount()) != bytes.size()) return make_error_code(errc::io_error);
  return bytes;
}

std::variant<http_request, build_error> build_submit(provider_kind provider, const job_spec& spec,
                                                     std::string_view request_id, const image_reader& read) {
  const model_rules* rules = find_model(spec.model);
  const bool vidu = rules && rules->family == model_family::vidu;
  const std::size_t max_bytes = rules ? static_cast<std::size_t>(rules->max_image_bytes) : default_max_image_bytes;

  std::vector<std::string> images;
  for (std::size_t i = 0; i < spec.images.size(); ++i) {
    auto r = resolve_image(spec.images[i], field_name(i, spec.images.size()), max_bytes, read);
    if (auto* e = std::get_if<build_error>(&r)) return std::move(*e);
    images.push_back(std::move(std::get<std::string>(r)));
  }

  json::object body;
  body["model"] = spec.model;
  if (!spec.prompt.empty()) body["prompt"] = spec.prompt;
  body["request_id"] = request_id;

  if (provider != provider_kind::geekai) {
    // The multi-frame Vidu models take an array even for one image (OAS-CN); the others
    // take a string, and cogvideox-3 an array only for its first/last pair.
    const bool list_model = vidu && rules->max_images >= 2;
    if (images.size() == 1 && !list_model) body["image_url"] = images.front();
    else if (!images.empty()) body["image_url"] = json::array(images.begin(), images.end());
    for (const auto& [key, value] : spec.params) {
      if (!is_reserved(key)) body[key] = value;
    }
  } else {
    body["async"] = true;  // GK: the default (false) blocks until the video is finished
    json::object extra;
    if (!vidu && images.size() > 1) {
      return build_error{"invalid_request",
                         "image_url: GeekAI does not accept a last frame (image_tail) for " + spec.model +
                             "; send first/last-frame jobs to a bigmodel or zai account"};
    }
    if (vidu && rules->max_images > 2) {
      extra["image_list"] = json::array(images.begin(), images.end());  // reference images
    } else {
      if (!images.empty()) body["image"] = images[0];
      if (images.size() > 1) body["image_tail"] = images[1];
    }
    for (const auto& [key, value] : spec.params) {
      if (is_reserved(key)) continue;
      if (key == "watermark_enabled") {
        body["watermark"] = value;
      } else if (key == "movement_amplitude") {
        extra["movement_amplitude"] = value;
      } else if (key == "duration" && !vidu && spec.model != "cogvideox-3") {
        // S004: GeekAI rejects `duration` for the older CogVideoX models. 5 s is their
        // default, so it can be dropped; anything else would silently change the order.
        if (!(value.is_int64() && value.get_int64() == 5)) {
          return build_error{"invalid_request", "duration: GeekAI does not accept a duration for " + spec.model +
                                                    " (only the default 5 s)"};
        }
      } else {
        body[key] = value;
      }
    }
    if (!extra.empty()) body["extra_body"] = std::move(extra);
  }

  http_request req;
  req.method = "POST";
  req.path = "/videos/generations";
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (provider == provider_kind::zai) req.headers.emplace_back("Accept-Language", "en-US,en");
  req.body = json::serialize(body);
  return req;
}

http_request build_poll(provider_kind provider, std::string_view task_id) {
  std::string id;
  static constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned char c : task_id) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      id += static_cast<char>(c);
    } else {
      id += '%';
      id += hex[c >> 4];
      id += hex[c & 0xF];
    }
  }
  http_request req;
  req.method = "GET";
  req.path = provider == provider_kind::geekai ? "/video/" + id + "/result" : "/async-result/" + id;
  req.headers = {{"Accept", "application/json"}};
  if (provider == provider_kind::zai) req.headers.emplace_back("Accept-Language", "en-US,en");
  return req;
}

}  // namespace vidq::provider
