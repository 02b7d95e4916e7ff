-- The first schema: one row per job. Times are ISO 8601 text in UTC (they sort as they compare);
-- request, result and error are JSON documents of the neutral models.
-- Files made before migrations existed are adopted as having applied this (and 0002 when they
-- have the owner column) without running it.
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    process_id TEXT NOT NULL,
    status TEXT NOT NULL,
    percent INTEGER,
    message TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    expires TEXT,
    expired INTEGER NOT NULL DEFAULT 0,
    request TEXT NOT NULL,
    result TEXT,
    error TEXT
);
CREATE INDEX jobs_status ON jobs (status);
CREATE INDEX jobs_created ON jobs (created);
