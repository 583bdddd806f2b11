-- Why: a rebuild that fails for good (every package file missing from storage, say) was
-- queued again by the sweep at every pass, rereading the whole repository each time and
-- keeping a worker busy. Failures in a row now push the sweep's next attempt back, doubling
-- from 10 seconds up to an hour. A successful rebuild clears them; a new upload still queues
-- its rebuild at once.
alter table repo_arches add column regen_failures integer not null default 0,
                        add column regen_retry_at timestamptz;
