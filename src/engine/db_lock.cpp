#include "vidq/engine/db_lock.hpp"

namespace vidq::engine {

bool db_lock_watch::may_try(millis now) {
  if (!locked_since_) return true;
  if (now < next_try_) return false;
  next_try_ = now + retry_every_;
  return true;
}

void db_lock_watch::on_busy(millis now) {
  if (!locked_since_) locked_since_ = now;
  next_try_ = now + retry_every_;
}

}  // namespace vidq::engine
