#pragma once
// One error vocabulary for vidq (STYLE.md §6): expected failures travel as error_code /
// result<T>; exceptions are for bugs and startup only.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace vidq {

using boost::system::error_code;
template <class T>
using result = boost::system::result<T, error_code>;

// "Did it happen?" for a result<bool> where an error also means no (Boost 1.81's result
// has no value_or).
inline bool is_true(const result<bool>& r) noexcept { return r && *r; }

enum class errc {
  ok = 0,
  invalid_argument = 1,   // caller passed something malformed (bad flag, bad row field)
  not_found,              // a job / account / file that should exist does not
  database_error,         // SQLite reported an error other than busy
  database_busy,          // SQLite stayed busy past busy_timeout
  schema_too_new,         // the DB was migrated by a newer vidq
  config_error,           // the TOML file or a referenced secret is unusable
  io_error,               // filesystem failure
  tls_error,              // certificate creation/loading or verification
  protocol_error,         // a peer spoke something we cannot parse
  timeout,                // a deadline passed
  already_running,        // another daemon holds the DB lock
  database_lost,          // SQLite: the file or its WAL was replaced under us; PostgreSQL: the connection broke
};

const boost::system::error_category& vidq_category() noexcept;

inline error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), vidq_category()};
}

}  // namespace vidq

template <>
struct boost::system::is_error_code_enum<vidq::errc> : std::true_type {};
