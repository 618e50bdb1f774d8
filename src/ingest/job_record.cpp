#include "vidq/ingest/job_record.hpp"

#include "vidq/core/utf8.hpp"
#include "vidq/provider/validation.hpp"

#include <boost/json/parse.hpp>

#include <charconv>

namespace vidq::ingest {
namespace {

using boost::json::value;

std::string type_error(std::string_view field, std::string_view expected) {
  return std::string(field) + ": must be " + std::string(expected);
}

// Reads an optional string field; on a type error returns false and sets `error`.
bool read_string(const boost::json::object& record, std::string_view field, std::string& out, std::string& error) {
  const value* v = record.if_contains(field);
  if (!v || v->is_null()) return true;
  if (!v->is_string()) {
    error = type_error(field, "a string");
    return false;
  }
  out = v->get_string();
  return true;
}

bool read_images(const value& v, const record_context& ctx, std::vector<std::string>& out, std::string& error) {
  auto add = [&](std::string_view ref) {
    std::string text(ref);
    if (provider::classify_image_ref(text) == provider::image_ref_kind::local_path && !text.empty() &&
        std::filesystem::path(text).is_relative()) {
      text = (ctx.base_dir / text).lexically_normal().string();
    }
    out.push_back(std::move(text));
  };
  if (v.is_null()) return true;
  if (v.is_string()) {
    if (!v.get_string().empty()) add(v.get_string());
    return true;
  }
  if (v.is_array()) {
    for (const auto& item : v.get_array()) {
      if (!item.is_string()) {
        error = type_error("image_url", "a string or an array of strings");
        return false;
      }
      add(item.get_string());
    }
    return true;
  }
  error = type_error("image_url", "a string or an array of strings");
  return false;
}

}  // namespace

record_result job_from_json(const boost::json::object& record, const record_context& ctx) {
  store::new_job job;
  job.batch = ctx.default_batch;
  job.account = ctx.default_account;
  std::string error;
  std::string key;
  if (!read_string(record, "key", key, error)) return error;
  if (!key.empty()) job.key = std::move(key);
  if (!read_string(record, "batch", job.batch, error)) return error;
  if (job.batch.empty()) return std::string("batch: must not be empty");
  if (!read_string(record, "account", job.account, error)) return error;
  if (ctx.check_account) {
    if (auto why = ctx.check_account(job.account)) return *why;
  }
  if (!read_string(record, "model", job.spec.model, error)) return error;
  if (!read_string(record, "prompt", job.spec.prompt, error)) return error;
  if (const value* p = record.if_contains("priority"); p && !p->is_null()) {
    if (!p->is_int64()) return type_error("priority", "an integer");
    job.priority = p->get_int64();
  }
  if (const value* images = record.if_contains("image_url")) {
    if (!read_images(*images, ctx, job.spec.images, error)) return error;
  }
  for (const auto& [name, v] : record) {
    if (name == "key" || name == "batch" || name == "account" || name == "model" || name == "prompt" ||
        name == "priority" || name == "image_url" || v.is_null()) {
      continue;
    }
    job.spec.params.emplace(name, v);
  }
  if (auto problem = provider::validate(job.spec, {ctx.check_local_files})) return problem->message();
  return job;
}

record_result job_from_text_fields(const std::vector<std::pair<std::string, std::string>>& fields,
                                   const record_context& ctx) {
  boost::json::object record;
  for (const auto& [name, text] : fields) {
    if (text.empty()) continue;
    if (!utf8_length(text)) return name + ": is not valid UTF-8";
    if (name == "priority" || name == "duration" || name == "fps") {
      std::int64_t number = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (ec != std::errc() || end != text.data() + text.size()) return type_error(name, "an integer");
      record[name] = number;
    } else if (name == "with_audio" || name == "watermark_enabled" || name == "off_peak") {
      if (text != "true" && text != "false") return type_error(name, "true or false");
      record[name] = text == "true";
    } else if (name == "image_url" && text.front() == '[') {
      boost::system::error_code ec;
      auto parsed = boost::json::parse(text, ec);
      if (ec) return type_error("image_url", "a path/URL or a JSON array of them");
      record[name] = std::move(parsed);
    } else if (name == "sensitive_word_check") {
      boost::system::error_code ec;
      auto parsed = boost::json::parse(text, ec);
      if (ec) return type_error(name, "a JSON object");
      record[name] = std::move(parsed);
    } else {
      record[name] = text;
    }
  }
  return job_from_json(record, ctx);
}

}  // namespace vidq::ingest
