// libFuzzer: `vidq import` on arbitrary bytes — the JSONL line reader and record parser, or
// (VIDQ_FUZZ_CSV) the CSV reader, then job validation and the insert, into an in-memory
// database. Any outcome but a crash, a sanitizer report or a leak is fine.
#include "vidq/core/clock.hpp"
#include "vidq/ingest/importer.hpp"
#include "vidq/store/migrations.hpp"
#include "vidq/store/sqlite.hpp"
#include "vidq/store/sqlite_operator_store.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

struct fixture {
  std::string path;
  vidq::store::database db;
  vidq::manual_clock clock{};
};

fixture& shared() {
  static fixture f = [] {
    char dir_template[] = "/tmp/vidq-fuzz-XXXXXX";
    const char* dir = ::mkdtemp(dir_template);
    if (dir == nullptr) std::abort();
    auto db = vidq::store::database::open(":memory:");
    if (!db || !vidq::store::migrate(*db)) std::abort();
    return fixture{std::string(dir) + (VIDQ_FUZZ_CSV ? "/input.csv" : "/input.jsonl"), std::move(*db)};
  }();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = shared();
  std::FILE* out = std::fopen(f.path.c_str(), "wb");
  if (out == nullptr) std::abort();
  if (size > 0) std::fwrite(data, 1, size, out);
  std::fclose(out);
  vidq::ingest::import_options options;
  options.record.base_dir = std::filesystem::path(f.path).parent_path();
  options.record.check_local_files = false;  // no reads of paths the input names
  options.max_record_bytes = 64 * 1024;
  const auto format = VIDQ_FUZZ_CSV ? vidq::ingest::input_format::csv : vidq::ingest::input_format::jsonl;
  vidq::store::sqlite_operator_store store(f.db, f.clock);
  (void)vidq::ingest::import_file(store, f.path, format, options);
  // Keep the database small: every run starts from an empty jobs table.
  (void)f.db.exec("DELETE FROM job_events; DELETE FROM jobs;");
  return 0;
}
