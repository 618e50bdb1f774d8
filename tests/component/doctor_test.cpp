// `vidq doctor` against the in-process simulator: every check reported, exit codes, and the
// promise that matters most: the provider probe creates no task (the simulator counts).

#include "support/sim_fixture.hpp"
#include "support/temp_dir.hpp"
#include "vidq/net/tls_identity.hpp"
#include "vidq/ops/doctor.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>

namespace vidq {
namespace {

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

struct doctor_fixture : ::testing::Test {
  manual_clock clock;
  test::sim_fixture sim{clock};
  test::temp_dir dir;

  std::string base(const std::string& path = "/api/paas/v4") const {
    return "https://127.0.0.1:" + std::to_string(sim.port()) + path;
  }

  // Two accounts on the simulator, one per dialect; `extra` goes at the end of the file.
  void write_config(const std::string& ca_file, const std::string& bigmodel_url, const std::string& extra = "") {
    test::write_file(dir.path() / "vidq.toml",
                     "[database]\npath = \"vidq.db\"\n[output]\ndir = \"videos\"\n"
                     "[tls]\nca_file = \"" + ca_file + "\"\n"
                     "[[accounts]]\nname = \"main\"\nbase_url = \"" + bigmodel_url + "\"\n"
                     "api_key_env = \"VIDQ_DOCTOR_KEY\"\n"
                     "[[accounts]]\nname = \"proxy\"\nprovider = \"geekai\"\nbase_url = \"" + base("/api/v1") + "\"\n"
                     "api_key_env = \"VIDQ_DOCTOR_KEY\"\n" + extra);
  }

  test::command_result doctor(const std::string& key, const std::string& args = "") {
    return test::run_command("cd '" + dir.path().string() + "' && VIDQ_DOCTOR_KEY='" + key + "' '" VIDQ_BINARY
                             "' --config vidq.toml doctor --timeout 3 " + args);
  }

  std::int64_t stat(const char* name) { return sim.sim().stats(false).at(name).to_number<std::int64_t>(); }
};

TEST_F(doctor_fixture, AHealthySetupPassesEveryCheckWithoutCreatingATask) {
  write_config(sim.ca_file().string(), base());
  ASSERT_EQ(test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --config vidq.toml migrate").exit_code, 0);
  const auto polls_before = stat("polls");

  auto r = doctor(test::sim_v0);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  for (const char* line : {"ok    config ", "ok    database  ", "ok    database integrity         ok",
                           "ok    database schema            version ", "ok    database journal           wal",
                           "ok    output dir                 ", "(created on the first download)",
                           "ok    output free space          ", "MiB free, [output] min_free_mb = 100",
                           "ok    tls trust                  system trust store + ", "ok    account main key",
                           "loaded from environment variable VIDQ_DOCTOR_KEY", "ok    account main api",
                           "ok    account proxy key", "ok    account proxy api", "reachable, key accepted (a made-up task id got HTTP 404, code 1214"}) {
    EXPECT_TRUE(has(r.out, line)) << "missing: " << line << "\n" << r.out;
  }
  EXPECT_FALSE(has(r.out, "FAIL")) << r.out;
  EXPECT_FALSE(has(r.out, test::sim_v0)) << "the key was printed:\n" << r.out;
  // The probes reached the provider (one poll per account) and created nothing.
  EXPECT_EQ(stat("polls") - polls_before, 2);
  EXPECT_EQ(stat("submissions"), 0);
  EXPECT_EQ(stat("tasks_created"), 0);
}

TEST_F(doctor_fixture, FreeSpaceBelowMinFreeFails) {
  write_config(sim.ca_file().string(), base());
  std::string text = test::read_file(dir.path() / "vidq.toml");
  const std::string at = "dir = \"videos\"\n";
  ASSERT_NE(text.find(at), std::string::npos);
  text.replace(text.find(at), at.size(), at + "min_free_mb = 100000000\n");  // 95 TiB: never free here
  test::write_file(dir.path() / "vidq.toml", text);
  auto r = doctor(test::sim_v0);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "FAIL  output free space")) << r.out;
  EXPECT_TRUE(has(r.out, "below [output] min_free_mb")) << r.out;
}

TEST_F(doctor_fixture, AWrongKeyFailsAndExitsOne) {
  write_config(sim.ca_file().string(), base());
  const std::string wrong = "sk-not-a-real-key-0123456789";
  auto r = doctor(wrong);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "FAIL  account main api")) << r.out;
  EXPECT_TRUE(has(r.out, "key rejected (HTTP 401, code 1000")) << r.out;
  EXPECT_TRUE(has(r.out, "FAIL  account proxy api")) << r.out;
  EXPECT_FALSE(has(r.out, wrong)) << r.out;
  EXPECT_EQ(stat("tasks_created"), 0);
}

TEST_F(doctor_fixture, AnUnreachablePortFails) {
  // A port nobody listens on: bind nothing, take the simulator's port + 1 is not certain to
  // be free, so use port 1 (privileged, never a test server).
  write_config(sim.ca_file().string(), "https://127.0.0.1:1/api/paas/v4");
  auto r = doctor(test::sim_v0);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "FAIL  account main api")) << r.out;
  EXPECT_TRUE(has(r.out, "unreachable: connect")) << r.out;
  EXPECT_TRUE(has(r.out, "ok    account proxy api")) << "one bad account does not hide the others\n" << r.out;
}

TEST_F(doctor_fixture, AnUntrustedCertificateIsATlsFailure) {
  // A valid CA, but not the one that signed the simulator's certificate.
  auto other = net::ensure_tls_identity(dir.path() / "other-ca");
  ASSERT_TRUE(other);
  write_config(other->ca_cert.string(), base());
  auto r = doctor(test::sim_v0);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "FAIL  account main api")) << r.out;
  EXPECT_TRUE(has(r.out, "TLS handshake failed: certificate verify failed")) << r.out;
  EXPECT_EQ(stat("polls"), 0);
}

TEST_F(doctor_fixture, AnUnreadableCaFileFailsTheTrustCheck) {
  test::write_file(dir.path() / "garbage.pem", "not a certificate\n");
  write_config((dir.path() / "garbage.pem").string(), base());
  auto r = doctor(test::sim_v0);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "FAIL  tls trust")) << r.out;
  EXPECT_TRUE(has(r.out, "not probed: TLS trust did not load")) << r.out;
}

TEST_F(doctor_fixture, AWrongBasePathIsNotMistakenForSuccess) {
  write_config(sim.ca_file().string(), base("/v4"));
  auto r = doctor(test::sim_v0);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "not a provider's reply")) << r.out;
}

TEST_F(doctor_fixture, ConfigAndDatabaseProblemsAreReportedNotThrown) {
  test::write_file(dir.path() / "vidq.toml", "[polling]\ngrowht = 2\n");
  auto bad = doctor(test::sim_v0);
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_TRUE(has(bad.out, "FAIL  config")) << bad.out;
  EXPECT_TRUE(has(bad.out, "polling.growht: unknown key")) << bad.out;
  EXPECT_TRUE(has(bad.out, "FAIL  database ")) << bad.out;
  EXPECT_TRUE(has(bad.out, "not checked: the config did not load")) << bad.out;

  write_config(sim.ca_file().string(), base());
  auto fresh = doctor(test::sim_v0, "--offline");
  EXPECT_EQ(fresh.exit_code, 0) << fresh.out;
  EXPECT_TRUE(has(fresh.out, "warn  database ")) << fresh.out;
  EXPECT_TRUE(has(fresh.out, "does not exist yet")) << fresh.out;
  EXPECT_TRUE(has(fresh.out, "not probed (--offline)")) << fresh.out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "vidq.db")) << "the doctor must not create the database";

  test::write_file(dir.path() / "vidq.db", std::string(8192, 'x'));  // not a database
  auto corrupt = doctor(test::sim_v0, "--offline");
  EXPECT_EQ(corrupt.exit_code, 1) << corrupt.out;
  EXPECT_TRUE(has(corrupt.out, "FAIL  database")) << corrupt.out;
}

// Issue 12 #7: "::1" passed the doctor, then `vidq run` exited 2.
TEST_F(doctor_fixture, TheStatusListenAddressIsCheckedAsRunBindsIt) {
  write_config(sim.ca_file().string(), base(), "[status]\nlisten = \"::1\"\n");
  auto bad = doctor(test::sim_v0, "--offline");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_TRUE(has(bad.out, "FAIL  status listen")) << bad.out;
  EXPECT_TRUE(has(bad.out, "'::1' is not HOST:PORT")) << bad.out;

  write_config(sim.ca_file().string(), base(), "[status]\nlisten = \"[::1]:8788\"\n");
  auto ok = doctor(test::sim_v0, "--offline");
  EXPECT_TRUE(has(ok.out, "ok    status listen")) << ok.out;

  write_config(sim.ca_file().string(), base(), "[status]\nlisten = \"0.0.0.0:8788\"\n");
  auto open = doctor(test::sim_v0, "--offline");
  EXPECT_TRUE(has(open.out, "warn  status listen")) << open.out;
  EXPECT_TRUE(has(open.out, "only /healthz answers")) << open.out;
}

TEST_F(doctor_fixture, NotifyTargetsAreCheckedWithoutShowingSecretsOrQueries) {
  test::write_file(dir.path() / "hook.secret", "whsec-doctor-0123456789\n");
  write_config(sim.ca_file().string(), base(),
               "[[notify]]\nname = \"signed\"\nurl = \"https://hooks.example.com/x?token=qwerty123\"\n"
               "events = [\"batch_finished\"]\nsecret_file = \"hook.secret\"\n"
               "[[notify]]\nname = \"open\"\nurl = \"http://127.0.0.1:9/x\"\nevents = [\"job_failed\"]\n"
               "[[notify]]\nname = \"script\"\ncommand = [\"sh\", \"-c\", \"true\"]\nevents = [\"job_failed\"]\n"
               "[[notify]]\nname = \"gone\"\ncommand = [\"/nonexistent/hook\"]\nevents = [\"job_failed\"]\n");
  auto r = doctor(test::sim_v0, "--offline");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "ok    notify signed")) << r.out;
  EXPECT_TRUE(has(r.out, "webhook https://hooks.example.com, 1 event(s), signed")) << r.out;
  EXPECT_TRUE(has(r.out, "warn  notify open")) << r.out;
  EXPECT_TRUE(has(r.out, "ok    notify script")) << r.out;
  EXPECT_TRUE(has(r.out, "FAIL  notify gone")) << r.out;
  EXPECT_FALSE(has(r.out, "whsec-doctor")) << r.out;
  EXPECT_FALSE(has(r.out, "qwerty123")) << r.out;
}

// Issue 12 #4: a key file others can read is a warning.
TEST_F(doctor_fixture, AKeyFileReadableByOthersIsAWarning) {
  test::write_file(dir.path() / "key", std::string(test::sim_v0) + "\n");
  ::chmod((dir.path() / "key").c_str(), 0644);
  test::write_file(dir.path() / "vidq.toml",
                   "[database]\npath = \"vidq.db\"\n[[accounts]]\nname = \"main\"\napi_key_file = \"key\"\n");
  auto r = doctor("", "--offline");
  EXPECT_TRUE(has(r.out, "warn  account main key file")) << r.out;
  EXPECT_TRUE(has(r.out, "mode 0644")) << r.out;
  ::chmod((dir.path() / "key").c_str(), 0600);
  r = doctor("", "--offline");
  EXPECT_FALSE(has(r.out, "account main key file")) << r.out;
}

TEST_F(doctor_fixture, PausedAccountsAreAWarning) {
  write_config(sim.ca_file().string(), base());
  ASSERT_EQ(test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --config vidq.toml migrate").exit_code, 0);
  ASSERT_EQ(test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY
                              "' --config vidq.toml account pause proxy --reason 'quota talk'").exit_code,
            0);
  auto r = doctor(test::sim_v0, "--offline");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "warn  account proxy pause")) << r.out;
  EXPECT_TRUE(has(r.out, ": quota talk (until `vidq account resume proxy`)")) << r.out;
}

// interpret_probe, without a network.
net::net_result<net::http_response> reply(unsigned status, std::string body) {
  net::http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

net::net_result<net::http_response> failure(error_code ec, net::step where) {
  net::request_error e;
  e.ec = ec;
  e.step = where;
  return e;
}

ops::check_line probe(const net::net_result<net::http_response>& r) {
  return ops::interpret_probe("api", r, [](std::string s) {
    for (auto pos = s.find("SECRET"); pos != std::string::npos; pos = s.find("SECRET")) s.replace(pos, 6, "[REDACTED]");
    return s;
  });
}

TEST(DoctorProbe, InterpretsTheDocumentedReplies) {
  using enum ops::check_level;
  EXPECT_EQ(probe(reply(404, R"({"error":{"code":"1214","message":"task not found"}})")).level, ok);
  EXPECT_EQ(probe(reply(400, R"({"error":{"code":"1214","message":"invalid id"}})")).level, ok);
  EXPECT_EQ(probe(reply(404, R"({"code":404,"message":"Task does not exist"})")).level, ok);
  EXPECT_EQ(probe(reply(404, R"({"code":404,"message":"Not Found"})")).level, fail) << "a router's 404";
  EXPECT_EQ(probe(reply(404, "<html>nginx</html>")).level, fail);
  EXPECT_EQ(probe(reply(401, R"({"error":{"code":"1001","message":"no auth"}})")).level, fail);
  EXPECT_EQ(probe(reply(400, R"({"error":{"code":"1002","message":"bad token"}})")).level, fail);
  EXPECT_EQ(probe(reply(429, R"({"error":{"code":"1113","message":"arrears"}})")).level, fail);
  EXPECT_EQ(probe(reply(429, R"({"error":{"code":"1302","message":"busy"}})")).level, warn);
  EXPECT_EQ(probe(reply(503, "")).level, warn);
  EXPECT_EQ(probe(reply(403, R"({"error":{"code":"1220","message":"no access"}})")).level, fail);
  EXPECT_EQ(probe(reply(404, R"({"error":{"message":"任务不存在"}})")).level, ok);
}

TEST(DoctorProbe, TransportFailuresSayWhere) {
  const auto tls = probe(failure(boost::asio::ssl::error::stream_truncated, net::step::handshake));
  EXPECT_EQ(tls.level, ops::check_level::fail);
  EXPECT_TRUE(has(tls.detail, "TLS handshake failed")) << tls.detail;
  const auto refused = probe(failure(boost::asio::error::connection_refused, net::step::connect));
  EXPECT_TRUE(has(refused.detail, "unreachable: connect: ")) << refused.detail;
  const auto slow = probe(failure(errc::timeout, net::step::read_header));
  EXPECT_EQ(slow.detail, "unreachable: timed out in read_header");
}

// Issue 12 #3: a key echoed JSON-escaped late in the message was cut at 160 before the scrub.
TEST(DoctorProbe, AnEscapedKeyLateInTheMessageIsScrubbedBeforeTheCut) {
  std::string escaped;
  for (char c : std::string("SECRET")) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
    escaped += buf;
  }
  const auto line =
      probe(reply(401, R"({"error":{"code":"1000","message":")" + std::string(157, 'x') + escaped + R"("}})"));
  EXPECT_FALSE(has(line.detail, "SEC")) << line.detail;
}

TEST(DoctorProbe, ProviderTextIsScrubbed) {
  const auto line = probe(reply(401, R"({"error":{"code":"1000","message":"bad key SECRET"}})"));
  EXPECT_FALSE(has(line.detail, "SECRET")) << line.detail;
  EXPECT_TRUE(has(line.detail, "[REDACTED]")) << line.detail;
}

}  // namespace
}  // namespace vidq
