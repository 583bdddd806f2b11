//! Everything the web UI's package page shows about one package: its fields, its file list
//! (the first [`FILE_LIMIT`] paths), its relations resolved within its repository, the
//! packages that require it, the same name elsewhere and its history.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::packages::{self, FilePage, PackageDetail};
use super::{Hidden, Window};
use crate::depends::{Candidate, Dependency, Via, resolve};

/// Paths of the file list shown; the rest is in the JSON API's paginated file list.
pub const FILE_LIMIT: i64 = 1000;
/// History entries shown, newest first.
pub const HISTORY_LIMIT: i64 = 100;
/// Dependents shown, by name: a base library is required by most of its repository, and a
/// page listing hundreds of them is neither read nor cheap (at 500, rendering them was most of
/// the 16 ms such a page took on 100,000 packages).
pub const REQUIRED_BY_LIMIT: i64 = 200;

/// Names a package as its page's URL does.
#[derive(Debug, Clone, Copy)]
pub struct PackageKey<'a> {
    pub distro: &'a str,
    pub repo: &'a str,
    pub arch: &'a str,
    pub name: &'a str,
}

#[derive(Debug, Clone)]
pub struct PackagePage {
    pub detail: PackageDetail,
    pub files: FilePage,
    /// Each kind of relation (depends, optdepends, ...), in a fixed order, possibly empty.
    pub relations: Vec<RelationGroup>,
    pub required_by: Vec<Dependent>,
    /// More packages require this one than `required_by` shows ([`REQUIRED_BY_LIMIT`]).
    pub required_by_more: bool,
    /// The same name in other architectures or repositories.
    pub elsewhere: Vec<Placement>,
    pub history: Vec<HistoryEntry>,
}

/// What a relation's entries mean for the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// Needed: an entry nothing in the repository satisfies is worth a warning.
    Needed,
    /// Names other packages (conflicts, replaces): linked when one exists, never missing.
    Mentions,
    /// What this package itself provides: nothing to resolve.
    Own,
}

#[derive(Debug, Clone)]
pub struct RelationGroup {
    /// The `.PKGINFO` field: `depend`, `optdepend`, ...
    pub field: &'static str,
    pub kind: RelationKind,
    pub entries: Vec<Relation>,
}

/// One entry of a relation and the package of the same repository it refers to.
#[derive(Debug, Clone)]
pub struct Relation {
    pub text: String,
    pub target: Option<Target>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub arch: String,
    /// The `provides` entry through which it satisfies the relation, if not by name.
    pub via: Option<String>,
}

/// A package of the same repository that depends on this one, and how.
#[derive(Debug, Clone)]
pub struct Dependent {
    pub name: String,
    pub arch: String,
    /// The fields naming this package: `depend`, `optdepend`, `makedepend`, `checkdepend`.
    pub fields: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub struct Placement {
    pub distro: String,
    pub repo: String,
    pub arch: String,
    pub version: String,
}

/// One `package_events` row.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub arch: String,
    pub version: String,
    pub action: String,
    pub detail: Option<String>,
    pub upload_id: Option<Uuid>,
    pub actor_kind: Option<String>,
    pub actor_name: Option<String>,
    pub actor_prefix: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The package page of `key`, or `None` when there is no such (visible) package.
pub async fn load(
    pool: &PgPool,
    hidden: &Hidden,
    key: PackageKey<'_>,
) -> Result<Option<PackagePage>, sqlx::Error> {
    if hidden.hides_repo(key.distro, key.repo) {
        return Ok(None);
    }
    let id = sqlx::query_scalar!(
        "select p.id from packages p join repos r on r.id = p.repo_id
         join distros d on d.id = r.distro_id
         where d.name = $1 and r.name = $2 and p.arch = $3 and p.name = $4",
        key.distro,
        key.repo,
        key.arch,
        key.name
    )
    .fetch_optional(pool)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let Some(detail) = packages::find(pool, hidden, id).await? else {
        return Ok(None);
    };
    let window = Window {
        limit: FILE_LIMIT,
        offset: 0,
    };
    let files = packages::files(pool, hidden, id, window);
    let candidates = candidates(pool, &detail);
    let dependents = dependents(pool, &detail);
    let elsewhere = elsewhere(pool, hidden, &detail);
    let history = history(pool, &detail);
    let (files, candidates, (required_by, required_by_more), elsewhere, history) =
        tokio::try_join!(files, candidates, dependents, elsewhere, history)?;
    let relations = relation_groups(&detail, &candidates);
    Ok(Some(PackagePage {
        files: files.unwrap_or(FilePage {
            paths: Vec::new(),
            total: 0,
        }),
        relations,
        required_by,
        required_by_more,
        elsewhere,
        history,
        detail,
    }))
}

/// The package's relations, each resolved against `candidates`.
pub fn relation_groups(detail: &PackageDetail, candidates: &[Candidate]) -> Vec<RelationGroup> {
    let groups: [(&'static str, RelationKind, &[String]); 7] = [
        ("depend", RelationKind::Needed, &detail.depends),
        ("optdepend", RelationKind::Needed, &detail.optdepends),
        ("makedepend", RelationKind::Needed, &detail.makedepends),
        ("checkdepend", RelationKind::Needed, &detail.checkdepends),
        ("provides", RelationKind::Own, &detail.provides),
        ("conflict", RelationKind::Mentions, &detail.conflicts),
        ("replaces", RelationKind::Mentions, &detail.replaces),
    ];
    groups
        .into_iter()
        .map(|(field, kind, entries)| RelationGroup {
            field,
            kind,
            entries: entries
                .iter()
                .map(|text| Relation {
                    text: text.clone(),
                    target: match kind {
                        RelationKind::Own => None,
                        _ => resolve(text, candidates).map(|(c, via)| Target {
                            name: c.name.clone(),
                            arch: c.arch.clone(),
                            via: match via {
                                Via::Name => None,
                                Via::Provides(p) => Some(p),
                            },
                        }),
                    },
                })
                .collect(),
        })
        .collect()
}

/// The names a package's relations mention.
fn mentioned_names(detail: &PackageDetail) -> Vec<String> {
    let mut names: Vec<String> = [
        &detail.depends,
        &detail.optdepends,
        &detail.makedepends,
        &detail.checkdepends,
        &detail.conflicts,
        &detail.replaces,
    ]
    .into_iter()
    .flatten()
    .map(|text| Dependency::parse(text).name.to_owned())
    .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The packages of the same repository, usable on the package's architecture, that have one of
/// the mentioned names or provide one; by name.
async fn candidates(pool: &PgPool, detail: &PackageDetail) -> Result<Vec<Candidate>, sqlx::Error> {
    let names = mentioned_names(detail);
    if names.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as!(
        Candidate,
        r#"select p.name, p.arch, p.version, p.provides from packages p
           where p.repo_id = $1 and ($2 = 'any' or p.arch = $2 or p.arch = 'any')
             and (p.name = any($3) or package_relation_names(p.provides) && $3)
           order by p.name collate "C", p.arch collate "C""#,
        detail.repo_id,
        detail.arch,
        &names
    )
    .fetch_all(pool)
    .await
}

/// The packages of the same repository whose dependencies this package satisfies, the first
/// [`REQUIRED_BY_LIMIT`] by name, and whether there are more.
async fn dependents(
    pool: &PgPool,
    detail: &PackageDetail,
) -> Result<(Vec<Dependent>, bool), sqlx::Error> {
    let mut names: Vec<String> = std::iter::once(detail.name.clone())
        .chain(
            detail
                .provides
                .iter()
                .map(|p| Dependency::parse(p).name.to_owned()),
        )
        .collect();
    names.sort_unstable();
    names.dedup();
    let rows = sqlx::query!(
        r#"select p.name, p.arch, p.depends, p.optdepends, p.makedepends, p.checkdepends
           from packages p
           where p.repo_id = $1 and p.id <> $2
             and ($3 = 'any' or p.arch = $3 or p.arch = 'any')
             and package_relation_names(p.depends || p.optdepends || p.makedepends
                                        || p.checkdepends) && $4
           order by p.name collate "C", p.arch collate "C"
           limit $5"#,
        detail.repo_id,
        detail.id,
        detail.arch,
        &names,
        REQUIRED_BY_LIMIT + 1
    )
    .fetch_all(pool)
    .await?;
    let more = rows.len() as i64 > REQUIRED_BY_LIMIT;
    let this = Candidate {
        name: detail.name.clone(),
        arch: detail.arch.clone(),
        version: detail.version.clone(),
        provides: detail.provides.clone(),
    };
    let satisfied = |entries: &[String]| {
        entries
            .iter()
            .any(|e| Dependency::parse(e).satisfied_by(&this).is_some())
    };
    let shown = rows
        .into_iter()
        .take(REQUIRED_BY_LIMIT as usize)
        .filter_map(|row| {
            let fields: Vec<&'static str> = [
                ("depend", &row.depends),
                ("optdepend", &row.optdepends),
                ("makedepend", &row.makedepends),
                ("checkdepend", &row.checkdepends),
            ]
            .into_iter()
            .filter(|(_, entries)| satisfied(entries))
            .map(|(field, _)| field)
            .collect();
            (!fields.is_empty()).then_some(Dependent {
                name: row.name,
                arch: row.arch,
                fields,
            })
        })
        .collect();
    Ok((shown, more))
}

async fn elsewhere(
    pool: &PgPool,
    hidden: &Hidden,
    detail: &PackageDetail,
) -> Result<Vec<Placement>, sqlx::Error> {
    sqlx::query_as!(
        Placement,
        r#"select d.name as distro, r.name as repo, p.arch, p.version
           from packages p join repos r on r.id = p.repo_id join distros d on d.id = r.distro_id
           where p.name = $1 and p.id <> $2
             and (d.name <> all($3)
                  or (d.name, r.name) in (select * from unnest($4::text[], $5::text[])))
           order by d.name collate "C", r.name collate "C", p.arch collate "C""#,
        detail.name,
        detail.id,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos()
    )
    .fetch_all(pool)
    .await
}

async fn history(pool: &PgPool, detail: &PackageDetail) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    sqlx::query_as!(
        HistoryEntry,
        r#"select arch, version, action, detail, upload_id, actor_kind, actor_name, actor_prefix,
                  created_at
           from package_events
           where repo_id = $1 and name = $2
           order by id desc
           limit $3"#,
        detail.repo_id,
        detail.name,
        HISTORY_LIMIT
    )
    .fetch_all(pool)
    .await
}
