#pragma once
// Which connection the status server drops when a new one arrives at a limit
// (docs/STATUS_SERVER.md "Connections"). Pure: the accept loop passes what it holds and
// performs the decision. A kept-alive connection waiting for its next request costs the
// client nothing to hold, so at a limit the oldest idle one makes room: /healthz and a
// scrape always get in, and a client that opens many connections only loses its own.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vidq::status {

struct connection_limits {
  std::size_t total = 64;     // all peers together
  std::size_t per_peer = 32;  // one remote address
};

struct connection_view {
  std::uint64_t id = 0;
  std::string peer;              // the remote address as text
  bool idle = false;             // waiting for a request's first byte
  std::uint64_t idle_since = 0;  // a counter: lower is longer idle
};

struct connection_decision {
  bool accept = false;
  std::optional<std::uint64_t> evict;  // close this one first
};

// At the per-peer limit the peer's own oldest idle connection goes; else at the total limit
// the oldest idle connection of anyone goes; with no idle one to drop, the new one is refused.
connection_decision admit_connection(const std::vector<connection_view>& open, const std::string& peer,
                                     const connection_limits& limits);

}  // namespace vidq::status
