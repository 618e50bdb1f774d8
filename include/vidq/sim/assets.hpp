#pragma once
// Media shipped inside the binary (cmake/embed_sim_assets.cmake): a 2 s 320x180 H.264 MP4
// (made once with ffmpeg's testsrc2, baseline profile, faststart) and a 160x90 PNG cover.

#include <span>

namespace vidq::sim {

std::span<const unsigned char> sample_mp4();
std::span<const unsigned char> cover_png();

}  // namespace vidq::sim
