-- Why: the build system (issue 16), third part: what an agent reports of a build. Its log,
-- in chunks stored as blobs; the uploads of the packages it built; and what the target's
-- .SRCINFO said, which orders the builds of one repository.

-- The packages a build produced: uploads tied to it. A build that is deleted (with its
-- target) leaves its uploads, untied.
alter table uploads add column build_id bigint references builds (id) on delete set null;
create index uploads_build_idx on uploads (build_id) where build_id is not null;

-- How many bytes of log the build has; the next chunk must start there.
alter table builds add column log_bytes bigint not null default 0;
-- When its log was removed by the retention (`max_log_age`).
alter table builds add column log_removed_at timestamptz;

-- A build's log, in the order it was written: each chunk a blob.
create table build_log_chunks (
    build_id bigint not null references builds (id) on delete cascade,
    -- Where the chunk starts in the log, in bytes.
    start_offset bigint not null,
    size integer not null,
    digest text not null references blobs (digest),
    primary key (build_id, start_offset),
    constraint build_log_chunks_size check (size > 0)
);
-- The blob collector asks whether a blob is a log chunk.
create index build_log_chunks_digest_idx on build_log_chunks (digest);

-- What the target's .SRCINFO said at its last build (`srcinfo_at`), without versions: the
-- names its packages depend on to build and run (`depends`, `makedepends`, `checkdepends`),
-- and the names they provide (their own names and `provides`). A build of the target waits
-- while a build of another target of the repository providing one of them is queued or
-- running, or one of a target not read yet (whose provides are unknown).
alter table build_targets add column depends text[] not null default '{}';
alter table build_targets add column provides text[] not null default '{}';
alter table build_targets add column srcinfo_at timestamptz;
