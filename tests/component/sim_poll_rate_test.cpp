// Per-key poll counts and peak poll rates: the sliding window itself, then polls_by_key in
// GET /__sim/stats after polls at chosen times of a manual clock.
#include "vidq/sim/simulator.hpp"
#include "vidq/sim/sliding_peak.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

namespace {

namespace json = boost::json;
using namespace vidq::sim;

TEST(SimPollRate, PeakIsTheBusiestWindowEndingAtAnEvent) {
  sliding_peak p(1000);
  for (vidq::millis t = 0; t <= 900; t += 100) p.add(t);
  EXPECT_EQ(p.peak(), 10u);
  // The window ending at 1000 is [1, 1000]: the event at 0 has left it.
  p.add(1000);
  EXPECT_EQ(p.peak(), 10u);
  p.add(1000);
  EXPECT_EQ(p.peak(), 11u);
  // A quiet stretch lowers the current count, never the peak.
  p.add(5000);
  EXPECT_EQ(p.peak(), 11u);
}

TEST(SimPollRate, EventsOneWindowApartNeverShareAWindow) {
  sliding_peak p(1000);
  for (vidq::millis t = 0; t <= 10'000; t += 1000) p.add(t);
  EXPECT_EQ(p.peak(), 1u);
  p.add(10'999);
  EXPECT_EQ(p.peak(), 2u);
}

TEST(SimPollRate, ClockSteppingBackCountsAsTheLatestTime) {
  sliding_peak p(1000);
  p.add(5000);
  p.add(4000);  // taken as 5000: it must not evict the event at 5000
  p.add(5999);
  EXPECT_EQ(p.peak(), 3u);
}

TEST(SimPollRate, WindowIsAtLeastOneMillisecond) {
  sliding_peak p(0);
  EXPECT_EQ(p.window_ms(), 1);
  p.add(7);
  p.add(7);
  p.add(8);
  EXPECT_EQ(p.peak(), 2u);
}

const std::string v0 = "Bearer sim-key-v0-0000000000000000";
const std::string v1 = "Bearer sim-key-v1-1111111111111111";

class SimPollRateStats : public ::testing::Test {
 protected:
  vidq::manual_clock clock_;
  std::string task_id_;

  simulator make(double time_scale) {
    sim_config cfg = default_sim_config();
    cfg.faults = fault_rates::none();
    cfg.time_scale = time_scale;
    return simulator(cfg, clock_);
  }
  static int poll(simulator& sim, const std::string& path, const std::string& auth) {
    return sim.handle({"GET", path, auth, "", ""}).status;
  }
  static json::object polls_by_key(simulator& sim) {
    const reply r = sim.handle({"GET", "/__sim/stats?tasks=0", "", "", ""});
    EXPECT_EQ(r.status, 200);
    return json::parse(r.body).at("polls_by_key").as_object();
  }
  static std::uint64_t field(const json::object& by_key, const char* key, const char* name) {
    return by_key.at(key).at(name).to_number<std::uint64_t>();
  }
};

TEST_F(SimPollRateStats, CountsEachKeysPollsAndPeaksInBothWindows) {
  // time_scale 0.01: the scaled second is 10 ms of the simulator's clock.
  simulator sim = make(0.01);
  const reply created =
      sim.handle({"POST", "/api/paas/v4/videos/generations", v0, "", R"({"model":"cogvideox-3","prompt":"a cat"})"});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string bm = "/api/paas/v4/async-result/" + std::string(json::parse(created.body).at("id").as_string());
  const vidq::millis t0 = clock_.now();

  for (vidq::millis at : {0, 5, 9}) {
    clock_.set(t0 + at);
    EXPECT_EQ(poll(sim, bm, v0), 200);
  }
  clock_.set(t0 + 600);
  EXPECT_EQ(poll(sim, bm, v0), 200);
  clock_.set(t0 + 1000);  // the second ending here is [t0+1, t0+1000]: 5, 9, 600 and these two
  EXPECT_EQ(poll(sim, bm, v0), 200);
  EXPECT_EQ(poll(sim, bm, v0), 200);

  // v1 asks for v0's task (404) and for an unknown GeekAI task: both are polls v1 made.
  EXPECT_EQ(poll(sim, bm, v1), 404);
  EXPECT_EQ(poll(sim, "/api/v1/videos/no-such-task", v1), 404);
  // Rejected credentials are nobody's polls.
  EXPECT_EQ(poll(sim, bm, "Bearer not-a-key"), 401);
  EXPECT_EQ(poll(sim, bm, ""), 401);

  const json::object by_key = polls_by_key(sim);
  EXPECT_EQ(field(by_key, "v0", "polls"), 6u);
  EXPECT_EQ(field(by_key, "v0", "peak_polls_per_second"), 5u);
  EXPECT_EQ(field(by_key, "v0", "peak_polls_per_scaled_second"), 3u);  // 0, 5 and 9
  EXPECT_EQ(field(by_key, "v1", "polls"), 2u);
  EXPECT_EQ(field(by_key, "v1", "peak_polls_per_second"), 2u);
  EXPECT_EQ(field(by_key, "v1", "peak_polls_per_scaled_second"), 2u);
  EXPECT_EQ(by_key.size(), 2u) << json::serialize(by_key);                // keys that never polled are absent
  EXPECT_EQ(json::serialize(by_key).find("sim-key"), std::string::npos);  // labels, never credentials
}

TEST_F(SimPollRateStats, InjectedPollErrorsStillCount) {
  simulator sim = make(1.0);
  json::object always{{"poll_5xx", 1.0}};
  ASSERT_TRUE(sim.set_faults(always, nullptr));
  const reply created =
      sim.handle({"POST", "/api/paas/v4/videos/generations", v0, "", R"({"model":"cogvideox-3","prompt":"a cat"})"});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string bm = "/api/paas/v4/async-result/" + std::string(json::parse(created.body).at("id").as_string());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(poll(sim, bm, v0), 500);
    clock_.advance(250);
  }
  const json::object by_key = polls_by_key(sim);
  EXPECT_EQ(field(by_key, "v0", "polls"), 4u);
  // At time_scale 1 both windows are the same second: 0, 250, 500 and 750.
  EXPECT_EQ(field(by_key, "v0", "peak_polls_per_second"), 4u);
  EXPECT_EQ(field(by_key, "v0", "peak_polls_per_scaled_second"), 4u);
}

}  // namespace
