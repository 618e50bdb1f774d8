#pragma once
// The checks behind `vidq doctor` (include/vidq/ops/doctor.hpp), shared by doctor.cpp (the
// table and the local checks) and doctor_network.cpp (TLS trust and the provider probes).

#include "vidq/ops/config.hpp"
#include "vidq/ops/doctor.hpp"
#include "vidq/store/sqlite.hpp"

#include <functional>
#include <optional>

namespace vidq::ops::doctor_detail {

// What one check learned for the next ones, and where lines go.
struct state {
  const doctor_options& options;
  std::function<void(check_line)> emit;
  std::optional<config> cfg;          // set once the config loaded
  std::optional<store::database> db;  // set once the database opened
  int schema = 0;                     // PRAGMA user_version, when db is set

  void add(std::string name, check_level level, std::string detail) const {
    emit(check_line{std::move(name), level, std::move(detail)});
  }
};

void check_config(state& s);
void check_database(state& s);
void check_output(state& s);
void check_accounts(state& s);
void check_notify(state& s);    // doctor.cpp: [[notify]] secrets and commands, the outbox  // doctor_network.cpp: TLS trust, keys, probes, pauses

}  // namespace vidq::ops::doctor_detail
