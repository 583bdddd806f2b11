-- Why: looking a package up by its name alone (the package page's "same package elsewhere"
-- and the names its dependencies resolve to) had no B-tree to use: the listing indexes sort
-- names with `collate "C"`, which an equality in the default collation cannot use, so the
-- planner answered `name = $1` from the trigram index at 2.5-3 ms a lookup on 100,000
-- packages. A plain index answers it in a few index pages.
create index packages_name_idx on packages (name);
