#include "vidq/store/sqlite_operator_store.hpp"

namespace vidq::store {

result<insert_counts> sqlite_operator_store::insert_all(std::span<const new_job> jobs) {
  // IMMEDIATE: the write lock up front, so the chunk cannot fail half way on SQLITE_BUSY.
  auto tx = transaction::begin(db_);
  if (!tx) return tx.error();
  insert_counts counts;
  for (const auto& job : jobs) {
    auto outcome = jobs_.insert(job, nullptr);
    if (!outcome) return outcome.error();
    ++(*outcome == insert_outcome::inserted ? counts.inserted : counts.duplicates);
  }
  if (auto r = tx->commit(); !r) return r.error();
  return counts;
}

}  // namespace vidq::store
