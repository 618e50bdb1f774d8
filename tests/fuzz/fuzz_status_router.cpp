// libFuzzer: the status server's request target → route, as handlers::dispatch does it:
// Boost.URL's origin-form parse, the percent-decoded segments and query, and the route table
// (404 vs 405 with Allow). Input: byte 0 picks the method; the rest up to the first '\n' is
// the target. (The handlers behind the routes need the download code through files.cpp, so
// they are not linked here.)
#include "vidq/status/router.hpp"

#include <boost/url/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using boost::beast::http::verb;
  if (size < 1) return 0;
  static constexpr verb methods[] = {verb::get, verb::head, verb::post, verb::put, verb::delete_, verb::options,
                                     verb::patch, verb::unknown};
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string_view target = input.substr(0, input.find('\n'));
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return 0;
  std::vector<std::string> segments;
  for (auto seg : parsed->segments()) segments.push_back(std::string(seg));
  for (auto p : parsed->params()) (void)std::string(p.key).size();
  const auto routed = vidq::status::route(methods[data[0] % 8], segments);
  if (const auto* miss = std::get_if<vidq::status::route_miss>(&routed)) {
    if (miss->status != 404 && miss->status != 405) std::abort();
    if (miss->status == 405 && miss->allow.empty()) std::abort();  // a 405 must say what is allowed
  }
  return 0;
}
