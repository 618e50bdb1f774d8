// Bulk import throughput of `vidq import` (the real binary, on a fresh DB), in rows/s.
// Usage: bench_import_throughput [ROWS=100000] [WORK_DIR=/tmp]
// Prints the figures and exits 1 when the re-import inserts anything (idempotency broken).

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

double children_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct timing {
  double wall;
  double cpu;  // user + sys of the vidq process: what the machine's other load cannot inflate much
};

timing run_timed(const std::string& command, std::string& output) {
  const double cpu_before = children_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  std::size_t got = 0;
  while (pipe && (got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, got);
  if (pipe) ::pclose(pipe);
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
          children_cpu_seconds() - cpu_before};
}

}  // namespace

int main(int argc, char** argv) {
  const long rows = argc > 1 ? std::atol(argv[1]) : 100'000;
  const std::filesystem::path work =
      std::filesystem::path(argc > 2 ? argv[2] : std::filesystem::temp_directory_path().string()) / "vidq-bench-import";
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  const auto jsonl = work / "jobs.jsonl";
  {
    std::ofstream out(jsonl);
    const char* models[] = {"cogvideox-3", "cogvideox-2", "cogvideox-flash", "vidu2-image"};
    for (long i = 0; i < rows; ++i) {
      const char* model = models[i % 4];
      out << R"({"key":"sku-)" << i << R"(","batch":"campaign-)" << i % 50 << R"(","model":")" << model
          << R"(","prompt":"Product )" << i << R"( rotates on a white table, soft light, close-up")";
      if (i % 4 == 0) out << R"(,"quality":"speed","size":"1920x1080","duration":5)";
      if (i % 4 == 3) out << R"(,"image_url":"https://cdn.example.com/products/)" << i << R"(.png")";
      out << "}\n";
    }
  }
  const auto bytes = std::filesystem::file_size(jsonl);
  const std::string command = std::string("'") + VIDQ_BINARY + "' --db '" + (work / "bench.db").string() +
                              "' import --quiet '" + jsonl.string() + "'";

  std::string first_output;
  const timing first = run_timed(command, first_output);
  std::string second_output;
  const timing second = run_timed(command, second_output);

  const double n = static_cast<double>(rows);
  std::printf("rows: %ld (%.1f MB of JSONL)\n", rows, static_cast<double>(bytes) / 1e6);
  std::printf("first import:  wall %.3f s = %.0f rows/s; cpu %.3f s = %.0f rows/cpu-s   [%s]\n", first.wall,
              n / first.wall, first.cpu, n / first.cpu, first_output.substr(0, first_output.find('\n')).c_str());
  std::printf("re-import:     wall %.3f s = %.0f rows/s; cpu %.3f s = %.0f rows/cpu-s   [%s]\n", second.wall,
              n / second.wall, second.cpu, n / second.cpu, second_output.substr(0, second_output.find('\n')).c_str());
  const bool idempotent = second_output.find("inserted 0,") != std::string::npos;
  std::printf("re-import inserted nothing: %s\n", idempotent ? "yes" : "NO");
  std::filesystem::remove_all(work);
  return idempotent ? 0 : 1;
}
