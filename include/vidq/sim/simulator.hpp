#pragma once
// The simulated provider, sans-io (STYLE.md §2): one request in, one reply decision out,
// driven by an injected clock and the seeded streams of random.hpp. The HTTPS server
// (server.hpp) only moves bytes and performs the transport actions a reply asks for, so
// every decision here is unit-tested with a manual_clock and no socket.
// Thread-safe: a mutex guards the state, so tests may read stats from another thread.

#include "vidq/core/clock.hpp"
#include "vidq/sim/config.hpp"
#include "vidq/sim/media.hpp"
#include "vidq/sim/task_book.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vidq::sim {

struct request {
  std::string_view method;         // GET, HEAD, POST, ...
  std::string_view target;         // origin-form: path and query
  std::string_view authorization;  // header value; empty when absent
  std::string_view range;          // Range header value; empty when absent
  std::string_view body;
};

enum class transport {
  respond,              // send the reply
  close_without_reply,  // close the connection cleanly, sending nothing (ambiguous submit)
  reset,                // abort the TCP connection (RST), sending nothing
};

struct reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  transport action = transport::respond;
  millis delay_ms = 0;  // wall-clock wait before acting (slow-reply fault)

  // A video download: the body comes from `video` over `range`, possibly cut short.
  std::optional<video_file> video;
  byte_range range;
  bool head_only = false;
  std::uint64_t truncate_after = UINT64_MAX;  // body bytes sent before closing the connection
  std::string download_task;                  // task id whose video or cover this is
  bool download_is_cover = false;

  // GeekAI async:false: the reply is not ready; wait until the simulated clock reaches
  // wait_until_ms, then ask geekai_sync(wait_task) again.
  std::string wait_task;
  millis wait_until_ms = 0;
};

class simulator {
 public:
  simulator(sim_config config, const vidq::clock& clock);
  ~simulator();
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  // Origin used in file URLs, e.g. "https://127.0.0.1:8443" (set once the port is known).
  void set_base_url(std::string url);
  const sim_config& config() const { return config_; }
  millis now() const { return clock_.now(); }  // the simulated clock

  // Routes and answers one request. Never throws for any input.
  reply handle(const request& req);

  // The reply to a GeekAI async:false submit of `task_id`: the finished task, or another wait.
  reply geekai_sync(std::string_view task_id);
  // The reply when a GeekAI async:false wait exceeded its wall-clock budget (HTTP 504).
  reply geekai_sync_timeout(std::string_view task_id);

  // The server reports how a file transfer ended: `complete` when every byte of the range
  // was written, `end_of_file` when that range ended at the file's last byte.
  void download_finished(std::string_view task_id, bool cover, bool complete, bool end_of_file);

  // GET /__sim/stats body (docs/SIMULATOR.md); with_tasks=false omits the per-task list.
  boost::json::object stats(bool with_tasks = true);
  fault_rates faults() const;
  // Errors: errc::invalid_argument (see apply_json).
  result<void> set_faults(const boost::json::object& patch, std::string* why);

 private:
  struct counters;
  reply route(const request& req);
  reply submit(const request& req, dialect via);
  reply poll(const request& req, std::string_view id, dialect via);
  reply download(const request& req, std::string_view id, bool cover, std::string_view query);
  reply admin(const request& req, std::string_view path);
  reply hold(const boost::json::object& body);
  reply release(const boost::json::object& body);
  reply set_balance(const boost::json::object& body);
  boost::json::object stats_locked(bool with_tasks);
  boost::json::object billed_locked();
  std::optional<std::size_t> authenticate(const request& req, dialect via, reply& err);
  reply error(dialect via, int bigmodel_status, std::string code, std::string message);
  reply bigmodel_task_body(const task& t, millis now) const;
  reply geekai_task_body(const task& t, millis now) const;
  void apply_reply_faults(reply& r, stream& draw);
  std::string file_url(const task& t, bool cover) const;
  std::string signature(std::string_view id, millis expires, bool cover) const;
  millis scaled(double ms) const;
  millis draw_duration(const task_spec& spec, stream& draw) const;
  std::string new_task_id(dialect via);

  sim_config config_;
  const vidq::clock& clock_;
  mutable std::mutex mutex_;
  std::string base_url_ = "https://127.0.0.1";
  task_book book_;
  std::unique_ptr<counters> counters_;
  std::uint64_t submissions_ = 0;
  std::uint64_t next_task_ = 0;
  std::uint64_t misc_requests_ = 0;  // index of the fault stream for requests without a task
};

}  // namespace vidq::sim
