// simulator: the /__sim/* control surface (stats, runtime faults, foreign holds, balances).
// Unauthenticated on purpose: it is a test and demo instrument bound to loopback.
#include "vidq/core/utc_text.hpp"
#include "vidq/sim/simulator.hpp"

#include "counters.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <map>

namespace vidq::sim {
namespace {

namespace json = boost::json;

reply json_reply(int status, const json::value& body) {
  reply r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

reply bad_request(std::string message) {
  return json_reply(400, json::object{{"error", json::object{{"code", "400"}, {"message", std::move(message)}}}});
}

json::value time_or_null(millis t) { return t == never ? json::value(nullptr) : json::value(t); }

double cny(money m) { return static_cast<double>(m) / 1'000'000.0; }

}  // namespace

reply simulator::admin(const request& req, std::string_view path) {
  json::object body;
  if (req.method == "POST") {
    boost::system::error_code ec;
    json::value v = json::parse(req.body.empty() ? std::string_view("{}") : req.body, ec);
    if (ec || !v.is_object()) return bad_request("expected a JSON object");
    body = std::move(v.as_object());
  }
  if (path == "/__sim/health") return json_reply(200, json::object{{"ok", true}});
  if (path == "/__sim/stats" && req.method == "GET") {
    const bool with_tasks = req.target.find("tasks=0") == std::string_view::npos;
    return json_reply(200, stats_locked(with_tasks));
  }
  if (path == "/__sim/faults" && req.method == "GET") return json_reply(200, to_json(config_.faults));
  if (path == "/__sim/faults" && req.method == "POST") {
    if (const json::value* preset = body.if_contains("preset")) {
      if (*preset == "none") config_.faults = fault_rates::none();
      else if (*preset == "default") config_.faults = fault_rates{};
      else return bad_request("preset: \"none\" or \"default\"");
      body.erase("preset");
    }
    std::string why;
    if (!apply_json(config_.faults, body, &why)) return bad_request(why);
    return json_reply(200, to_json(config_.faults));
  }
  if (req.method == "POST" && path == "/__sim/hold") return hold(body);
  if (req.method == "POST" && path == "/__sim/release") return release(body);
  if (req.method == "POST" && path == "/__sim/balance") return set_balance(body);
  return json_reply(404, json::object{{"error", json::object{{"code", "404"}, {"message", "no such endpoint"}}}});
}

// A "foreign client" on the same account: takes up to `count` free slots of (key, model)
// for `ms` simulated milliseconds (absent: until released). Holds obey the cap like tasks.
reply simulator::hold(const json::object& body) {
  const json::value* key = body.if_contains("key");
  const json::value* model = body.if_contains("model");
  const json::value* count = body.if_contains("count");
  const json::value* ms = body.if_contains("ms");
  if (!key || !key->is_string() || !model || !model->is_string() || !count || !count->is_int64() ||
      count->as_int64() < 0 || (ms && !(ms->is_int64() && ms->as_int64() >= 0)))
    return bad_request("expected {\"key\": name, \"model\": str, \"count\": int, \"ms\"?: int}");
  const auto k = book_.find_key_by_name(key->as_string());
  if (!k) return bad_request("unknown key");
  const millis now = clock_.now();
  slot_state& s = book_.slots(*k, std::string(model->as_string()));
  std::int64_t held = 0;
  while (held < count->as_int64() && s.in_flight(now) < s.cap) {
    s.holds.insert(ms ? now + ms->as_int64() : never);
    ++held;
  }
  s.peak = std::max(s.peak, s.in_flight(now));
  return json_reply(200, json::object{{"held", held}, {"in_flight", s.in_flight(now)}, {"cap", s.cap}});
}

reply simulator::release(const json::object& body) {
  const json::value* key = body.if_contains("key");
  const json::value* model = body.if_contains("model");
  std::optional<std::size_t> k;
  if (key) {
    if (!key->is_string() || !(k = book_.find_key_by_name(key->as_string()))) return bad_request("unknown key");
  }
  std::int64_t released = 0;
  for (auto& [slot_key, s] : book_.all_slots()) {
    if (k && slot_key.first != *k) continue;
    if (model && (!model->is_string() || slot_key.second != std::string_view(model->as_string()))) continue;
    released += static_cast<std::int64_t>(s.holds.size());
    s.holds.clear();
  }
  return json_reply(200, json::object{{"released", released}});
}

reply simulator::set_balance(const json::object& body) {
  const json::value* key = body.if_contains("key");
  const json::value* balance = body.if_contains("balance");
  if (!key || !key->is_string() || !balance || !(balance->is_number() || balance->is_null()))
    return bad_request("expected {\"key\": name, \"balance\": CNY or null}");
  const auto k = book_.find_key_by_name(key->as_string());
  if (!k) return bad_request("unknown key");
  if (balance->is_null()) book_.set_balance(*k, std::nullopt);
  else book_.set_balance(*k, static_cast<money>(std::llround(balance->to_number<double>() * 1'000'000.0)));
  return json_reply(200, json::object{{"key", book_.key(*k).name}, {"balance", balance->is_null() ? json::value(nullptr) : json::value(cny(*book_.balance(*k)))}});
}

// What the provider billed: every created task at its price (charged at creation, kept on
// FAIL), in total and per key and UTC day of creation, in milli-CNY integers so a client's
// ledger can be compared exactly.
json::object simulator::billed_locked() {
  struct tally {
    std::uint64_t tasks = 0;
    money micro = 0;
  };
  tally total;
  std::map<std::string, std::pair<tally, std::map<std::string, tally>>> by_key;
  for (const std::string& id : book_.order()) {
    const task& t = book_.at(id);
    auto& [key_total, days] = by_key[book_.key(t.key).name];
    for (tally* x : {&total, &key_total, &days[utc_text(t.created_at, "%Y-%m-%d")]}) {
      ++x->tasks;
      x->micro += t.price;
    }
  }
  const auto as_json = [](const tally& x) {
    return json::object{{"tasks", x.tasks}, {"milli_cny", x.micro / 1000}};
  };
  json::object keys;
  for (const auto& [name, entry] : by_key) {
    json::object per_day;
    for (const auto& [day, x] : entry.second) per_day[day] = as_json(x);
    json::object k = as_json(entry.first);
    k["by_day"] = std::move(per_day);
    keys[name] = std::move(k);
  }
  json::object out = as_json(total);
  out["by_key"] = std::move(keys);
  return out;
}

json::object simulator::stats(bool with_tasks) {
  std::lock_guard lock(mutex_);
  return stats_locked(with_tasks);
}

json::object simulator::stats_locked(bool with_tasks) {
  const millis now = clock_.now();
  const counters& c = *counters_;
  json::object out;
  out["now_ms"] = now;
  out["seed"] = config_.seed;
  out["time_scale"] = config_.time_scale;
  out["submissions"] = submissions_;
  out["tasks_created"] = c.tasks_created;
  json::object rejections;
  for (const auto& [code, n] : c.rejections) rejections[code] = n;
  out["errors_by_code"] = std::move(rejections);
  json::object rids;
  json::array duplicates;
  for (const auto& [rid, n] : c.request_ids) {
    rids[rid] = json::object{{"submissions", n.submissions}, {"tasks", n.tasks}};
    if (n.tasks > 1) duplicates.push_back(json::value(rid));
  }
  out["request_ids"] = std::move(rids);
  out["duplicate_request_ids"] = std::move(duplicates);
  json::array slots;
  std::uint64_t cap_rejections = 0;
  for (auto& [slot_key, s] : book_.all_slots()) {
    cap_rejections += s.cap_rejections;
    slots.push_back(json::object{{"key", book_.key(slot_key.first).name},
                                 {"model", slot_key.second},
                                 {"cap", s.cap},
                                 {"in_flight", s.in_flight(now)},
                                 {"held", s.holds.size()},
                                 {"peak_in_flight", s.peak},
                                 {"cap_rejections", s.cap_rejections}});
  }
  out["slots"] = std::move(slots);
  out["cap_rejections"] = cap_rejections;
  out["polls"] = c.polls;
  json::object polls_by_key;
  for (const auto& [k, rate] : c.polls_by_key) {
    polls_by_key[book_.key(k).name] = json::object{{"polls", rate.polls},
                                                   {"peak_polls_per_second", rate.per_second.peak()},
                                                   {"peak_polls_per_scaled_second", rate.per_scaled_second.peak()}};
  }
  out["polls_by_key"] = std::move(polls_by_key);
  out["downloads"] = json::object{{"video_requests", c.video_requests}, {"video_completed", c.video_completed},
                                  {"cover_completed", c.cover_completed}, {"range_requests", c.range_requests},
                                  {"interrupted", c.interrupted},     {"expired", c.expired}};
  json::object faults;
  for (const auto& [name, n] : c.faults) faults[name] = n;
  out["faults_injected"] = std::move(faults);
  json::object balances;
  for (std::size_t k = 0; k < book_.key_count(); ++k) {
    const auto b = book_.balance(k);
    balances[book_.key(k).name] = b ? json::value(cny(*b)) : json::value(nullptr);
  }
  out["balances"] = std::move(balances);
  out["billed"] = billed_locked();
  if (with_tasks) {
    json::array tasks;
    for (const std::string& id : book_.order()) {
      const task& t = book_.at(id);
      const task_status st = t.status_at(now);
      tasks.push_back(json::object{
          {"id", t.id},
          {"key", book_.key(t.key).name},
          {"model", t.spec.model},
          {"dialect", t.via == dialect::bigmodel ? "bigmodel" : "geekai"},
          {"request_id", t.request_id},
          {"status", st == task_status::processing ? "PROCESSING" : st == task_status::success ? "SUCCESS" : "FAIL"},
          {"created_at_ms", t.created_at},
          {"finish_at_ms", time_or_null(t.finish_at)},
          {"finished_at_ms", st == task_status::processing ? json::value(nullptr) : json::value(t.finish_at)},
          {"polls", t.polls},
          {"video_downloads", t.video_downloads},
          {"video_bytes", video_file(t.id, t.video_size).size()},
          {"video_sha256", t.video_sha256.empty() ? json::value(nullptr) : json::value(t.video_sha256)},
          {"price_milli_cny", t.price / 1000}});
    }
    out["tasks"] = std::move(tasks);
  }
  return out;
}

}  // namespace vidq::sim
