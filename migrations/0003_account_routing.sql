-- vidq schema, version 3: one queue served by several accounts (docs/OPERATIONS.md "Account
-- pools"), and account pauses opened by the daemon's circuit breaker.
--
-- A job whose `account` is '' or '*' (or 'default' while no account has that name) may run
-- on any configured account that serves its model. The claim writes the account it picked
-- into `account`, so everything that counts slots, polls or recovers keeps reading one
-- column, and keeps what the row asked for in `requested_account`. Whenever such a row goes
-- back to `queued` (a retry, a requeue, an operator's UPDATE in sqlite3) the trigger below
-- restores the request, so the pool picks again instead of pinning the job to the account
-- that happened to serve it first.
ALTER TABLE jobs ADD COLUMN requested_account TEXT;  -- NULL: the row asked for `account` itself

CREATE TRIGGER jobs_back_to_pool AFTER UPDATE OF state ON jobs
WHEN new.state = 'queued' AND new.requested_account IS NOT NULL
BEGIN
  UPDATE jobs SET account = new.requested_account, requested_account = NULL WHERE id = new.id;
END;

-- paused_by gains 'breaker': the daemon could not reach the account's endpoint (connection
-- refused, DNS, TLS, a base_url that answers 404, 5xx from every request). Unlike the other
-- two kinds, the daemon lifts it by itself once a probe gets a provider's answer again.
-- SQLite cannot alter a CHECK constraint: the (small) table is rebuilt.
CREATE TABLE account_pauses_v3 (
  account    TEXT PRIMARY KEY,
  reason     TEXT    NOT NULL,
  until      INTEGER,                                   -- NULL = until resumed
  paused_by  TEXT    NOT NULL CHECK (paused_by IN ('operator', 'provider', 'breaker')),
  at         INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;
INSERT INTO account_pauses_v3(account, reason, until, paused_by, at)
  SELECT account, reason, until, paused_by, at FROM account_pauses;
DROP TABLE account_pauses;
ALTER TABLE account_pauses_v3 RENAME TO account_pauses;
