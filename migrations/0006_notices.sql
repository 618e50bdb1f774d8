-- vidq schema, version 6: completion notices ([[notify]] webhooks and commands) through an
-- outbox. A notice is written by a trigger in the same transaction as the state change that
-- causes it, whoever makes the change (daemon, CLI, an operator's UPDATE in sqlite3): a
-- rolled-back change takes its notice with it, a committed one cannot lose it. The daemon
-- fans each notice out to the configured targets whose `events` match (one
-- notice_deliveries row per target) and delivers at least once. docs/DATA.md, docs/DAEMON.md.

CREATE TABLE notices (
  id         INTEGER PRIMARY KEY,
  event      TEXT    NOT NULL CHECK (event IN
               ('batch_finished', 'job_succeeded', 'job_failed', 'account_paused', 'budget_blocked')),
  at         INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
  job_id     INTEGER,                 -- job events; no foreign key: retention may delete the job
  batch      TEXT,
  account    TEXT,
  -- What the receiver gets under "data": a snapshot taken by the trigger. At fan-out the
  -- daemon adds what only it knows (the batch's spend, the manifest's path).
  payload    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
  fanned_out INTEGER NOT NULL DEFAULT 0  -- 1 once the deliveries exist (and the manifest is written)
) STRICT;
CREATE INDEX notices_to_fan_out ON notices(id) WHERE fanned_out = 0;

CREATE TABLE notice_deliveries (
  notice_id       INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
  target          TEXT    NOT NULL,   -- [[notify]] name
  attempts        INTEGER NOT NULL DEFAULT 0,  -- finished attempts (one cut by a crash is not counted)
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  delivered_at    INTEGER,
  gave_up_at      INTEGER,
  PRIMARY KEY (notice_id, target)
) STRICT;
CREATE INDEX notice_deliveries_due ON notice_deliveries(next_attempt_at)
  WHERE delivered_at IS NULL AND gave_up_at IS NULL;

-- A job reached succeeded or failed.
CREATE TRIGGER jobs_notice_job_finished AFTER UPDATE OF state ON jobs
WHEN new.state IN ('succeeded', 'failed') AND old.state IS NOT new.state
BEGIN
  INSERT INTO notices(event, job_id, batch, account, payload)
  VALUES ('job_' || new.state, new.id, new.batch, new.account,
          json_object('job_id', new.id, 'key', new.key, 'batch', new.batch, 'state', new.state,
                      'model', new.model, 'account', new.account, 'attempts', new.attempts,
                      'video_path', new.video_path, 'cover_path', new.cover_path,
                      'video_bytes', new.video_bytes, 'video_sha256', new.video_sha256,
                      'cost_cny', new.cost / 1000.0, 'error_code', new.error_code,
                      'error_message', new.error_message, 'task_id', new.task_id,
                      'request_id', new.request_id, 'finished_at', new.finished_at));
END;

-- A batch's unfinished jobs: in flight through jobs_batch_progress, then queued through
-- jobs_queued (SQLite pushes `batch = ?` into both arms; EXISTS stops at the first row).
CREATE VIEW batch_open_jobs AS
SELECT batch, id FROM jobs INDEXED BY jobs_batch_progress
WHERE state <> 'queued' AND state IN ('submitting', 'processing', 'downloading')
UNION ALL
SELECT batch, id FROM jobs INDEXED BY jobs_queued WHERE state = 'queued';

-- Jobs per (batch, state) of the started rows: what a finished batch's notice counts.
CREATE VIEW batch_finished_counts AS
SELECT batch, state, count(*) AS n FROM jobs INDEXED BY jobs_batch_progress
WHERE state <> 'queued' GROUP BY batch, state;

-- A job left queued/in-flight for a terminal state and its batch has nothing unfinished
-- left. For a multi-row UPDATE (`vidq cancel --batch`) the trigger runs after each row, so
-- only the last row of the batch sees it finished: one notice.
CREATE TRIGGER jobs_notice_batch_finished AFTER UPDATE OF state ON jobs
WHEN old.state IN ('queued', 'submitting', 'processing', 'downloading')
 AND new.state IN ('succeeded', 'failed', 'cancelled')
 AND NOT EXISTS (SELECT 1 FROM batch_open_jobs WHERE batch = new.batch)
BEGIN
  INSERT INTO notices(event, batch, payload)
  SELECT 'batch_finished', new.batch, json_object('batch', new.batch, 'total', sum(n), 'counts', json_group_object(state, n))
  FROM batch_finished_counts WHERE batch = new.batch;
END;

-- The same when the last unfinished job of a batch is deleted (an operator's DELETE), as
-- long as the batch still has finished jobs.
CREATE TRIGGER jobs_notice_batch_finished_by_delete AFTER DELETE ON jobs
WHEN old.state IN ('queued', 'submitting', 'processing', 'downloading')
 AND NOT EXISTS (SELECT 1 FROM batch_open_jobs WHERE batch = old.batch)
 AND EXISTS (SELECT 1 FROM batch_finished_counts WHERE batch = old.batch)
BEGIN
  INSERT INTO notices(event, batch, payload)
  SELECT 'batch_finished', old.batch, json_object('batch', old.batch, 'total', sum(n), 'counts', json_group_object(state, n))
  FROM batch_finished_counts WHERE batch = old.batch;
END;

-- An account pause begins (daemon, CLI, status server or sqlite3), or changes hands (a
-- breaker pause replaced by the provider's). A provider repeating the same pause is quiet.
CREATE VIEW account_pause_payloads AS
SELECT account, json_object('account', account, 'reason', reason, 'paused_by', paused_by, 'until', until) AS payload
FROM account_pauses;
CREATE TRIGGER account_pauses_notice_insert AFTER INSERT ON account_pauses
BEGIN
  INSERT INTO notices(event, account, payload)
  SELECT 'account_paused', account, payload FROM account_pause_payloads WHERE account = new.account;
END;
CREATE TRIGGER account_pauses_notice_update AFTER UPDATE ON account_pauses
WHEN old.paused_by IS NOT new.paused_by
BEGIN
  INSERT INTO notices(event, account, payload)
  SELECT 'account_paused', account, payload FROM account_pause_payloads WHERE account = new.account;
END;

-- Delivery state per (notice, target), for operators and `vidq notify list`.
CREATE VIEW notice_status AS
SELECT n.id AS notice, n.event, coalesce(n.batch, n.account, '') AS subject, n.job_id, d.target,
       CASE WHEN d.delivered_at IS NOT NULL THEN 'delivered'
            WHEN d.gave_up_at IS NOT NULL THEN 'failed'
            ELSE 'pending' END AS status,
       d.attempts, d.last_error,
       datetime(n.at / 1000, 'unixepoch') AS created,
       datetime(d.next_attempt_at / 1000, 'unixepoch') AS next_attempt,
       datetime(d.delivered_at / 1000, 'unixepoch') AS delivered
FROM notices n JOIN notice_deliveries d ON d.notice_id = n.id;
