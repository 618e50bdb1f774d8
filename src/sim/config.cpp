#include "vidq/sim/config.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <set>
#include <string_view>

namespace vidq::sim {
namespace {

money cny(double v) { return static_cast<money>(std::llround(v * 1'000'000.0)); }

// Reads one TOML table, remembering which keys were consumed so that a typo is an error
// instead of a silently ignored setting.
class reader {
 public:
  reader(const toml::table& t, std::string prefix) : table_(t), prefix_(std::move(prefix)) {}

  template <class T>
  bool get(std::string_view key, T& out, std::string* why) {
    seen_.insert(std::string(key));
    const toml::node* node = table_.get(key);
    if (node == nullptr) return true;
    if constexpr (std::is_same_v<T, double>) {
      if (auto v = node->value<double>()) { out = *v; return true; }
    } else if constexpr (std::is_same_v<T, bool>) {
      if (auto v = node->value_exact<bool>()) { out = *v; return true; }
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = node->value_exact<std::string>()) { out = *v; return true; }
    } else {
      if (auto v = node->value_exact<std::int64_t>(); v && *v >= 0) { out = static_cast<T>(*v); return true; }
    }
    if (why) *why = name(key) + ": wrong type or negative";
    return false;
  }

  const toml::table* table(std::string_view key) {
    seen_.insert(std::string(key));
    const toml::node* n = table_.get(key);
    return n ? n->as_table() : nullptr;
  }
  const toml::array* array(std::string_view key) {
    seen_.insert(std::string(key));
    const toml::node* n = table_.get(key);
    return n ? n->as_array() : nullptr;
  }

  bool finish(std::string* why) const {
    for (const auto& [k, v] : table_) {
      if (!seen_.contains(std::string(k.str()))) {
        if (why) *why = name(k.str()) + ": unknown key";
        return false;
      }
    }
    return true;
  }
  std::string name(std::string_view key) const { return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key); }

 private:
  const toml::table& table_;
  std::string prefix_;
  std::set<std::string> seen_;
};

bool read_keys(const toml::array& arr, std::vector<key_config>& out, std::string* why) {
  out.clear();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const toml::table* t = arr[i].as_table();
    const std::string prefix = "keys[" + std::to_string(i) + "]";
    if (t == nullptr) {
      if (why) *why = prefix + ": expected a table";
      return false;
    }
    reader r(*t, prefix);
    key_config k;
    std::string tier;
    double balance = -1;
    std::int64_t cap = 0;
    if (!r.get("key", k.key, why) || !r.get("name", k.name, why) || !r.get("tier", tier, why) ||
        !r.get("cap", cap, why) || !r.get("balance", balance, why) || !r.finish(why))
      return false;
    if (k.key.empty()) {
      if (why) *why = prefix + ".key: required";
      return false;
    }
    if (k.name.empty()) k.name = k.key.substr(0, 12);
    k.cap = cap > 0 ? static_cast<int>(cap) : cap_of_tier(tier.empty() ? "V0" : tier);
    if (k.cap <= 0) {
      if (why) *why = prefix + ": tier must be V0..V3 or cap a positive integer";
      return false;
    }
    if (t->contains("balance")) k.balance = cny(balance);
    out.push_back(std::move(k));
  }
  return true;
}

bool read_pair(reader& r, std::string_view key, std::uint64_t& lo, std::uint64_t& hi, std::string* why) {
  const toml::array* a = r.array(key);
  if (a == nullptr) return true;
  auto v0 = a->size() == 2 ? (*a)[0].value<std::int64_t>() : std::nullopt;
  auto v1 = a->size() == 2 ? (*a)[1].value<std::int64_t>() : std::nullopt;
  if (!v0 || !v1 || *v0 < 0 || *v1 < *v0) {
    if (why) *why = r.name(key) + ": expected [min, max] bytes";
    return false;
  }
  lo = static_cast<std::uint64_t>(*v0);
  hi = static_cast<std::uint64_t>(*v1);
  return true;
}

bool read_modifier(const toml::table* t, const std::string& prefix, duration_modifier& m, std::string* why) {
  if (t == nullptr) return true;
  reader r(*t, prefix);
  return r.get("median", m.median, why) && r.get("p90", m.p90, why) && r.finish(why);
}

bool read_root(const toml::table& root, sim_config& cfg, std::string* why) {
  reader r(root, "");
  double url_ttl_s = static_cast<double>(cfg.url_ttl_ms) / 1000.0;
  if (!r.get("listen", cfg.listen, why) || !r.get("time_scale", cfg.time_scale, why) ||
      !r.get("seed", cfg.seed, why) || !r.get("max_prompt_chars", cfg.max_prompt_chars, why) ||
      !r.get("url_ttl_s", url_ttl_s, why) || !r.get("accept_bare_key", cfg.accept_bare_key, why) ||
      !r.get("accept_jwt", cfg.accept_jwt, why) ||
      !r.get("reject_duplicate_request_id", cfg.reject_duplicate_request_id, why))
    return false;
  cfg.url_ttl_ms = static_cast<millis>(url_ttl_s * 1000.0);
  std::string tls_dir;
  if (!r.get("tls_dir", tls_dir, why)) return false;
  if (!tls_dir.empty()) cfg.tls_dir = tls_dir;
  if (cfg.time_scale < 0) {
    if (why) *why = "time_scale: must be >= 0";
    return false;
  }
  if (const toml::array* words = r.array("banned_words")) {
    cfg.banned_words.clear();
    for (const auto& w : *words) {
      auto s = w.value<std::string>();
      if (!s || s->empty()) {
        if (why) *why = "banned_words: expected non-empty strings";
        return false;
      }
      cfg.banned_words.push_back(*s);
    }
  }
  if (const toml::array* keys = r.array("keys"); keys && !read_keys(*keys, cfg.keys, why)) return false;

  if (const toml::table* t = r.table("durations")) {
    for (const auto& [model, node] : *t) {
      const toml::table* d = node.as_table();
      const std::string prefix = "durations." + std::string(model.str());
      if (d == nullptr) {
        if (why) *why = prefix + ": expected { median_s, p90_s }";
        return false;
      }
      reader dr(*d, prefix);
      duration_dist dist;
      if (!dr.get("median_s", dist.median_s, why) || !dr.get("p90_s", dist.p90_s, why) || !dr.finish(why)) return false;
      if (dist.median_s < 0 || dist.p90_s < dist.median_s) {
        if (why) *why = prefix + ": need 0 <= median_s <= p90_s";
        return false;
      }
      cfg.durations[std::string(model.str())] = dist;
    }
  }
  if (const toml::table* t = r.table("modifiers")) {
    reader mr(*t, "modifiers");
    if (!read_modifier(mr.table("long_clip"), "modifiers.long_clip", cfg.long_clip, why) ||
        !read_modifier(mr.table("high_res"), "modifiers.high_res", cfg.high_res, why) || !mr.finish(why))
      return false;
  }
  if (const toml::table* t = r.table("prices")) {
    for (const auto& [model, node] : *t) {
      auto v = node.value<double>();
      if (!v || *v < 0) {
        if (why) *why = "prices." + std::string(model.str()) + ": expected CNY >= 0";
        return false;
      }
      cfg.prices[std::string(model.str())] = cny(*v);
    }
  }
  if (const toml::table* t = r.table("faults")) {
    // Same names as POST /__sim/faults: one vocabulary for both ways in.
    boost::json::object patch;
    for (const auto& [k, node] : *t) {
      if (auto i = node.value_exact<std::int64_t>()) patch[k.str()] = *i;
      else if (auto d = node.value<double>()) patch[k.str()] = *d;
      else patch[k.str()] = "?";
    }
    std::string reason;
    if (!apply_json(cfg.faults, patch, &reason)) {
      if (why) *why = "faults." + reason;
      return false;
    }
  }
  if (const toml::table* t = r.table("files")) {
    reader fr(*t, "files");
    auto& f = cfg.files;
    if (!fr.get("realistic", f.realistic, why) || !read_pair(fr, "sd", f.sd_min, f.sd_max, why) ||
        !read_pair(fr, "fhd", f.fhd_min, f.fhd_max, why) || !read_pair(fr, "qhd", f.qhd_min, f.qhd_max, why) ||
        !read_pair(fr, "uhd", f.uhd_min, f.uhd_max, why) || !fr.get("fps60_factor", f.fps60_factor, why) ||
        !fr.finish(why))
      return false;
  }
  if (const toml::table* t = r.table("geekai")) {
    reader gr(*t, "geekai");
    std::string shape = cfg.geekai.video_result_object ? "object" : "array";
    double sync_s = static_cast<double>(cfg.geekai.sync_timeout_ms) / 1000.0;
    if (!gr.get("running_word", cfg.geekai.running_word, why) ||
        !gr.get("success_word", cfg.geekai.success_word, why) ||
        !gr.get("failed_word", cfg.geekai.failed_word, why) || !gr.get("video_result", shape, why) ||
        !gr.get("sync_timeout_s", sync_s, why) || !gr.finish(why))
      return false;
    if (shape != "array" && shape != "object") {
      if (why) *why = "geekai.video_result: \"array\" or \"object\"";
      return false;
    }
    cfg.geekai.video_result_object = shape == "object";
    cfg.geekai.sync_timeout_ms = static_cast<millis>(sync_s * 1000.0);
  }
  if (const toml::table* t = r.table("server")) {
    reader sr(*t, "server");
    auto& l = cfg.limits;
    double req_s = l.request_timeout_ms / 1000.0, idle_s = l.idle_timeout_ms / 1000.0,
           hs_s = l.handshake_timeout_ms / 1000.0;
    if (!sr.get("body_limit_bytes", l.body_limit, why) || !sr.get("header_limit_bytes", l.header_limit, why) ||
        !sr.get("request_timeout_s", req_s, why) || !sr.get("idle_timeout_s", idle_s, why) ||
        !sr.get("handshake_timeout_s", hs_s, why) || !sr.finish(why))
      return false;
    l.request_timeout_ms = static_cast<millis>(req_s * 1000.0);
    l.idle_timeout_ms = static_cast<millis>(idle_s * 1000.0);
    l.handshake_timeout_ms = static_cast<millis>(hs_s * 1000.0);
  }
  return r.finish(why);
}

}  // namespace

int cap_of_tier(std::string_view tier) {
  if (tier == "V0") return 5;
  if (tier == "V1") return 10;
  if (tier == "V2") return 15;
  if (tier == "V3") return 20;
  return 0;
}

sim_config default_sim_config() {
  sim_config cfg;
  cfg.keys = {
      {"sim-key-v0-0000000000000000", "v0", 5, std::nullopt},
      {"sim-key-v1-1111111111111111", "v1", 10, std::nullopt},
      {"sim-key-v2-2222222222222222", "v2", 15, std::nullopt},
      {"sim-key-v3-3333333333333333", "v3", 20, std::nullopt},
      {"sim-key-poor-444444444444444", "poor", 5, cny(2.0)},
      {"sim-key-bulk-555555555555555", "bulk", 5000, std::nullopt},
      // An "id.secret" key for the SDK's JWT auth (docs/SIMULATOR.md).
      {"sim-jwt-id.sim-jwt-secret-66666666", "jwt", 5, std::nullopt},
  };
  // API.md §12 medians and p90s, in seconds. The viduq1 rows have no evidence at all; they
  // borrow vidu2-reference's figures.
  cfg.durations = {
      {"cogvideox-flash", {90, 300}},
      {"cogvideox", {60, 150}},
      {"cogvideox-2:speed", {60, 150}},
      {"cogvideox-2:quality", {120, 240}},
      {"cogvideox-3:speed", {120, 240}},
      {"cogvideox-3:quality", {210, 420}},
      {"vidu2-image", {40, 90}},
      {"vidu2-start-end", {40, 90}},
      {"vidu2-reference", {60, 120}},
      {"viduq1-text", {60, 120}},
      {"viduq1-image", {60, 120}},
      {"viduq1-start-end", {60, 120}},
  };
  // S000, S002, S003; the viduq1 prices are assumptions (not published in the seeds).
  cfg.prices = {
      {"cogvideox", cny(0.5)},        {"cogvideox-2", cny(0.5)},      {"cogvideox-3", cny(1.0)},
      {"cogvideox-flash", 0},         {"vidu2-image", cny(1.25)},     {"vidu2-start-end", cny(1.25)},
      {"vidu2-reference", cny(2.5)},  {"viduq1-text", cny(2.5)},      {"viduq1-image", cny(2.5)},
      {"viduq1-start-end", cny(2.5)},
  };
  return cfg;
}

result<sim_config> load_sim_config(const std::filesystem::path& path, std::string* why) {
  sim_config cfg = default_sim_config();
  toml::table root;
  try {
    root = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    if (why) *why = path.string() + ": " + std::string(e.description());
    return make_error_code(errc::config_error);
  }
  std::string reason;
  if (!read_root(root, cfg, &reason)) {
    if (why) *why = path.string() + ": " + reason;
    return make_error_code(errc::config_error);
  }
  return cfg;
}

}  // namespace vidq::sim
