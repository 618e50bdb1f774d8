// `vidq sim` as a process: the ready line, a real request, SIGTERM -> exit 0; ffprobe on the MP4.
#include "support/sim_https_client.hpp"
#include "support/temp_dir.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace json = boost::json;

struct child {
  pid_t pid = -1;
  FILE* out = nullptr;
};

child spawn_sim(const vidq::test::temp_dir& dir) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const std::string tls = (dir.path() / "tls").string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(VIDQ_BINARY, VIDQ_BINARY, "sim", "--tls-dir", tls.c_str(), "--time-scale", "0.0001", "--no-faults",
            "--seed", "3", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, ::fdopen(fds[0], "r")};
}

TEST(SimCli, HelpWorks) {
  const int rc = std::system((std::string(VIDQ_BINARY) + " sim --help > /dev/null").c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 0);
  const int bad = std::system((std::string(VIDQ_BINARY) + " sim --listen nonsense 2> /dev/null").c_str());
  EXPECT_EQ(WEXITSTATUS(bad), 2);
}

TEST(SimCli, ServesUntilSigtermThenExitsZeroAndTheMp4IsValid) {
  vidq::test::temp_dir dir;
  child c = spawn_sim(dir);
  ASSERT_GT(c.pid, 0);
  char line[1024] = {};
  ASSERT_NE(std::fgets(line, sizeof line, c.out), nullptr);
  const json::value ready = json::parse(line);
  EXPECT_EQ(ready.at("event"), "listening");
  const auto port = static_cast<unsigned short>(ready.at("port").as_int64());
  vidq::test::sim_https_client http(port, std::string(ready.at("ca_file").as_string()));
  auto r = http.post("/api/paas/v4/videos/generations", "sim-key-v0-0000000000000000",
                     json::object{{"model", "cogvideox-3"}, {"prompt", "a cat"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id(r.json().at("id").as_string());
  json::value done;
  for (int i = 0; i < 200; ++i) {
    done = http.get("/api/paas/v4/async-result/" + id, "sim-key-v0-0000000000000000").json();
    if (done.at("task_status") != "PROCESSING") break;
    ::usleep(20'000);
  }
  ASSERT_EQ(done.at("task_status"), "SUCCESS");
  const std::string url(done.at("video_result").at(0).at("url").as_string());
  auto video = http.get(url.substr(url.find('/', 8)));
  ASSERT_EQ(video.status, 200);

  ::kill(c.pid, SIGTERM);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  std::fclose(c.out);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  if (std::system("command -v ffprobe > /dev/null 2>&1") != 0) GTEST_SKIP() << "ffprobe is not installed";
  const auto file = dir.path() / "video.mp4";
  std::ofstream(file, std::ios::binary) << video.body;
  const std::string cmd = "ffprobe -v error -show_entries stream=codec_name -of csv=p=0 '" + file.string() + "'";
  FILE* probe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(probe, nullptr);
  char codec[64] = {};
  const bool got = std::fgets(codec, sizeof codec, probe) != nullptr;
  EXPECT_EQ(::pclose(probe), 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(codec), "h264\n");
}

}  // namespace
