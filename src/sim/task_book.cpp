#include "vidq/sim/task_book.hpp"

#include <algorithm>

namespace vidq::sim {

int slot_state::in_flight(millis now) {
  tasks.erase(tasks.begin(), tasks.upper_bound(now));
  holds.erase(holds.begin(), holds.upper_bound(now));
  return static_cast<int>(tasks.size() + holds.size());
}

task_book::task_book(const std::vector<key_config>& keys) : keys_(keys) {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    by_credential_.emplace(keys_[i].key, i);
    balances_.push_back(keys_[i].balance);
  }
}

std::optional<std::size_t> task_book::find_key(std::string_view credential) const {
  auto it = by_credential_.find(std::string(credential));
  if (it == by_credential_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::size_t> task_book::find_key_by_name(std::string_view name_or_key) const {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].name == name_or_key || keys_[i].key == name_or_key) return i;
  }
  return std::nullopt;
}

slot_state& task_book::slots(std::size_t key, const std::string& model) {
  auto [it, inserted] = slots_.try_emplace({key, model});
  if (inserted) it->second.cap = keys_[key].cap;
  return it->second;
}

bool task_book::can_pay(std::size_t key, money price) const {
  return !balances_[key] || *balances_[key] >= price;
}

void task_book::charge(std::size_t key, money price) {
  if (balances_[key]) *balances_[key] -= price;
}

task& task_book::add(task t, millis now) {
  slot_state& s = slots(t.key, t.spec.model);
  s.tasks.insert(t.finish_at);
  s.peak = std::max(s.peak, s.in_flight(now));
  order_.push_back(t.id);
  const std::string id = t.id;
  return tasks_.emplace(id, std::move(t)).first->second;
}

task* task_book::find(std::string_view id) {
  auto it = tasks_.find(std::string(id));
  return it == tasks_.end() ? nullptr : &it->second;
}

}  // namespace vidq::sim
