#pragma once
// The status server's route table, pure (after boostorg/mysql's http_server_cpp20): a path
// that no route knows is 404; a known path with another method is 405 with an Allow header.
// HEAD is accepted wherever GET is.

// <ostream> first: boost/core/detail/string_view.hpp (via verb.hpp) uses std::ostream
// without including it.
#include <ostream>

#include <boost/beast/http/verb.hpp>

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vidq::status {

enum class route_id {
  index,           // GET /
  asset,           // GET /app.js, /app.css ... (the embedded dashboard)
  healthz,         // GET /healthz
  metrics,         // GET /metrics
  jobs_list,       // GET /api/jobs?state=&batch=&limit=
  jobs_create,     // POST /api/jobs
  job_get,         // GET /api/jobs/{id}
  job_cancel,      // POST /api/jobs/{id}/cancel
  job_retry,       // POST /api/jobs/{id}/retry
  batches,         // GET /api/batches
  accounts,        // GET /api/accounts
  account_pause,   // POST /api/accounts/{name}/pause
  account_resume,  // POST /api/accounts/{name}/resume
  timeline,        // GET /api/timeline?minutes=
  failures,        // GET /api/failures?limit=
  gallery,         // GET /api/gallery?batch=&limit=
  file,            // GET /files/{folder}/{name}
  job_file,        // GET /files/jobs/{id}/{video|cover}
  manifest,        // GET /api/batches/{batch}/manifest
};

struct route_match {
  route_id id;
  bool mutating = false;            // needs the bearer token
  std::vector<std::string> params;  // the {…} segments, percent-decoded, in order
};

struct route_miss {
  unsigned status = 404;  // 404 or 405
  std::string allow;      // for 405: "GET, HEAD" / "POST"
};

// `segments` are the decoded path segments ("/api/jobs/7" → {"api", "jobs", "7"}; "/" → {}).
std::variant<route_match, route_miss> route(boost::beast::http::verb method, const std::vector<std::string>& segments);

}  // namespace vidq::status
