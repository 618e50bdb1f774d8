-- vidq schema, version 1. See docs/DATA.md for the meaning of every column.
-- Times are INTEGER milliseconds since the Unix epoch (UTC); the views show them as text.
-- Money is INTEGER milli-CNY (1 CNY = 1000), so sums are exact.

CREATE TABLE jobs (
  id            INTEGER PRIMARY KEY,
  key           TEXT UNIQUE,                      -- caller's idempotency key; NULL = none
  batch         TEXT    NOT NULL DEFAULT 'default',
  priority      INTEGER NOT NULL DEFAULT 0,       -- higher runs first
  account       TEXT    NOT NULL DEFAULT 'default',
  model         TEXT    NOT NULL,
  prompt        TEXT,
  image_url     TEXT,                             -- URL, local path, or JSON array of them
  params        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
  state         TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN
                  ('queued', 'submitting', 'processing', 'downloading',
                   'succeeded', 'failed', 'cancelled')),
  attempts      INTEGER NOT NULL DEFAULT 0,       -- submit attempts that counted
  not_before    INTEGER NOT NULL DEFAULT 0,       -- earliest next submit (retry backoff)
  request_id    TEXT,                             -- ours, sent with the POST (unique, see index)
  task_id       TEXT,                             -- the provider's
  submitted_at  INTEGER,
  next_poll_at  INTEGER,
  polls         INTEGER NOT NULL DEFAULT 0,
  finished_at   INTEGER,
  video_url     TEXT,
  cover_url     TEXT,
  video_path    TEXT,
  cover_path    TEXT,
  video_bytes   INTEGER,
  video_sha256  TEXT,
  cost          INTEGER NOT NULL DEFAULT 0,       -- milli-CNY
  error_code    TEXT,                             -- provider code or vidq reason, e.g. submit_ambiguous
  error_message TEXT,
  created_at    INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
  updated_at    INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;

-- Append-only history. Written by the trigger below, so that every state change, whether
-- made by the daemon, the CLI or an operator's UPDATE in sqlite3, leaves a row in the same
-- transaction as the change itself.
CREATE TABLE job_events (
  id         INTEGER PRIMARY KEY,
  job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  at         INTEGER NOT NULL,
  from_state TEXT,
  to_state   TEXT NOT NULL,
  detail     TEXT
) STRICT;

CREATE TRIGGER jobs_state_history AFTER UPDATE OF state ON jobs
WHEN old.state IS NOT new.state
BEGIN
  INSERT INTO job_events(job_id, at, from_state, to_state, detail)
  VALUES (new.id,
          CASE WHEN new.updated_at > old.updated_at THEN new.updated_at
               ELSE CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) END,
          old.state, new.state,
          CASE
            WHEN new.state = 'queued' AND old.state IN ('failed', 'cancelled') THEN 'requeued by operator'
            WHEN new.state = 'submitting' THEN 'attempt ' || new.attempts || ', request ' || new.request_id
            WHEN new.state = 'processing' THEN 'task ' || new.task_id
            WHEN new.state = 'succeeded'  THEN new.video_path || ' (' || new.video_bytes || ' bytes)'
            WHEN new.error_code IS NOT NULL THEN new.error_code || ': ' || coalesce(new.error_message, '')
          END);
END;

CREATE TRIGGER jobs_no_event_rewrite BEFORE UPDATE ON job_events
BEGIN
  SELECT RAISE(ABORT, 'job_events is append-only');
END;

-- Hot-path indexes. Partial indexes stay as small as the active part of the queue, so a
-- million finished rows cost the daemon nothing (checked by tests/unit/store_query_plan).
-- Claim: equality on (account, model, priority, batch), then FIFO by id.
CREATE INDEX jobs_queued ON jobs(account, model, priority, batch, id) WHERE state = 'queued';
-- Admission: slots held per (account, model).
CREATE INDEX jobs_inflight ON jobs(account, model) WHERE state IN ('submitting', 'processing');
-- Poll schedule.
CREATE INDEX jobs_poll_due ON jobs(next_poll_at) WHERE state = 'processing';
-- Restart recovery and the stuck view: the few rows in transient states.
CREATE INDEX jobs_transient ON jobs(state, updated_at) WHERE state IN ('submitting', 'downloading');
-- request_id is unique whenever set; queued rows (NULL) cost no index entry, which keeps
-- bulk imports fast.
CREATE UNIQUE INDEX jobs_request_id ON jobs(request_id) WHERE request_id IS NOT NULL;
-- Operator views: progress and spend per batch, recent failures, spend per day. Partial on
-- state <> 'queued' so that a bulk import (all rows queued) pays nothing for it; queued rows
-- are counted through jobs_queued instead.
CREATE INDEX jobs_batch_progress ON jobs(batch, state, cost) WHERE state <> 'queued';
CREATE INDEX jobs_failed ON jobs(finished_at) WHERE state = 'failed';
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX job_events_by_job ON job_events(job_id, id);

-- Operator views ------------------------------------------------------------------------

-- Counts per (batch, state), read from the two indexes that cover them.
CREATE VIEW batch_state_counts AS
SELECT batch, state, count(*) AS jobs, sum(cost) AS cost
FROM jobs WHERE state <> 'queued' GROUP BY batch, state
UNION ALL
SELECT batch, 'queued', count(*), 0 FROM jobs WHERE state = 'queued' GROUP BY batch;

CREATE VIEW batch_progress AS
SELECT batch,
       sum(jobs)                                                        AS total,
       sum(CASE WHEN state = 'queued' THEN jobs ELSE 0 END)             AS queued,
       sum(CASE WHEN state IN ('submitting', 'processing', 'downloading') THEN jobs ELSE 0 END) AS running,
       sum(CASE WHEN state = 'succeeded' THEN jobs ELSE 0 END)          AS succeeded,
       sum(CASE WHEN state = 'failed' THEN jobs ELSE 0 END)             AS failed,
       sum(CASE WHEN state = 'cancelled' THEN jobs ELSE 0 END)          AS cancelled,
       round(100.0 * sum(CASE WHEN state IN ('succeeded', 'failed', 'cancelled') THEN jobs ELSE 0 END)
             / sum(jobs), 1)                                            AS pct_done,
       sum(cost) / 1000.0                                               AS spent_cny
FROM batch_state_counts GROUP BY batch;

CREATE VIEW inflight_by_account AS
SELECT account, model, count(*) AS in_flight,
       sum(state = 'submitting') AS submitting,
       sum(state = 'processing') AS processing
FROM jobs WHERE state IN ('submitting', 'processing')
GROUP BY account, model;

CREATE VIEW recent_failures AS
SELECT id, batch, model, error_code, error_message,
       datetime(coalesce(finished_at, updated_at) / 1000, 'unixepoch') AS failed_at
FROM jobs WHERE state = 'failed'
ORDER BY finished_at DESC
LIMIT 100;

-- Jobs in a non-terminal, non-queued state that have not moved for 30 minutes, or that
-- are past their poll time by 10 minutes: what an operator should look at first.
CREATE VIEW stuck AS
SELECT id, batch, model, state, task_id, polls,
       datetime(updated_at / 1000, 'unixepoch') AS last_change,
       (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - updated_at) / 60000 AS minutes_since
FROM jobs
WHERE (state IN ('submitting', 'downloading')
       AND updated_at < CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 30 * 60000)
   OR (state = 'processing'
       AND next_poll_at < CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 10 * 60000);

CREATE VIEW spend_by_day AS
SELECT date(finished_at / 1000, 'unixepoch') AS day, account, model,
       count(*) AS jobs, sum(cost) / 1000.0 AS spent_cny
FROM jobs WHERE cost > 0 AND finished_at IS NOT NULL
GROUP BY 1, 2, 3;
