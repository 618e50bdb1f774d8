// The sans-io simulator without sockets: determinism, durations, validation rows.
#include "vidq/sim/simulator.hpp"
#include "vidq/sim/validate.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <vector>

namespace {

namespace json = boost::json;
using namespace vidq::sim;

const std::string v0 = "Bearer sim-key-v0-0000000000000000";

// A fixed request sequence with every fault at 0.2: the replies must repeat exactly.
std::vector<std::string> run_sequence(std::uint64_t seed) {
  vidq::manual_clock clock;
  sim_config cfg = default_sim_config();
  cfg.seed = seed;
  cfg.time_scale = 0.01;
  json::object all;
  for (const auto& [k, v] : to_json(cfg.faults)) all[k] = k.ends_with("_ms") ? v : json::value(0.2);
  (void)apply_json(cfg.faults, all, nullptr);
  simulator sim(cfg, clock);
  std::vector<std::string> out;
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    const std::string body = R"({"model":"cogvideox-2","prompt":"p)" + std::to_string(i) + "\"}";
    reply r = sim.handle({"POST", "/api/paas/v4/videos/generations", v0, "", body});
    out.push_back(std::to_string(r.status) + " " + std::to_string(static_cast<int>(r.action)) + " " +
                  std::to_string(r.delay_ms) + " " + r.content_type + " " + r.body);
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    if (!ec && v.is_object() && v.as_object().contains("id")) ids.emplace_back(v.at("id").as_string());
    clock.advance(500);
    for (const auto& id : ids) {
      reply p = sim.handle({"GET", "/api/paas/v4/async-result/" + id, v0, "", ""});
      out.push_back(std::to_string(p.status) + " " + p.body);
    }
  }
  out.push_back(json::serialize(sim.stats()));
  return out;
}

TEST(SimCore, SameSeedSameSequenceSameOutcomes) {
  const auto a = run_sequence(7), b = run_sequence(7), c = run_sequence(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(SimCore, DurationsFollowTheConfiguredMedian) {
  vidq::manual_clock clock;
  sim_config cfg = default_sim_config();
  cfg.faults = fault_rates::none();
  cfg.keys = {{"k-k-k-k-k-k-k-k", "bulk", 100000, std::nullopt}};
  simulator sim(cfg, clock);
  std::vector<double> runs;
  for (int i = 0; i < 2001; ++i) {
    reply r = sim.handle({"POST", "/api/paas/v4/videos/generations", "Bearer k-k-k-k-k-k-k-k", "",
                          R"({"model":"cogvideox-2","prompt":"x","quality":"speed"})"});
    ASSERT_EQ(r.status, 200);
  }
  const json::object stats = sim.stats();
  for (const auto& t : stats.at("tasks").as_array())
    runs.push_back(static_cast<double>(t.at("finish_at_ms").as_int64() - t.at("created_at_ms").as_int64()) / 1000.0);
  std::sort(runs.begin(), runs.end());
  // API.md §12: cogvideox-2 speed, median 60 s, p90 2.5 min.
  EXPECT_NEAR(runs[1000], 60.0, 6.0);
  EXPECT_NEAR(runs[1800], 150.0, 20.0);
}

struct row {
  const char* body;
  const char* code;  // "" = accepted
};

TEST(SimCore, ValidationRowsOfApiMdSection2) {
  const validation_rules rules{512, {"simforbidden"}};
  const row rows[] = {
      {R"({"model":"cogvideox-3","prompt":"x"})", ""},
      {R"({"model":"cogvideox-3","image_url":["https://a/1.png","https://a/2.png"]})", ""},
      {R"({"model":"cogvideox-2","image_url":["https://a/1.png","https://a/2.png"]})", "1214"},
      {R"({"model":"cogvideox-3","prompt":"x","size":"720x480"})", "1214"},
      {R"({"model":"cogvideox-2","prompt":"x","size":"720x480"})", ""},
      {R"({"model":"cogvideox-3","prompt":"x","duration":10,"fps":60,"quality":"quality","with_audio":true})", ""},
      {R"({"model":"cogvideox-3","prompt":"x","duration":7})", "1214"},
      {R"({"model":"cogvideox-flash","prompt":"x","quality":"speed"})", "1214"},
      {R"({"model":"cogvideox-flash","prompt":"x","size":"1920x1080"})", "1214"},
      {R"({"model":"cogvideox-3"})", "1213"},
      {R"({"model":"cogvideox-3","prompt":"x","user_id":"abc"})", "1214"},
      {R"({"model":"cogvideox-3","image_url":"iVBORw0KGgo="})", ""},
      {R"({"model":"cogvideox-3","image_url":"data:image/gif;base64,R0lG"})", "1214"},
      {R"({"model":"viduq1-text"})", "1213"},
      {R"({"model":"viduq1-text","prompt":"x","style":"anime","aspect_ratio":"9:16"})", ""},
      {R"({"model":"viduq1-text","prompt":"x","image_url":"https://a/1.png"})", "1214"},
      {R"({"model":"vidu2-image","prompt":"x"})", "1213"},
      {R"({"model":"vidu2-image","image_url":"iVBORw0KGgo="})", "1214"},
      {R"({"model":"vidu2-image","image_url":"data:image/webp;base64,UklGR"})", ""},
      {R"({"model":"vidu2-image","image_url":"https://a/1.png","duration":5})", "1214"},
      {R"({"model":"vidu2-image","image_url":"https://a/1.png","size":"720x480"})", "1214"},
      {R"({"model":"vidu2-start-end","image_url":["https://a/1.png"],"size":"480x360"})", ""},
      {R"({"model":"vidu2-reference","image_url":["https://a/1","https://a/2","https://a/3","https://a/4"]})", "1214"},
      {R"({"model":"viduq1-start-end","image_url":["https://a/1.png"]})", "1214"},
      {R"({"model":"vidu2-image","image_url":"https://a/1.png","fps":30})", "1214"},
      {R"({"model":"vidu2-image","image_url":"https://a/1.png","movement_amplitude":"huge"})", "1214"},
      {R"({"model":"cogvideox-3","prompt":"éééé"})", ""},
  };
  for (const auto& r : rows) {
    auto result = validate_bigmodel(json::parse(r.body), rules);
    const auto* err = std::get_if<api_error>(&result);
    EXPECT_EQ(err ? err->code : "", r.code) << r.body << (err ? " -> " + err->message : "");
  }
  // 512 characters, not bytes (API.md §11.3).
  std::string long_cn;
  for (int i = 0; i < 512; ++i) long_cn += "猫";
  EXPECT_TRUE(std::holds_alternative<task_spec>(
      validate_bigmodel(json::object{{"model", "cogvideox-3"}, {"prompt", long_cn}}, rules)));
  EXPECT_EQ(std::get<api_error>(validate_bigmodel(json::object{{"model", "cogvideox-3"}, {"prompt", long_cn + "猫"}}, rules)).code,
            "1261");
}

}  // namespace

namespace {

TEST(SimCore, ExampleConfigLoadsAndEqualsTheDefaults) {
  std::string why;
  auto cfg = load_sim_config(std::string(VIDQ_SOURCE_DIR) + "/config/sim.example.toml", &why);
  ASSERT_TRUE(cfg) << why;
  const sim_config d = default_sim_config();
  EXPECT_EQ(json::serialize(to_json(cfg->faults)), json::serialize(to_json(d.faults)));
  ASSERT_EQ(cfg->keys.size(), d.keys.size());
  for (std::size_t i = 0; i < d.keys.size(); ++i) {
    EXPECT_EQ(cfg->keys[i].key, d.keys[i].key);
    EXPECT_EQ(cfg->keys[i].cap, d.keys[i].cap);
    EXPECT_EQ(cfg->keys[i].balance, d.keys[i].balance);
  }
  EXPECT_EQ(cfg->prices, d.prices);
  EXPECT_EQ(cfg->durations.size(), d.durations.size());
  EXPECT_EQ(cfg->url_ttl_ms, d.url_ttl_ms);
}

TEST(SimCore, ConfigTyposAreErrors) {
  const auto path = std::filesystem::temp_directory_path() / ("vidq-sim-bad-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << "time_scale = 1\n[faults]\nsubmit_5xxx = 0.1\n";
  std::string why;
  auto cfg = load_sim_config(path, &why);
  std::filesystem::remove(path);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error(), vidq::make_error_code(vidq::errc::config_error));
  EXPECT_NE(why.find("submit_5xxx"), std::string::npos) << why;
}

}  // namespace
