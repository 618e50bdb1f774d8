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

std::vector<manifest_row> read_manifest_rows(const rows& r) {
  std::vector<manifest_row> out;
  out.reserve(static_cast<std::size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) {
    manifest_row m;
    m.id = r.int64(i, 0);
    m.key = r.opt_text(i, 1);
    m.batch = std::string(r.text(i, 2));
    m.state = parse_job_state(r.text(i, 3)).value_or(job_state::queued);  // CHECK: always known
    m.model = std::string(r.text(i, 4));
    m.video_path = r.opt_text(i, 5);
    m.cover_path = r.opt_text(i, 6);
    m.video_bytes = r.opt_int64(i, 7);
    m.video_sha256 = r.opt_text(i, 8);
    m.cost = r.int64(i, 9);
    m.error_code = r.opt_text(i, 10);
    m.error_message = r.opt_text(i, 11);
    m.task_id = r.opt_text(i, 12);
    m.request_id = r.opt_text(i, 13);
    m.submitted_at = r.opt_int64(i, 14);
    m.finished_at = r.opt_int64(i, 15);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace vidq::store::pg
