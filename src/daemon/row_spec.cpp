#include "vidq/daemon/row_spec.hpp"

#include "vidq/provider/validation.hpp"

#include <boost/json/parse.hpp>

namespace vidq::daemon {

std::optional<provider::job_spec> spec_from_row(const store::job_row& row, row_problem& problem) {
  auto fail = [&](std::string message) {
    problem = {"invalid_request", std::move(message)};
    return std::nullopt;
  };
  provider::job_spec spec;
  spec.model = row.model;
  spec.prompt = row.prompt.value_or("");
  if (row.image_url && !provider::decode_images(*row.image_url, spec.images)) {
    return fail("image_url: starts with '[' but is not a JSON array of strings");
  }
  boost::system::error_code ec;
  auto params = boost::json::parse(row.params.empty() ? "{}" : row.params, ec);
  if (ec || !params.is_object()) return fail("params: must be a JSON object");
  spec.params = std::move(params.as_object());
  if (auto bad = provider::validate(spec)) return fail(bad->message());
  return spec;
}

}  // namespace vidq::daemon
