#include "vidq/provider/models.hpp"

namespace vidq::provider {
namespace {

using sv = std::string_view;
using i64 = std::int64_t;

constexpr sv cogvideox3_sizes[] = {"1280x720",  "720x1280",  "1024x1024", "1920x1080",
                                   "1080x1920", "2048x1080", "3840x2160"};
constexpr sv cogvideox2_sizes[] = {"720x480",   "1024x1024", "1280x960",  "960x1280",
                                   "1920x1080", "1080x1920", "2048x1080", "3840x2160"};
constexpr sv vidu2_sizes[] = {"1280x720"};
// The CN schema also lists 480x360 for start-end (API.md §2.3); accepting it costs nothing.
constexpr sv vidu2_start_end_sizes[] = {"1280x720", "480x360"};
constexpr sv viduq1_sizes[] = {"1920x1080"};
constexpr i64 cogvideox_durations[] = {5, 10};
constexpr i64 vidu2_durations[] = {4};
constexpr i64 viduq1_durations[] = {5};
constexpr i64 cogvideox_fps[] = {30, 60};
constexpr sv cogvideox_qualities[] = {"speed", "quality"};
constexpr sv aspect_ratios[] = {"16:9", "9:16", "1:1"};
constexpr sv styles[] = {"general", "anime"};

constexpr i64 five_mb = 5 * 1024 * 1024;
constexpr i64 fifty_mb = 50 * 1024 * 1024;

// viduq1-* prices are not in API.md: assumed 2.5 CNY until [budget.prices] says otherwise.
// clang-format off
constexpr model_rules models[] = {
  // name               family                 img     prompt sizes                  durations            fps            qualities            aspect          styles  move   audio  wm     max bytes webp   price
  {"cogvideox-3",       model_family::cogvideox, 0, 2, false, cogvideox3_sizes,      cogvideox_durations, cogvideox_fps, cogvideox_qualities, {},             {},     false, true,  true,  five_mb,  false, 1000},
  {"cogvideox-2",       model_family::cogvideox, 0, 1, false, cogvideox2_sizes,      cogvideox_durations, cogvideox_fps, cogvideox_qualities, {},             {},     false, true,  true,  five_mb,  false, 500},
  {"cogvideox-flash",   model_family::cogvideox, 0, 1, false, {},                    cogvideox_durations, {},            {},                  {},             {},     false, true,  true,  five_mb,  false, 0},
  {"vidu2-image",       model_family::vidu,      1, 1, false, vidu2_sizes,           vidu2_durations,     {},            {},                  {},             {},     true,  true,  false, fifty_mb, true,  1250},
  // start-end takes two frames; one image is what vidu2-image is for (docs/DECISIONS.md).
  {"vidu2-start-end",   model_family::vidu,      2, 2, false, vidu2_start_end_sizes, vidu2_durations,     {},            {},                  {},             {},     true,  true,  false, fifty_mb, true,  1250},
  {"vidu2-reference",   model_family::vidu,      1, 3, false, vidu2_sizes,           vidu2_durations,     {},            {},                  aspect_ratios,  {},     true,  true,  false, fifty_mb, true,  2500},
  {"viduq1-text",       model_family::vidu,      0, 0, true,  viduq1_sizes,          viduq1_durations,    {},            {},                  aspect_ratios,  styles, true,  false, false, fifty_mb, true,  2500},
  {"viduq1-image",      model_family::vidu,      1, 1, false, viduq1_sizes,          viduq1_durations,    {},            {},                  {},             {},     true,  true,  false, fifty_mb, true,  2500},
  {"viduq1-start-end",  model_family::vidu,      2, 2, false, viduq1_sizes,          viduq1_durations,    {},            {},                  {},             {},     true,  true,  false, fifty_mb, true,  2500},
};
// clang-format on

}  // namespace

const model_rules* find_model(std::string_view name) noexcept {
  for (const auto& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::span<const model_rules> all_models() noexcept { return models; }

}  // namespace vidq::provider
