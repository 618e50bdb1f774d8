// Webhook targets: one signed POST per attempt through the project's HTTPS client.
#include "vidq/net/https_client.hpp"
#include "vidq/notify/signature.hpp"
#include "vidq/notify/transport.hpp"

namespace vidq::notify {

namespace asio = boost::asio;

asio::awaitable<attempt_result> real_transport::deliver(const target& t, const message& m) {
  if (!t.config.url.empty()) co_return co_await post_webhook(http_, t, m, clock_.now() / 1000);
  co_return co_await run_command(t.config.command, m.env, m.body, t.config.timeout);
}

asio::awaitable<attempt_result> post_webhook(net::https_client& http, const target& t, const message& m,
                                             std::int64_t unix_seconds) {
  net::http_request req(t.config.url, net::http::verb::post, m.body);
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Idempotency-Key", m.idempotency_key);
  req.headers.emplace_back("X-Vidq-Event", std::string(to_string(m.event)));
  req.headers.emplace_back("X-Vidq-Notice-Id", std::to_string(m.notice_id));
  if (!t.secret.empty()) {
    req.headers.emplace_back("X-Vidq-Timestamp", std::to_string(unix_seconds));
    req.headers.emplace_back("X-Vidq-Signature", signature_header(t.secret.expose(), unix_seconds, m.body));
  }
  const net::milliseconds step{t.config.timeout};
  req.options.deadlines = net::timeouts{step, step, step, step, step, step};
  req.options.max_body = 64 * 1024;  // the receiver's answer is read and dropped
  auto reply = co_await http.request(std::move(req));
  if (!reply) co_return attempt_result{false, reply.error().message()};
  if (reply->status >= 200 && reply->status < 300) co_return attempt_result{true, {}};
  co_return attempt_result{false, "HTTP " + std::to_string(reply->status)};
}

}  // namespace vidq::notify
