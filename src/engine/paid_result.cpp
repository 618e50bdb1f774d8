#include "vidq/engine/paid_result.hpp"

namespace vidq::engine {

download_give_up after_download_gave_up(const provider::verdict& v, std::int64_t refetches_done,
                                        int max_refetches) noexcept {
  if (v.what != provider::action::retry || v.error_code == "cancelled") return download_give_up::fail;
  return refetches_done < max_refetches ? download_give_up::refetch : download_give_up::fail;
}

}  // namespace vidq::engine
