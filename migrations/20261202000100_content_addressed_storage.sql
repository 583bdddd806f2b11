-- Why: storage moves to a content-addressed blob store (the local file system or S3), so api
-- and worker processes need no shared disk (issue 11). A blob is named by its SHA-256; every
-- package, upload in flight and published file refers to one by digest. A repository
-- architecture's live state is a manifest of file names to blobs, switched in one transaction,
-- replacing 0.1.0's hard-linked trees and its `retired_files`.

create table blobs (
    digest text primary key,
    size bigint not null,
    -- Set by every claim (a store, or a reuse of the blob by an upload or a build). The
    -- garbage collector leaves a blob claimed recently alone: the claim's reference is about
    -- to be recorded.
    claimed_at timestamptz not null default now(),
    constraint blobs_digest_is_sha256 check (digest ~ '^[0-9a-f]{64}$'),
    constraint blobs_size_not_negative check (size >= 0)
);

-- The blobs of 0.1.0's catalogue. Their files are still `blobs/<upload id>` until the first
-- start of this version moves them to their digest (`rieter::blobs::upgrade`), before either
-- process serves or parses anything.
insert into blobs (digest, size)
select sha256, max(compressed_size) from packages group by sha256;
insert into blobs (digest, size)
select sha256, max(size) from uploads where status in ('queued', 'processing') group by sha256
on conflict (digest) do nothing;

alter table packages
    add constraint packages_sha256_fkey foreign key (sha256) references blobs (digest);
create index packages_sha256_idx on packages (sha256);
create index uploads_unfinished_sha256_idx on uploads (sha256)
    where status in ('queued', 'processing');

-- What `/{distro}/{repo}/{arch}/{filename}` serves: the live database's files (its archives
-- under both names, and every package it lists) and, until `retired_until`, the files a newer
-- database stopped naming. Rebuilt in one transaction per published database.
create table published_files (
    repo_arch_id bigint not null references repo_arches (id) on delete cascade,
    filename text not null,
    digest text not null references blobs (digest),
    size bigint not null,
    -- `Last-Modified`. A name whose content changes gets a time at least a second after the
    -- previous one: pacman revalidates databases with If-Modified-Since alone.
    modified_at timestamptz not null,
    -- Null while the live database names the file.
    retired_until timestamptz,
    primary key (repo_arch_id, filename)
);

create index published_files_digest_idx on published_files (digest);
create index published_files_retired_until_idx on published_files (retired_until)
    where retired_until is not null;

-- Every change of what is served is announced, so api processes can cache lookups.
create function published_files_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('rieter_published_files', '');
    return null;
end
$$;

create trigger published_files_changed
    after insert or update or delete or truncate on published_files
    for each statement execute function published_files_changed();
