#pragma once
// The provider's bookkeeping, sans-io: tasks with their fixed timelines, the per (key, model)
// concurrency slots, and balances. A task's finish time is drawn at creation, so "in flight"
// is a pure function of the clock: a task holds its slot from creation until finish_at
// whether or not anyone polls it (API.md §11.2 answered the strict way), and a stuck task
// holds it forever.

#include "vidq/core/clock.hpp"
#include "vidq/sim/config.hpp"
#include "vidq/sim/validate.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace vidq::sim {

constexpr millis never = std::numeric_limits<millis>::max();

enum class task_status { processing, success, fail };

struct task {
  std::string id;  // BigModel: 19-digit order number; GeekAI: UUID
  std::uint64_t seq = 0;
  std::size_t key = 0;  // index into the key set
  dialect via = dialect::bigmodel;
  task_spec spec;
  std::string request_id;
  millis created_at = 0;
  millis finish_at = never;  // never: stuck
  bool fails = false;        // outcome FAIL at finish_at
  millis early_404_until = 0;
  std::uint64_t video_size = 0;
  money price = 0;  // charged at creation (never refunded, also on FAIL): the billed total
  // Observations for /__sim/stats.
  std::uint64_t polls = 0;
  std::uint64_t download_requests = 0;  // index of the download fault stream
  std::uint64_t video_downloads = 0;  // completed full-file transfers
  std::string video_sha256;           // set when the video was first served

  task_status status_at(millis now) const {
    if (now < finish_at) return task_status::processing;
    return fails ? task_status::fail : task_status::success;
  }
};

// Slots of one (key, model): finish times of the tasks and foreign holds occupying it.
struct slot_state {
  int cap = 0;
  std::multiset<millis> tasks;
  std::multiset<millis> holds;
  int peak = 0;
  std::uint64_t cap_rejections = 0;

  // Frees every slot whose holder finished at or before `now`, then counts the rest.
  int in_flight(millis now);
};

class task_book {
 public:
  explicit task_book(const std::vector<key_config>& keys);

  // Index of the key whose credential is `credential`, if any.
  std::optional<std::size_t> find_key(std::string_view credential) const;
  // Index of the key whose name or credential is `name_or_key` (admin endpoints).
  std::optional<std::size_t> find_key_by_name(std::string_view name_or_key) const;
  const key_config& key(std::size_t index) const { return keys_[index]; }
  std::size_t key_count() const { return keys_.size(); }

  slot_state& slots(std::size_t key, const std::string& model);
  std::map<std::pair<std::size_t, std::string>, slot_state>& all_slots() { return slots_; }

  // Balance: nullopt = unlimited.
  std::optional<money> balance(std::size_t key) const { return balances_[key]; }
  void set_balance(std::size_t key, std::optional<money> value) { balances_[key] = value; }
  // True when the key can pay `price` now (unlimited keys always can).
  bool can_pay(std::size_t key, money price) const;
  void charge(std::size_t key, money price);

  // Stores a task and takes its slot. The caller checked the cap.
  task& add(task t, millis now);
  task* find(std::string_view id);
  bool contains(std::string_view id) const { return tasks_.contains(std::string(id)); }
  // Tasks in creation order.
  const std::vector<std::string>& order() const { return order_; }
  const task& at(const std::string& id) const { return tasks_.at(id); }

 private:
  std::vector<key_config> keys_;
  std::unordered_map<std::string, std::size_t> by_credential_;
  std::vector<std::optional<money>> balances_;
  std::map<std::pair<std::size_t, std::string>, slot_state> slots_;
  std::unordered_map<std::string, task> tasks_;
  std::vector<std::string> order_;
};

}  // namespace vidq::sim
