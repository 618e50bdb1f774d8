// libFuzzer: provider replies (both dialects, submit and poll) through interpret_submit /
// interpret_poll, i.e. the JSON parsing, the error taxonomy and the message tidying.
// Input: byte 0 picks the provider and the operation, bytes 1-2 the HTTP status, the rest
// is the body.
#include "vidq/provider/dialect.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vidq::provider;
  if (size < 3) return 0;
  static constexpr vidq::ops::provider_kind kinds[] = {vidq::ops::provider_kind::bigmodel,
                                                      vidq::ops::provider_kind::zai, vidq::ops::provider_kind::geekai};
  const auto kind = kinds[data[0] % 3];
  const bool poll = (data[0] & 0x10) != 0;
  static constexpr int statuses[] = {200, 200, 200, 201, 400, 401, 403, 404, 408, 410, 429, 500, 502, 503, 504, 299};
  const int status = (data[1] & 0x80) ? 100 + ((data[1] << 8 | data[2]) % 500) : statuses[data[2] % 16];
  transport_outcome o;
  o.what = transport_outcome::kind::response;
  o.http_status = status;
  o.body.assign(reinterpret_cast<const char*>(data + 3), size - 3);
  if (data[0] & 0x20) o.retry_after = o.body.substr(0, 12);
  classify_context ctx;
  ctx.provider = kind;
  ctx.now = 1'700'000'000'000;
  if (data[0] & 0x40) ctx.submitted_at = ctx.now - 1000;
  if (poll) {
    (void)interpret_poll(kind, o, ctx);
  } else {
    (void)interpret_submit(kind, o, ctx);
  }
  (void)parse_resume_time(o.body);
  return 0;
}
