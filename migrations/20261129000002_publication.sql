-- Why: publishing repository databases needs a rebuild counter (operators and tests use it to
-- see that bursts of uploads coalesce into few rebuilds) and a record of package files the live
-- database stopped naming, which stay downloadable for a grace period before deletion.

alter table repo_arches add column build_count bigint not null default 0;

create table retired_files (
    repo_arch_id bigint not null references repo_arches (id) on delete cascade,
    filename text not null,
    delete_after timestamptz not null,
    primary key (repo_arch_id, filename)
);

create index retired_files_delete_after_idx on retired_files (delete_after);
