#include "vidq/store/postgres/job_rows.hpp"

namespace vidq::store::pg {

job_row read_job_row(const rows& r, int i) {
  job_row j;
  int c = 0;
  j.id = r.int64(i, c++);
  j.key = r.opt_text(i, c++);
  j.batch = std::string(r.text(i, c++));
  j.priority = r.int64(i, c++);
  j.account = std::string(r.text(i, c++));
  j.model = std::string(r.text(i, c++));
  j.prompt = r.opt_text(i, c++);
  j.image_url = r.opt_text(i, c++);
  j.params = std::string(r.text(i, c++));
  j.state = parse_job_state(r.text(i, c++)).value_or(job_state::queued);
  j.attempts = r.int64(i, c++);
  j.not_before = r.int64(i, c++);
  j.request_id = r.opt_text(i, c++);
  j.task_id = r.opt_text(i, c++);
  j.submitted_at = r.opt_int64(i, c++);
  j.next_poll_at = r.opt_int64(i, c++);
  j.polls = r.int64(i, c++);
  j.finished_at = r.opt_int64(i, c++);
  j.video_url = r.opt_text(i, c++);
  j.cover_url = r.opt_text(i, c++);
  j.video_path = r.opt_text(i, c++);
  j.cover_path = r.opt_text(i, c++);
  j.video_bytes = r.opt_int64(i, c++);
  j.video_sha256 = r.opt_text(i, c++);
  j.cost = r.int64(i, c++);
  j.error_code = r.opt_text(i, c++);
  j.error_message = r.opt_text(i, c++);
  j.created_at = r.int64(i, c++);
  j.updated_at = r.int64(i, c++);
  j.requested_account = r.opt_text(i, c++);
  j.refetches = r.int64(i, c++);
  j.seen_running_at = r.opt_int64(i, c++);
  j.epoch = r.int64(i, c++);
  return j;
}

std::vector<job_row> read_job_rows(const rows& r) {
  std::vector<job_row> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back(read_job_row(r, i));
  return out;
}

}  // namespace vidq::store::pg
