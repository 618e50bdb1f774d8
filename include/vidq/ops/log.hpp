#pragma once
// Structured logs: one JSON object per line on stderr (journald-friendly, DESIGN.md §4).
// Every registered secret is replaced by "[REDACTED]" in the serialized line, whatever
// field it hides in, so an API key echoed back inside a provider error cannot leak.

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace vidq::log {

enum class level { debug, info, warn, error };

// Writes {"ts":..., "level":..., "event": event, ...fields}. Thread-safe. Never throws.
void write(level lvl, std::string_view event, boost::json::object fields = {});

inline void debug(std::string_view e, boost::json::object f = {}) { write(level::debug, e, std::move(f)); }
inline void info(std::string_view e, boost::json::object f = {}) { write(level::info, e, std::move(f)); }
inline void warn(std::string_view e, boost::json::object f = {}) { write(level::warn, e, std::move(f)); }
inline void error(std::string_view e, boost::json::object f = {}) { write(level::error, e, std::move(f)); }

void set_min_level(level lvl);
bool parse_level(std::string_view text, level& out);

// Registers a value that must never appear in any log line (API keys, tokens).
// Values shorter than 8 characters are ignored: redacting "a" would shred every line.
void register_secret(std::string secret);

// Returns `text` with every registered secret replaced. Also used by error paths that
// print to the terminal.
std::string redact(std::string text);

// Tests capture lines instead of writing to stderr.
using sink_fn = void (*)(std::string_view line, void* user);
void set_sink(sink_fn sink, void* user);

}  // namespace vidq::log
