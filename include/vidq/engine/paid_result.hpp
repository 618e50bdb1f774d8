#pragma once
// Decisions about a result that was already paid for (issue 11 item 3): a download that
// gave up is fetched again from the stored task (re-poll for fresh URLs, download, verify)
// before anything is paid twice. The operator's side (`vidq retry`) is
// core/retry_decision.hpp. Pure; docs/ENGINE_DECISIONS.md §7.

#include "vidq/provider/error_class.hpp"

#include <cstdint>

namespace vidq::engine {

// What the daemon does once a download's own retries are spent.
enum class download_give_up {
  refetch,  // poll the stored task again for fresh URLs, then download once more
  fail,     // fail the job with the download's code (an operator may `retry --download`)
};

// A download verdict that was still `retry` when the attempts ran out is a local or
// transient cause (network, truncation, a 5xx of the file host, a file error other than a
// full disk): the result is still at the provider, so it is fetched again, at most
// `max_refetches` times per job (`refetches_done` counts the earlier ones). A `fail_job`
// verdict (URL refused after a refresh, too large, 4xx) is final; so is a cancellation.
download_give_up after_download_gave_up(const provider::verdict& v, std::int64_t refetches_done,
                                        int max_refetches) noexcept;

}  // namespace vidq::engine
