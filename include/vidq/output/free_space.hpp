#pragma once
// Free space of the file system holding the output folder, for the disk-pressure pause
// (engine/disk_pressure.hpp), `vidq status` and `vidq doctor`. statvfs(2): microseconds on
// a local file system; the daemon calls it at most once a second, never per write.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>

namespace vidq::output {

// Bytes an unprivileged writer may still use (f_bavail × f_frsize) on the file system of
// `dir`, or of its nearest existing parent when `dir` is not created yet. nullopt: statvfs
// failed everywhere up to the root.
std::optional<std::uint64_t> free_bytes(const std::filesystem::path& dir);

// The seam the scheduler's tests replace (a scripted free space).
using free_space_probe = std::function<std::optional<std::uint64_t>(const std::filesystem::path&)>;

}  // namespace vidq::output
