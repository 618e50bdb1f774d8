#include "vidq/sim/simulator.hpp"

#include "counters.hpp"
#include "vidq/sim/jwt_auth.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vidq::sim {
namespace {

namespace json = boost::json;

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// GeekAI documents HTTP statuses only (API.md §9): arrears is 402 and overload 503 there.
int geekai_status(int status, const std::string& code) {
  if (code == "1113") return 402;
  if (code == "1305") return 503;
  return status;
}

}  // namespace

simulator::simulator(sim_config config, const vidq::clock& clock)
    : config_(std::move(config)), clock_(clock), book_(config_.keys), counters_(std::make_unique<counters>()) {}

simulator::~simulator() = default;

void simulator::set_base_url(std::string url) {
  std::lock_guard lock(mutex_);
  base_url_ = std::move(url);
}

reply simulator::handle(const request& req) {
  std::lock_guard lock(mutex_);
  try {
    return route(req);
  } catch (const std::exception&) {
    // A bug must not take the simulator down nor leak internals (STYLE.md: no internals in 500s).
    reply r;
    r.status = 500;
    r.body = R"({"error":{"code":"500","message":"internal error"}})";
    return r;
  }
}

reply simulator::route(const request& req) {
  const std::string_view target = req.target;
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  auto method_not_allowed = [](std::string_view allow) {
    reply r;
    r.status = 405;
    r.headers.emplace_back("Allow", std::string(allow));
    r.body = R"({"error":{"code":"405","message":"method not allowed"}})";
    return r;
  };

  if (path == "/api/paas/v4/videos/generations" || path == "/api/v1/videos/generations") {
    if (req.method != "POST") return method_not_allowed("POST");
    return submit(req, path.starts_with("/api/v1/") ? dialect::geekai : dialect::bigmodel);
  }
  constexpr std::string_view bm_poll = "/api/paas/v4/async-result/";
  constexpr std::string_view gk_poll_a = "/api/v1/video/";  // .../{id}/result (GK retrieval)
  constexpr std::string_view gk_poll_b = "/api/v1/videos/";  // .../{id} (GK txt2video guide)
  std::string_view id;
  std::optional<dialect> poll_via;
  if (path.starts_with(bm_poll)) {
    id = path.substr(bm_poll.size());
    poll_via = dialect::bigmodel;
  } else if (path.starts_with(gk_poll_a) && path.ends_with("/result")) {
    id = path.substr(gk_poll_a.size(), path.size() - gk_poll_a.size() - 7);
    poll_via = dialect::geekai;
  } else if (path.starts_with(gk_poll_b)) {
    id = path.substr(gk_poll_b.size());
    poll_via = dialect::geekai;
  }
  if (poll_via && !id.empty() && id.find('/') == std::string_view::npos) {
    if (req.method != "GET") return method_not_allowed("GET");
    return poll(req, id, *poll_via);
  }
  if (path.starts_with("/files/")) {
    const std::string_view rest = path.substr(7);
    const auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
      const std::string_view name = rest.substr(slash + 1);
      if (name == "video.mp4" || name == "cover.png") {
        if (req.method != "GET" && req.method != "HEAD") return method_not_allowed("GET, HEAD");
        return download(req, rest.substr(0, slash), name == "cover.png", query);
      }
    }
  }
  if (path.starts_with("/__sim/")) return admin(req, path);
  reply r;
  r.status = 404;
  r.body = R"({"error":{"code":"404","message":"no such endpoint"}})";
  return r;
}

reply simulator::error(dialect via, int status, std::string code, std::string message) {
  ++counters_->rejections[code];
  reply r;
  r.status = via == dialect::geekai ? geekai_status(status, code) : status;
  json::object err{{"code", code}, {"message", std::move(message)}};
  json::object body{{"error", std::move(err)}};
  // SEC: a content-safety rejection may carry contentFilter (level 0 is the most severe).
  if (code == "1301") body["contentFilter"] = json::array{json::object{{"level", 1}, {"role", "user"}}};
  r.body = json::serialize(body);
  return r;
}

std::optional<std::size_t> simulator::authenticate(const request& req, dialect via, reply& err) {
  std::string_view credential = req.authorization;
  if (credential.empty()) {
    err = error(via, 401, "1001", "Authorization header is missing");
    return std::nullopt;
  }
  if (iequals_prefix(credential, "bearer ")) {
    credential.remove_prefix(7);
  } else if (!config_.accept_bare_key) {
    err = error(via, 401, "1000", "authentication failed");
    return std::nullopt;
  }
  while (!credential.empty() && credential.front() == ' ') credential.remove_prefix(1);
  if (config_.accept_jwt) {
    // A key configured as "id.secret" also takes the SDK's token signed with it (API.md §6).
    const auto secret_of = [&](std::string_view id) -> std::optional<std::string> {
      for (const auto& k : config_.keys) {
        const auto dot = k.key.find('.');
        if (dot != std::string::npos && std::string_view(k.key).substr(0, dot) == id) return k.key.substr(dot + 1);
      }
      return std::nullopt;
    };
    const jwt_check check = verify_jwt(credential, secret_of, clock_.now());
    switch (check.verdict) {
      case jwt_verdict::not_a_jwt: break;
      case jwt_verdict::valid: {
        const auto full = check.key_id + "." + *secret_of(check.key_id);
        auto key = book_.find_key(full);
        if (!key) err = error(via, 401, "1000", "authentication failed");
        return key;
      }
      case jwt_verdict::expired: err = error(via, 401, "1003", "token expired"); return std::nullopt;
      case jwt_verdict::bad_signature: err = error(via, 401, "1004", "token verification failed"); return std::nullopt;
      case jwt_verdict::malformed: err = error(via, 401, "1002", "invalid token"); return std::nullopt;
      case jwt_verdict::unknown_key: err = error(via, 401, "1000", "authentication failed"); return std::nullopt;
    }
  }
  auto key = book_.find_key(credential);
  if (!key) err = error(via, 401, "1000", "authentication failed");
  return key;
}

millis simulator::scaled(double ms) const {
  const double v = ms * config_.time_scale;
  return v >= 9.0e15 ? never : static_cast<millis>(std::llround(v));
}

millis simulator::draw_duration(const task_spec& spec, stream& draw) const {
  duration_dist d{60, 150};
  if (auto it = config_.durations.find(spec.model + ":" + spec.quality); !spec.quality.empty() && it != config_.durations.end())
    d = it->second;
  else if (auto it2 = config_.durations.find(spec.model); it2 != config_.durations.end())
    d = it2->second;
  double median = d.median_s, p90 = d.p90_s;
  if (spec.duration_s >= 10) median *= config_.long_clip.median, p90 *= config_.long_clip.p90;
  if (std::max(spec.width, spec.height) >= 3840 || spec.fps == 60)
    median *= config_.high_res.median, p90 *= config_.high_res.p90;
  return scaled(draw.lognormal(median, p90) * 1000.0);
}

std::string simulator::new_task_id(dialect via) {
  for (;;) {
    stream draw(config_.seed, "task-id", next_task_);
    std::string id;
    if (via == dialect::bigmodel) {
      // 19 digits like the S001 example order number.
      id = std::to_string(1'000'000'000'000'000'000ULL + draw.next() % 8'000'000'000'000'000'000ULL);
    } else {
      const std::uint64_t a = draw.next(), b = draw.next();
      char buf[40];
      std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                    static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                    static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                    static_cast<unsigned long long>(b & 0xffffffffffffULL));
      id = buf;
    }
    if (!book_.contains(id)) return id;
    ++next_task_;  // a collision is astronomically rare; skip deterministically
  }
}

void simulator::apply_reply_faults(reply& r, stream& draw) {
  const fault_rates& f = config_.faults;
  if (draw.chance(f.reset)) {
    ++counters_->faults["reset"];
    r.action = transport::reset;
    return;
  }
  if (draw.chance(f.slow_reply)) {
    ++counters_->faults["slow_reply"];
    r.delay_ms = f.slow_reply_ms;
  }
  if (draw.chance(f.malformed_json)) {
    ++counters_->faults["malformed_json"];
    r.body.resize(r.body.size() / 2);
  }
  if (draw.chance(f.wrong_content_type)) {
    ++counters_->faults["wrong_content_type"];
    r.content_type = "text/html; charset=utf-8";
  }
}

reply simulator::submit(const request& req, dialect via) {
  const millis now = clock_.now();
  stream draw(config_.seed, "submit", submissions_++);
  reply r = [&]() -> reply {
    reply err;
    const auto key = authenticate(req, via, err);
    if (!key) return err;
    boost::system::error_code ec;
    const json::value body = json::parse(req.body, ec);
    if (ec) return error(via, 400, "1210", "request body is not valid JSON");
    if (body.is_object()) {
      if (const json::value* rid = body.as_object().if_contains("request_id"); rid && rid->is_string())
        ++counters_->request_ids[std::string(rid->as_string())].submissions;
    }
    const fault_rates& f = config_.faults;
    if (draw.chance(f.submit_5xx)) {
      ++counters_->faults["submit_5xx"];
      return error(via, 500, "1234", "network error, please retry");
    }
    if (draw.chance(f.submit_1305)) {
      ++counters_->faults["submit_1305"];
      return error(via, 429, "1305", "the model is overloaded, please retry later");
    }
    const validation_rules rules{config_.max_prompt_chars, config_.banned_words};
    auto checked = via == dialect::geekai ? validate_geekai(body, rules) : validate_bigmodel(body, rules);
    if (auto* e = std::get_if<api_error>(&checked)) return error(via, e->http_status, e->code, e->message);
    task_spec& spec = std::get<task_spec>(checked);
    if (draw.chance(f.submit_1301)) {
      ++counters_->faults["submit_1301"];
      return error(via, 400, "1301", "The input contains unsafe or sensitive content");
    }
    if (config_.reject_duplicate_request_id && spec.request_id) {
      if (auto it = counters_->request_ids.find(*spec.request_id); it != counters_->request_ids.end() && it->second.tasks > 0)
        return error(via, 400, "1231", "you already have request " + *spec.request_id);
    }
    const auto price_it = config_.prices.find(spec.model);
    const money price = price_it == config_.prices.end() ? 0 : price_it->second;
    if (!book_.can_pay(*key, price)) return error(via, 429, "1113", "your account is in arrears");
    slot_state& slots = book_.slots(*key, spec.model);
    if (slots.in_flight(now) >= slots.cap) {
      ++slots.cap_rejections;
      return error(via, 429, "1302", "concurrency limit reached for this API key");
    }
    if (draw.chance(f.submit_1302_spurious)) {
      ++counters_->faults["submit_1302_spurious"];
      return error(via, 429, "1302", "concurrency limit reached for this API key");
    }

    // Create the task: its whole future is decided now, from its own stream.
    task t;
    t.seq = next_task_;
    t.id = new_task_id(via);
    stream fate(config_.seed, "task", t.seq);
    ++next_task_;
    t.key = *key;
    t.via = via;
    t.request_id = spec.request_id.value_or(t.id);  // S001: request_id defaults to the task id
    t.created_at = now;
    const millis run = draw_duration(spec, fate);
    t.fails = fate.chance(f.task_fail);
    const bool stuck = fate.chance(f.task_stuck);
    t.finish_at = stuck || run == never ? never : now + run;
    if (fate.chance(f.poll_404_early)) t.early_404_until = now + f.poll_404_window_ms;
    t.video_size = video_size_for(spec, config_.files, fate);
    t.spec = std::move(spec);
    t.price = price;
    book_.charge(*key, price);
    ++counters_->tasks_created;
    ++counters_->request_ids[t.request_id].tasks;
    if (stuck) ++counters_->faults["task_stuck"];
    const task& stored = book_.add(std::move(t), now);

    if (draw.chance(f.submit_close_after_create)) {
      ++counters_->faults["submit_close_after_create"];
      reply closed;
      closed.action = transport::close_without_reply;
      return closed;
    }
    reply ok;
    if (via == dialect::bigmodel) {
      ok.body = json::serialize(json::object{{"model", stored.spec.model},
                                       {"id", stored.id},
                                       {"request_id", stored.request_id},
                                       {"task_status", "PROCESSING"}});
    } else if (stored.spec.async) {
      ok.body = json::serialize(json::object{{"model", stored.spec.model},
                                       {"task_id", stored.id},
                                       {"task_status", config_.geekai.running_word}});
    } else {
      ok.wait_task = stored.id;  // GeekAI default: the call returns the finished video
      ok.wait_until_ms = stored.finish_at;
    }
    return ok;
  }();
  if (r.action == transport::respond && r.wait_task.empty()) apply_reply_faults(r, draw);
  return r;
}

reply simulator::poll(const request& req, std::string_view id, dialect via) {
  const millis now = clock_.now();
  reply err;
  const auto key = authenticate(req, via, err);
  task* t = key ? book_.find(id) : nullptr;
  stream draw(config_.seed, "poll", t ? mix64(hash_text(t->id)) + t->polls : mix64(++misc_requests_));
  reply r = [&]() -> reply {
    if (!key) return err;
    ++counters_->polls;
    // Counted before any fault or 404 decides the answer: the client made this request.
    counters::poll_rate& rate =
        counters_->polls_by_key.try_emplace(*key, 0, sliding_peak(1000), sliding_peak(scaled(1000.0))).first->second;
    ++rate.polls;
    rate.per_second.add(now);
    rate.per_scaled_second.add(now);
    // API.md §11.10: an unknown or foreign id gets 404; the early-404 fault looks identical.
    if (t == nullptr || t->key != *key) return error(via, 404, "1214", "task not found: " + std::string(id));
    ++t->polls;
    if (now < t->early_404_until) {
      ++counters_->faults["poll_404_early"];
      return error(via, 404, "1214", "task not found: " + std::string(id));
    }
    if (draw.chance(config_.faults.poll_5xx)) {
      ++counters_->faults["poll_5xx"];
      return error(via, 500, "1234", "network error, please retry");
    }
    return via == dialect::bigmodel ? bigmodel_task_body(*t, now) : geekai_task_body(*t, now);
  }();
  apply_reply_faults(r, draw);
  return r;
}

reply simulator::bigmodel_task_body(const task& t, millis now) const {
  const task_status s = t.status_at(now);
  json::object body{{"model", t.spec.model},
                    {"request_id", t.request_id},
                    {"task_status", s == task_status::processing ? "PROCESSING"
                                    : s == task_status::success  ? "SUCCESS"
                                                                 : "FAIL"}};
  if (s == task_status::success) {
    body["video_result"] = json::array{json::object{{"url", file_url(t, false)}, {"cover_image_url", file_url(t, true)}}};
  }
  reply r;
  r.body = json::serialize(body);
  return r;
}

reply simulator::geekai_task_body(const task& t, millis now) const {
  const task_status s = t.status_at(now);
  const auto& g = config_.geekai;
  json::object body{{"model", t.spec.model},
                    {"task_id", t.id},
                    {"task_status", s == task_status::processing ? g.running_word
                                    : s == task_status::success  ? g.success_word
                                                                 : g.failed_word}};
  std::int64_t progress = 100;
  if (s == task_status::processing) {
    progress = t.finish_at == never || t.finish_at <= t.created_at
                   ? 0
                   : std::min<std::int64_t>(99, (now - t.created_at) * 100 / (t.finish_at - t.created_at));
  }
  body["progress"] = progress;
  if (s == task_status::success) {
    json::object item{{"id", t.id}, {"url", file_url(t, false)}, {"cover_image_url", file_url(t, true)}};
    if (g.video_result_object) {
      item["duration"] = t.spec.duration_s;
      body["video_result"] = std::move(item);
    } else {
      body["video_result"] = json::array{std::move(item)};
    }
  } else if (s == task_status::fail) {
    body["error"] = json::object{{"code", "1200"}, {"message", "video generation failed"}, {"details", ""}};
  }
  reply r;
  r.body = json::serialize(body);
  return r;
}

reply simulator::geekai_sync(std::string_view task_id) {
  std::lock_guard lock(mutex_);
  const task* t = book_.find(task_id);
  if (t == nullptr) return error(dialect::geekai, 500, "1234", "task vanished");
  const millis now = clock_.now();
  if (now < t->finish_at) {
    reply wait;
    wait.wait_task = t->id;
    wait.wait_until_ms = t->finish_at;
    return wait;
  }
  return geekai_task_body(*t, now);
}

reply simulator::geekai_sync_timeout(std::string_view task_id) {
  std::lock_guard lock(mutex_);
  ++counters_->faults["geekai_sync_timeout"];
  return error(dialect::geekai, 504, "504", "generation timed out; task " + std::string(task_id));
}

fault_rates simulator::faults() const {
  std::lock_guard lock(mutex_);
  return config_.faults;
}

result<void> simulator::set_faults(const boost::json::object& patch, std::string* why) {
  std::lock_guard lock(mutex_);
  return apply_json(config_.faults, patch, why);
}

}  // namespace vidq::sim
