-- Why: the web UI's search box covers what a package provides as well as its name and
-- description, and its home page lists the most recently published packages. `provides` is an
-- array, which a trigram index cannot hold directly and `array_to_string` is not immutable, so
-- an immutable wrapper gives the index (and the query, which must use the same expression) one
-- text to search. The publication-time index serves "recently published" without a sort of the
-- whole catalogue.
create function packages_provides_text(provides text[]) returns text
    language sql immutable parallel safe
    return array_to_string(provides, ' ');

create index packages_provides_trgm_idx on packages
    using gin (packages_provides_text(provides) gin_trgm_ops);

create index packages_created_at_idx on packages (created_at desc, id desc);
