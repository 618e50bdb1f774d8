// Each fault knob of the simulator, forced to probability 1 through POST /__sim/faults.
#include "support/sim_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>

namespace {

namespace json = boost::json;
using vidq::test::sim_fixture;
using vidq::test::sim_v0;

constexpr const char* submit_path = "/api/paas/v4/videos/generations";
const json::object cat{{"model", "cogvideox-3"}, {"prompt", "a cat"}};

class SimFaults : public ::testing::Test {
 protected:
  vidq::manual_clock clock_;
  sim_fixture sim_{clock_};
  vidq::test::sim_https_client http_ = sim_.client();

  void set(const std::string& patch) { ASSERT_EQ(http_.request("POST", "/__sim/faults", patch).status, 200) << patch; }
  std::uint64_t created() { return sim_.sim().stats(false).at("tasks_created").to_number<std::uint64_t>(); }
  std::string finished_url() {
    auto r = http_.post(submit_path, sim_v0, cat);
    const std::string id(r.json().at("id").as_string());
    clock_.advance(20'000);
    const json::value v = http_.get("/api/paas/v4/async-result/" + id, sim_v0).json();
    const std::string url(v.at("video_result").at(0).at("url").as_string());
    return url.substr(url.find('/', 8));
  }
};

TEST_F(SimFaults, Submit5xxCreatesNothing) {
  set(R"({"submit_5xx":1})");
  auto r = http_.post(submit_path, sim_v0, cat);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(created(), 0u);
}

TEST_F(SimFaults, Submit1305) {
  set(R"({"submit_1305":1})");
  auto r = http_.post(submit_path, sim_v0, cat);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.json().at("error").at("code"), "1305");
}

TEST_F(SimFaults, CloseAfterCreateIsAmbiguous) {
  set(R"({"submit_close_after_create":1})");
  auto r = http_.post(submit_path, sim_v0, cat);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(created(), 1u);  // the task exists although the client saw no reply
}

TEST_F(SimFaults, PollFaults) {
  const std::string id(http_.post(submit_path, sim_v0, cat).json().at("id").as_string());
  set(R"({"poll_5xx":1})");
  EXPECT_EQ(http_.get("/api/paas/v4/async-result/" + id, sim_v0).status, 500);
  set(R"({"poll_5xx":0,"poll_404_early":1,"poll_404_window_ms":3000})");
  const std::string early(http_.post(submit_path, sim_v0, cat).json().at("id").as_string());
  EXPECT_EQ(http_.get("/api/paas/v4/async-result/" + early, sim_v0).status, 404);
  clock_.advance(3'000);
  EXPECT_EQ(http_.get("/api/paas/v4/async-result/" + early, sim_v0).status, 200);
}

TEST_F(SimFaults, SlowReply) {
  set(R"({"slow_reply":1,"slow_reply_ms":300})");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(http_.post(submit_path, sim_v0, cat).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST_F(SimFaults, ResetMalformedAndWrongContentType) {
  set(R"({"reset":1})");
  auto reset = http_.post(submit_path, sim_v0, cat);
  EXPECT_TRUE(reset.error);
  set(R"({"reset":0,"malformed_json":1})");
  auto bad = http_.post(submit_path, sim_v0, cat);
  EXPECT_EQ(bad.status, 200);
  EXPECT_TRUE(bad.json().is_null()) << bad.body;
  set(R"({"malformed_json":0,"wrong_content_type":1})");
  auto html = http_.post(submit_path, sim_v0, cat);
  EXPECT_EQ(html.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_TRUE(html.json().is_object());
}

TEST_F(SimFaults, TaskFailAndStuck) {
  set(R"({"task_fail":1})");
  const std::string failed(http_.post(submit_path, sim_v0, cat).json().at("id").as_string());
  set(R"({"task_fail":0,"task_stuck":1})");
  const std::string stuck(http_.post(submit_path, sim_v0, cat).json().at("id").as_string());
  clock_.advance(1'000'000'000);
  EXPECT_EQ(http_.get("/api/paas/v4/async-result/" + failed, sim_v0).json().at("task_status"), "FAIL");
  EXPECT_EQ(http_.get("/api/paas/v4/async-result/" + stuck, sim_v0).json().at("task_status"), "PROCESSING");
  const auto stats = sim_.sim().stats(false);
  EXPECT_EQ(stats.at("slots").at(0).at("in_flight"), 1);  // the stuck task keeps its slot
}

TEST_F(SimFaults, DownloadFaults) {
  const std::string url = finished_url();
  set(R"({"download_5xx":1})");
  EXPECT_EQ(http_.get(url).status, 503);
  set(R"({"download_5xx":0,"download_truncate":1})");
  auto cut = http_.get(url);
  EXPECT_TRUE(cut.error);  // Content-Length promised more than arrived
  const auto stats = sim_.stats_when([](const boost::json::object& s) { return s.at("downloads").at("interrupted") == 1; });
  EXPECT_EQ(stats.at("downloads").at("interrupted"), 1);
  set(R"({"preset":"none"})");
  EXPECT_EQ(http_.get(url).status, 200);
}

TEST_F(SimFaults, BadPatchIsRejectedWhole) {
  EXPECT_EQ(http_.request("POST", "/__sim/faults", R"({"reset":0.5,"nonsense":1})").status, 400);
  EXPECT_EQ(http_.request("POST", "/__sim/faults", R"({"reset":2})").status, 400);
  EXPECT_EQ(http_.get("/__sim/faults").json().at("reset"), 0.0);
}

}  // namespace
