#include "vidq/store/job_row.hpp"

#include "vidq/store/sqlite.hpp"

namespace vidq::store {

job_row read_job_row(const statement& s, int first) {
  int c = first;
  job_row r;
  r.id = s.get_int64(c++);
  r.key = s.get_optional_text(c++);
  r.batch = s.get_text(c++);
  r.priority = s.get_int64(c++);
  r.account = s.get_text(c++);
  r.model = s.get_text(c++);
  r.prompt = s.get_optional_text(c++);
  r.image_url = s.get_optional_text(c++);
  r.params = s.get_text(c++);
  // The CHECK constraint guarantees a known state; queued is only a defensive default.
  r.state = parse_job_state(s.get_text(c++)).value_or(job_state::queued);
  r.attempts = s.get_int64(c++);
  r.not_before = s.get_int64(c++);
  r.request_id = s.get_optional_text(c++);
  r.task_id = s.get_optional_text(c++);
  r.submitted_at = s.get_optional_int64(c++);
  r.next_poll_at = s.get_optional_int64(c++);
  r.polls = s.get_int64(c++);
  r.finished_at = s.get_optional_int64(c++);
  r.video_url = s.get_optional_text(c++);
  r.cover_url = s.get_optional_text(c++);
  r.video_path = s.get_optional_text(c++);
  r.cover_path = s.get_optional_text(c++);
  r.video_bytes = s.get_optional_int64(c++);
  r.video_sha256 = s.get_optional_text(c++);
  r.cost = s.get_int64(c++);
  r.error_code = s.get_optional_text(c++);
  r.error_message = s.get_optional_text(c++);
  r.created_at = s.get_int64(c++);
  r.updated_at = s.get_int64(c++);
  r.requested_account = s.get_optional_text(c++);
  r.refetches = s.get_int64(c++);
  r.seen_running_at = s.get_optional_int64(c++);
  return r;
}

result<std::vector<job_row>> read_job_rows(statement& stmt) {
  std::vector<job_row> out;
  auto done = stmt.for_each_row([&](const statement& row) { out.push_back(read_job_row(row)); });
  if (!done) return done.error();
  return out;
}

}  // namespace vidq::store
