-- vidq schema, version 4: file names from [output] path_template. A downloading job
-- records the file it will write before the transfer; the next job whose template renders
-- the same name looks it up here and takes "<name>-<id>" instead. Partial: queued rows have
-- no path, so bulk imports pay nothing.
CREATE INDEX jobs_video_path ON jobs(video_path) WHERE video_path IS NOT NULL;
