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

-- Which builds wait, and for which target: a build whose target was read waits while a build
-- (queued or running, same architecture) of another target of its repository provides one
-- of its dependencies, or belongs to a target never read yet (what it provides is unknown).
-- Two targets that depend on each other wait for neither. Claims pass over waiting builds;
-- an agent's report sends a build that turns out to wait back to the queue.
create view build_waits as
select b.id as build_id, o.name as waits_for, ob.queued_at, ob.id as other_build_id
from builds b
join build_targets t on t.id = b.target_id
join build_targets o on o.distro = t.distro and o.repo = t.repo and o.id <> t.id
join builds ob on ob.target_id = o.id and ob.arch = b.arch
              and ob.status in ('queued', 'running')
where b.status in ('queued', 'running')
  and t.srcinfo_at is not null
  and ((t.depends && o.provides and not (o.depends && t.provides)) or o.srcinfo_at is null);
