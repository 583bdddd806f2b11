//! The `builds` table (see its migration): the queue of builds and their leases.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::build::queue::Status;
use crate::names::ArchName;

use super::listing::{Page, Window};
use super::targets::{self, Reach, TargetRecord};

/// A build as the API shows it.
#[derive(Debug, Clone)]
pub struct BuildRecord {
    pub id: i64,
    pub target_id: i64,
    pub target: String,
    pub distro: String,
    pub repo: String,
    pub arch: String,
    pub force: bool,
    pub status: Status,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub agent: Option<String>,
    pub attempts: i32,
    pub cancel_requested: bool,
    pub error: Option<String>,
    /// The uploads of the packages it built.
    pub packages: Vec<Uuid>,
    /// How long its log is (0 once removed: `log_removed_at`).
    pub log_bytes: i64,
    pub log_removed_at: Option<DateTime<Utc>>,
}

struct Row {
    id: i64,
    target_id: i64,
    target: String,
    distro: String,
    repo: String,
    arch: String,
    force: bool,
    status: String,
    queued_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    agent: Option<String>,
    attempts: i32,
    cancel_requested: bool,
    error: Option<String>,
    packages: Vec<Uuid>,
    log_bytes: i64,
    log_removed_at: Option<DateTime<Utc>>,
}

impl Row {
    fn into_record(self) -> Result<BuildRecord, sqlx::Error> {
        let status = Status::parse(&self.status).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown build status {}", self.status).into())
        })?;
        Ok(BuildRecord {
            id: self.id,
            target_id: self.target_id,
            target: self.target,
            distro: self.distro,
            repo: self.repo,
            arch: self.arch,
            force: self.force,
            status,
            queued_at: self.queued_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            agent: self.agent,
            attempts: self.attempts,
            cancel_requested: self.cancel_requested,
            error: self.error,
            packages: self.packages,
            log_bytes: self.log_bytes,
            log_removed_at: self.log_removed_at,
        })
    }
}

/// A build handed to an agent: the build, its lease and what to build.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub build: BuildRecord,
    pub lease_id: Uuid,
    pub target: TargetRecord,
}

/// Which builds a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub target: Option<i64>,
    pub status: Option<Status>,
    pub arch: Option<ArchName>,
}

pub async fn find(
    executor: impl PgExecutor<'_>,
    id: i64,
) -> Result<Option<BuildRecord>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        r#"select b.id, b.target_id, t.name as target, t.distro, t.repo, b.arch, b.force, b.status,
                b.queued_at, b.started_at, b.finished_at, b.agent, b.attempts,
                b.cancel_requested, b.error, b.log_bytes, b.log_removed_at,
                array(select u.id from uploads u where u.build_id = b.id order by u.id)
                    as "packages!"
         from builds b join build_targets t on t.id = b.target_id
         where b.id = $1"#,
        id
    )
    .fetch_optional(executor)
    .await?
    .map(Row::into_record)
    .transpose()
}

/// A page of the builds of targets within `reach`, newest first.
pub async fn list(
    executor: impl PgExecutor<'_> + Copy,
    reach: &Reach,
    filter: &Filter,
    window: Window,
) -> Result<Page<BuildRecord>, sqlx::Error> {
    let (all, distros, repos) = reach.parts();
    let status = filter.status.map(Status::as_str);
    let arch = filter.arch.as_ref().map(ArchName::as_str);
    let rows = sqlx::query_as!(
        Row,
        r#"select b.id, b.target_id, t.name as target, t.distro, t.repo, b.arch, b.force,
                  b.status, b.queued_at, b.started_at, b.finished_at, b.agent, b.attempts,
                  b.cancel_requested, b.error, b.log_bytes, b.log_removed_at,
                  array(select u.id from uploads u where u.build_id = b.id order by u.id)
                      as "packages!"
           from builds b join build_targets t on t.id = b.target_id
           where ($1 or exists (
                   select 1 from unnest($2::text[], $3::text[]) as p(distro, repo)
                   where p.distro = t.distro and (p.repo is null or p.repo = t.repo)))
             and ($4::bigint is null or b.target_id = $4)
             and ($5::text is null or b.status = $5)
             and ($6::text is null or b.arch = $6)
           order by b.id desc
           limit $7 offset $8"#,
        all,
        &distros,
        &repos as &[Option<String>],
        filter.target,
        status,
        arch,
        window.limit,
        window.offset
    )
    .fetch_all(executor)
    .await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "count!"
           from builds b join build_targets t on t.id = b.target_id
           where ($1 or exists (
                   select 1 from unnest($2::text[], $3::text[]) as p(distro, repo)
                   where p.distro = t.distro and (p.repo is null or p.repo = t.repo)))
             and ($4::bigint is null or b.target_id = $4)
             and ($5::text is null or b.status = $5)
             and ($6::text is null or b.arch = $6)"#,
        all,
        &distros,
        &repos as &[Option<String>],
        filter.target,
        status,
        arch,
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

/// Queues a build, or finds the one of the target and architecture already queued or
/// running (a queued one becomes forced when `force` is asked); `true` when it is new.
pub async fn request(
    executor: impl PgExecutor<'_> + Copy,
    target_id: i64,
    arch: &ArchName,
    force: bool,
) -> Result<(BuildRecord, bool), sqlx::Error> {
    // Two attempts: a build inserted by another caller between this statement's snapshot
    // and its insert is neither inserted nor seen by the first.
    for _ in 0..2 {
        let found = sqlx::query!(
            r#"with inserted as (
                   insert into builds (target_id, arch, force) values ($1, $2, $3)
                   on conflict (target_id, arch) where status in ('queued', 'running')
                   do nothing
                   returning id)
               select id as "id!", true as "created!" from inserted
               union all
               select id, false from builds
               where target_id = $1 and arch = $2 and status in ('queued', 'running')"#,
            target_id,
            arch.as_str(),
            force
        )
        .fetch_optional(executor)
        .await?;
        let Some(found) = found else { continue };
        if force && !found.created {
            // A forced request makes the waiting build forced too.
            sqlx::query!(
                "update builds set force = true where id = $1 and status = 'queued'",
                found.id
            )
            .execute(executor)
            .await?;
        }
        if let Some(build) = find(executor, found.id).await? {
            return Ok((build, found.created));
        }
    }
    Err(sqlx::Error::RowNotFound)
}

/// Queues a build unless one of the target and architecture is queued or running; whether
/// it did.
pub async fn enqueue(
    executor: impl PgExecutor<'_>,
    target_id: i64,
    arch: &ArchName,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "insert into builds (target_id, arch) values ($1, $2)
         on conflict (target_id, arch) where status in ('queued', 'running') do nothing",
        target_id,
        arch.as_str()
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Leases the oldest queued build for one of `arches` to `agent`, passing over builds that
/// wait for another (the view `build_waits`; a build whose own target was never read does
/// not wait, so that it can be read).
pub async fn claim(
    executor: impl PgExecutor<'_> + Copy,
    agent: &str,
    arches: &[ArchName],
    lease: Duration,
) -> Result<Option<Claimed>, sqlx::Error> {
    let arches: Vec<&str> = arches.iter().map(ArchName::as_str).collect();
    let claimed = sqlx::query!(
        r#"update builds b set
               status = 'running', lease_id = gen_random_uuid(),
               lease_expires_at = now() + make_interval(secs => $3),
               started_at = now(), agent = $1, attempts = attempts + 1
           where b.id = (
               select q.id from builds q
               where q.status = 'queued' and q.arch = any($2)
                 and not exists (select 1 from build_waits w where w.build_id = q.id)
               order by q.queued_at, q.id
               for update skip locked
               limit 1)
           returning b.id, b.target_id, b.lease_id as "lease_id!""#,
        agent,
        &arches as &[&str],
        lease.as_secs_f64(),
    )
    .fetch_optional(executor)
    .await?;
    let Some(claimed) = claimed else {
        return Ok(None);
    };
    let build = find(executor, claimed.id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let target = targets::find(executor, claimed.target_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(Some(Claimed {
        build,
        lease_id: claimed.lease_id,
        target,
    }))
}

/// Build `id`'s status, without the rest of its record (for polling).
pub async fn status(executor: impl PgExecutor<'_>, id: i64) -> Result<Option<Status>, sqlx::Error> {
    let found = sqlx::query_scalar!("select status from builds where id = $1", id)
        .fetch_optional(executor)
        .await?;
    found
        .map(|status| {
            Status::parse(&status)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown build status {status}").into()))
        })
        .transpose()
}

/// Extends a lease: whether the build was cancelled, or `None` when the lease is not the
/// build's current one.
pub async fn extend(
    executor: impl PgExecutor<'_>,
    id: i64,
    lease_id: Uuid,
    lease: Duration,
) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar!(
        "update builds set lease_expires_at = now() + make_interval(secs => $3)
         where id = $1 and lease_id = $2 and status = 'running'
         returning cancel_requested",
        id,
        lease_id,
        lease.as_secs_f64(),
    )
    .fetch_optional(executor)
    .await
}

/// Ends a build held under `lease_id`; `false` when that lease is not the current one.
pub async fn finish(
    executor: impl PgExecutor<'_>,
    id: i64,
    lease_id: Uuid,
    status: &str,
    error: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update builds set status = $3, error = $4, finished_at = now(),
                           lease_id = null, lease_expires_at = null
         where id = $1 and lease_id = $2 and status = 'running'",
        id,
        lease_id,
        status,
        error
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Cancels a queued build, or asks its agent to stop a running one.
pub async fn cancel(executor: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update builds set
             status = case when status = 'queued' then 'cancelled' else status end,
             finished_at = case when status = 'queued' then now() else finished_at end,
             error = case when status = 'queued' then 'cancelled before it started'
                          else error end,
             cancel_requested = true
         where id = $1 and status in ('queued', 'running')",
        id
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Ends the leases past their time: each build is queued again (at its place in the
/// queue), failed after `max_attempts` claims, or cancelled when that was asked for.
pub async fn expire(
    executor: impl PgExecutor<'_>,
    max_attempts: i32,
) -> Result<Vec<(i64, Status)>, sqlx::Error> {
    let rows = sqlx::query!(
        "update builds set
             status = case when cancel_requested then 'cancelled'
                           when attempts >= $1 then 'failed'
                           else 'queued' end,
             error = case when cancel_requested then 'cancelled; its agent stopped reporting'
                          when attempts >= $1 then
                              format('its agent stopped reporting (the lease ended) %s times; \
                                      not tried again', attempts)
                          else null end,
             finished_at = case when cancel_requested or attempts >= $1 then now() end,
             started_at = case when cancel_requested or attempts >= $1 then started_at end,
             lease_id = null, lease_expires_at = null
         where status = 'running' and lease_expires_at < now()
         returning id, status",
        max_attempts
    )
    .fetch_all(executor)
    .await?;
    rows.into_iter()
        .map(|r| {
            Status::parse(&r.status).map(|s| (r.id, s)).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown build status {}", r.status).into())
            })
        })
        .collect()
}

/// The name of a target whose build (queued or running, for the same architecture) build
/// `id` waits for (the view `build_waits`): one of the same repository providing something
/// the build's target depends on, as their last .SRCINFO said, or one whose .SRCINFO was
/// never read (on the first run of new targets, each waits until the others were read). Two
/// targets depending on each other wait for neither.
pub async fn waited_for(
    executor: impl PgExecutor<'_>,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select waits_for as "waits_for!" from build_waits where build_id = $1
           order by queued_at, other_build_id
           limit 1"#,
        id
    )
    .fetch_optional(executor)
    .await
}

/// A running build held under `lease_id`, locked for the caller's transaction.
#[derive(Debug, Clone)]
pub struct Held {
    pub target_id: i64,
    pub distro: String,
    pub repo: String,
    pub arch: String,
    pub force: bool,
}

/// Locks build `id` if it runs under `lease_id`.
pub async fn lock_held(
    executor: impl PgExecutor<'_>,
    id: i64,
    lease_id: Uuid,
) -> Result<Option<Held>, sqlx::Error> {
    sqlx::query_as!(
        Held,
        "select b.target_id, t.distro, t.repo, b.arch, b.force
         from builds b join build_targets t on t.id = b.target_id
         where b.id = $1 and b.lease_id = $2 and b.status = 'running'
         for update of b",
        id,
        lease_id
    )
    .fetch_optional(executor)
    .await
}

/// Puts a running build back in the queue, at its place, without counting the claim.
pub async fn defer(executor: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update builds set status = 'queued', lease_id = null, lease_expires_at = null,
                           started_at = null, attempts = greatest(attempts - 1, 0)
         where id = $1 and status = 'running'",
        id
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The versions of packages named `names` in a repository's database of `arch` (packages of
/// that architecture or `any`).
pub async fn versions_in_repo(
    executor: impl PgExecutor<'_>,
    distro: &str,
    repo: &str,
    arch: &str,
    names: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select p.name, p.version from packages p
         join repos r on r.id = p.repo_id
         join distros d on d.id = r.distro_id
         where d.name = $1 and r.name = $2 and (p.arch = $3 or p.arch = 'any')
           and p.name = any($4)",
        distro,
        repo,
        arch,
        names
    )
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.version)).collect())
}
