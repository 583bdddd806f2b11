//! The `build_targets` table (see its migration): build targets and their schedules.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::build::{Schedule, TargetInput, TargetSpec};
use crate::names::{ArchName, DistroName, RepoName};

use super::listing::{Page, Window};

/// A target as stored, with the next run its schedule gives.
#[derive(Debug, Clone)]
pub struct TargetRecord {
    pub id: i64,
    pub spec: TargetSpec,
    pub next_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

struct Row {
    id: i64,
    name: String,
    kind: String,
    url: String,
    branch: Option<String>,
    path: Option<String>,
    distro: String,
    repo: String,
    arches: Vec<String>,
    schedule: Option<String>,
    next_run_at: Option<DateTime<Utc>>,
    timeout_secs: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_record(self) -> Result<TargetRecord, sqlx::Error> {
        // Stored targets were validated when they were written.
        let spec = TargetSpec::validate(TargetInput {
            name: self.name,
            kind: self.kind,
            url: self.url,
            branch: self.branch,
            path: self.path,
            distro: self.distro,
            repo: self.repo,
            arches: self.arches,
            schedule: self.schedule,
            timeout_secs: Some(self.timeout_secs as u32),
        })
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(TargetRecord {
            id: self.id,
            spec,
            next_run_at: self.next_run_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The places whose targets a caller may see: everything, or these distributions (a `None`
/// repository) and repositories.
#[derive(Debug, Clone)]
pub enum Reach {
    All,
    Some(Vec<(DistroName, Option<RepoName>)>),
}

impl Reach {
    pub(crate) fn parts(&self) -> (bool, Vec<String>, Vec<Option<String>>) {
        match self {
            Self::All => (true, Vec::new(), Vec::new()),
            Self::Some(places) => (
                false,
                places.iter().map(|(d, _)| d.as_str().to_owned()).collect(),
                places
                    .iter()
                    .map(|(_, r)| r.as_ref().map(|r| r.as_str().to_owned()))
                    .collect(),
            ),
        }
    }
}

/// Why a target could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("a target named {0} exists already")]
    NameTaken(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

fn write_error(err: sqlx::Error, name: &str) -> WriteError {
    match &err {
        sqlx::Error::Database(db) if db.constraint() == Some("build_targets_name_key") => {
            WriteError::NameTaken(name.to_owned())
        }
        _ => WriteError::Sql(err),
    }
}

fn arch_strings(arches: &[ArchName]) -> Vec<String> {
    arches.iter().map(|a| a.as_str().to_owned()).collect()
}

/// The next run of `schedule` after now, as stored.
fn next_run(schedule: Option<&Schedule>) -> Option<DateTime<Utc>> {
    schedule.and_then(|s| s.next_after(Utc::now()))
}

pub async fn insert(
    executor: impl PgExecutor<'_>,
    spec: &TargetSpec,
) -> Result<TargetRecord, WriteError> {
    let row = sqlx::query_as!(
        Row,
        "insert into build_targets
             (name, kind, url, branch, path, distro, repo, arches, schedule, next_run_at,
              timeout_secs)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         returning id, name, kind, url, branch, path, distro, repo, arches, schedule,
                   next_run_at, timeout_secs, created_at, updated_at",
        spec.name.as_str(),
        spec.kind.as_str(),
        spec.url,
        spec.branch,
        spec.path,
        spec.distro.as_str(),
        spec.repo.as_str(),
        &arch_strings(&spec.arches),
        spec.schedule.as_ref().map(Schedule::as_str),
        next_run(spec.schedule.as_ref()),
        spec.timeout.as_secs() as i32,
    )
    .fetch_one(executor)
    .await
    .map_err(|e| write_error(e, spec.name.as_str()))?;
    Ok(row.into_record()?)
}

/// Replaces target `id`'s settings; the next run is computed again when the schedule
/// changed. `None` when there is no such target.
pub async fn update(
    executor: impl PgExecutor<'_>,
    id: i64,
    spec: &TargetSpec,
) -> Result<Option<TargetRecord>, WriteError> {
    let row = sqlx::query_as!(
        Row,
        "update build_targets set
             name = $2, kind = $3, url = $4, branch = $5, path = $6, distro = $7, repo = $8,
             arches = $9, timeout_secs = $12,
             next_run_at = case when schedule is not distinct from $10 then next_run_at
                                else $11 end,
             schedule = $10,
             updated_at = now()
         where id = $1
         returning id, name, kind, url, branch, path, distro, repo, arches, schedule,
                   next_run_at, timeout_secs, created_at, updated_at",
        id,
        spec.name.as_str(),
        spec.kind.as_str(),
        spec.url,
        spec.branch,
        spec.path,
        spec.distro.as_str(),
        spec.repo.as_str(),
        &arch_strings(&spec.arches),
        spec.schedule.as_ref().map(Schedule::as_str),
        next_run(spec.schedule.as_ref()),
        spec.timeout.as_secs() as i32,
    )
    .fetch_optional(executor)
    .await
    .map_err(|e| write_error(e, spec.name.as_str()))?;
    row.map(Row::into_record).transpose().map_err(Into::into)
}

pub async fn find(
    executor: impl PgExecutor<'_>,
    id: i64,
) -> Result<Option<TargetRecord>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "select id, name, kind, url, branch, path, distro, repo, arches, schedule, next_run_at,
                timeout_secs, created_at, updated_at
         from build_targets where id = $1",
        id
    )
    .fetch_optional(executor)
    .await?
    .map(Row::into_record)
    .transpose()
}

/// Target `id`, its row locked until the transaction ends.
pub async fn find_for_update(
    conn: &mut sqlx::PgConnection,
    id: i64,
) -> Result<Option<TargetRecord>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "select id, name, kind, url, branch, path, distro, repo, arches, schedule, next_run_at,
                timeout_secs, created_at, updated_at
         from build_targets where id = $1 for update",
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Row::into_record)
    .transpose()
}

/// A page of the targets within `reach`, by name.
pub async fn list(
    executor: impl PgExecutor<'_> + Copy,
    reach: &Reach,
    window: Window,
) -> Result<Page<TargetRecord>, sqlx::Error> {
    let (all, distros, repos) = reach.parts();
    let rows = sqlx::query_as!(
        Row,
        r#"select id, name, kind, url, branch, path, distro, repo, arches, schedule, next_run_at,
                  timeout_secs, created_at, updated_at
           from build_targets t
           where $1 or exists (
               select 1 from unnest($2::text[], $3::text[]) as p(distro, repo)
               where p.distro = t.distro and (p.repo is null or p.repo = t.repo))
           order by name
           limit $4 offset $5"#,
        all,
        &distros,
        &repos as &[Option<String>],
        window.limit,
        window.offset
    )
    .fetch_all(executor)
    .await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "count!" from build_targets t
           where $1 or exists (
               select 1 from unnest($2::text[], $3::text[]) as p(distro, repo)
               where p.distro = t.distro and (p.repo is null or p.repo = t.repo))"#,
        all,
        &distros,
        &repos as &[Option<String>],
    )
    .fetch_one(executor)
    .await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(Row::into_record)
            .collect::<Result<_, _>>()?,
        total,
    })
}

/// Deletes target `id`; whether there was one.
pub async fn delete(executor: impl PgExecutor<'_>, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!("delete from build_targets where id = $1", id)
        .execute(executor)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Up to `limit` targets whose schedule is due, locked (skipping those another process holds)
/// until the transaction ends.
pub async fn due_for_update(
    conn: &mut sqlx::PgConnection,
    limit: i64,
) -> Result<Vec<TargetRecord>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "select id, name, kind, url, branch, path, distro, repo, arches, schedule, next_run_at,
                timeout_secs, created_at, updated_at
         from build_targets where next_run_at <= now()
         order by next_run_at
         for update skip locked
         limit $1",
        limit
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(Row::into_record)
    .collect()
}

/// Moves target `id`'s next run.
pub async fn set_next_run(
    executor: impl PgExecutor<'_>,
    id: i64,
    next_run_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update build_targets set next_run_at = $2 where id = $1 and schedule is not null",
        id,
        next_run_at
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Records what target `id`'s .SRCINFO said: the names it depends on and those it provides.
pub async fn set_srcinfo(
    executor: impl PgExecutor<'_>,
    id: i64,
    depends: &[String],
    provides: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update build_targets set depends = $2, provides = $3, srcinfo_at = now()
         where id = $1",
        id,
        depends,
        provides
    )
    .execute(executor)
    .await?;
    Ok(())
}
