#pragma once
// Everything the simulator models, with defaults from API.md §7 and §12; every figure can be
// overridden from a sim TOML file (docs/SIMULATOR.md lists the keys, config/sim.example.toml
// shows them all).

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/sim/faults.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vidq::sim {

using money = std::int64_t;  // micro-CNY: prices like 1.25 CNY stay exact

struct key_config {
  std::string key;               // the Bearer credential; "id.secret" also signs JWTs
  std::string name;              // label used in stats and logs (never the key itself)
  int cap = 5;                   // concurrent tasks per model (tier V0..V3 = 5/10/15/20)
  std::optional<money> balance;  // absent: unlimited
};

struct duration_dist {
  double median_s = 60;
  double p90_s = 150;
};

// Multiplies the median and the p90 of a base distribution (API.md §12 modifier rows).
struct duration_modifier {
  double median = 1.0;
  double p90 = 1.0;
};

struct file_sizes {
  // false: every video is the shipped sample plus its unique trailer (fast tests);
  // true: padded to a size drawn per task from the ranges below (API.md §12).
  bool realistic = false;
  // Bytes per 5 s of 30 fps video, [min, max], by the long side of the frame.
  std::uint64_t sd_min = 1'300'000, sd_max = 2'500'000;     // up to 1280 (720p)
  std::uint64_t fhd_min = 3'000'000, fhd_max = 6'000'000;   // up to 1920 (1080p)
  std::uint64_t qhd_min = 4'000'000, qhd_max = 8'000'000;   // up to 2048
  std::uint64_t uhd_min = 12'000'000, uhd_max = 25'000'000; // 3840 (4K)
  double fps60_factor = 1.5;
};

struct geekai_options {
  std::string running_word = "running";   // EN schema lists pending|running|success|failed
  std::string success_word = "succeed";   // CN docs and S004
  std::string failed_word = "failed";
  bool video_result_object = false;       // false: [{id,url,cover_image_url}] (S004)
  millis sync_timeout_ms = 300'000;       // async:false waits at most this (wall time), then 504
};

struct server_limits {
  std::uint64_t body_limit = 80ull << 20;  // base64 of a 50 MB Vidu image fits (API.md §11.16)
  std::uint32_t header_limit = 16 << 10;
  millis request_timeout_ms = 30'000;      // read of one request, once its first byte arrived
  millis idle_timeout_ms = 60'000;         // keep-alive connection with no request
  millis handshake_timeout_ms = 10'000;
};

struct sim_config {
  std::string listen = "127.0.0.1:0";
  std::filesystem::path tls_dir = "sim-tls";
  double time_scale = 1.0;  // multiplies generation durations and URL lifetimes
  std::uint64_t seed = 1;
  std::vector<key_config> keys;
  // Keyed "model:quality" (speed|quality) or "model"; the first that exists applies.
  std::map<std::string, duration_dist> durations;
  duration_modifier long_clip{1.8, 1.8};  // duration 10 s instead of 5 s
  duration_modifier high_res{2.0, 2.5};   // 3840x2160 or 60 fps (applied once)
  std::map<std::string, money> prices;    // per call, by model; absent model: free
  std::vector<std::string> banned_words{"simforbidden"};
  std::size_t max_prompt_chars = 512;     // Unicode code points (API.md §11.3: characters)
  fault_rates faults;
  millis url_ttl_ms = 86'400'000;         // from the task's finish; scaled by time_scale
  file_sizes files;
  geekai_options geekai;
  server_limits limits;
  bool accept_bare_key = true;               // "Authorization: <key>" without "Bearer "
  bool accept_jwt = true;                    // "id.secret" keys also take the SDK's HS256 JWT
  bool reject_duplicate_request_id = false;  // true: 400 code 1231 on a reused request_id
};

// The built-in configuration: the default key set of docs/SIMULATOR.md, API.md §12
// durations and prices, §12 fault rates.
sim_config default_sim_config();

// Reads a sim TOML file over the defaults (absent keys keep their default; a [[keys]] array
// replaces the default key set).
// Errors: errc::config_error (unreadable file, TOML syntax, unknown key, bad value), with the
// reason in *why when why != nullptr.
result<sim_config> load_sim_config(const std::filesystem::path& path, std::string* why);

// Parses a cap from a tier name: "V0".."V3" -> 5/10/15/20. Returns 0 for anything else.
int cap_of_tier(std::string_view tier);

}  // namespace vidq::sim
