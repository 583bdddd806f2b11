-- Why: a history of what happened to each package name in a repository (added, kept,
-- refused, removed), written in the same transaction and under the same per-name lock as the
-- change itself, so its order is the order decisions were made. Operators use it to answer
-- "who replaced or removed this, and when"; the reliability tests replay it against vercmp.

create table package_events (
    id bigint generated always as identity primary key,
    repo_id bigint not null references repos (id) on delete cascade,
    name text not null,
    arch text not null,
    version text not null,
    action text not null,
    upload_id uuid,
    detail text,
    created_at timestamptz not null default clock_timestamp(),
    constraint package_events_action_check
        check (action in ('added', 'kept', 'refused', 'removed'))
);

create index package_events_repo_id_name_idx on package_events (repo_id, name, id);
