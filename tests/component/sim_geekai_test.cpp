// The GeekAI dialect (API.md §9) over HTTPS.
#include "support/sim_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace {

namespace json = boost::json;
using vidq::test::sim_fixture;
using vidq::test::sim_v0;

constexpr const char* gk_submit = "/api/v1/videos/generations";

TEST(SimGeekAi, AsyncSubmitThenBothPollPaths) {
  vidq::manual_clock clock;
  sim_fixture sim(clock);
  auto http = sim.client();
  auto r = http.post(gk_submit, sim_v0,
                     json::object{{"model", "cogvideox-2"}, {"prompt", "x"}, {"async", true}, {"image", "https://e.x/a.png"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id(r.json().at("task_id").as_string());
  EXPECT_EQ(id.size(), 36u);  // UUID like the S004 example
  EXPECT_EQ(r.json().at("task_status"), "running");
  EXPECT_EQ(http.get("/api/v1/video/" + id + "/result", sim_v0).json().at("task_status"), "running");
  clock.advance(20'000);
  for (const std::string& path : {"/api/v1/video/" + id + "/result", "/api/v1/videos/" + id}) {
    auto p = http.get(path, sim_v0);
    ASSERT_EQ(p.status, 200) << path;
    const json::value v = p.json();
    EXPECT_EQ(v.at("task_status"), "succeed");
    EXPECT_EQ(v.at("progress"), 100);
    EXPECT_TRUE(v.at("video_result").at(0).as_object().contains("url"));
    EXPECT_EQ(v.at("video_result").at(0).at("id"), id.c_str());
  }
}

TEST(SimGeekAi, UnsupportedParametersAndStatuses) {
  vidq::manual_clock clock;
  sim_fixture sim(clock);
  auto http = sim.client();
  auto tail = http.post(gk_submit, sim_v0,
                        json::object{{"model", "cogvideox-2"}, {"prompt", "x"}, {"async", true}, {"image_tail", "https://e/a.png"}});
  EXPECT_EQ(tail.status, 400);
  auto dur = http.post(gk_submit, sim_v0, json::object{{"model", "cogvideox-flash"}, {"prompt", "x"}, {"duration", 5}});
  EXPECT_EQ(dur.status, 400);
  // Vidu start-end takes image + image_tail as its two frames.
  auto se = http.post(gk_submit, sim_v0,
                      json::object{{"model", "viduq1-start-end"}, {"async", true}, {"image", "https://e/a.png"},
                                   {"image_tail", "https://e/b.png"}});
  EXPECT_EQ(se.status, 200) << se.body;
  // Arrears is HTTP 402 on GeekAI.
  for (int i = 0; i < 2; ++i)
    http.post(gk_submit, vidq::test::sim_poor, json::object{{"model", "cogvideox-3"}, {"prompt", "x"}, {"async", true}});
  auto poor = http.post(gk_submit, vidq::test::sim_poor, json::object{{"model", "cogvideox-3"}, {"prompt", "x"}, {"async", true}});
  EXPECT_EQ(poor.status, 402);
  EXPECT_EQ(poor.json().at("error").at("code"), "1113");
}

TEST(SimGeekAi, SynchronousModeWaitsForTheVideo) {
  vidq::system_clock clock;
  auto cfg = sim_fixture::quiet_config();
  cfg.time_scale = 0.0005;  // 1-2 minutes of simulated generation take well under a second
  sim_fixture sim(clock, cfg);
  auto http = sim.client();
  // S004: no `async` field means the call returns the finished result.
  auto r = http.post(gk_submit, sim_v0, json::object{{"model", "cogvideox-flash"}, {"prompt", "x"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("task_status"), "succeed");
  EXPECT_TRUE(r.json().at("video_result").is_array());
}

}  // namespace
