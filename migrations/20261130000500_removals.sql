-- Why: who removed what, kept for good. Removing a whole repository or distribution deletes
-- its package history with it (package_events cascades from repos), so each removal also gets
-- a row here, which refers to nothing it removed: the names are copied, as is the actor (the
-- key's id only while the key exists).

create table removals (
    id bigint generated always as identity primary key,
    distro text not null,
    repo text,
    arch text,
    name text,
    packages integer not null,
    actor_kind text not null,
    actor_key_id uuid references api_keys (id) on delete set null,
    actor_name text not null,
    actor_prefix text,
    created_at timestamptz not null default clock_timestamp(),
    -- A package lies in an architecture, which lies in a repository.
    constraint removals_target_check check (
        (name is null or arch is not null) and (arch is null or repo is not null)),
    constraint removals_actor_check check (
        (actor_kind = 'config' and actor_key_id is null and actor_prefix is null)
        or (actor_kind = 'key' and actor_prefix is not null))
);

create index removals_distro_created_at_idx on removals (distro, created_at);
create index removals_actor_key_id_idx on removals (actor_key_id) where actor_key_id is not null;
