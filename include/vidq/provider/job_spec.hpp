#pragma once
// What a caller asks for: the provider request body minus what vidq owns (request_id), in a
// provider-neutral shape. Built from a JSONL line, CLI flags or a jobs row.

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace vidq::provider {

struct job_spec {
  std::string model;
  std::string prompt;               // empty = none
  std::vector<std::string> images;  // URLs, data: URIs or local file paths, in frame order
  boost::json::object params;       // every other API field (quality, size, fps, duration, ...)
};

// jobs.image_url holds NULL (no image), the single image as text, or a JSON array of them.
// A URL or path never starts with '[', so the two forms cannot be confused.
std::string encode_images(const std::vector<std::string>& images);
// Errors: returns false when `text` starts with '[' but is not a JSON array of strings.
bool decode_images(std::string_view text, std::vector<std::string>& out);

}  // namespace vidq::provider
