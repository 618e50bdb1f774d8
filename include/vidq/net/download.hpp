#pragma once
// Streams a response body to `<dest>` through `<dest>.part` with constant memory (one 64 KiB
// buffer), hashing as it goes; publishes with fsync + rename + directory fsync (part_file).
// Follows a bounded number of redirects, https only unless the client allows http. A body that
// ends before its declared end is an error and never a file (DESIGN.md §2 downloads).

#include "vidq/net/errors.hpp"
#include "vidq/net/https_client.hpp"
#include "vidq/net/options.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vidq::net {

struct download_options {
  std::uint64_t max_bytes = 4ull << 30;  // refuse bodies larger than this (4 GiB)
  unsigned max_redirects = 5;
  // Replaces the client's deadlines; read_body is the inactivity limit per read, so a big
  // file may take as long as it needs while bytes keep arriving.
  std::optional<timeouts> deadlines;
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  std::optional<proxy_settings> proxy;  // replaces the client's options().proxy; every hop
};

struct download_result {
  std::uint64_t bytes = 0;
  std::string sha256_hex;  // lowercase hex of the file's bytes
  unsigned redirects = 0;  // how many were followed
};

// GET `url` into `dest` (its directory must exist). Only a 200 response is a file.
// Errors (request_error::ec, step):
//   net_errc::bad_url / scheme_refused (the URL), redirect_refused (a Location to http:// or
//     another scheme), too_many_redirects (more than max_redirects), bad_url (3xx without a
//     usable Location)                                                    prepare
//   resolve / connect / handshake / write / read_header errors, as in https_client::request
//   net_errc::http_status with `status` set (403, 404, 410, 5xx...) and the first 512 bytes
//     of the body in `detail`: the caller decides (403/404 -> URL expired -> re-poll)
//   net_errc::body_too_large (Content-Length or the streamed size beyond max_bytes),
//   net_errc::truncated (EOF or TLS close without close_notify before the declared length,
//     or an EOF-delimited body ended without close_notify), errc::timeout   read_body
//   the errno of open/write/fsync/rename (ENOSPC...)                    file
// On any error `<dest>` is untouched and no `.part` remains. `delivery` is irrelevant for a GET
// but filled in as for request().
// Cancellation (terminal, via the slot): the transfer stops, the connection is closed, the
// `.part` removed, and the result is operation_aborted.
// The file is written as `<dest><part_suffix>` until it is complete (net/part_file.hpp;
// several daemons sharing one directory give each its own). `part_suffix` must stay alive
// until the download completes. (Not a download_options member: GCC 12 miscompiles an
// aggregate temporary holding a std::string inside a co_await expression, which the
// default argument above would be.)
boost::asio::awaitable<net_result<download_result>> download(https_client& client,
                                                             std::string url,
                                                             std::filesystem::path dest,
                                                             download_options options = {},
                                                             std::string_view part_suffix = ".part");

}  // namespace vidq::net
