-- vidq schema, version 5: a charge ledger (issue 11). One row per provider task that was (or
-- may have been) created, and so billed: written in the same transaction that records the
-- task id (or the ambiguous submit), never overwritten by a later attempt. Every spend reader
-- (budgets, views, /metrics, `vidq status`, manifests) sums this table; jobs.cost only keeps
-- the price of the job's latest accepted attempt. docs/DATA.md "charges".
--
-- No foreign key to jobs: money spent stays on the books when [retention] deletes the job.
CREATE TABLE charges (
  id          INTEGER PRIMARY KEY,
  job_id      INTEGER NOT NULL,                  -- jobs.id (the row may be gone after retention)
  attempt     INTEGER NOT NULL,                  -- jobs.attempts of the submit that created the task
  request_id  TEXT    NOT NULL UNIQUE,           -- one submit attempt: a replay can never charge twice
  task_id     TEXT,                              -- the provider's; NULL: an ambiguous submit (see origin)
  account     TEXT    NOT NULL,
  model       TEXT    NOT NULL,
  batch       TEXT    NOT NULL,                  -- the job's batch when it was paid
  price       INTEGER NOT NULL CHECK (price >= 0),         -- milli-CNY charged at creation
  refunded    INTEGER NOT NULL DEFAULT 0                   -- milli-CNY the provider credited back
                CHECK (refunded >= 0 AND refunded <= price),
  origin      TEXT    NOT NULL CHECK (origin IN ('accepted', 'ambiguous', 'duplicate', 'backfill')),
  at          INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;

-- Budgets and views: spend since a time (daily budget, spend_by_day, /metrics today), per
-- batch (batch budget, batch_progress), per job (manifest, `vidq show`).
CREATE INDEX charges_at ON charges(at);
CREATE INDEX charges_batch ON charges(batch, price, refunded);
CREATE INDEX charges_job ON charges(job_id);

-- Back-fill: every row that recorded a provider task was charged jobs.cost for it (its
-- latest attempt; earlier attempts were overwritten and cannot be recovered).
INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, origin, at)
SELECT id, attempts, coalesce(request_id, 'backfill-' || id || '-' || task_id), task_id, account, model, batch,
       max(cost, 0), 'backfill', coalesce(submitted_at, updated_at)
FROM jobs WHERE task_id IS NOT NULL;

-- Re-downloads (issue 11 item 3): how many times the stored task was polled again for fresh
-- result URLs after a failed download (by the daemon or `vidq retry --download`), never a
-- new submit. Reset when a retry resubmits the job.
ALTER TABLE jobs ADD COLUMN refetches INTEGER NOT NULL DEFAULT 0;

-- The views that summed jobs.cost now read the ledger.
DROP VIEW batch_progress;
DROP VIEW batch_state_counts;
DROP VIEW spend_by_day;

-- Counts per (batch, state); cost = the net charges of the jobs now in that state.
CREATE VIEW batch_state_counts AS
WITH counts AS (
  SELECT batch, state, count(*) AS jobs FROM jobs WHERE state <> 'queued' GROUP BY batch, state
  UNION ALL
  SELECT batch, 'queued', count(*) FROM jobs WHERE state = 'queued' GROUP BY batch
), paid AS (
  SELECT j.batch, j.state, sum(c.price - c.refunded) AS cost
  FROM charges c JOIN jobs j ON j.id = c.job_id GROUP BY j.batch, j.state
)
SELECT counts.batch, counts.state, counts.jobs, coalesce(paid.cost, 0) AS cost
FROM counts LEFT JOIN paid ON paid.batch = counts.batch AND paid.state = counts.state;

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
       coalesce((SELECT sum(c.price - c.refunded) FROM charges c WHERE c.batch = b.batch), 0) / 1000.0
                                                                        AS spent_cny
FROM (SELECT batch, state, count(*) AS jobs FROM jobs WHERE state <> 'queued' GROUP BY batch, state
      UNION ALL
      SELECT batch, 'queued', count(*) FROM jobs WHERE state = 'queued' GROUP BY batch) b
GROUP BY batch;

-- Per UTC day of the charge, account and model. Free models are counted (price 0).
CREATE VIEW spend_by_day AS
SELECT date(at / 1000, 'unixepoch') AS day, account, model,
       count(DISTINCT job_id) AS jobs, count(*) AS tasks,
       sum(price - refunded) / 1000.0 AS spent_cny, sum(refunded) / 1000.0 AS refunded_cny
FROM charges
GROUP BY 1, 2, 3;
