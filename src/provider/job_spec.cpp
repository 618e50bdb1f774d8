#include "vidq/provider/job_spec.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace vidq::provider {

std::string encode_images(const std::vector<std::string>& images) {
  if (images.empty()) return {};
  if (images.size() == 1) return images.front();
  boost::json::array array;
  for (const auto& image : images) array.emplace_back(image);
  return boost::json::serialize(array);
}

bool decode_images(std::string_view text, std::vector<std::string>& out) {
  out.clear();
  if (text.empty()) return true;
  if (text.front() != '[') {
    out.emplace_back(text);
    return true;
  }
  boost::system::error_code ec;
  const auto value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return false;
  for (const auto& item : value.get_array()) {
    if (!item.is_string()) return false;
    out.emplace_back(item.get_string());
  }
  return true;
}

}  // namespace vidq::provider
