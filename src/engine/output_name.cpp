#include "vidq/engine/output_name.hpp"

#include "vidq/engine/fetch.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace vidq::engine {
namespace {

constexpr std::array<std::string_view, 6> known_tokens = {"batch", "key", "id", "model", "date", "batch_folder"};

bool kept_ascii(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view punctuation = " -_.+=@,()[]#";
  return punctuation.find(static_cast<char>(c)) != std::string_view::npos;
}

// Code points that would make a name lie about itself or break a terminal: C1 controls,
// zero-width and direction marks, bidi overrides and isolates, line/paragraph separators,
// the BOM, and noncharacters.
bool refused_code_point(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || (c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
         (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF) and its code point; 0 when there is none.
std::size_t decode(std::string_view s, char32_t& out) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = b(0);
  std::size_t n = 0;
  char32_t c = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
    c = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    c = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    c = lead & 0x07;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b(i) & 0x3F);
  }
  if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  out = c;
  return n;
}

// Cuts `s` (well-formed UTF-8) to at most `max` bytes without splitting a code point.
void cut_utf8(std::string& s, std::size_t max) {
  if (s.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

std::string utc_day(millis at) {
  const std::time_t seconds = static_cast<std::time_t>(at / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return text;
}

std::string token_value(std::string_view name, const output_tokens& t) {
  if (name == "batch") return std::string(t.batch);
  if (name == "key") return t.key && !t.key->empty() ? std::string(*t.key) : std::to_string(t.id);
  if (name == "id") return std::to_string(t.id);
  if (name == "model") return std::string(t.model);
  if (name == "date") return utc_day(t.submitted_at);
  if (name == "batch_folder") return sanitize_batch_name(t.batch);
  return {};
}

// One template component with its tokens replaced by their raw values ('/' in a value stays
// here and becomes '_' in sanitize_component). Unknown tokens render as nothing: the config
// check refuses them before a template gets here.
std::string expand(std::string_view part, const output_tokens& t) {
  std::string out;
  for (std::size_t i = 0; i < part.size();) {
    if (part[i] == '{') {
      const auto close = part.find('}', i);
      if (close != std::string_view::npos) {
        out += token_value(part.substr(i + 1, close - i - 1), t);
        i = close + 1;
        continue;
      }
    }
    out += part[i++];
  }
  return out;
}

}  // namespace

std::optional<std::string> check_path_template(std::string_view tmpl) {
  bool names_job = false;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '}') return std::string("'}' without '{'");
    if (tmpl[i] != '{') continue;
    const auto close = tmpl.find('}', i);
    if (close == std::string_view::npos) return std::string("'{' without '}'");
    const auto name = tmpl.substr(i + 1, close - i - 1);
    bool known = false;
    for (const auto k : known_tokens) known = known || k == name;
    if (!known) {
      return "unknown token {" + std::string(name) + "}; use {batch} {key} {id} {model} {date} {batch_folder}";
    }
    names_job = names_job || name == "key" || name == "id";
    i = close;
  }
  if (!names_job) return std::string("must contain {key} or {id}, or every job of a folder would share one name");
  return std::nullopt;
}

std::string sanitize_component(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      char kept = kept_ascii(c) ? static_cast<char>(c) : '_';
      // No hidden file, no way up: a leading '.' and the second '.' of ".." are replaced.
      if (kept == '.' && (out.empty() || out.back() == '.')) kept = '_';
      if (kept == ' ' && out.empty()) kept = '\0';  // leading spaces are dropped
      if (kept != '\0') out += kept;
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = decode(text.substr(i), cp);
    if (n == 0 || refused_code_point(cp)) {
      out += '_';
      i += n == 0 ? 1 : n;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  cut_utf8(out, max_component_bytes);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.empty()) out = "_";
  return out;
}

std::filesystem::path render_output_stem(std::string_view tmpl, const output_tokens& tokens) {
  std::filesystem::path out;
  std::size_t start = 0;
  for (;;) {
    const auto slash = tmpl.find('/', start);
    const auto part = tmpl.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    // Empty components ("/abs", "a//b") are dropped, so the result is always relative.
    if (!part.empty()) {
      const auto expanded = expand(part, tokens);
      if (!expanded.empty()) out /= sanitize_component(expanded);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (out.empty()) out = std::to_string(tokens.id);
  return out;
}

std::filesystem::path with_id_suffix(const std::filesystem::path& stem, std::int64_t id, int n) {
  std::string last = stem.filename().string();
  cut_utf8(last, max_component_bytes);
  last += "-" + std::to_string(id);
  if (n > 1) last += "-" + std::to_string(n);
  return stem.parent_path() / last;
}

std::filesystem::path batch_folder(std::string_view tmpl, std::string_view batch) {
  output_tokens tokens;
  tokens.batch = batch;
  std::filesystem::path out;
  std::size_t start = 0;
  for (;;) {
    const auto slash = tmpl.find('/', start);
    if (slash == std::string_view::npos) break;  // the last component is the file name
    const auto part = tmpl.substr(start, slash - start);
    // A folder that depends on the job ({date}, {model}...) is not one folder per batch.
    for (const auto* job_token : {"{key}", "{id}", "{model}", "{date}"}) {
      if (part.find(job_token) != std::string_view::npos) return {};
    }
    if (!part.empty()) {
      const auto expanded = expand(part, tokens);
      if (!expanded.empty()) out /= sanitize_component(expanded);
      if (part.find("{batch}") != std::string_view::npos || part.find("{batch_folder}") != std::string_view::npos) {
        return out;
      }
    }
    start = slash + 1;
  }
  return {};
}

std::string_view cover_extension(std::string_view head) {
  return head.substr(0, 3) == "\xFF\xD8\xFF" ? ".jpg" : ".png";
}

}  // namespace vidq::engine
