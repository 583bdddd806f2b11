-- Why: `q` in `GET /api/v1/packages` (name or description contains the text, any case) read
-- every package of the catalogue, so anyone could make each request cost a full scan. Trigram
-- indexes let the planner find the candidate rows of `ilike '%text%'` (for texts of three
-- characters or more) and recheck only those. pg_trgm is a trusted extension: the database's
-- owner may create it without being a superuser.
create extension if not exists pg_trgm;

create index packages_name_trgm_idx on packages using gin (name gin_trgm_ops);
create index packages_description_trgm_idx on packages using gin (description gin_trgm_ops);
