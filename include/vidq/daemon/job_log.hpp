#pragma once
// One log line per job event, with the fields every such line carries (DESIGN.md §4):
// job id, batch, account, model, plus whatever the caller adds (state change, provider
// code and message, durations). The logger redacts secrets in the serialized line.
#include "vidq/ops/log.hpp"
#include "vidq/store/job_row.hpp"

#include <boost/json/object.hpp>

#include <string_view>

namespace vidq::daemon {

inline void log_job(log::level lvl, std::string_view event, const store::job_row& row,
                    boost::json::object fields = {}) {
  fields["job"] = row.id;
  fields["batch"] = row.batch;
  fields["account"] = row.account;
  fields["model"] = row.model;
  log::write(lvl, event, std::move(fields));
}

}  // namespace vidq::daemon
