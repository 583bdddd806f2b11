-- Why: the web UI's home and repository pages, and the API's distribution and repository
-- views, counted packages on every request. At 100,000 packages each count read 50-80 ms of
-- index even index-only, so no page with a count could meet its 20 ms target. Counts are now
-- kept where they change:
--
-- * `repo_arches.package_count` is what the architecture's live database lists. The publish
--   that makes a database live writes it, in the same transaction (see `db::regen::finish`).
-- * `repos.package_count` is the repository's packages in the catalogue. A statement trigger
--   on `packages` keeps it, so every insert and delete (recording, replacing, removing,
--   rejecting, cascades) counts without the code that does them having to remember. Statement
--   triggers with transition tables add one update per statement and repository, not one per
--   row, so deleting 100,000 packages at once writes the repository's row once. Recording
--   already locks the repository's architectures until commit; the repository's row is locked
--   first (the insert precedes `mark_dirty`), the same order removal takes.
alter table repo_arches add column package_count bigint not null default 0;
alter table repos add column package_count bigint not null default 0;

update repo_arches ra set package_count = (
    select count(*) from packages p
    where p.repo_id = ra.repo_id and (p.arch = ra.arch or p.arch = 'any'))
where ra.published_at is not null;

update repos r set package_count = (select count(*) from packages p where p.repo_id = r.id);

create function repos_count_inserted_packages() returns trigger
language plpgsql as $$
begin
    update repos r set package_count = r.package_count + n.added
    from (select repo_id, count(*) as added from inserted group by repo_id) n
    where r.id = n.repo_id;
    return null;
end
$$;

create function repos_count_deleted_packages() returns trigger
language plpgsql as $$
begin
    update repos r set package_count = r.package_count - n.removed
    from (select repo_id, count(*) as removed from deleted group by repo_id) n
    where r.id = n.repo_id;
    return null;
end
$$;

create trigger packages_count_inserted after insert on packages
    referencing new table as inserted
    for each statement execute function repos_count_inserted_packages();

create trigger packages_count_deleted after delete on packages
    referencing old table as deleted
    for each statement execute function repos_count_deleted_packages();

-- A package never moves to another repository; should an update ever do so, it is refused
-- rather than leaving both counts wrong.
create function packages_keep_repo() returns trigger
language plpgsql as $$
begin
    raise exception 'a package does not move between repositories (package %)', old.id;
end
$$;

create trigger packages_keep_repo before update of repo_id on packages
    for each row when (old.repo_id is distinct from new.repo_id)
    execute function packages_keep_repo();
