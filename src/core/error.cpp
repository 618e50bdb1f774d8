#include "vidq/core/error.hpp"

namespace vidq {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "vidq"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok: return "success";
      case errc::invalid_argument: return "invalid argument";
      case errc::not_found: return "not found";
      case errc::database_error: return "database error";
      case errc::database_busy: return "database busy";
      case errc::schema_too_new: return "database schema is newer than this binary";
      case errc::config_error: return "configuration error";
      case errc::io_error: return "i/o error";
      case errc::tls_error: return "tls error";
      case errc::protocol_error: return "protocol error";
      case errc::timeout: return "timed out";
      case errc::already_running: return "another vidq daemon is using this database";
      case errc::database_lost:
        return "the database is gone: its SQLite file or WAL was deleted or replaced while open, or the "
               "PostgreSQL connection was lost (reconnecting)";
    }
    return "unknown vidq error";
  }
};

}  // namespace

const boost::system::error_category& vidq_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace vidq
