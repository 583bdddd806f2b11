-- The package listing's queries as rieter-api issues them (db::listing::packages), for
-- EXPLAIN ANALYZE on the synthetic catalogue of listing-data.sql: page 1 and page 500 at
-- per_page 100, and the total.
prepare ids(bigint[], text, text, text, bigint, bigint) as
  select p.id from packages p
  where ($1::bigint[] is null or p.repo_id = any($1))
    and ($2::text is null or p.arch = $2) and ($3::text is null or p.name = $3)
    and ($4::text is null or p.name ilike $4 escape '\' or p.description ilike $4 escape '\')
  order by p.name collate "C", p.id limit $5 offset $6;
prepare cnt(bigint[], text, text, text) as
  select count(*) from packages p
  where ($1::bigint[] is null or p.repo_id = any($1))
    and ($2::text is null or p.arch = $2) and ($3::text is null or p.name = $3)
    and ($4::text is null or p.name ilike $4 escape '\' or p.description ilike $4 escape '\');
explain analyze execute ids(null, null, null, null, 100, 0);
explain analyze execute ids(null, null, null, null, 100, 49900);
explain analyze execute cnt(null, null, null, null);

-- What a straightforward query does without the covering index and the deferred join (the
-- "before" figures: run it on a database migrated only up to 20261129000002).
explain analyze
select p.id, d.name, r.name, p.arch, p.name, p.version, p.description, p.build_date,
       p.compressed_size, p.filename
from packages p join repos r on r.id = p.repo_id join distros d on d.id = r.distro_id
order by p.name, p.id limit 100 offset 49900;
