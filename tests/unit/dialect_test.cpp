#include "vidq/provider/dialect.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <map>

namespace vidq::provider {
namespace {

namespace json = boost::json;
using kind = transport_outcome::kind;

const std::string png_bytes = std::string("\x89PNG\r\n\x1a\n", 8) + "rest-of-png";
const std::string jpeg_bytes = std::string("\xFF\xD8\xFF\xE0", 4) + "jfif";

// A fake file system: the only I/O of the dialect, injected.
image_reader fake_files(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const std::string& path, std::size_t max_bytes) -> result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return make_error_code(errc::not_found);
    if (it->second.size() > max_bytes) return make_error_code(errc::invalid_argument);
    return it->second;
  };
}

json::object body_of(const std::variant<http_request, build_error>& r) {
  if (auto* e = std::get_if<build_error>(&r)) ADD_FAILURE() << e->message;
  return json::parse(std::get<http_request>(r).body).as_object();
}

std::string header(const http_request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

classify_context ctx() { return {ops::provider_kind::bigmodel, 1'700'000'000'000, std::nullopt, 300'000, false}; }
transport_outcome ok(std::string body) { return {kind::response, 200, std::move(body), std::nullopt, ""}; }

TEST(Dialect, BigModelSubmitBody) {
  job_spec spec{"cogvideox-3", "a red sneaker", {"https://e.com/a.png"},
                {{"quality", "quality"}, {"size", "1920x1080"}, {"fps", 60}, {"with_audio", true},
                 {"request_id", "user-tried-to-set-it"}}};
  const auto r = build_submit(provider_kind::bigmodel, spec, "vidq-42-abc");
  const auto& req = std::get<http_request>(r);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/videos/generations");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  EXPECT_EQ(header(req, "Authorization"), "");
  EXPECT_EQ(header(req, "Accept-Language"), "");
  const auto b = body_of(r);
  EXPECT_EQ(b.at("model"), "cogvideox-3");
  EXPECT_EQ(b.at("prompt"), "a red sneaker");
  EXPECT_EQ(b.at("image_url"), "https://e.com/a.png");  // one image: a string
  EXPECT_EQ(b.at("request_id"), "vidq-42-abc");          // vidq's, never the caller's
  EXPECT_EQ(b.at("quality"), "quality");
  EXPECT_EQ(b.at("fps"), 60);
  EXPECT_EQ(b.at("with_audio"), true);
}

TEST(Dialect, ZaiAddsAcceptLanguage) {
  job_spec spec{"cogvideox-3", "x", {}, {}};
  const auto r = build_submit(provider_kind::zai, spec, "rid");
  EXPECT_EQ(header(std::get<http_request>(r), "Accept-Language"), "en-US,en");
  EXPECT_EQ(header(build_poll(provider_kind::zai, "1"), "Accept-Language"), "en-US,en");
  EXPECT_EQ(body_of(r).at("model"), "cogvideox-3");
}

TEST(Dialect, ImageArraysFollowTheModel) {
  const auto first_last = body_of(build_submit(provider_kind::bigmodel,
                                               {"cogvideox-3", "", {"https://e.com/a.png", "https://e.com/b.png"}, {}}, "r"));
  EXPECT_TRUE(first_last.at("image_url").is_array());
  const auto start_end = body_of(build_submit(provider_kind::bigmodel,
                                              {"vidu2-start-end", "", {"https://e.com/a.png", "https://e.com/b.png"}, {}}, "r"));
  EXPECT_EQ(start_end.at("image_url").as_array().size(), 2u);
  // vidu2-reference takes an array even for one image (OAS-CN).
  const auto ref = body_of(build_submit(provider_kind::bigmodel, {"vidu2-reference", "x", {"https://e.com/a.png"}, {}}, "r"));
  EXPECT_TRUE(ref.at("image_url").is_array());
  const auto single = body_of(build_submit(provider_kind::bigmodel, {"vidu2-image", "", {"https://e.com/a.png"}, {}}, "r"));
  EXPECT_TRUE(single.at("image_url").is_string());
}

TEST(Dialect, LocalImagesBecomeDataUris) {
  const auto files = fake_files({{"/in/a.png", png_bytes}, {"/in/b.jpg", jpeg_bytes}, {"/in/c.txt", "hello"}});
  const auto b = body_of(build_submit(provider_kind::bigmodel, {"cogvideox-3", "", {"/in/a.png", "/in/b.jpg"}, {}}, "r", files));
  const auto& arr = b.at("image_url").as_array();
  // base64 of the PNG bytes, with the content type from the magic bytes, not the name.
  EXPECT_EQ(arr[0], "data:image/png;base64,iVBORw0KGgpyZXN0LW9mLXBuZw==");
  EXPECT_EQ(arr[1], "data:image/jpeg;base64,/9j/4GpmaWY=");

  auto missing = build_submit(provider_kind::bigmodel, {"cogvideox-3", "", {"/in/nope.png"}, {}}, "r", files);
  ASSERT_TRUE(std::holds_alternative<build_error>(missing));
  EXPECT_EQ(std::get<build_error>(missing).error_code, "image_unreadable");
  EXPECT_NE(std::get<build_error>(missing).message.find("image_url"), std::string::npos);
  auto text = build_submit(provider_kind::bigmodel, {"cogvideox-3", "", {"/in/c.txt"}, {}}, "r", files);
  EXPECT_EQ(std::get<build_error>(text).error_code, "invalid_request");
  const auto big = fake_files({{"/in/big.png", png_bytes + std::string(5 * 1024 * 1024, 'x')}});
  auto too_big = build_submit(provider_kind::bigmodel, {"cogvideox-3", "", {"/in/big.png"}, {}}, "r", big);
  EXPECT_EQ(std::get<build_error>(too_big).error_code, "invalid_request");
  // Vidu allows 50 MB.
  EXPECT_TRUE(std::holds_alternative<http_request>(
      build_submit(provider_kind::bigmodel, {"vidu2-image", "", {"/in/big.png"}, {}}, "r", big)));
}

TEST(Dialect, GeekAiSubmitBody) {
  const auto b = body_of(build_submit(provider_kind::geekai,
                                      {"vidu2-start-end", "p", {"https://e.com/a.png", "https://e.com/b.png"},
                                       {{"movement_amplitude", "large"}, {"with_audio", true}}},
                                      "rid"));
  EXPECT_EQ(b.at("async"), true);
  EXPECT_EQ(b.at("image"), "https://e.com/a.png");
  EXPECT_EQ(b.at("image_tail"), "https://e.com/b.png");
  EXPECT_FALSE(b.contains("image_url"));
  EXPECT_FALSE(b.contains("movement_amplitude"));
  EXPECT_EQ(b.at("extra_body").at("movement_amplitude"), "large");
  EXPECT_EQ(b.at("with_audio"), true);

  const auto wm = body_of(build_submit(provider_kind::geekai,
                                       {"cogvideox-3", "p", {"https://e.com/a.png"}, {{"watermark_enabled", false}, {"duration", 10}}},
                                       "rid"));
  EXPECT_EQ(wm.at("watermark"), false);
  EXPECT_FALSE(wm.contains("watermark_enabled"));
  EXPECT_EQ(wm.at("duration"), 10);  // cogvideox-3 takes duration on GeekAI

  const auto ref = body_of(build_submit(provider_kind::geekai,
                                        {"vidu2-reference", "p", {"https://e.com/1.png", "https://e.com/2.png", "https://e.com/3.png"}, {}},
                                        "rid"));
  EXPECT_EQ(ref.at("extra_body").at("image_list").as_array().size(), 3u);

  // What GeekAI cannot do fails the job with a reason instead of a provider 400.
  auto tail = build_submit(provider_kind::geekai, {"cogvideox-3", "", {"https://e.com/a.png", "https://e.com/b.png"}, {}}, "r");
  EXPECT_EQ(std::get<build_error>(tail).error_code, "invalid_request");
  auto dur = build_submit(provider_kind::geekai, {"cogvideox-2", "x", {}, {{"duration", 10}}}, "r");
  EXPECT_NE(std::get<build_error>(dur).message.find("duration"), std::string::npos);
  EXPECT_FALSE(body_of(build_submit(provider_kind::geekai, {"cogvideox-2", "x", {}, {{"duration", 5}}}, "r")).contains("duration"));
}

TEST(Dialect, PollPaths) {
  EXPECT_EQ(build_poll(provider_kind::bigmodel, "8868902201637896192").path, "/async-result/8868902201637896192");
  EXPECT_EQ(build_poll(provider_kind::geekai, "ab-12").path, "/video/ab-12/result");
  EXPECT_EQ(build_poll(provider_kind::bigmodel, "../x?y").path, "/async-result/..%2Fx%3Fy");
  EXPECT_EQ(build_poll(provider_kind::bigmodel, "1").method, "GET");
}

TEST(Dialect, SubmitReplies) {
  auto accepted = interpret_submit(provider_kind::bigmodel,
                                   ok(R"({"model":"cogvideox-2","id":"8868902201637896192","request_id":"654321","task_status":"PROCESSING"})"),
                                   ctx());
  ASSERT_TRUE(std::holds_alternative<submit_accepted>(accepted));
  EXPECT_EQ(std::get<submit_accepted>(accepted).task_id, "8868902201637896192");
  EXPECT_EQ(std::get<submit_accepted>(accepted).request_id, "654321");
  auto gk = interpret_submit(provider_kind::geekai, ok(R"({"model":"vidu2-image","task_id":"t-1","task_status":"running"})"), ctx());
  EXPECT_EQ(std::get<submit_accepted>(gk).task_id, "t-1");
  auto numeric = interpret_submit(provider_kind::bigmodel, ok(R"({"id":12345,"task_status":"PROCESSING"})"), ctx());
  EXPECT_EQ(std::get<submit_accepted>(numeric).task_id, "12345");

  // A reply cut in half after the id arrived: the id is complete, keep the task.
  auto cut = interpret_submit(provider_kind::bigmodel, ok(R"({"model":"cogvideox-3","id":"88689022","request_id":"vid)"), ctx());
  ASSERT_TRUE(std::holds_alternative<submit_accepted>(cut));
  EXPECT_EQ(std::get<submit_accepted>(cut).task_id, "88689022");
  // Cut inside the id, or only request_id present: ambiguous, never a guessed id.
  for (std::string body : {R"({"model":"cogvideox-3","id":"886)", R"({"request_id":"r1","model")", "", "[1,2]", "{}",
                           R"({"model":"x","request_id":"abc"})"}) {
    auto r = interpret_submit(provider_kind::bigmodel, ok(body), ctx());
    ASSERT_TRUE(std::holds_alternative<verdict>(r)) << body;
    EXPECT_EQ(std::get<verdict>(r).what, action::ambiguous) << body;
  }
  // Non-2xx replies go through the classifier.
  auto rejected = interpret_submit(provider_kind::bigmodel,
                                   {kind::response, 400, R"({"error":{"code":"1301","message":"unsafe"}})", {}, ""}, ctx());
  EXPECT_EQ(std::get<verdict>(rejected).error_code, "1301");
  // A 200 that carries an error and no task: the provider's answer, classified.
  auto embedded = interpret_submit(provider_kind::geekai, ok(R"({"error":{"code":"1302","message":"busy"}})"), ctx());
  EXPECT_EQ(std::get<verdict>(embedded).hint, retry_hint::rate_limited);
}

TEST(Dialect, PollReplies) {
  auto running = interpret_poll(provider_kind::bigmodel, ok(R"({"task_status":"PROCESSING","model":"m"})"), ctx());
  EXPECT_TRUE(std::holds_alternative<task_running>(running));
  EXPECT_TRUE(std::holds_alternative<task_running>(interpret_poll(provider_kind::bigmodel, ok(R"({"task_status":"SUBMITTED"})"), ctx())));
  auto gk_running = interpret_poll(provider_kind::geekai, ok(R"({"task_status":"running","progress":42})"), ctx());
  EXPECT_EQ(std::get<task_running>(gk_running).progress, 42);

  auto done = interpret_poll(
      provider_kind::bigmodel,
      ok(R"({"task_status":"SUCCESS","video_result":[{"url":"https://f/v.mp4","cover_image_url":"https://f/c.png"}]})"), ctx());
  ASSERT_TRUE(std::holds_alternative<task_succeeded>(done));
  EXPECT_EQ(std::get<task_succeeded>(done).video_url, "https://f/v.mp4");
  EXPECT_EQ(std::get<task_succeeded>(done).cover_url, "https://f/c.png");
  for (std::string word : {"succeed", "success", "SUCCEEDED"}) {
    auto gk_obj = interpret_poll(provider_kind::geekai,
                                 ok(R"({"task_status":")" + word + R"(","video_result":{"url":"https://f/v.mp4","duration":4}})"), ctx());
    ASSERT_TRUE(std::holds_alternative<task_succeeded>(gk_obj)) << word;
    EXPECT_EQ(std::get<task_succeeded>(gk_obj).cover_url, "");
  }
  auto gk_arr = interpret_poll(provider_kind::geekai, ok(R"({"task_status":"succeed","video_result":[{"id":"x","url":"https://f/v.mp4"}]})"), ctx());
  EXPECT_EQ(std::get<task_succeeded>(gk_arr).video_url, "https://f/v.mp4");
  // SUCCESS without a URL: poll again, do not fail a paid video.
  auto no_url = interpret_poll(provider_kind::bigmodel, ok(R"({"task_status":"SUCCESS","video_result":[]})"), ctx());
  EXPECT_EQ(std::get<verdict>(no_url).what, action::retry);

  auto fail = interpret_poll(provider_kind::bigmodel, ok(R"({"task_status":"FAIL"})"), ctx());
  EXPECT_EQ(std::get<task_failed>(fail).error_code, "task_failed");
  auto gk_fail = interpret_poll(provider_kind::geekai,
                                ok(R"({"task_status":"failed","error":{"code":"1301","message":"output moderation"}})"), ctx());
  EXPECT_EQ(std::get<task_failed>(gk_fail).error_code, "1301");
  EXPECT_EQ(std::get<task_failed>(gk_fail).message, "output moderation");

  for (std::string body : {R"({"task_status":"PROCES)", "<html>", R"({"task_status":"WEIRD"})", R"({"task_status":7})"}) {
    auto r = interpret_poll(provider_kind::bigmodel, ok(body), ctx());
    ASSERT_TRUE(std::holds_alternative<verdict>(r)) << body;
    EXPECT_EQ(std::get<verdict>(r).what, action::retry) << body;
  }
  auto err = interpret_poll(provider_kind::bigmodel, {kind::response, 500, "oops", {}, ""}, ctx());
  EXPECT_EQ(std::get<verdict>(err).what, action::retry);
}

TEST(Dialect, StatusVocabulary) {
  EXPECT_EQ(parse_task_status("processing"), task_phase::running);
  EXPECT_EQ(parse_task_status("pending"), task_phase::running);
  EXPECT_EQ(parse_task_status("Success"), task_phase::succeeded);
  EXPECT_EQ(parse_task_status("FAILED"), task_phase::failed);
  EXPECT_EQ(parse_task_status(""), task_phase::unknown);
}

}  // namespace
}  // namespace vidq::provider
