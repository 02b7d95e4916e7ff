-- Each job records the API instance running it ('' = a process from before instances existed);
-- each instance records when it was last seen, so that the jobs of one silent for longer than the
-- lease can be failed by another.
ALTER TABLE jobs ADD COLUMN instance TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_instance ON jobs (instance, status);
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
