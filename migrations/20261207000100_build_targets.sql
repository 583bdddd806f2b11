-- Why: the build system (issue 16), first part: build targets, what to build and where its
-- packages are published, with a schedule the server keeps.

-- A `build` scope manages the targets of a distribution or of one repository.
alter table api_key_scopes drop constraint api_key_scopes_permission;
alter table api_key_scopes add constraint api_key_scopes_permission
    check (permission in ('admin', 'publish', 'remove', 'read', 'metrics', 'build'));
alter table api_key_scopes drop constraint api_key_scopes_target;
alter table api_key_scopes add constraint api_key_scopes_target check (
    case when permission in ('admin', 'metrics') then distro is null and repo is null
         else distro is not null end);

-- What to build and where its packages go. The repository need not exist yet: the first
-- publish creates it, as an upload does.
create table build_targets (
    id bigint generated always as identity primary key,
    name text not null,
    kind text not null,
    url text not null,
    branch text,
    -- The PKGBUILD's directory inside a git repository.
    path text,
    distro text not null,
    repo text not null,
    arches text[] not null,
    -- A five-field cron expression (UTC); the next run it gives is kept in `next_run_at`.
    schedule text,
    next_run_at timestamptz,
    timeout_secs integer not null default 3600,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint build_targets_name_key unique (name),
    constraint build_targets_kind_check check (kind in ('git', 'url')),
    constraint build_targets_arches_not_empty check (cardinality(arches) > 0),
    constraint build_targets_timeout_positive check (timeout_secs > 0),
    constraint build_targets_schedule_next check ((schedule is null) = (next_run_at is null))
);

create index build_targets_due_idx on build_targets (next_run_at) where next_run_at is not null;
create index build_targets_repo_idx on build_targets (distro, repo);
