-- vidq schema, version 2: account pauses that survive restarts and that an operator can set
-- from another process (`vidq account pause|resume`, the status server, or sqlite3).
-- A row means "this account submits nothing": `until` NULL = until resumed, else until
-- that time (ms). Resuming = deleting the row. The daemon re-reads this table whenever
-- another connection writes to the database (PRAGMA data_version).
CREATE TABLE account_pauses (
  account    TEXT PRIMARY KEY,
  reason     TEXT    NOT NULL,
  until      INTEGER,                                   -- NULL = until resumed
  paused_by  TEXT    NOT NULL CHECK (paused_by IN ('operator', 'provider')),
  at         INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;
