#pragma once
// Presentation helpers shared by list / show / status.

#include "vidq/store/job_row.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace vidq::cli {

// "2026-11-21 12:00:00" (UTC) for a Unix epoch milliseconds value; "-" for none.
std::string format_time(std::optional<millis> at);
// "1.250" for 1250 milli-CNY.
std::string format_cny(std::int64_t milli);
// Every column, with times as ISO-8601 text and params/image_url as JSON values.
boost::json::object to_json(const store::job_row& row);
boost::json::object to_json(const store::job_event& event);
bool stdout_is_tty();

}  // namespace vidq::cli
