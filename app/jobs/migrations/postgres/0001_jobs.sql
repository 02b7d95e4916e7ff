-- Jobs shared by every API instance, and the instances' heartbeats.
-- request, result and error are JSON documents of the neutral models, kept as the text they were
-- written as (the store never queries inside them).
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    process_id TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('accepted', 'running', 'succeeded', 'failed', 'dismissed')),
    percent INTEGER,
    message TEXT,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    started TIMESTAMPTZ,
    finished TIMESTAMPTZ,
    expires TIMESTAMPTZ,
    expired BOOLEAN NOT NULL DEFAULT FALSE,
    request TEXT NOT NULL,
    result TEXT,
    error TEXT,
    owner TEXT NOT NULL DEFAULT '',
    instance TEXT NOT NULL DEFAULT ''
);
CREATE INDEX jobs_status ON jobs (status);
CREATE INDEX jobs_created ON jobs (created);
CREATE INDEX jobs_owner ON jobs (owner, status);
CREATE INDEX jobs_instance ON jobs (instance, status);

-- last_seen is written with the database's clock, so hosts whose clocks drift agree on the lease.
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    started TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL
);
