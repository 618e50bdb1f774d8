#pragma once
// A jobs row as the provider request it describes. Rows may come from raw SQL (DESIGN.md
// §1: operators and cron jobs INSERT directly), so nothing about them is trusted: the
// daemon converts and validates each claimed row with the same rules as `vidq import`.
#include "vidq/provider/job_spec.hpp"
#include "vidq/store/job_row.hpp"

#include <optional>
#include <string>

namespace vidq::daemon {

struct row_problem {
  std::string error_code;  // always "invalid_request"
  std::string message;     // names the field, like the importer's messages
};

// Builds the spec from prompt, image_url (text or JSON array) and params (a JSON object),
// then validates it (provider::validate, local files included). nullopt spec → `problem`.
std::optional<provider::job_spec> spec_from_row(const store::job_row& row, row_problem& problem);

}  // namespace vidq::daemon
