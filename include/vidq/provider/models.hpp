#pragma once
// Per-model request rules from API.md §2, as data. validation.hpp applies them.

#include <cstdint>
#include <span>
#include <string_view>

namespace vidq::provider {

enum class model_family { cogvideox, vidu };

struct model_rules {
  std::string_view name;
  model_family family;
  int min_images;
  int max_images;
  bool prompt_required;
  std::span<const std::string_view> sizes;         // empty: `size` not accepted
  std::span<const std::int64_t> durations;          // empty: `duration` not accepted
  std::span<const std::int64_t> fps;                // empty: `fps` not accepted
  std::span<const std::string_view> qualities;      // empty: `quality` not accepted
  std::span<const std::string_view> aspect_ratios;  // empty: `aspect_ratio` not accepted
  std::span<const std::string_view> styles;         // empty: `style` not accepted
  bool movement_amplitude;
  bool with_audio;
  bool watermark_enabled;
  std::int64_t max_image_bytes;
  bool webp_allowed;
  std::int64_t price_milli_cny;  // per call, API.md §2 (config may override)
};

// nullptr for a model vidq does not know.
const model_rules* find_model(std::string_view name) noexcept;
std::span<const model_rules> all_models() noexcept;

inline constexpr std::size_t max_prompt_chars = 512;  // API.md §2.1: 512 chars (OAS) ≤ 512 tokens (S001)
inline constexpr std::size_t min_user_id_chars = 6;
inline constexpr std::size_t max_user_id_chars = 128;

}  // namespace vidq::provider
