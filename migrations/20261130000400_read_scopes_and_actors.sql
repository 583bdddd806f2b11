-- Why: least privilege (issue 10). A `read` scope lets a key read a private distribution (or
-- one repository of it) and nothing else, so the key in a pacman.conf cannot publish or remove.
-- Like the other scopes it names its distribution, and optionally a repository.

alter table api_key_scopes drop constraint api_key_scopes_permission;
alter table api_key_scopes add constraint api_key_scopes_permission
    check (permission in ('admin', 'publish', 'remove', 'read'));

-- Who did each upload and removal (the actor): the key's id while the key exists, and its name
-- and prefix copied at the time, so the record survives the key's revocation. `config` is the
-- configured admin key, which has no row. Rows from before this migration have no actor.
alter table uploads
    add column uploaded_by_kind text,
    add column uploaded_by_key_id uuid references api_keys (id) on delete set null,
    add column uploaded_by_name text,
    add column uploaded_by_prefix text,
    add constraint uploads_uploaded_by_check check (
        (uploaded_by_kind is null and uploaded_by_name is null and uploaded_by_key_id is null
            and uploaded_by_prefix is null)
        or (uploaded_by_kind = 'config' and uploaded_by_name is not null
            and uploaded_by_key_id is null and uploaded_by_prefix is null)
        or (uploaded_by_kind = 'key' and uploaded_by_name is not null
            and uploaded_by_prefix is not null));

-- Deleting a key sets these to null; the indexes keep that from scanning the tables.
create index uploads_uploaded_by_key_id_idx on uploads (uploaded_by_key_id)
    where uploaded_by_key_id is not null;

alter table package_events
    add column actor_kind text,
    add column actor_key_id uuid references api_keys (id) on delete set null,
    add column actor_name text,
    add column actor_prefix text,
    add constraint package_events_actor_check check (
        (actor_kind is null and actor_name is null and actor_key_id is null
            and actor_prefix is null)
        or (actor_kind = 'config' and actor_name is not null
            and actor_key_id is null and actor_prefix is null)
        or (actor_kind = 'key' and actor_name is not null and actor_prefix is not null));

create index package_events_actor_key_id_idx on package_events (actor_key_id)
    where actor_key_id is not null;
