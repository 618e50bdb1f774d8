// The simulator over real HTTPS (API.md §2-§5, §9): shapes, codes, caps, files, admin.
#include "support/sim_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

namespace {

namespace json = boost::json;
using vidq::test::sim_fixture;
using vidq::test::sim_poor;
using vidq::test::sim_v0;

constexpr const char* submit_path = "/api/paas/v4/videos/generations";

std::string sha256_hex(const std::string& data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) out += {hex[md[i] >> 4], hex[md[i] & 15]};
  return out;
}

std::string code_of(const vidq::test::sim_response& r) {
  const auto v = r.json();
  if (!v.is_object() || !v.as_object().contains("error")) return "";
  return std::string(v.at("error").at("code").as_string());
}

std::string path_of(std::string_view url) { return std::string(url.substr(url.find('/', 8))); }

class SimServer : public ::testing::Test {
 protected:
  vidq::manual_clock clock_;
  sim_fixture sim_{clock_};
  vidq::test::sim_https_client http_ = sim_.client();

  std::string submit_ok(const char* key = sim_v0, const char* model = "cogvideox-3") {
    auto r = http_.post(submit_path, key, json::object{{"model", model}, {"prompt", "a cat"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(r.json().at("id").as_string());
  }
  // 20 s at time_scale 0.001 is 5.5 simulated hours: every task is done, no URL expired yet.
  void finish_everything() { clock_.advance(20'000); }
};

TEST_F(SimServer, BigModelSubmitPollDownloadShapes) {
  auto r = http_.post(submit_path, sim_v0, json::object{{"model", "cogvideox-2"}, {"prompt", "a cat"}, {"request_id", "rid-1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  const auto sub = r.json().as_object();
  EXPECT_EQ(sub.at("model"), "cogvideox-2");
  EXPECT_EQ(sub.at("request_id"), "rid-1");
  EXPECT_EQ(sub.at("task_status"), "PROCESSING");
  const std::string id(sub.at("id").as_string());
  EXPECT_EQ(id.size(), 19u);

  auto p = http_.get("/api/paas/v4/async-result/" + id, sim_v0);
  ASSERT_EQ(p.status, 200);
  EXPECT_EQ(p.json().at("task_status"), "PROCESSING");
  EXPECT_FALSE(p.json().as_object().contains("video_result"));
  EXPECT_FALSE(p.json().as_object().contains("id"));  // API.md §4: the query schema has no id

  finish_everything();
  p = http_.get("/api/paas/v4/async-result/" + id, sim_v0);
  ASSERT_EQ(p.json().at("task_status"), "SUCCESS") << p.body;
  EXPECT_EQ(p.json().at("request_id"), "rid-1");
  const json::value pj = p.json();
  const auto& result = pj.at("video_result").as_array().at(0).as_object();
  const std::string url(result.at("url").as_string());
  EXPECT_TRUE(url.starts_with("https://127.0.0.1:" + std::to_string(sim_.port()) + "/")) << url;

  auto video = http_.get(path_of(url));
  ASSERT_EQ(video.status, 200);
  EXPECT_EQ(video.headers["content-type"], "video/mp4");
  EXPECT_EQ(video.body.substr(4, 4), "ftyp");
  auto cover = http_.get(path_of(result.at("cover_image_url").as_string()));
  ASSERT_EQ(cover.status, 200);
  EXPECT_EQ(cover.body.substr(1, 3), "PNG");

  const auto stats = sim_.stats_when([](const json::object& s) {
    return s.at("downloads").at("video_completed") == 1 && s.at("downloads").at("cover_completed") == 1;
  });
  const auto& task = stats.at("tasks").as_array().at(0).as_object();
  EXPECT_EQ(task.at("video_sha256"), sha256_hex(video.body).c_str());
  EXPECT_EQ(task.at("polls"), 2);
  EXPECT_EQ(stats.at("downloads").at("video_completed"), 1);
  EXPECT_EQ(stats.at("downloads").at("cover_completed"), 1);
}

TEST_F(SimServer, VideosDifferPerTask) {
  const std::string a = submit_ok(), b = submit_ok();
  finish_everything();
  auto url = [&](const std::string& id) {
    return path_of(http_.get("/api/paas/v4/async-result/" + id, sim_v0).json().at("video_result").at(0).at("url").as_string());
  };
  EXPECT_NE(sha256_hex(http_.get(url(a)).body), sha256_hex(http_.get(url(b)).body));
}

TEST_F(SimServer, AuthenticationErrors) {
  auto missing = http_.request("POST", submit_path, R"({"model":"cogvideox-3","prompt":"x"})");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(code_of(missing), "1001");
  auto wrong = http_.post(submit_path, "nope-nope-nope", json::object{{"model", "cogvideox-3"}, {"prompt", "x"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(code_of(wrong), "1000");
  auto bare = http_.request("POST", submit_path, R"({"model":"cogvideox-3","prompt":"x"})", {{"Authorization", sim_v0}});
  EXPECT_EQ(bare.status, 200);  // API.md §11.15: accepted by default (accept_bare_key)
  auto poll = http_.get("/api/paas/v4/async-result/123");
  EXPECT_EQ(poll.status, 401);
}

TEST_F(SimServer, ValidationCodesOverTheWire) {
  auto post = [&](const std::string& raw) {
    return http_.request("POST", submit_path, raw, {{"Authorization", std::string("Bearer ") + sim_v0}});
  };
  auto r = post("{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code_of(r), "1210");
  r = post(R"({"prompt":"x"})");
  EXPECT_EQ(code_of(r), "1213");
  r = post(R"({"model":"cogvideox-9","prompt":"x"})");
  EXPECT_EQ(code_of(r), "1211");
  r = post(R"({"model":"cogvideox-3","prompt":"x","fps":24})");
  EXPECT_EQ(code_of(r), "1214");
  r = post(R"({"model":"cogvideox-3","prompt":")" + std::string(513, 'a') + "\"}");
  EXPECT_EQ(code_of(r), "1261");
  r = post(R"({"model":"cogvideox-3","prompt":"a SIMFORBIDDEN cat"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code_of(r), "1301");
  EXPECT_TRUE(r.json().as_object().contains("contentFilter"));
  EXPECT_EQ(sim_.sim().stats().at("tasks_created"), 0);
}

TEST_F(SimServer, SixthConcurrentTaskOnV0Gets1302UntilOneFinishes) {
  for (int i = 0; i < 5; ++i) submit_ok();
  auto sixth = http_.post(submit_path, sim_v0, json::object{{"model", "cogvideox-3"}, {"prompt", "x"}});
  EXPECT_EQ(sixth.status, 429);
  EXPECT_EQ(code_of(sixth), "1302");
  // Another model has its own slots (API.md §7: per model and per tier).
  auto other = http_.post(submit_path, sim_v0, json::object{{"model", "cogvideox-2"}, {"prompt", "x"}});
  EXPECT_EQ(other.status, 200);
  // Nobody polls: the slots still free up when the tasks finish.
  finish_everything();
  EXPECT_EQ(http_.post(submit_path, sim_v0, json::object{{"model", "cogvideox-3"}, {"prompt", "x"}}).status, 200);
  const auto stats = sim_.sim().stats(false);
  EXPECT_EQ(stats.at("cap_rejections"), 1);
  bool seen = false;
  for (const auto& s : stats.at("slots").as_array()) {
    if (s.at("model") == "cogvideox-3") {
      EXPECT_EQ(s.at("peak_in_flight"), 5);
      EXPECT_EQ(s.at("cap"), 5);
      seen = true;
    }
  }
  EXPECT_TRUE(seen);
}

TEST_F(SimServer, BalanceExhaustedIs1113With429) {
  // "poor" has 2 CNY; cogvideox-3 costs 1 CNY per call (S002).
  submit_ok(sim_poor);
  submit_ok(sim_poor);
  auto third = http_.post(submit_path, sim_poor, json::object{{"model", "cogvideox-3"}, {"prompt", "x"}});
  EXPECT_EQ(third.status, 429);
  EXPECT_EQ(code_of(third), "1113");
  auto topup = http_.request("POST", "/__sim/balance", R"({"key":"poor","balance":5})");
  EXPECT_EQ(topup.status, 200);
  submit_ok(sim_poor);
}

TEST_F(SimServer, RangeHeadAndExpiry) {
  const std::string id = submit_ok();
  finish_everything();
  const std::string url =
      path_of(http_.get("/api/paas/v4/async-result/" + id, sim_v0).json().at("video_result").at(0).at("url").as_string());
  const auto full = http_.get(url);
  const std::size_t size = full.body.size();
  auto part = http_.request("GET", url, {}, {{"Range", "bytes=10-19"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, full.body.substr(10, 10));
  EXPECT_EQ(part.headers["content-range"], "bytes 10-19/" + std::to_string(size));
  auto tail = http_.request("GET", url, {}, {{"Range", "bytes=-5"}});
  EXPECT_EQ(tail.body, full.body.substr(size - 5));
  auto open = http_.request("GET", url, {}, {{"Range", "bytes=" + std::to_string(size - 3) + "-"}});
  EXPECT_EQ(open.body, full.body.substr(size - 3));
  auto bad = http_.request("GET", url, {}, {{"Range", "bytes=" + std::to_string(size) + "-"}});
  EXPECT_EQ(bad.status, 416);
  EXPECT_EQ(bad.headers["content-range"], "bytes */" + std::to_string(size));
  auto head = http_.request("HEAD", url);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], std::to_string(size));
  auto tampered = http_.get(url.substr(0, url.size() - 1) + (url.back() == '0' ? "1" : "0"));
  EXPECT_EQ(tampered.status, 404);

  clock_.advance(86'400);  // TTL 24 h scaled by 0.001 (from the finish, which is < 20 s ago)
  EXPECT_EQ(http_.get(url).status, 403);
  EXPECT_EQ(sim_.sim().stats(false).at("downloads").at("expired"), 1);
}

TEST_F(SimServer, UnknownAndForeignTaskIds) {
  const std::string id = submit_ok();
  auto foreign = http_.get("/api/paas/v4/async-result/" + id, "sim-key-v1-1111111111111111");
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(code_of(foreign), "1214");
  EXPECT_EQ(http_.get("/api/paas/v4/async-result/42", sim_v0).status, 404);
  EXPECT_EQ(http_.get("/nowhere").status, 404);
  EXPECT_EQ(http_.get(submit_path, sim_v0).status, 405);
}

TEST_F(SimServer, ForeignClientHoldsSlots) {
  auto held = http_.request("POST", "/__sim/hold", R"({"key":"v0","model":"cogvideox-3","count":4})");
  ASSERT_EQ(held.status, 200) << held.body;
  EXPECT_EQ(held.json().at("held"), 4);
  submit_ok();
  EXPECT_EQ(code_of(http_.post(submit_path, sim_v0, json::object{{"model", "cogvideox-3"}, {"prompt", "x"}})), "1302");
  EXPECT_EQ(http_.request("POST", "/__sim/release", R"({"key":"v0"})").json().at("released"), 4);
  submit_ok();
}

TEST_F(SimServer, DuplicateRequestIdsAreListed) {
  for (int i = 0; i < 2; ++i)
    http_.post(submit_path, sim_v0, json::object{{"model", "cogvideox-3"}, {"prompt", "x"}, {"request_id", "dup"}});
  http_.post(submit_path, sim_v0, json::object{{"model", "cogvideox-3"}, {"prompt", "x"}, {"request_id", "once"}});
  const auto stats = sim_.sim().stats(false);
  EXPECT_EQ(stats.at("duplicate_request_ids"), json::array{"dup"});
  EXPECT_EQ(stats.at("request_ids").at("dup").at("tasks"), 2);
  EXPECT_EQ(stats.at("request_ids").at("once").at("submissions"), 1);
  auto over_http = http_.get("/__sim/stats");
  EXPECT_EQ(over_http.status, 200);
  EXPECT_EQ(over_http.json().at("submissions"), 3);
}

}  // namespace
