#pragma once
// The one timer wait of the daemon's task coroutines (backoffs, a locked database).
#include "vidq/core/clock.hpp"

#include <boost/asio/awaitable.hpp>

namespace vidq::daemon {

// Waits `delay` ms (at least 0). false: the task was cancelled (shutdown) meanwhile.
boost::asio::awaitable<bool> sleep_for(millis delay);

}  // namespace vidq::daemon
