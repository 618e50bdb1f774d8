-- vidq schema, version 7: what the daemon's polls saw of each task's run time (issue 13), so
-- that the learned durations (engine/duration_learner.hpp) survive a restart: the database is
-- the only state. A poll never sees the finish itself, only that the task was still running
-- at one age and done at a later one; the sample keeps that interval. docs/DATA.md
-- "duration_samples".

-- The last time a poll saw this task PROCESSING (NULL: none since the submit). Not updated_at:
-- a poll that got a network error or a pause touches the row without having seen anything.
ALTER TABLE jobs ADD COLUMN seen_running_at INTEGER;

CREATE TABLE duration_samples (
  id           INTEGER PRIMARY KEY,
  job_id       INTEGER NOT NULL,        -- jobs.id (the row may be gone after retention)
  model        TEXT    NOT NULL,
  params       TEXT    NOT NULL,        -- the job's params: the kind is derived from model + params
  at_least_ms  INTEGER NOT NULL CHECK (at_least_ms >= 0),  -- age last seen running (0: never)
  at_most_ms   INTEGER CHECK (at_most_ms IS NULL OR at_most_ms > at_least_ms),  -- age seen done; NULL: still running then
  at           INTEGER NOT NULL
) STRICT;

-- Start-up reads the newest samples first.
CREATE INDEX duration_samples_newest ON duration_samples(id DESC);

-- The first SUCCESS of a task: it ended in (seen_running_at, now] after its submit. A re-poll
-- for fresh URLs (video_url already known) says nothing new.
CREATE TRIGGER duration_sample_on_success AFTER UPDATE OF state ON jobs
WHEN old.state = 'processing' AND new.state = 'downloading' AND old.video_url IS NULL
 AND old.submitted_at IS NOT NULL AND new.updated_at > old.submitted_at
BEGIN
  INSERT INTO duration_samples(job_id, model, params, at_least_ms, at_most_ms, at)
  VALUES (new.id, new.model, new.params,
          min(max(coalesce(old.seen_running_at, old.submitted_at) - old.submitted_at, 0),
              new.updated_at - old.submitted_at - 1),
          new.updated_at - old.submitted_at, new.updated_at);
END;

-- A task given up at poll_deadline, or cancelled while running, ran at least that long. A
-- provider FAIL says nothing about how long a success takes: no sample.
CREATE TRIGGER duration_sample_on_give_up AFTER UPDATE OF state ON jobs
WHEN old.state = 'processing' AND old.video_url IS NULL AND old.submitted_at IS NOT NULL
 AND old.seen_running_at IS NOT NULL AND old.seen_running_at > old.submitted_at
 AND (new.state = 'cancelled' OR (new.state = 'failed' AND new.error_code = 'poll_deadline'))
BEGIN
  INSERT INTO duration_samples(job_id, model, params, at_least_ms, at_most_ms, at)
  VALUES (new.id, new.model, new.params, old.seen_running_at - old.submitted_at, NULL, new.updated_at);
END;
