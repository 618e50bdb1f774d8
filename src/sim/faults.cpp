#include "vidq/sim/faults.hpp"

#include <array>
#include <string_view>

namespace vidq::sim {
namespace {

struct prob_field {
  std::string_view name;
  double fault_rates::*member;
};
struct ms_field {
  std::string_view name;
  millis fault_rates::*member;
};

constexpr std::array prob_fields{
    prob_field{"submit_5xx", &fault_rates::submit_5xx},
    prob_field{"submit_1305", &fault_rates::submit_1305},
    prob_field{"submit_1302_spurious", &fault_rates::submit_1302_spurious},
    prob_field{"submit_1301", &fault_rates::submit_1301},
    prob_field{"submit_close_after_create", &fault_rates::submit_close_after_create},
    prob_field{"task_fail", &fault_rates::task_fail},
    prob_field{"task_stuck", &fault_rates::task_stuck},
    prob_field{"poll_5xx", &fault_rates::poll_5xx},
    prob_field{"poll_404_early", &fault_rates::poll_404_early},
    prob_field{"slow_reply", &fault_rates::slow_reply},
    prob_field{"reset", &fault_rates::reset},
    prob_field{"malformed_json", &fault_rates::malformed_json},
    prob_field{"wrong_content_type", &fault_rates::wrong_content_type},
    prob_field{"download_5xx", &fault_rates::download_5xx},
    prob_field{"download_truncate", &fault_rates::download_truncate},
};
constexpr std::array ms_fields{
    ms_field{"poll_404_window_ms", &fault_rates::poll_404_window_ms},
    ms_field{"slow_reply_ms", &fault_rates::slow_reply_ms},
};

}  // namespace

fault_rates fault_rates::none() {
  fault_rates f;
  for (const auto& p : prob_fields) f.*p.member = 0.0;
  return f;
}

boost::json::object to_json(const fault_rates& f) {
  boost::json::object out;
  for (const auto& p : prob_fields) out[p.name] = f.*p.member;
  for (const auto& m : ms_fields) out[m.name] = f.*m.member;
  return out;
}

result<void> apply_json(fault_rates& rates, const boost::json::object& patch, std::string* why) {
  fault_rates next = rates;  // all or nothing: a bad field leaves the live rates untouched
  for (const auto& [key, value] : patch) {
    bool known = false;
    for (const auto& p : prob_fields) {
      if (p.name != std::string_view(key)) continue;
      known = true;
      if (!value.is_number() || value.to_number<double>() < 0.0 || value.to_number<double>() > 1.0) {
        if (why) *why = std::string(key) + ": expected a probability in [0, 1]";
        return make_error_code(errc::invalid_argument);
      }
      next.*p.member = value.to_number<double>();
    }
    for (const auto& m : ms_fields) {
      if (m.name != std::string_view(key)) continue;
      known = true;
      if (!value.is_int64() || value.as_int64() < 0) {
        if (why) *why = std::string(key) + ": expected a non-negative integer";
        return make_error_code(errc::invalid_argument);
      }
      next.*m.member = value.as_int64();
    }
    if (!known) {
      if (why) *why = "unknown fault: " + std::string(key);
      return make_error_code(errc::invalid_argument);
    }
  }
  rates = next;
  return {};
}

}  // namespace vidq::sim
