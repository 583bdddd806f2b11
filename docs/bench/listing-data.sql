-- A synthetic catalogue of 100,000 packages in 4 repositories of one distribution, for
-- measuring listings (docs/api.md). Run on an empty, migrated, throwaway database.
insert into distros (name) values ('bench');
insert into repos (distro_id, name) select d.id, r from distros d, unnest(array['core','extra','multilib','community']) r;
insert into repo_arches (repo_id, arch) select id, 'x86_64' from repos;
insert into blobs (digest, size)
  select encode(sha256(i::text::bytea), 'hex'), 500 from generate_series(1, 100000) i;
insert into uploads (id, distro, repo, status, size, sha256, md5, created_at)
  select md5(i::text)::uuid, 'bench', 'core', 'published', 1000, encode(sha256(i::text::bytea), 'hex'), md5(i::text), now() - make_interval(secs => i)
  from generate_series(1, 100000) i;
insert into packages (repo_id, upload_id, arch, name, version, description, build_date, installed_size, compressed_size, filename, sha256, md5, db_member, files_member)
  select (select id from repos order by id offset (i % 4) limit 1), md5(i::text)::uuid,
         case when i % 10 = 0 then 'any' else 'x86_64' end,
         'pkg-' || md5((i * 7)::text), '1.0-1', 'synthetic package number ' || i,
         1700000000 + (i * 7919) % 100000, 1000, 500, 'pkg-' || i || '.pkg.tar.zst', encode(sha256(i::text::bytea), 'hex'), md5(i::text), '\x00', '\x00'
  from generate_series(1, 100000) i;
insert into package_files (package_id, paths) select id, array['usr/', 'usr/bin/', 'usr/bin/' || name] from packages;
-- Served as it is: nothing is left to publish. Its package files are not in storage, so a
-- rebuild of its repositories could only fail (and a worker would retry it at every sweep).
update repo_arches set built_seq = change_seq, dirty_since = null;
analyze;
