#pragma once
// The simulator's fault knobs: each a probability in [0, 1] drawn per request (or per task)
// from the seeded streams of random.hpp, plus the few durations they need. Defaults follow
// API.md §12; `none()` turns every fault off (what most tests start from).

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace vidq::sim {

struct fault_rates {
  // Submit path, in the order they are decided.
  double submit_5xx = 0.005;                 // HTTP 500, code 1234, no task created
  double submit_1305 = 0.002;                // HTTP 429 code 1305 (model overloaded), no task
  double submit_1302_spurious = 0.001;       // HTTP 429 code 1302 although under the cap
  double submit_1301 = 0.015;                // HTTP 400 code 1301 on a clean prompt
  double submit_close_after_create = 0.0025; // task created, connection closed, no reply
  // Task outcome, drawn once per task at creation.
  double task_fail = 0.03;    // FAIL after the full runtime
  double task_stuck = 0.002;  // PROCESSING forever (holds its slot forever)
  // Poll path.
  double poll_5xx = 0.01;       // HTTP 500 code 1234, transient
  double poll_404_early = 0.002;  // per task: 404 on polls within poll_404_window_ms of creation
  millis poll_404_window_ms = 3000;  // wall time, not scaled: replication lag is not generation
  // Any API reply (submit, poll).
  double slow_reply = 0.005;  // reply delayed by slow_reply_ms
  millis slow_reply_ms = 1500;
  double reset = 0.001;                // TCP reset instead of a reply
  double malformed_json = 0.001;       // HTTP 200 with a cut JSON body
  double wrong_content_type = 0.001;   // correct body, Content-Type text/html
  // Downloads (video and cover).
  double download_5xx = 0.005;       // HTTP 503 instead of the file
  double download_truncate = 0.005;  // full Content-Length announced, connection closed halfway

  // Every probability zero.
  static fault_rates none();
};

// {"submit_5xx":0.005, ...}: every field above by its name.
boost::json::object to_json(const fault_rates& f);

// Overwrites the fields present in `patch` (a partial object is fine). Probabilities must be
// numbers in [0, 1] and *_ms fields non-negative integers.
// Errors: errc::invalid_argument (unknown field or bad value; `rates` is left unchanged),
// with a human-readable reason in *why when why != nullptr.
result<void> apply_json(fault_rates& rates, const boost::json::object& patch, std::string* why);

}  // namespace vidq::sim
