#pragma once
// API keys and tokens: loaded from an environment variable, a file, or a systemd credential
// ($CREDENTIALS_DIRECTORY/NAME), never from the config file or the database. Every loaded
// value is registered with the logger's redaction list before it is returned.

#include "vidq/core/error.hpp"

#include <string>

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
  std::string file;        // path; trailing newline stripped
  std::string credential;  // name under $CREDENTIALS_DIRECTORY
};

// Tries env, then file, then credential. Errors: errc::config_error with a message in
// `why` that names the source but never the value.
result<secret> load_secret(const secret_source& source, std::string& why);
secret_source key_source(const account_config& account);

}  // namespace vidq::ops
