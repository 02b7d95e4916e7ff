-- Jobs belong to the user who submitted them ('' = anonymous).
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, status);
