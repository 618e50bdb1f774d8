#include "vidq/store/account_store.hpp"

#include "vidq/store/sqlite.hpp"

namespace vidq::store {

std::string_view to_string(paused_by by) noexcept {
  switch (by) {
    case paused_by::provider: return "provider";
    case paused_by::breaker: return "breaker";
    case paused_by::operator_: return "operator";
  }
  return "operator";
}

paused_by parse_paused_by(std::string_view text) noexcept {
  if (text == "provider") return paused_by::provider;
  if (text == "breaker") return paused_by::breaker;
  return paused_by::operator_;
}

result<void> account_store::pause(std::string_view account, std::string_view reason, std::optional<millis> until,
                                  paused_by by) {
  auto stmt = db_.cached(
      "INSERT INTO account_pauses(account, reason, until, paused_by, at) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT(account) DO UPDATE SET reason = excluded.reason, until = excluded.until, "
      "paused_by = excluded.paused_by, at = excluded.at");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind_view(1, account).bind_view(2, reason).bind(3, until).bind_view(4, to_string(by)).bind(5, clock_.now());
  auto ran = s.run();
  s.reset();
  return ran;
}

result<bool> account_store::resume(std::string_view account) {
  auto stmt = db_.cached("DELETE FROM account_pauses WHERE account = ?1");
  if (!stmt) return {boost::system::in_place_error, stmt.error()};
  auto& s = **stmt;
  s.bind_view(1, account);
  auto ran = s.run();
  s.reset();
  if (!ran) return {boost::system::in_place_error, ran.error()};
  return db_.changes() > 0;
}

result<bool> account_store::lift(std::string_view account, paused_by by) {
  auto stmt = db_.cached("DELETE FROM account_pauses WHERE account = ?1 AND paused_by = ?2");
  if (!stmt) return {boost::system::in_place_error, stmt.error()};
  auto& s = **stmt;
  s.bind_view(1, account).bind_view(2, to_string(by));
  auto ran = s.run();
  s.reset();
  if (!ran) return {boost::system::in_place_error, ran.error()};
  return db_.changes() > 0;
}

result<std::vector<account_pause_row>> account_store::pauses() {
  auto stmt = db_.cached("SELECT account, reason, until, paused_by, at FROM account_pauses ORDER BY account");
  if (!stmt) return stmt.error();
  std::vector<account_pause_row> out;
  auto done = (*stmt)->for_each_row([&](const statement& s) {
    account_pause_row row;
    row.account = s.get_text(0);
    row.reason = s.get_text(1);
    if (!s.is_null(2)) row.until = s.get_int64(2);
    row.by = parse_paused_by(s.get_text(3));
    row.at = s.get_int64(4);
    out.push_back(std::move(row));
  });
  (*stmt)->reset();
  if (!done) return done.error();
  return out;
}

}  // namespace vidq::store
