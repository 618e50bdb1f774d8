#pragma once
// Periodic upkeep of a PostgreSQL database, the counterpart of store/housekeeping.hpp
// without the WAL checkpoint (the server's own job): [retention] and the duration-sample
// trim, each one short bounded statement so that several daemons running it at once only
// share the work. Autovacuum reclaims the space.

#include "vidq/core/clock.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/store/housekeeping.hpp"
#include "vidq/store/postgres/pool.hpp"

namespace vidq::store::pg {

// The same rules and bounds as store::apply_retention: at most `max_rows` finished jobs
// (oldest finished_at first, with their events through the cascade) and at most `max_rows`
// of the oldest events older than the events rule. SKIP LOCKED: a second daemon running it
// at once takes other rows instead of waiting.
boost::asio::awaitable<result<retention_outcome>> apply_retention(pool& db, const ops::retention_config& rules,
                                                                  millis now, int max_rows = 500);

// Deletes the oldest duration_samples beyond the newest `keep`, at most `max_rows` per call.
boost::asio::awaitable<result<std::int64_t>> trim_duration_samples(pool& db, std::int64_t keep = 20'000,
                                                                   int max_rows = 500);

}  // namespace vidq::store::pg
