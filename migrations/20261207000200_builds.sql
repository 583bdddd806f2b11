-- Why: the build system (issue 16), second part: builds, queued for a target and an
-- architecture and claimed by agents through leases over HTTP. An `agent` scope lets a
-- build agent's key claim, extend and finish builds, and do nothing else.
alter table api_key_scopes drop constraint api_key_scopes_permission;
alter table api_key_scopes add constraint api_key_scopes_permission
    check (permission in ('admin', 'publish', 'remove', 'read', 'metrics', 'build', 'agent'));
alter table api_key_scopes drop constraint api_key_scopes_target;
alter table api_key_scopes add constraint api_key_scopes_target check (
    case when permission in ('admin', 'metrics', 'agent') then distro is null and repo is null
         else distro is not null end);

-- One run of a target for one architecture.
create table builds (
    id bigint generated always as identity primary key,
    target_id bigint not null references build_targets (id) on delete cascade,
    arch text not null,
    -- Build even when every package's version is already in the repository.
    force boolean not null default false,
    status text not null default 'queued',
    queued_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    -- The agent holding (or last holding) the build, by the name it gave.
    agent text,
    -- The current lease: its id (given to the agent at its claim) and when it ends unless
    -- extended. A lease that ends puts the build back in the queue, for a bounded number of
    -- claims (`attempts`).
    lease_id uuid,
    lease_expires_at timestamptz,
    attempts integer not null default 0,
    cancel_requested boolean not null default false,
    -- Why it failed or was cancelled, for people (never internal error text).
    error text,
    constraint builds_status_check
        check (status in ('queued', 'running', 'succeeded', 'skipped', 'failed', 'cancelled')),
    constraint builds_lease_check
        check ((status = 'running') = (lease_id is not null and lease_expires_at is not null))
);

-- At most one queued or running build of a target per architecture: asking again while one
-- waits or runs returns it.
create unique index builds_one_active_idx on builds (target_id, arch)
    where status in ('queued', 'running');
create index builds_queue_idx on builds (queued_at, id) where status = 'queued';
create index builds_leases_idx on builds (lease_expires_at) where status = 'running';
create index builds_target_idx on builds (target_id, id desc);
