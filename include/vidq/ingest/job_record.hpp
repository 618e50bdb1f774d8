#pragma once
// One input record (a JSONL line, a CSV row, an HTTP body, CLI flags) → a validated job.
// A record is the provider's request body (model, prompt, image_url, quality, size, ...)
// plus vidq's own fields: key, batch, priority, account (DESIGN.md §4).

#include "vidq/store/job_store.hpp"

#include <boost/json/object.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <variant>

namespace vidq::ingest {

struct record_context {
  std::filesystem::path base_dir;   // relative image paths are resolved against it
  std::string default_batch = "default";
  std::string default_account = "default";
  bool check_local_files = true;
  // The config's word on the record's account: nullopt when it may run (a configured
  // account or a pool request), else the reason ("account: ..."). Unset: anything goes.
  std::function<std::optional<std::string>(std::string_view account)> check_account;
};

// Either the job to insert or the reason it is invalid (naming the field).
using record_result = std::variant<store::new_job, std::string>;

// From a JSON object whose values have their API types.
record_result job_from_json(const boost::json::object& record, const record_context& ctx);

// From text fields (CSV, command line): values are converted to the API's types first
// (duration/fps/priority → integer, with_audio/watermark_enabled/off_peak → bool,
// image_url → one path/URL or a JSON array). Empty values count as absent.
record_result job_from_text_fields(const std::vector<std::pair<std::string, std::string>>& fields,
                                   const record_context& ctx);

}  // namespace vidq::ingest
