#pragma once
// Validates a job against its model's rules (API.md §2) before it is stored (enqueue,
// import, HTTP) and again when the daemon claims a row that arrived by raw SQL.

#include "vidq/provider/job_spec.hpp"

#include <optional>
#include <string>

namespace vidq::provider {

struct invalid_field {
  std::string field;   // e.g. "size", "image_url[1]", "model"
  std::string reason;  // names the allowed values where there is a list
  std::string message() const { return field + ": " + reason; }
};

struct validation_options {
  // Check local image files on disk (exists, format by magic bytes, size). Off only for
  // tests of the pure rules.
  bool check_local_files = true;
};

// Returns the first problem found, or nullopt when the job can be submitted as is.
std::optional<invalid_field> validate(const job_spec& spec, const validation_options& options = {});

// Image references: what kind of thing a string in `images` is.
enum class image_ref_kind { url, data_uri, local_path };
image_ref_kind classify_image_ref(std::string_view ref) noexcept;

}  // namespace vidq::provider
