-- Why: the catalogue Rieter serves (distributions, repositories, the architectures they publish
-- databases for, and packages with their file lists) and the uploads that feed it. Also the
-- bookkeeping that lets one coalesced regeneration per repository architecture run at a time.

create table distros (
    id bigint generated always as identity primary key,
    name text not null,
    created_at timestamptz not null default now(),
    constraint distros_name_key unique (name)
);

create table repos (
    id bigint generated always as identity primary key,
    distro_id bigint not null references distros (id) on delete cascade,
    name text not null,
    created_at timestamptz not null default now(),
    constraint repos_distro_id_name_key unique (distro_id, name)
);

-- One row per concrete architecture a repository publishes databases for (never `any`: `any`
-- packages are published in every architecture of their repository).
--
-- Regeneration state: every catalogue change bumps change_seq; a rebuild records the change_seq
-- it captured in built_seq. regen_pending says a regeneration job is queued, so a burst of
-- changes queues one job. dirty_since is the first change not yet published, which bounds how
-- long a steady stream of uploads can postpone a rebuild.
create table repo_arches (
    id bigint generated always as identity primary key,
    repo_id bigint not null references repos (id) on delete cascade,
    arch text not null,
    change_seq bigint not null default 1,
    built_seq bigint not null default 0,
    last_change_at timestamptz not null default now(),
    dirty_since timestamptz default now(),
    regen_pending boolean not null default false,
    published_at timestamptz,
    created_at timestamptz not null default now(),
    constraint repo_arches_repo_id_arch_key unique (repo_id, arch),
    constraint repo_arches_arch_not_any check (arch <> 'any')
);

create index repo_arches_unbuilt_idx on repo_arches (id) where change_seq > built_seq;

create type upload_status as enum ('queued', 'processing', 'parsed', 'published', 'failed');

-- An accepted upload. Its blob is stored as blobs/<id> under the data directory from before
-- the row is committed until the package is removed (or the upload fails).
create table uploads (
    id uuid primary key,
    distro text not null,
    repo text not null,
    status upload_status not null default 'queued',
    error text,
    size bigint not null,
    sha256 text not null,
    md5 text not null,
    allow_downgrade boolean not null default false,
    overwrite boolean not null default false,
    -- The apalis task that parses this upload, to re-queue uploads whose task was lost.
    job_id text,
    package_name text,
    package_version text,
    package_arch text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index uploads_created_at_idx on uploads (created_at desc, id desc);
create index uploads_status_created_at_idx on uploads (status, created_at desc, id desc);
create index uploads_unfinished_idx on uploads (distro, repo) where status in ('queued', 'processing');

-- The current version of each package in a repository. `arch` may be `any`.
create table packages (
    id bigint generated always as identity primary key,
    repo_id bigint not null references repos (id) on delete cascade,
    upload_id uuid not null references uploads (id),
    arch text not null,
    name text not null,
    base text,
    version text not null,
    description text,
    url text,
    build_date bigint not null,
    packager text,
    installed_size bigint not null,
    compressed_size bigint not null,
    filename text not null,
    sha256 text not null,
    md5 text not null,
    pgpsig text,
    licenses text[] not null default '{}',
    groups text[] not null default '{}',
    replaces text[] not null default '{}',
    conflicts text[] not null default '{}',
    provides text[] not null default '{}',
    backup text[] not null default '{}',
    depends text[] not null default '{}',
    optdepends text[] not null default '{}',
    makedepends text[] not null default '{}',
    checkdepends text[] not null default '{}',
    xdata text[] not null default '{}',
    -- The package's entries of the .db and .files archives, rendered and compressed once.
    db_member bytea not null,
    files_member bytea not null,
    created_at timestamptz not null default now(),
    constraint packages_repo_id_arch_name_key unique (repo_id, arch, name),
    constraint packages_upload_id_key unique (upload_id)
);

create index packages_repo_id_name_idx on packages (repo_id, name);

create table package_files (
    package_id bigint primary key references packages (id) on delete cascade,
    paths text[] not null
);

alter table uploads add column package_id bigint references packages (id) on delete set null;
