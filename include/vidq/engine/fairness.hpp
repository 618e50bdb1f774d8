#pragma once
// Fairness inside one (account, model) (DESIGN.md §2): higher priority first; among equal
// priority, batches take turns so a 5,000-row batch cannot starve a 10-row one; FIFO inside
// a batch is the claim query's ORDER BY id. Pure apart from the remembered turn.

#include "vidq/store/dispatch_store.hpp"

#include <map>
#include <span>
#include <string>
#include <tuple>
#include <vector>

namespace vidq::engine {

struct claim_share {
  store::queue_group group;
  int count = 0;  // rows to ask dispatch_store::claim for
};

class fair_share {
 public:
  // Splits `free_slots` over `groups` (from queued_groups(), any order; groups of other
  // (account, model) pairs must have been filtered out by the caller). All slots go to the
  // highest priority present; among its batches, one slot at a time round-robin, starting
  // after the batch served last at that priority, so consecutive calls rotate. The result
  // lists each group at most once, in the order it was first served.
  //
  // The plan does not know how many rows are runnable (not_before). When a claim returns
  // fewer rows than asked, the driver drops that group from its list and calls plan()
  // again for the slots still free: lower priorities get them then.
  std::vector<claim_share> plan(std::span<const store::queue_group> groups, int free_slots);

  // Forgets every turn (tests; also harmless after a config reload).
  void reset() { cursor_.clear(); }

 private:
  // (account, model, priority) → the batch served last.
  std::map<std::tuple<std::string, std::string, std::int64_t>, std::string> cursor_;
};

}  // namespace vidq::engine
