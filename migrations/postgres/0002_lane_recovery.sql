-- vidq schema for PostgreSQL, version 2: a lane's back-off recovers with time, as each
-- daemon's own AIMD does (engine/admission.hpp), instead of per accepted submit.
--
-- limit_now is now the lane's limit right after its last 1302 (NULL: never limited); it grows
-- by one slot per quiet period since `limited_at`, up to the cap. Every claimer computes the
-- same figure from these columns under the lane lock, with the quiet period its config gives.
-- Version 1 raised limit_now per accepted submit; a lane it left lowered starts over at cap.
ALTER TABLE lanes ADD COLUMN limited_at BIGINT NOT NULL DEFAULT 0;
UPDATE lanes SET limit_now = NULL;
