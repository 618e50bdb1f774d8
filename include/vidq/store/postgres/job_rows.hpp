#pragma once
// jobs rows as PostgreSQL returns them, read from libpq's text format: VIDQ_JOB_COLUMNS
// (store/job_row.hpp, the SQLite order) followed by the owner's epoch, and the manifest's
// VIDQ_MANIFEST_COLUMNS (store/output_store.hpp).
#include "vidq/store/job_row.hpp"
#include "vidq/store/output_store.hpp"
#include "vidq/store/postgres/connection.hpp"

#include <vector>

#define VIDQ_PG_JOB_COLUMNS VIDQ_JOB_COLUMNS ", epoch"

namespace vidq::store::pg {

// Row `i` of a result selected with VIDQ_PG_JOB_COLUMNS.
job_row read_job_row(const rows& r, int i);
// Every row, in the order the result has them.
std::vector<job_row> read_job_rows(const rows& r);
// Every row of a result selected with VIDQ_MANIFEST_COLUMNS.
std::vector<manifest_row> read_manifest_rows(const rows& r);

}  // namespace vidq::store::pg
