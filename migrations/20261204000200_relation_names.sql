-- Why: a package page resolves the package's dependencies against the names and provides of
-- its repository's packages, and lists the packages that depend on it. Both scanned every
-- package of the repository and unnested its arrays, which does not fit a page's time budget at
-- 100,000 packages. The names alone (version constraints and optdepend descriptions stripped)
-- are indexed through an immutable function, which the queries call with the same expression.
create function package_relation_names(entries text[]) returns text[]
    language sql immutable parallel safe strict
    as $$ select array(select trim(substring(e from '^[^<>=:]+')) from unnest(entries) as e) $$;

create index packages_needs_names_idx on packages
    using gin (package_relation_names(depends || optdepends || makedepends || checkdepends));

create index packages_provides_names_idx on packages
    using gin (package_relation_names(provides));
