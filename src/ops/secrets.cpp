#include "vidq/ops/secrets.hpp"

#include "vidq/ops/config.hpp"
#include "vidq/ops/log.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace vidq::ops {
namespace {

// The first line, without its line ending or surrounding blanks: a key file may end with a
// newline or carry a comment line below, and neither belongs in an Authorization header.
bool read_first_line(const std::filesystem::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::getline(in, out);
  if (in.bad()) return false;
  while (!out.empty() && (out.back() == '\r' || out.back() == ' ' || out.back() == '\t')) out.pop_back();
  std::size_t lead = 0;
  while (lead < out.size() && (out[lead] == ' ' || out[lead] == '\t')) ++lead;
  out.erase(0, lead);
  return true;
}

}  // namespace

std::string check_secret_text(std::string_view value) {
  bool blank = true;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "contains a control character";
    if (c != ' ' && c != '\t') blank = false;
  }
  if (blank) return "is blank";
  return {};
}

std::string key_file_permission_warning(const std::string& path) {
  struct ::stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return {};
  if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) == 0) return {};
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return path + " is readable or writable by group or others (mode " + mode + "); chmod 600 it";
}

secret_source key_source(const account_config& account) {
  return {account.api_key_env, account.api_key_file, account.api_key_credential};
}

result<secret> load_secret(const secret_source& source, std::string& why) {
  std::string value;
  std::string from;
  if (!source.env.empty()) {
    if (const char* v = std::getenv(source.env.c_str()); v && *v) {
      value = v;
      from = "environment variable " + source.env;
    }
  }
  if (value.empty() && !source.file.empty()) {
    if (!read_first_line(source.file, value)) {
      why = "cannot read key file " + source.file;
      return make_error_code(errc::config_error);
    }
    from = "key file " + source.file;
    if (auto warning = key_file_permission_warning(source.file); !warning.empty()) {
      log::warn("key_file_permissions", {{"warning", warning}});
    }
  }
  if (value.empty() && !source.credential.empty()) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !read_first_line(std::filesystem::path(dir) / source.credential, value)) {
      why = "systemd credential " + source.credential + " is not available";
      return make_error_code(errc::config_error);
    }
    from = "systemd credential " + source.credential;
  }
  if (value.empty()) {
    why = !from.empty()                ? from + ": the key is blank"
          : source.env.empty()         ? "the key source is empty"
                                       : "environment variable " + source.env + " is not set";
    return make_error_code(errc::config_error);
  }
  // Refused, never echoed: a key with a newline would split the Authorization header.
  if (auto problem = check_secret_text(value); !problem.empty()) {
    why = from + ": the key " + problem;
    return make_error_code(errc::config_error);
  }
  log::register_secret(value);
  return secret(std::move(value));
}

}  // namespace vidq::ops
