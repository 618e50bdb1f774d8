// simulator: the file side (signed, expiring video and cover URLs; Range; download faults).
#include "vidq/sim/simulator.hpp"

#include "counters.hpp"
#include "vidq/sim/assets.hpp"

#include <charconv>
#include <cstdio>

namespace vidq::sim {
namespace {

std::string_view query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=')
      return pair.substr(name.size() + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

reply plain(int status, std::string text) {
  reply r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(text);
  return r;
}

}  // namespace

std::string simulator::signature(std::string_view id, millis expires, bool cover) const {
  const std::uint64_t h = mix64(mix64(config_.seed ^ hash_text("url-signature")) ^ hash_text(id) ^
                                mix64(static_cast<std::uint64_t>(expires)) ^ (cover ? 1 : 0));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string simulator::file_url(const task& t, bool cover) const {
  // URLs expire a TTL after the task finished, like a CDN link signed at completion
  // (Vidu: 1 day, S003); re-polling does not extend them.
  const millis ttl = scaled(static_cast<double>(config_.url_ttl_ms));
  const millis expires = t.finish_at >= never - ttl ? never : t.finish_at + ttl;
  return base_url_ + "/files/" + t.id + (cover ? "/cover.png" : "/video.mp4") +
         "?expires=" + std::to_string(expires) + "&sig=" + signature(t.id, expires, cover);
}

reply simulator::download(const request& req, std::string_view id, bool cover, std::string_view query) {
  const millis now = clock_.now();
  task* t = book_.find(id);
  millis expires = 0;
  const std::string_view exp_text = query_param(query, "expires");
  const auto [p, ec] = std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), expires);
  const bool well_formed = ec == std::errc() && p == exp_text.data() + exp_text.size();
  if (t == nullptr || t->status_at(now) != task_status::success || !well_formed ||
      query_param(query, "sig") != signature(t->id, expires, cover))
    return plain(404, "NoSuchKey");
  if (now >= expires) {
    ++counters_->expired;
    return plain(403, "AccessDenied: Request has expired");
  }
  stream draw(config_.seed, "download", mix64(hash_text(t->id)) + t->download_requests++);
  if (draw.chance(config_.faults.download_5xx)) {
    ++counters_->faults["download_5xx"];
    return plain(503, "Service Unavailable");
  }

  reply r;
  r.head_only = req.method == "HEAD";
  r.download_task = t->id;
  r.download_is_cover = cover;
  r.headers.emplace_back("Accept-Ranges", "bytes");
  std::uint64_t size = 0;
  if (cover) {
    r.content_type = "image/png";
    const auto png = cover_png();
    r.body.assign(reinterpret_cast<const char*>(png.data()), png.size());
    size = r.body.size();
  } else {
    ++counters_->video_requests;
    r.content_type = "video/mp4";
    r.video.emplace(t->id, t->video_size);
    size = r.video->size();
    if (t->video_sha256.empty()) t->video_sha256 = r.video->sha256_hex();
  }
  r.range = {0, size == 0 ? 0 : size - 1};
  if (!req.range.empty()) {
    byte_range br;
    switch (parse_range(req.range, size, br)) {
      case range_kind::full: break;
      case range_kind::unsatisfiable: {
        reply bad = plain(416, "Range Not Satisfiable");
        bad.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
        return bad;
      }
      case range_kind::partial:
        ++counters_->range_requests;
        r.status = 206;
        r.range = br;
        r.headers.emplace_back("Content-Range", "bytes " + std::to_string(br.first) + "-" +
                                                    std::to_string(br.last) + "/" + std::to_string(size));
        break;
    }
  }
  if (cover) r.body = r.body.substr(r.range.first, r.range.last - r.range.first + 1);
  if (!r.head_only && draw.chance(config_.faults.download_truncate)) {
    ++counters_->faults["download_truncate"];
    r.truncate_after = (r.range.last - r.range.first + 1) / 2;
  }
  return r;
}

void simulator::download_finished(std::string_view task_id, bool cover, bool complete, bool end_of_file) {
  std::lock_guard lock(mutex_);
  if (!complete) {
    ++counters_->interrupted;
    return;
  }
  if (!end_of_file) return;
  if (cover) {
    ++counters_->cover_completed;
    return;
  }
  ++counters_->video_completed;
  if (task* t = book_.find(task_id)) ++t->video_downloads;
}

}  // namespace vidq::sim
