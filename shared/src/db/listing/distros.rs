//! Distributions and their repositories, as the API lists and shows them.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::{Hidden, Page, Window};

#[derive(Debug, Clone)]
pub struct Distro {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub repo_count: i64,
    pub package_count: i64,
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub distro: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub package_count: i64,
    /// The architectures it publishes databases for.
    pub arches: Vec<String>,
}

/// One architecture's database of a repository.
#[derive(Debug, Clone)]
pub struct RepoArch {
    pub arch: String,
    /// Packages its live database lists: those of the architecture and the `any` ones (0
    /// before its first publish).
    pub package_count: i64,
    pub published_at: Option<DateTime<Utc>>,
    pub build_count: i64,
    /// A change is not in the live database yet.
    pub pending: bool,
}

pub async fn list(
    executor: impl PgExecutor<'_> + Copy,
    hidden: &Hidden,
    window: Window,
) -> Result<Page<Distro>, sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from distros where name <> all($1) or name = any($2)"#,
        hidden.restricted(),
        hidden.open_distros()
    )
    .fetch_one(executor)
    .await?;
    let items = sqlx::query_as!(
        Distro,
        r#"select d.name, d.created_at,
                  (select count(*) from repos r where r.distro_id = d.id
                     and (d.name <> all($1)
                        or (d.name, r.name) in (select * from unnest($2::text[], $3::text[])))) as "repo_count!",
                  (select coalesce(sum(r.package_count), 0) from repos r
                   where r.distro_id = d.id
                     and (d.name <> all($1)
                        or (d.name, r.name) in (select * from unnest($2::text[], $3::text[]))))::int8 as "package_count!"
           from distros d
           where d.name <> all($1) or d.name = any($2)
           order by d.name collate "C"
           limit $4 offset $5"#,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos(),
        window.limit,
        window.offset
    )
    .fetch_all(executor)
    .await?;
    Ok(Page { items, total })
}

pub async fn find(
    executor: impl PgExecutor<'_>,
    hidden: &Hidden,
    name: &str,
) -> Result<Option<Distro>, sqlx::Error> {
    if hidden.hides(name) {
        return Ok(None);
    }
    sqlx::query_as!(
        Distro,
        r#"select d.name, d.created_at,
                  (select count(*) from repos r where r.distro_id = d.id
                     and (d.name <> all($1)
                        or (d.name, r.name) in (select * from unnest($2::text[], $3::text[])))) as "repo_count!",
                  (select coalesce(sum(r.package_count), 0) from repos r
                   where r.distro_id = d.id
                     and (d.name <> all($1)
                        or (d.name, r.name) in (select * from unnest($2::text[], $3::text[]))))::int8 as "package_count!"
           from distros d
           where d.name = $4"#,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos(),
        name
    )
    .fetch_optional(executor)
    .await
}

/// The repositories of a distribution; `None` when the distribution does not exist.
pub async fn repos(
    executor: impl PgExecutor<'_> + Copy,
    hidden: &Hidden,
    distro: &str,
    window: Window,
) -> Result<Option<Page<Repo>>, sqlx::Error> {
    if hidden.hides(distro) {
        return Ok(None);
    }
    let total = sqlx::query_scalar!(
        r#"select count(r.id) filter (where d.name <> all($2)
                  or (d.name, r.name) in (select * from unnest($3::text[], $4::text[]))) as "n!"
           from distros d left join repos r on r.distro_id = d.id
           where d.name = $1 group by d.id"#,
        distro,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos()
    )
    .fetch_optional(executor)
    .await?;
    let Some(total) = total else {
        return Ok(None);
    };
    let items = sqlx::query_as!(
        Repo,
        r#"select d.name as distro, r.name, r.created_at,
                  r.package_count,
                  array(select ra.arch from repo_arches ra where ra.repo_id = r.id
                        order by ra.arch collate "C") as "arches!"
           from repos r join distros d on d.id = r.distro_id
           where d.name = $1
             and (d.name <> all($2)
                  or (d.name, r.name) in (select * from unnest($3::text[], $4::text[])))
           order by r.name collate "C"
           limit $5 offset $6"#,
        distro,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos(),
        window.limit,
        window.offset
    )
    .fetch_all(executor)
    .await?;
    Ok(Some(Page { items, total }))
}

/// A repository with its architectures.
pub async fn repo(
    executor: impl PgExecutor<'_> + Copy,
    hidden: &Hidden,
    distro: &str,
    name: &str,
) -> Result<Option<(Repo, Vec<RepoArch>)>, sqlx::Error> {
    if hidden.hides_repo(distro, name) {
        return Ok(None);
    }
    let found = sqlx::query!(
        r#"select r.id, d.name as distro, r.name, r.created_at,
                  r.package_count
           from repos r join distros d on d.id = r.distro_id
           where d.name = $1 and r.name = $2"#,
        distro,
        name
    )
    .fetch_optional(executor)
    .await?;
    let Some(row) = found else {
        return Ok(None);
    };
    let arches = sqlx::query_as!(
        RepoArch,
        r#"select ra.arch, ra.published_at, ra.build_count,
                  ra.change_seq > ra.built_seq as "pending!",
                  ra.package_count
           from repo_arches ra
           where ra.repo_id = $1
           order by ra.arch collate "C""#,
        row.id
    )
    .fetch_all(executor)
    .await?;
    let repo = Repo {
        distro: row.distro,
        name: row.name,
        created_at: row.created_at,
        package_count: row.package_count,
        arches: arches.iter().map(|a| a.arch.clone()).collect(),
    };
    Ok(Some((repo, arches)))
}
