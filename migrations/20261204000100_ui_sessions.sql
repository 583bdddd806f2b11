-- Web UI sessions (issue 14): a browser signs in with an API key once and then carries a
-- random session token in a cookie. Only the token's SHA-256 is stored, so a copy of this
-- table does not let anyone sign in.
--
-- A session belongs to one principal: a key from `api_keys` (deleting, i.e. revoking, the key
-- deletes its sessions through the cascade) or the admin key from the configuration. The
-- latter has no row to point at; its sessions hold `admin_binding`, a SHA-256 over the session
-- token and the configured key's digest, which the api recomputes on every request: once the
-- configured key changes, its old sessions no longer match. Without the token (which only the
-- browser holds) the binding says nothing about the key.
create table ui_sessions (
    token_sha256 bytea primary key check (octet_length(token_sha256) = 32),
    key_id uuid references api_keys (id) on delete cascade,
    admin_binding bytea check (octet_length(admin_binding) = 32),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    constraint ui_sessions_one_principal check ((key_id is null) <> (admin_binding is null))
);

-- The cascade from `api_keys` finds a key's sessions; the sign-in clears expired ones.
create index ui_sessions_key_id_idx on ui_sessions (key_id) where key_id is not null;
create index ui_sessions_expires_at_idx on ui_sessions (expires_at);
