#include "vidq/engine/fairness.hpp"

#include <algorithm>

namespace vidq::engine {

std::vector<claim_share> fair_share::plan(std::span<const store::queue_group> groups, int free_slots) {
  std::vector<claim_share> out;
  if (groups.empty() || free_slots <= 0) return out;

  const auto top = std::max_element(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
                     return a.priority < b.priority;
                   })->priority;
  std::vector<const store::queue_group*> batches;
  for (const auto& g : groups) {
    if (g.priority == top) batches.push_back(&g);
  }
  // Batch names order the turn, so a batch that appears or disappears between calls does
  // not reshuffle the others (an index would).
  std::sort(batches.begin(), batches.end(), [](const auto* a, const auto* b) { return a->batch < b->batch; });
  batches.erase(std::unique(batches.begin(), batches.end(), [](const auto* a, const auto* b) { return a->batch == b->batch; }),
                batches.end());

  const auto& first = *batches.front();
  auto key = std::make_tuple(first.account, first.model, top);
  std::size_t start = 0;
  if (auto it = cursor_.find(key); it != cursor_.end()) {
    // The first batch strictly after the last one served, wrapping around.
    auto next = std::upper_bound(batches.begin(), batches.end(), it->second,
                                 [](const std::string& name, const auto* g) { return name < g->batch; });
    start = next == batches.end() ? 0 : static_cast<std::size_t>(next - batches.begin());
  }

  std::vector<int> counts(batches.size(), 0);
  std::vector<std::size_t> order;
  std::size_t last = start;
  for (int i = 0; i < free_slots; ++i) {
    const std::size_t idx = (start + static_cast<std::size_t>(i)) % batches.size();
    if (counts[idx]++ == 0) order.push_back(idx);
    last = idx;
  }
  cursor_[key] = batches[last]->batch;
  for (std::size_t idx : order) out.push_back({*batches[idx], counts[idx]});
  return out;
}

}  // namespace vidq::engine
