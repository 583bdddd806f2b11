-- Signatures: the detached signatures packagers upload, the packager keys a distribution
-- trusts, each distribution's own signing key, and which databases have been signed.

-- The signature an upload came with, as pacman reads it: binary, at most 16 KiB.
alter table uploads
    add column signature bytea
        constraint uploads_signature_size check (octet_length(signature) between 1 and 16384);

-- A package's detached signature. The same bytes are served as `{filename}.sig` (from the
-- blob) and written base64 into its database entry's `%PGPSIG%` (`pgpsig`, a column since the
-- first migration and unused until now): all three are set together or not at all.
alter table packages
    add column signature_digest text references blobs (digest),
    add column signature_size integer,
    add constraint packages_signature_complete check (
        (signature_digest is null) = (signature_size is null)
        and (signature_digest is null) = (pgpsig is null)
    );

-- The garbage collector asks whether a package still refers to a blob by either digest.
create index packages_signature_digest_idx on packages (signature_digest)
    where signature_digest is not null;

-- The OpenPGP v4 public keys whose signatures a distribution accepts; with at least one, an
-- upload must carry a signature by one of them. Stored binary, as parsed and checked.
create table packager_keys (
    distro_id bigint not null references distros (id) on delete cascade,
    fingerprint text not null constraint packager_keys_fingerprint check (fingerprint ~ '^[0-9A-F]{40}$'),
    public_key bytea not null,
    added_at timestamptz not null default now(),
    primary key (distro_id, fingerprint)
);

-- A distribution's signing key. The secret key is sealed (ChaCha20-Poly1305) under a key
-- derived from the operator's `key_encryption_key` setting, which the database never holds.
create table signing_keys (
    distro_id bigint primary key references distros (id) on delete cascade,
    fingerprint text not null constraint signing_keys_fingerprint check (fingerprint ~ '^[0-9A-F]{40}$'),
    public_key text not null,
    sealed_secret bytea not null,
    created_at timestamptz not null default now()
);

-- Whether the server signs packages that arrive without a signature (with the distribution's
-- key, when it has one).
alter table repos add column sign_packages boolean not null default false;

-- Set when an architecture first publishes signed databases. pacman keeps a database's old
-- signature when the new database comes without one, and then refuses the database: such an
-- architecture never publishes unsigned databases again.
alter table repo_arches add column signed_databases boolean not null default false;
