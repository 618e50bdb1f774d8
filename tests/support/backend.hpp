#pragma once
// The two storage backends a parameterized test runs on, and their names in test ids
// (Backends/Suite.Test/sqlite, …/postgres).
#include <gtest/gtest.h>

namespace vidq::test {

enum class backend { sqlite, postgres };

inline std::string backend_name(const testing::TestParamInfo<backend>& info) {
  return info.param == backend::sqlite ? "sqlite" : "postgres";
}

inline auto both_backends() { return testing::Values(backend::sqlite, backend::postgres); }

}  // namespace vidq::test
