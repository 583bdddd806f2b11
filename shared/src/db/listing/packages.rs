//! Packages as the API lists and shows them.
//!
//! A listing runs in three steps so that a deep page costs little more than the first: the
//! filters on distribution and repository become a set of repository ids; the page's package
//! ids come from an index-only scan of a covering index in the requested order (the `OFFSET`
//! skips index entries, not joined rows), while the total is counted alongside; then only that
//! page's rows are fetched and joined. Measurements are in `docs/api.md`.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{Counting, Hidden, Page, Window, contains_pattern, prefix_pattern};
use crate::names::FileName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    /// Bytewise, as pacman compares names.
    Name,
    BuildDate,
    /// With a `query`: packages named exactly that first, then those whose name starts with
    /// it, then the rest, each group by name; always in that direction. Without a query, as
    /// [`SortKey::Name`].
    Relevance,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub distro: Option<String>,
    pub repo: Option<String>,
    pub arch: Option<String>,
    /// Exact package name.
    pub name: Option<String>,
    /// Case-insensitive substring of the name, description or an entry of `provides`,
    /// wildcards taken literally.
    pub query: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
}

/// A package in a listing.
#[derive(Debug, Clone)]
pub struct PackageSummary {
    pub id: i64,
    pub distro: String,
    pub repo: String,
    pub arch: String,
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    /// Seconds since the epoch, from `.PKGINFO`.
    pub build_date: i64,
    pub compressed_size: i64,
    pub filename: FileName,
}

/// Every field of a package.
#[derive(Debug, Clone)]
pub struct PackageDetail {
    pub id: i64,
    pub repo_id: i64,
    pub distro: String,
    pub repo: String,
    pub arch: String,
    pub name: String,
    pub base: Option<String>,
    pub version: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub build_date: i64,
    pub packager: Option<String>,
    pub installed_size: i64,
    pub compressed_size: i64,
    pub filename: FileName,
    pub sha256: String,
    pub md5: String,
    pub pgpsig: Option<String>,
    pub licenses: Vec<String>,
    pub groups: Vec<String>,
    pub replaces: Vec<String>,
    pub conflicts: Vec<String>,
    pub provides: Vec<String>,
    pub backup: Vec<String>,
    pub depends: Vec<String>,
    pub optdepends: Vec<String>,
    pub makedepends: Vec<String>,
    pub checkdepends: Vec<String>,
    pub xdata: Vec<String>,
    /// `None` for a package from a mirror.
    pub upload_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    /// Architectures whose databases list it: its own, or every one of the repository for
    /// `any` packages.
    pub published_arches: Vec<String>,
}

/// One page of a package's file list.
#[derive(Debug, Clone)]
pub struct FilePage {
    pub paths: Vec<String>,
    pub total: i64,
}

/// One page of the packages `filter` selects, and their total as `counting` asks.
pub async fn list(
    pool: &PgPool,
    hidden: &Hidden,
    filter: &Filter,
    window: Window,
    counting: Counting,
) -> Result<Page<PackageSummary>, sqlx::Error> {
    let empty = || Page {
        items: Vec::new(),
        total: 0,
    };
    let repos = if filter.distro.is_none() && filter.repo.is_none() && hidden.is_empty() {
        None
    } else {
        let ids = sqlx::query_scalar!(
            "select r.id from repos r join distros d on d.id = r.distro_id
             where ($1::text is null or d.name = $1) and ($2::text is null or r.name = $2)
               and (d.name <> all($3)
                    or (d.name, r.name) in (select * from unnest($4::text[], $5::text[])))",
            filter.distro,
            filter.repo,
            hidden.restricted(),
            hidden.open_distros(),
            hidden.open_repos()
        )
        .fetch_all(pool)
        .await?;
        if ids.is_empty() {
            return Ok(empty());
        }
        Some(ids)
    };
    let pattern = filter.query.as_deref().map(contains_pattern);
    let args = IdArgs {
        repos: repos.as_deref(),
        arch: filter.arch.as_deref(),
        name: filter.name.as_deref(),
        pattern: pattern.as_deref(),
    };
    let sort = match (filter.sort, filter.query.as_deref()) {
        (SortKey::Relevance, Some(query)) => Order::Relevance {
            exact: query.to_lowercase(),
            prefix: prefix_pattern(query),
        },
        (SortKey::Relevance | SortKey::Name, _) => Order::Name,
        (SortKey::BuildDate, _) => Order::BuildDate,
    };
    // The count and the page's ids are independent index scans; running them side by side (on
    // two connections) makes a request cost the longer of the two rather than their sum.
    let ids = page_ids(pool, &args, &sort, filter.descending, window);
    let (total, ids) = match counting {
        Counting::Known(total) => (total, ids.await?),
        Counting::Exact => tokio::try_join!(count(pool, &args, None), ids)?,
        Counting::UpTo(bound) => tokio::try_join!(count(pool, &args, Some(bound.max(0))), ids)?,
    };
    if ids.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            total,
        });
    }
    let items = sqlx::query_as!(
        PackageSummary,
        r#"select p.id, d.name as distro, r.name as repo, p.arch, p.name, p.version,
                  p.description, p.build_date, p.compressed_size,
                  p.filename as "filename: FileName"
           from unnest($1::bigint[]) with ordinality as page (id, n)
           join packages p on p.id = page.id
           join repos r on r.id = p.repo_id join distros d on d.id = r.distro_id
           order by page.n"#,
        &ids
    )
    .fetch_all(pool)
    .await?;
    Ok(Page { items, total })
}

/// The order of a listing, with what a relevance order compares names against.
enum Order {
    Name,
    BuildDate,
    Relevance { exact: String, prefix: String },
}

/// The filters of the id and count queries; `None` matches everything.
struct IdArgs<'a> {
    repos: Option<&'a [i64]>,
    arch: Option<&'a str>,
    name: Option<&'a str>,
    pattern: Option<&'a str>,
}

/// The listing's rows, counted up to `bound` (a `LIMIT` of null is none).
async fn count(pool: &PgPool, a: &IdArgs<'_>, bound: Option<i64>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from (
             select from packages p
             where ($1::bigint[] is null or p.repo_id = any($1))
               and ($2::text is null or p.arch = $2) and ($3::text is null or p.name = $3)
               and ($4::text is null or p.name ilike $4 escape '\' or p.description ilike $4 escape '\'
                            or packages_provides_text(p.provides) ilike $4 escape '\')
             limit $5) as matched"#,
        a.repos,
        a.arch,
        a.name,
        a.pattern,
        bound
    )
    .fetch_one(pool)
    .await
}

/// The ids of one page in order. One query per order, each matching a covering index scanned
/// forwards or backwards, rather than an `order by case ...` no index can serve.
async fn page_ids(
    pool: &PgPool,
    a: &IdArgs<'_>,
    sort: &Order,
    descending: bool,
    w: Window,
) -> Result<Vec<i64>, sqlx::Error> {
    match (sort, descending) {
        (Order::Relevance { exact, prefix }, _) => {
            // Only the query's matches are sorted, which the trigram indexes find. Relevance
            // has one direction: `descending` does not apply.
            sqlx::query_scalar!(
                r#"select p.id from packages p
                   where ($1::bigint[] is null or p.repo_id = any($1))
                     and ($2::text is null or p.arch = $2) and ($3::text is null or p.name = $3)
                     and ($4::text is null or p.name ilike $4 escape '\' or p.description ilike $4 escape '\'
                          or packages_provides_text(p.provides) ilike $4 escape '\')
                   order by p.name = $7 desc, p.name ilike $8 escape '\' desc,
                            p.name collate "C", p.id
                   limit $5 offset $6"#,
                a.repos,
                a.arch,
                a.name,
                a.pattern,
                w.limit,
                w.offset,
                exact,
                prefix
            )
            .fetch_all(pool)
            .await
        }
        (Order::Name, false) => {
            sqlx::query_scalar!(
                r#"select p.id from packages p
                   where ($1::bigint[] is null or p.repo_id = any($1))
                     and ($2::text is null or p.arch = $2) and ($3::text is null or p.name = $3)
                     and ($4::text is null or p.name ilike $4 escape '\' or p.description ilike $4 escape '\'
                          or packages_provides_text(p.provides) ilike $4 escape '\')
                   order by p.name collate "C", p.id limit $5 offset $6"#,
                a.repos,
                a.arch,
                a.name,
                a.pattern,
                w.limit,
                w.offset
            )
            .fetch_all(pool)
            .await
        }
        (Order::Name, true) => {
            sqlx::query_scalar!(
                r#"select p.id from packages p
                   where ($1::bigint[] is null or p.repo_id = any($1))
                     and ($2::text is null or p.arch = $2) and ($3::text is null or p.name = $3)
                     and ($4::text is null or p.name ilike $4 escape '\' or p.description ilike $4 escape '\'
                          or packages_provides_text(p.provides) ilike $4 escape '\')
                   order by p.name collate "C" desc, p.id desc limit $5 offset $6"#,
                a.repos,
                a.arch,
                a.name,
                a.pattern,
                w.limit,
                w.offset
            )
            .fetch_all(pool)
            .await
        }
        (Order::BuildDate, false) => {
            sqlx::query_scalar!(
                r#"select p.id from packages p
                   where ($1::bigint[] is null or p.repo_id = any($1))
                     and ($2::text is null or p.arch = $2) and ($3::text is null or p.name = $3)
                     and ($4::text is null or p.name ilike $4 escape '\' or p.description ilike $4 escape '\'
                          or packages_provides_text(p.provides) ilike $4 escape '\')
                   order by p.build_date, p.id limit $5 offset $6"#,
                a.repos,
                a.arch,
                a.name,
                a.pattern,
                w.limit,
                w.offset
            )
            .fetch_all(pool)
            .await
        }
        (Order::BuildDate, true) => {
            sqlx::query_scalar!(
                r#"select p.id from packages p
                   where ($1::bigint[] is null or p.repo_id = any($1))
                     and ($2::text is null or p.arch = $2) and ($3::text is null or p.name = $3)
                     and ($4::text is null or p.name ilike $4 escape '\' or p.description ilike $4 escape '\'
                          or packages_provides_text(p.provides) ilike $4 escape '\')
                   order by p.build_date desc, p.id desc limit $5 offset $6"#,
                a.repos,
                a.arch,
                a.name,
                a.pattern,
                w.limit,
                w.offset
            )
            .fetch_all(pool)
            .await
        }
    }
}

pub async fn find(
    pool: &PgPool,
    hidden: &Hidden,
    id: i64,
) -> Result<Option<PackageDetail>, sqlx::Error> {
    let found = sqlx::query_as!(
        PackageDetail,
        r#"select p.id, p.repo_id, d.name as distro, r.name as repo, p.arch, p.name, p.base,
                  p.version,
                  p.description, p.url, p.build_date, p.packager, p.installed_size,
                  p.compressed_size, p.filename as "filename: FileName", p.sha256, p.md5, p.pgpsig, p.licenses, p.groups,
                  p.replaces, p.conflicts, p.provides, p.backup, p.depends, p.optdepends,
                  p.makedepends, p.checkdepends, p.xdata, p.upload_id, p.created_at,
                  array(select ra.arch from repo_arches ra
                        where ra.repo_id = p.repo_id and (p.arch = 'any' or ra.arch = p.arch)
                        order by ra.arch collate "C") as "published_arches!"
           from packages p join repos r on r.id = p.repo_id join distros d on d.id = r.distro_id
           where p.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(found.filter(|p| !hidden.hides_repo(&p.distro, &p.repo)))
}

/// A slice of a package's file list (sliced in the database), or `None` when the package does
/// not exist.
pub async fn files(
    pool: &PgPool,
    hidden: &Hidden,
    id: i64,
    window: Window,
) -> Result<Option<FilePage>, sqlx::Error> {
    // Array subscripts are 1-based and inclusive; an empty slice comes back as `{}`.
    let found = sqlx::query!(
        r#"select d.name as distro, r.name as repo, coalesce(cardinality(f.paths), 0) as "total!",
                  coalesce(f.paths[least($2::bigint, 2147483646)::int + 1
                                   : least($2::bigint + $3::bigint, 2147483647)::int],
                           '{}') as "paths!"
           from packages p join repos r on r.id = p.repo_id join distros d on d.id = r.distro_id
           left join package_files f on f.package_id = p.id
           where p.id = $1"#,
        id,
        window.offset,
        window.limit
    )
    .fetch_optional(pool)
    .await?;
    Ok(found
        .filter(|row| !hidden.hides_repo(&row.distro, &row.repo))
        .map(|row| FilePage {
            paths: row.paths,
            total: i64::from(row.total),
        }))
}
