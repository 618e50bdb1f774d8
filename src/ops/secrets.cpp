#include "vidq/ops/secrets.hpp"

#include "vidq/ops/config.hpp"
#include "vidq/ops/log.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vidq::ops {
namespace {

bool read_trimmed(const std::filesystem::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  return true;
}

}  // namespace

secret_source key_source(const account_config& account) {
  return {account.api_key_env, account.api_key_file, account.api_key_credential};
}

result<secret> load_secret(const secret_source& source, std::string& why) {
  std::string value;
  if (!source.env.empty()) {
    if (const char* v = std::getenv(source.env.c_str()); v && *v) value = v;
  }
  if (value.empty() && !source.file.empty() && !read_trimmed(source.file, value)) {
    why = "cannot read key file " + source.file;
    return make_error_code(errc::config_error);
  }
  if (value.empty() && !source.credential.empty()) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !read_trimmed(std::filesystem::path(dir) / source.credential, value)) {
      why = "systemd credential " + source.credential + " is not available";
      return make_error_code(errc::config_error);
    }
  }
  if (value.empty()) {
    why = source.env.empty() ? "the key source is empty" : "environment variable " + source.env + " is not set";
    return make_error_code(errc::config_error);
  }
  log::register_secret(value);
  return secret(std::move(value));
}

}  // namespace vidq::ops
