-- Why: the REST API (issue 4) needs API keys beyond the configured admin key, each with scopes,
-- and paginated listings whose page 500 costs about what page 1 costs. The listing indexes
-- cover the columns the list queries filter on, so a page's ids come from an index-only scan
-- (a deferred join then fetches only that page's rows).

-- A key's secret is never stored: only its SHA-256 digest (the secret is 32 random bytes, so a
-- fast hash is enough) and a short prefix of it that identifies the key in listings and finds
-- the candidate row at authentication, where the digests are compared in constant time.
create table api_keys (
    id uuid primary key,
    name text not null,
    prefix text not null,
    secret_sha256 bytea not null,
    created_at timestamptz not null default now(),
    constraint api_keys_secret_sha256_key unique (secret_sha256),
    constraint api_keys_name_length check (length(name) between 1 and 200)
);

create index api_keys_prefix_idx on api_keys (prefix);
create index api_keys_created_at_idx on api_keys (created_at desc, id desc);

-- What a key may do: everything (`admin`), or publish / remove within a distribution or one of
-- its repositories. Names are kept as text, not foreign keys: a scope may name a distribution
-- before its first upload, and outlives the removal of one.
create table api_key_scopes (
    key_id uuid not null references api_keys (id) on delete cascade,
    permission text not null,
    distro text,
    repo text,
    constraint api_key_scopes_permission check (permission in ('admin', 'publish', 'remove')),
    constraint api_key_scopes_target check (
        case when permission = 'admin' then distro is null and repo is null
             else distro is not null end)
);

create index api_key_scopes_key_id_idx on api_key_scopes (key_id);

-- Package listings, by name or build date, in either direction (scanned backwards for desc).
-- Names sort bytewise (collation "C", as pacman compares them), whatever the database's locale.
create index packages_name_listing_idx on packages (name collate "C", id) include (repo_id, arch);
create index packages_build_date_listing_idx on packages (build_date, id) include (repo_id, arch);
-- The repository one supersedes packages_repo_id_name_idx (a prefix of it).
create index packages_repo_name_listing_idx on packages (repo_id, name collate "C", id) include (arch);
drop index packages_repo_id_name_idx;
create index packages_repo_build_date_listing_idx on packages (repo_id, build_date, id) include (arch);

-- Upload listings hide private distributions, so the distribution rides along in the index.
create index uploads_listing_idx on uploads (created_at desc, id desc) include (distro, status);
create index uploads_status_listing_idx on uploads (status, created_at desc, id desc) include (distro);
drop index uploads_created_at_idx;
drop index uploads_status_created_at_idx;
