-- Why: mirroring (issue 13). A repository can be a verified copy of an upstream pacman
-- repository: its packages come from the upstream's databases rather than from uploads, and a
-- sync makes a new upstream state live all at once or not at all.

-- One mirror per repository. The repository is read-only while it is a mirror: uploads and
-- removals into it are refused.
create table mirrors (
    id bigint generated always as identity primary key,
    repo_id bigint not null references repos (id) on delete cascade,
    -- A URL template with pacman's `$repo` and `$arch` variables.
    upstream text not null,
    arches text[] not null,
    interval_secs integer not null,
    -- Serve `{file}.sig` for packages whose upstream entry carries a signature (`%PGPSIG%`).
    keep_signatures boolean not null default true,
    -- An armored keyring: when set, the upstream's databases and packages must carry
    -- signatures by one of its keys.
    verify_keyring text,
    max_concurrent_downloads integer not null default 4,
    bandwidth_limit_bytes_per_sec bigint,
    -- Declared in a worker's configuration file (re-applied at each start) rather than
    -- through the API.
    declared boolean not null default false,
    -- The schedule, durable: the sweep queues a sync when it is due, one at a time
    -- (`sync_pending` is set while a sync job is queued and not yet started).
    next_sync_at timestamptz not null default now(),
    sync_pending boolean not null default false,
    -- The upstream's `lastupdate` (seconds since the epoch) at the last successful sync, for
    -- the cheap check and for refusing an upstream older than what is served.
    upstream_lastupdate bigint,
    last_success_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint mirrors_repo_id_key unique (repo_id),
    constraint mirrors_arches_not_empty check (cardinality(arches) > 0),
    constraint mirrors_interval_secs_positive check (interval_secs > 0),
    constraint mirrors_max_concurrent_downloads_positive check (max_concurrent_downloads > 0),
    constraint mirrors_bandwidth_limit_positive check (bandwidth_limit_bytes_per_sec > 0)
);

create index mirrors_due_idx on mirrors (next_sync_at) where not sync_pending;

-- Every sync attempt, the last of which the API shows.
create table mirror_syncs (
    id bigint generated always as identity primary key,
    mirror_id bigint not null references mirrors (id) on delete cascade,
    status text not null default 'running',
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    -- Why it failed, for the admin (never a database or internal error's text).
    error text,
    -- Packages the mirror lists after a successful sync.
    packages bigint,
    downloaded_bytes bigint not null default 0,
    constraint mirror_syncs_status_check check (status in ('running', 'succeeded', 'failed'))
);

create index mirror_syncs_mirror_id_idx on mirror_syncs (mirror_id, id desc);

-- What was last made live of each mirrored architecture: the upstream database's validators,
-- for a conditional request, and its digest.
create table mirror_arches (
    mirror_id bigint not null references mirrors (id) on delete cascade,
    arch text not null,
    etag text,
    last_modified text,
    db_digest text not null,
    synced_at timestamptz not null default now(),
    primary key (mirror_id, arch)
);

-- Blobs a sync has downloaded and verified but not made live yet. They are kept from the
-- garbage collector, so a failed sync's downloads are not fetched again by the next one; a
-- successful sync releases them in the transaction that makes them live.
create table mirror_held_blobs (
    mirror_id bigint not null references mirrors (id) on delete cascade,
    digest text not null references blobs (digest),
    held_at timestamptz not null default now(),
    primary key (mirror_id, digest)
);

create index mirror_held_blobs_digest_idx on mirror_held_blobs (digest);

-- A mirrored package comes from no upload.
alter table packages alter column upload_id drop not null;
