#include "vidq/status/connection_limits.hpp"

namespace vidq::status {
namespace {

// The longest idle connection that `eligible` accepts.
template <class Pred>
std::optional<std::uint64_t> oldest_idle(const std::vector<connection_view>& open, Pred eligible) {
  const connection_view* best = nullptr;
  for (const auto& c : open) {
    if (!c.idle || !eligible(c)) continue;
    if (!best || c.idle_since < best->idle_since) best = &c;
  }
  if (!best) return std::nullopt;
  return best->id;
}

}  // namespace

connection_decision admit_connection(const std::vector<connection_view>& open, const std::string& peer,
                                     const connection_limits& limits) {
  std::size_t from_peer = 0;
  for (const auto& c : open) from_peer += c.peer == peer ? 1 : 0;
  if (from_peer >= limits.per_peer) {
    auto victim = oldest_idle(open, [&](const connection_view& c) { return c.peer == peer; });
    return {victim.has_value(), victim};
  }
  if (open.size() >= limits.total) {
    auto victim = oldest_idle(open, [](const connection_view&) { return true; });
    return {victim.has_value(), victim};
  }
  return {true, std::nullopt};
}

}  // namespace vidq::status
