#pragma once
// The dashboard's static files (src/status/assets), compiled into the binary by
// cmake/embed_status_assets.cmake: no files beside the executable, no CDN, no web fonts.

#include <string_view>

namespace vidq::status {

struct static_asset {
  std::string_view path;          // URL path, "/" + file name, e.g. "/app.js"
  std::string_view content_type;  // from the extension
  std::string_view body;
};

// The asset served at `path`, or nullptr. "/" is not mapped here: the router sends it to
// "/index.html".
const static_asset* find_asset(std::string_view path);

}  // namespace vidq::status
