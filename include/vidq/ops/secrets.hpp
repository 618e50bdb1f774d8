#pragma once
// API keys and tokens: loaded from an environment variable, a file, or a systemd credential
// ($CREDENTIALS_DIRECTORY/NAME), never from the config file or the database. Every loaded
// value is registered with the logger's redaction list before it is returned.

#include "vidq/core/error.hpp"

#include <string>
#include <string_view>

namespace vidq::ops {

struct account_config;

// A value that must never be printed. No operator<<, no implicit conversion.
class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  const std::string& expose() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

struct secret_source {
  std::string env;         // variable name
  std::string file;        // path; the first line, without surrounding blanks
  std::string credential;  // name under $CREDENTIALS_DIRECTORY
};

// Tries env, then file, then credential (files and credentials: the first line). Errors:
// errc::config_error with a message in `why` that names the source but never the value:
// unreadable, blank, or a value with a control character. A key file readable by group or
// others loads with a logged warning.
result<secret> load_secret(const secret_source& source, std::string& why);

// "" when `value` may be a key; else why not ("contains a control character", "is blank").
std::string check_secret_text(std::string_view value);
// "" unless `path` exists with group/other permission bits; else the warning to show.
std::string key_file_permission_warning(const std::string& path);
secret_source key_source(const account_config& account);

}  // namespace vidq::ops
