#pragma once
// Where a job's files go: `[output] path_template` rendered for one job, every component
// made safe for a filesystem while keeping the text people recognise (CJK, accents, spaces).
// Pure: the collision check against the database and the disk is the caller's
// (daemon/poll_task.cpp), which appends "-<id>" through with_id_suffix. Rules and examples:
// docs/OPERATIONS.md "Output files".

#include "vidq/core/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace vidq::engine {

// Today's layout, kept for configurations that set no template: the hashed ASCII batch
// folder of sanitize_batch_name and the job id.
inline constexpr std::string_view legacy_path_template = "{batch_folder}/{id}";

// Bytes per path component before the extension: room for "-<id>", ".mp4" and ".part"
// within the 255 bytes of NAME_MAX.
inline constexpr std::size_t max_component_bytes = 200;

struct output_tokens {
  std::int64_t id = 0;
  std::string_view batch;
  std::optional<std::string_view> key;  // absent or empty → {key} renders as the id
  std::string_view model;
  millis submitted_at = 0;  // {date}: its UTC day, YYYY-MM-DD
};

// nullopt when `tmpl` can be used, else why not (unknown or unclosed token, no {key} or {id}
// so that every job would get the same name).
std::optional<std::string> check_path_template(std::string_view tmpl);

// One path component: keeps letters, digits and other printable non-ASCII characters, ASCII
// letters/digits and " -_.+=@,()[]#"; replaces every other byte or code point (separators,
// control characters incl. NUL, invalid UTF-8, bidi and zero-width marks, Windows-reserved
// :*?"<>|) by '_'; replaces a leading '.' and the second '.' of any ".."; trims surrounding
// spaces; cuts at max_component_bytes on a code point boundary. Never empty ("_"), never
// "." or "..". Total.
std::string sanitize_component(std::string_view text);

// The template rendered for a job: relative, one sanitized component per template
// component (token values can never add a component: their '/' becomes '_'), empty ones
// dropped, no extension. A template that renders to nothing yields the id. Tokens the
// template may use: {batch} {key} {id} {model} {date} {batch_folder}.
std::filesystem::path render_output_stem(std::string_view tmpl, const output_tokens& tokens);

// "<stem>-<id>" (n == 1) or "<stem>-<id>-<n>" (n > 1): the name a job gets when its
// rendered one belongs to another job or file. The last component stays within
// max_component_bytes + the suffix.
std::filesystem::path with_id_suffix(const std::filesystem::path& stem, std::int64_t id, int n);

// Where a batch's manifest.csv goes, relative to the output folder: the template's
// components up to the first that names the batch ({batch} or {batch_folder}), rendered;
// "" (the output folder itself) when no component does or one on the way depends on the job
// ({key} {id} {model} {date}), and then the caller names the file
// "<sanitized batch>.manifest.csv" so batches do not overwrite each other.
std::filesystem::path batch_folder(std::string_view tmpl, std::string_view batch);

// ".jpg" when `head` (the first bytes of a file) is a JPEG, else ".png" (what the providers
// send and what a browser sniffs anyway).
std::string_view cover_extension(std::string_view head);

}  // namespace vidq::engine
