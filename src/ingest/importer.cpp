#include "vidq/ingest/importer.hpp"

#include "vidq/ingest/line_reader.hpp"
#include "vidq/store/operator_store.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <csv.h>

#include <filesystem>
#include <memory>
#include <optional>

namespace vidq::ingest {
namespace {

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Inserts records in chunks of `chunk_rows`, one transaction per chunk, so that a long
// import neither holds the write lock for minutes nor pays a commit per row.
class chunked_writer {
 public:
  chunked_writer(store::operator_store& store, const import_options& options, import_summary& summary)
      : store_(store), options_(options), summary_(summary) {}

  result<void> add(std::size_t line, record_result&& record) {
    if (auto* reason = std::get_if<std::string>(&record)) {
      reject(line, std::move(*reason));
      return {};
    }
    pending_.push_back(std::move(std::get<store::new_job>(record)));
    if (pending_.size() >= options_.chunk_rows) return flush();
    return {};
  }

  void reject(std::size_t line, std::string reason) {
    ++summary_.invalid;
    if (summary_.problems.size() < options_.max_reported_problems) {
      summary_.problems.push_back({line, std::move(reason)});
    }
  }

  result<void> flush() {
    if (pending_.empty()) return {};
    auto counts = store_.insert_all(pending_);
    pending_.clear();
    if (!counts) return counts.error();
    summary_.inserted += counts->inserted;
    summary_.duplicates += counts->duplicates;
    return {};
  }

 private:
  store::operator_store& store_;
  const import_options& options_;
  import_summary& summary_;
  std::vector<store::new_job> pending_;
};

result<void> import_jsonl(std::FILE* file, std::uint64_t total, chunked_writer& writer, const import_options& options) {
  line_reader reader(file, options.max_record_bytes);
  boost::json::parser parser;
  // Each line's JSON lives in this buffer instead of a dozen small heap allocations;
  // job_from_json copies what it keeps.
  std::vector<unsigned char> arena(64 * 1024);
  std::string_view line;
  std::size_t since_progress = 0;
  for (;;) {
    const auto status = reader.next(line);
    if (status == line_reader::status::end) break;
    const auto number = reader.line_number();
    if (status == line_reader::status::too_long) {
      writer.reject(number, "line is longer than " + std::to_string(options.max_record_bytes) +
                                " bytes (put images in files or URLs, not inline)");
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
    boost::system::error_code ec;
    boost::json::monotonic_resource line_memory(arena.data(), arena.size());
    parser.reset(&line_memory);
    parser.write(line, ec);  // the whole line must be exactly one JSON text
    if (ec) {
      writer.reject(number, "not valid JSON (" + ec.message() + ")");
      continue;
    }
    auto value = parser.release();
    if (!value.is_object()) {
      writer.reject(number, "must be a JSON object");
      continue;
    }
    if (auto r = writer.add(number, job_from_json(value.get_object(), options.record)); !r) return r;
    if (options.progress && ++since_progress >= options.chunk_rows) {
      since_progress = 0;
      options.progress(reader.bytes_consumed(), total);
    }
  }
  if (reader.error()) return make_error_code(errc::io_error);
  return {};
}

// libcsv delivers fields and row ends through C callbacks; this collects them.
struct csv_state {
  std::vector<std::string> header;
  std::vector<std::string> fields;
  std::size_t record_line = 0;  // where the current record started
  std::size_t current_line = 0;
  chunked_writer* writer = nullptr;
  const import_options* options = nullptr;
  error_code failure;
  std::optional<import_problem> refused;  // a bad header: no row can be read
};

// "column 4 'prompt' repeats column 2": two columns with one name would leave it to chance
// which value a job gets. Columns are numbered from 1, as a spreadsheet shows them.
std::optional<std::string> duplicate_column(const std::vector<std::string>& header) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (header[i] == header[j]) {
        return "header: column " + std::to_string(i + 1) + " '" + header[i] + "' repeats column " +
               std::to_string(j + 1) + " '" + header[j] + "'";
      }
    }
  }
  return std::nullopt;
}

void on_csv_field(void* data, std::size_t size, void* user) {
  static_cast<csv_state*>(user)->fields.emplace_back(static_cast<const char*>(data), size);
}

void on_csv_row(int, void* user) {
  auto& s = *static_cast<csv_state*>(user);
  const auto line = s.record_line;
  s.record_line = s.current_line + 1;
  auto fields = std::move(s.fields);
  s.fields.clear();
  if (s.failure || s.refused) return;
  if (s.header.empty()) {
    if (auto why = duplicate_column(fields)) s.refused = import_problem{line, std::move(*why)};
    s.header = std::move(fields);
    return;
  }
  if (fields.size() == 1 && fields[0].empty()) return;  // blank line
  if (fields.size() != s.header.size()) {
    s.writer->reject(line, "has " + std::to_string(fields.size()) + " fields; the header has " +
                               std::to_string(s.header.size()));
    return;
  }
  std::vector<std::pair<std::string, std::string>> named;
  named.reserve(fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) named.emplace_back(s.header[i], std::move(fields[i]));
  if (auto r = s.writer->add(line, job_from_text_fields(named, s.options->record)); !r) s.failure = r.error();
}

result<void> import_csv(std::FILE* file, std::uint64_t total, chunked_writer& writer, const import_options& options,
                        import_summary& summary) {
  csv_state state;
  state.record_line = 1;
  state.writer = &writer;
  state.options = &options;
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) return make_error_code(errc::io_error);
  std::unique_ptr<csv_parser, void (*)(csv_parser*)> guard(&parser, csv_free);
  line_reader reader(file, options.max_record_bytes);
  std::string_view line;
  std::string with_newline;
  for (;;) {
    const auto status = reader.next(line);
    if (status == line_reader::status::end) break;
    state.current_line = reader.line_number();
    if (status == line_reader::status::too_long) {
      writer.reject(state.current_line, "line is longer than " + std::to_string(options.max_record_bytes) + " bytes");
      state.fields.clear();
      state.record_line = state.current_line + 1;
      continue;
    }
    with_newline.assign(line);
    with_newline.push_back('\n');
    if (csv_parse(&parser, with_newline.data(), with_newline.size(), on_csv_field, on_csv_row, &state) !=
        with_newline.size()) {
      // Strict mode stops at a malformed quote: report the record and start afresh.
      writer.reject(state.record_line, std::string("malformed CSV (") + csv_strerror(csv_error(&parser)) + ")");
      csv_fini(&parser, nullptr, nullptr, nullptr);
      csv_free(&parser);
      csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI);
      state.fields.clear();
      state.record_line = state.current_line + 1;
    }
    if (state.failure) return state.failure;
    if (state.refused) {
      summary.refused = std::move(state.refused);
      return {};
    }
    if (options.progress && reader.line_number() % options.chunk_rows == 0) {
      options.progress(reader.bytes_consumed(), total);
    }
  }
  if (csv_fini(&parser, on_csv_field, on_csv_row, &state) != 0) {
    writer.reject(state.record_line, "malformed CSV at end of file (unterminated quote)");
  }
  if (state.failure) return state.failure;
  if (state.refused) summary.refused = std::move(state.refused);
  if (reader.error()) return make_error_code(errc::io_error);
  return {};
}

}  // namespace

input_format guess_format(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".csv" ? input_format::csv : input_format::jsonl;
}

result<import_summary> import_file(store::operator_store& store, const std::string& path,
                                   input_format format, const import_options& options) {
  std::unique_ptr<std::FILE, file_closer> file(path == "-" ? nullptr : std::fopen(path.c_str(), "rb"));
  if (!file) return make_error_code(errc::not_found);
  std::error_code size_error;
  const auto total = std::filesystem::file_size(path, size_error);

  import_summary summary;
  chunked_writer writer(store, options, summary);
  auto r = format == input_format::csv ? import_csv(file.get(), total, writer, options, summary)
                                       : import_jsonl(file.get(), total, writer, options);
  if (!r) return r.error();
  if (auto f = writer.flush(); !f) return f.error();
  if (options.progress) options.progress(total, total);
  return summary;
}

}  // namespace vidq::ingest
