#include "vidq/status/router.hpp"

#include "vidq/status/assets.hpp"

#include <array>

namespace vidq::status {
namespace {

using boost::beast::http::verb;

struct route_entry {
  std::string_view pattern;  // segments joined by '/', "{}" matches any one non-empty segment
  verb method;
  route_id id;
  bool mutating;
};

constexpr std::array<route_entry, 18> routes{{
    {"", verb::get, route_id::index, false},
    {"healthz", verb::get, route_id::healthz, false},
    {"metrics", verb::get, route_id::metrics, false},
    {"api/jobs", verb::get, route_id::jobs_list, false},
    {"api/jobs", verb::post, route_id::jobs_create, true},
    {"api/jobs/{}", verb::get, route_id::job_get, false},
    {"api/jobs/{}/cancel", verb::post, route_id::job_cancel, true},
    {"api/jobs/{}/retry", verb::post, route_id::job_retry, true},
    {"api/batches", verb::get, route_id::batches, false},
    {"api/accounts", verb::get, route_id::accounts, false},
    {"api/accounts/{}/pause", verb::post, route_id::account_pause, true},
    {"api/accounts/{}/resume", verb::post, route_id::account_resume, true},
    {"api/timeline", verb::get, route_id::timeline, false},
    {"api/failures", verb::get, route_id::failures, false},
    {"api/gallery", verb::get, route_id::gallery, false},
    {"files/{}/{}", verb::get, route_id::file, false},
    {"files/jobs/{}/{}", verb::get, route_id::job_file, false},
    {"api/batches/{}/manifest", verb::get, route_id::manifest, false},
}};

// Whether `segments` fit `pattern`; collects the "{}" segments into `params`.
bool matches(std::string_view pattern, const std::vector<std::string>& segments, std::vector<std::string>& params) {
  params.clear();
  std::size_t i = 0;
  while (!pattern.empty()) {
    const auto slash = pattern.find('/');
    const std::string_view part = pattern.substr(0, slash);
    pattern = slash == std::string_view::npos ? std::string_view() : pattern.substr(slash + 1);
    if (i >= segments.size()) return false;
    if (part == "{}") {
      if (segments[i].empty()) return false;
      params.push_back(segments[i]);
    } else if (part != segments[i]) {
      return false;
    }
    ++i;
  }
  return i == segments.size();
}

std::string_view verb_name(verb v) {
  return boost::beast::http::to_string(v);
}

}  // namespace

std::variant<route_match, route_miss> route(verb method, const std::vector<std::string>& segments) {
  // The dashboard's files: one segment naming an embedded asset (index.html is served at /).
  if (segments.size() == 1 && segments[0] != "index.html" && find_asset("/" + segments[0]) != nullptr) {
    if (method == verb::get || method == verb::head) return route_match{route_id::asset, false, {segments[0]}};
    return route_miss{405, "GET, HEAD"};
  }
  const verb wanted = method == verb::head ? verb::get : method;
  std::string allow;
  std::vector<std::string> params;
  for (const auto& r : routes) {
    if (!matches(r.pattern, segments, params)) continue;
    if (r.method == wanted) return route_match{r.id, r.mutating, std::move(params)};
    if (!allow.empty()) allow += ", ";
    allow += verb_name(r.method);
    if (r.method == verb::get) allow += ", HEAD";
  }
  if (allow.empty()) return route_miss{404, {}};
  return route_miss{405, std::move(allow)};
}

}  // namespace vidq::status
