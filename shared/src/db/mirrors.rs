//! The `mirrors` tables (see their migration): mirrors and their settings, their schedule, the
//! record of each sync, what each architecture last synced, and the blobs a sync holds.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::blobs::Digest;
use crate::mirror::{MirrorSpec, SpecInput, Upstream};
use crate::names::{ArchName, DistroName, FileName, RepoName};

/// A sync as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    pub id: i64,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub packages: Option<i64>,
    pub downloaded_bytes: i64,
}

/// A mirror, its settings and its state.
#[derive(Debug, Clone)]
pub struct MirrorRecord {
    pub id: i64,
    pub repo_id: i64,
    pub distro: DistroName,
    pub repo: RepoName,
    pub spec: MirrorSpec,
    pub declared: bool,
    pub next_sync_at: DateTime<Utc>,
    pub sync_pending: bool,
    pub upstream_lastupdate: Option<i64>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sync: Option<SyncRecord>,
}

struct Row {
    id: i64,
    repo_id: i64,
    distro: DistroName,
    repo: RepoName,
    upstream: Upstream,
    arches: Vec<ArchName>,
    interval_secs: i32,
    keep_signatures: bool,
    verify_keyring: Option<String>,
    max_concurrent_downloads: i32,
    bandwidth_limit_bytes_per_sec: Option<i64>,
    declared: bool,
    next_sync_at: DateTime<Utc>,
    sync_pending: bool,
    upstream_lastupdate: Option<i64>,
    last_success_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    sync_id: Option<i64>,
    sync_status: Option<String>,
    sync_started_at: Option<DateTime<Utc>>,
    sync_finished_at: Option<DateTime<Utc>>,
    sync_error: Option<String>,
    sync_packages: Option<i64>,
    sync_downloaded_bytes: Option<i64>,
}

impl Row {
    fn into_record(self) -> Result<MirrorRecord, sqlx::Error> {
        // Stored settings were validated when they were written.
        let spec = MirrorSpec::validate(SpecInput {
            upstream: self.upstream,
            arches: self.arches,
            interval_secs: self.interval_secs as u32,
            keep_signatures: Some(self.keep_signatures),
            verify_signatures: self.verify_keyring,
            max_concurrent_downloads: Some(self.max_concurrent_downloads as u32),
            bandwidth_limit_bytes_per_sec: self.bandwidth_limit_bytes_per_sec.map(|b| b as u64),
        })
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let last_sync = match (self.sync_id, self.sync_status, self.sync_started_at) {
            (Some(id), Some(status), Some(started_at)) => Some(SyncRecord {
                id,
                status,
                started_at,
                finished_at: self.sync_finished_at,
                error: self.sync_error,
                packages: self.sync_packages,
                downloaded_bytes: self.sync_downloaded_bytes.unwrap_or(0),
            }),
            _ => None,
        };
        Ok(MirrorRecord {
            id: self.id,
            repo_id: self.repo_id,
            distro: self.distro,
            repo: self.repo,
            spec,
            declared: self.declared,
            next_sync_at: self.next_sync_at,
            sync_pending: self.sync_pending,
            upstream_lastupdate: self.upstream_lastupdate,
            last_success_at: self.last_success_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_sync,
        })
    }
}

/// Which mirrors a read returns.
enum Which<'a> {
    Id(i64),
    Repo(&'a DistroName, &'a RepoName),
    Page { limit: i64, offset: i64 },
}

async fn select(
    executor: impl PgExecutor<'_>,
    which: Which<'_>,
) -> Result<Vec<MirrorRecord>, sqlx::Error> {
    let (id, distro, repo, limit, offset) = match which {
        Which::Id(id) => (Some(id), None, None, 1, 0),
        Which::Repo(d, r) => (None, Some(d.as_str()), Some(r.as_str()), 1, 0),
        Which::Page { limit, offset } => (None, None, None, limit, offset),
    };
    let rows = sqlx::query_as!(
        Row,
        r#"select m.id, m.repo_id, d.name as "distro: DistroName", r.name as "repo: RepoName",
                  m.upstream as "upstream: Upstream", m.arches as "arches: Vec<ArchName>",
                  m.interval_secs, m.keep_signatures, m.verify_keyring,
                  m.max_concurrent_downloads, m.bandwidth_limit_bytes_per_sec, m.declared,
                  m.next_sync_at, m.sync_pending, m.upstream_lastupdate, m.last_success_at,
                  m.created_at, m.updated_at,
                  s.id as "sync_id?", s.status as "sync_status?",
                  s.started_at as "sync_started_at?", s.finished_at as sync_finished_at,
                  s.error as sync_error, s.packages as sync_packages,
                  s.downloaded_bytes as "sync_downloaded_bytes?"
           from mirrors m
           join repos r on r.id = m.repo_id
           join distros d on d.id = r.distro_id
           left join lateral (
               select * from mirror_syncs s where s.mirror_id = m.id order by s.id desc limit 1
           ) s on true
           where ($1::bigint is null or m.id = $1)
             and ($2::text is null or d.name = $2)
             and ($3::text is null or r.name = $3)
           order by m.id
           limit $4 offset $5"#,
        id,
        distro,
        repo,
        limit,
        offset
    )
    .fetch_all(executor)
    .await?;
    rows.into_iter().map(Row::into_record).collect()
}

pub async fn find(
    executor: impl PgExecutor<'_>,
    id: i64,
) -> Result<Option<MirrorRecord>, sqlx::Error> {
    Ok(select(executor, Which::Id(id)).await?.into_iter().next())
}

/// The mirror that fills a repository, if it is one.
pub async fn for_repo(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
    repo: &RepoName,
) -> Result<Option<MirrorRecord>, sqlx::Error> {
    Ok(select(executor, Which::Repo(distro, repo))
        .await?
        .into_iter()
        .next())
}

/// The upstream of the mirror filling the repository `repo_id`, if it is one.
pub async fn upstream_of_repo(
    executor: impl PgExecutor<'_>,
    repo_id: i64,
) -> Result<Option<Upstream>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select upstream as "upstream: Upstream" from mirrors where repo_id = $1"#,
        repo_id
    )
    .fetch_optional(executor)
    .await
}

/// The upstream of the mirror filling `distro/repo`, if it is one.
pub async fn upstream_for(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
    repo: &RepoName,
) -> Result<Option<Upstream>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select m.upstream as "upstream: Upstream" from mirrors m
           join repos r on r.id = m.repo_id
           join distros d on d.id = r.distro_id
           where d.name = $1 and r.name = $2"#,
        distro.as_str(),
        repo.as_str()
    )
    .fetch_optional(executor)
    .await
}

pub async fn list(
    executor: impl PgExecutor<'_>,
    limit: i64,
    offset: i64,
) -> Result<Vec<MirrorRecord>, sqlx::Error> {
    select(executor, Which::Page { limit, offset }).await
}

pub async fn count(executor: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"select count(*) as "count!" from mirrors"#)
        .fetch_one(executor)
        .await
}

/// Records a new mirror of the repository `repo_id`, due for a sync at once.
pub async fn insert(
    conn: &mut PgConnection,
    repo_id: i64,
    spec: &MirrorSpec,
    declared: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into mirrors (repo_id, upstream, arches, interval_secs, keep_signatures,
                              verify_keyring, max_concurrent_downloads,
                              bandwidth_limit_bytes_per_sec, declared)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         returning id",
        repo_id,
        spec.upstream.as_str(),
        &spec.arches as &[ArchName],
        spec.interval.as_secs() as i32,
        spec.keep_signatures,
        spec.verify.as_ref().map(|k| k.armored()),
        spec.max_concurrent_downloads as i32,
        spec.bandwidth_limit_bytes_per_sec.map(|b| b as i64),
        declared
    )
    .fetch_one(conn)
    .await
}

/// Changes a mirror's settings. A new interval takes effect from the last sync's start.
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    spec: &MirrorSpec,
    declared: bool,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        "update mirrors set upstream = $2, arches = $3,
                next_sync_at = next_sync_at - make_interval(secs => interval_secs)
                               + make_interval(secs => $4),
                interval_secs = $4, keep_signatures = $5, verify_keyring = $6,
                max_concurrent_downloads = $7, bandwidth_limit_bytes_per_sec = $8,
                declared = $9, updated_at = now()
         where id = $1",
        id,
        spec.upstream.as_str(),
        &spec.arches as &[ArchName],
        spec.interval.as_secs() as i32,
        spec.keep_signatures,
        spec.verify.as_ref().map(|k| k.armored()),
        spec.max_concurrent_downloads as i32,
        spec.bandwidth_limit_bytes_per_sec.map(|b| b as i64),
        declared
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Deletes a mirror (its repository stays, as a local one); false if there was none.
pub async fn delete(executor: impl PgExecutor<'_>, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!("delete from mirrors where id = $1", id)
        .execute(executor)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Marks a sync of mirror `id` pending; true when it was not pending already (the caller then
/// queues the job, in the same transaction). False also when the mirror is gone.
pub async fn mark_pending(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let marked = sqlx::query!(
        "update mirrors set sync_pending = true where id = $1 and not sync_pending",
        id
    )
    .execute(conn)
    .await?;
    Ok(marked.rows_affected() == 1)
}

/// Mirrors whose next sync is due and not queued yet.
pub async fn due(executor: impl PgExecutor<'_>) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from mirrors where not sync_pending and next_sync_at <= now() order by id"
    )
    .fetch_all(executor)
    .await
}

/// Starts a sync of mirror `id`: clears its pending flag (a request from now on queues another
/// sync), closes the record of a sync that died with its worker, and opens the record of this
/// one. `None` if the mirror is gone. Call it holding the mirror's sync lock.
pub async fn start_sync(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<(MirrorRecord, i64)>, sqlx::Error> {
    let found = sqlx::query!(
        "update mirrors set sync_pending = false where id = $1 returning id",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if found.is_none() {
        return Ok(None);
    }
    sqlx::query!(
        "update mirror_syncs set status = 'failed', finished_at = clock_timestamp(),
                error = 'interrupted: the worker running it stopped'
         where mirror_id = $1 and status = 'running'",
        id
    )
    .execute(&mut *conn)
    .await?;
    let sync_id = sqlx::query_scalar!(
        "insert into mirror_syncs (mirror_id) values ($1) returning id",
        id
    )
    .fetch_one(&mut *conn)
    .await?;
    let Some(mirror) = find(&mut *conn, id).await? else {
        return Ok(None);
    };
    Ok(Some((mirror, sync_id)))
}

/// Adds to the bytes a running sync has downloaded.
pub async fn add_downloaded(
    executor: impl PgExecutor<'_>,
    sync_id: i64,
    bytes: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update mirror_syncs set downloaded_bytes = downloaded_bytes + $2 where id = $1",
        sync_id,
        bytes as i64
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Closes a sync that made the upstream's state live (or found it unchanged) and schedules the
/// next one an interval after this one started.
pub async fn succeed(
    conn: &mut PgConnection,
    mirror_id: i64,
    sync_id: i64,
    packages: i64,
    lastupdate: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update mirror_syncs set status = 'succeeded', finished_at = clock_timestamp(), packages = $2
         where id = $1",
        sync_id,
        packages
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update mirrors m set last_success_at = now(),
                upstream_lastupdate = $2,
                next_sync_at = s.started_at + make_interval(secs => m.interval_secs)
         from mirror_syncs s
         where m.id = $1 and s.id = $3",
        mirror_id,
        lastupdate,
        sync_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Closes a failed sync with its reason and schedules a retry after `retry_secs` (or the
/// interval, if shorter).
pub async fn fail(
    executor: impl PgExecutor<'_>,
    mirror_id: i64,
    sync_id: i64,
    reason: &str,
    retry_secs: f64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "with closed as (
             update mirror_syncs set status = 'failed', finished_at = clock_timestamp(), error = $3
             where id = $2
         )
         update mirrors set next_sync_at = now() + least(make_interval(secs => interval_secs),
                                                         make_interval(secs => $4))
         where id = $1",
        mirror_id,
        sync_id,
        reason,
        retry_secs
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Failed syncs in a row, most recent first, up to the last success.
pub async fn failures_in_a_row(
    executor: impl PgExecutor<'_>,
    mirror_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from mirror_syncs
           where mirror_id = $1 and status = 'failed'
             and id > coalesce((select max(id) from mirror_syncs
                                where mirror_id = $1 and status = 'succeeded'), 0)"#,
        mirror_id
    )
    .fetch_one(executor)
    .await
}

/// What an architecture's live state came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchState {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub db_digest: Digest,
}

pub async fn arch_states(
    executor: impl PgExecutor<'_>,
    mirror_id: i64,
) -> Result<HashMap<ArchName, ArchState>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select arch as "arch: ArchName", etag, last_modified,
                  db_digest as "db_digest: Digest"
           from mirror_arches where mirror_id = $1"#,
        mirror_id
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.arch,
                ArchState {
                    etag: r.etag,
                    last_modified: r.last_modified,
                    db_digest: r.db_digest,
                },
            )
        })
        .collect())
}

pub async fn set_arch_state(
    executor: impl PgExecutor<'_>,
    mirror_id: i64,
    arch: &ArchName,
    state: &ArchState,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into mirror_arches (mirror_id, arch, etag, last_modified, db_digest)
         values ($1, $2, $3, $4, $5)
         on conflict (mirror_id, arch) do update set
           etag = excluded.etag, last_modified = excluded.last_modified,
           db_digest = excluded.db_digest, synced_at = now()",
        mirror_id,
        arch.as_str(),
        state.etag,
        state.last_modified,
        &state.db_digest as &Digest
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The packages a repository holds, as (file name, digest).
pub async fn held_packages(
    executor: impl PgExecutor<'_>,
    repo_id: i64,
) -> Result<HashSet<(FileName, Digest)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select filename as "filename: FileName", sha256 as "sha256: Digest"
           from packages where repo_id = $1"#,
        repo_id
    )
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|r| (r.filename, r.sha256)).collect())
}

/// Holds those of `digests` the store already has for the mirror (so the collector leaves
/// them until the sync makes them live) and returns the others: those still to download.
pub async fn hold_recorded(
    conn: &mut PgConnection,
    mirror_id: i64,
    digests: &[Digest],
) -> Result<Vec<Digest>, sqlx::Error> {
    sqlx::query!(
        "with recorded as (
             update blobs set claimed_at = now() where digest = any($2) returning digest
         )
         insert into mirror_held_blobs (mirror_id, digest)
         select $1, digest from recorded
         on conflict (mirror_id, digest) do update set held_at = now()",
        mirror_id,
        digests as &[Digest]
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!(
        r#"select d as "d!: Digest" from unnest($2::text[]) as d
           where not exists (select 1 from mirror_held_blobs h
                             where h.mirror_id = $1 and h.digest = d)"#,
        mirror_id,
        digests as &[Digest]
    )
    .fetch_all(&mut *conn)
    .await
}

/// Holds one blob for the mirror: call it in the transaction that claims it.
pub async fn hold(
    conn: &mut PgConnection,
    mirror_id: i64,
    digest: &Digest,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into mirror_held_blobs (mirror_id, digest) values ($1, $2)
         on conflict (mirror_id, digest) do update set held_at = now()",
        mirror_id,
        digest as &Digest
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Releases every blob the mirror holds: call it in the transaction that makes them live.
pub async fn release_held(conn: &mut PgConnection, mirror_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from mirror_held_blobs where mirror_id = $1",
        mirror_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks a mirror's row for the transaction that makes a sync live; false if it is gone.
pub async fn lock(conn: &mut PgConnection, mirror_id: i64) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!("select id from mirrors where id = $1 for update", mirror_id)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

/// A package of a mirrored repository, as a sync compares it with the upstream's entry.
#[derive(Debug, Clone)]
pub struct CataloguePackage {
    pub id: i64,
    pub arch: String,
    pub name: String,
    pub filename: String,
    pub sha256: Digest,
}

/// The packages of repository `repo_id` that `arch`'s database lists: its own and `any`.
pub async fn catalogue_of(
    executor: impl PgExecutor<'_>,
    repo_id: i64,
    arch: &ArchName,
) -> Result<Vec<CataloguePackage>, sqlx::Error> {
    sqlx::query_as!(
        CataloguePackage,
        r#"select id, arch, name, filename, sha256 as "sha256: Digest" from packages
           where repo_id = $1 and (arch = $2 or arch = 'any')"#,
        repo_id,
        arch.as_str()
    )
    .fetch_all(executor)
    .await
}

/// The file names the other architectures of repository `repo_id` serve live: an `any`
/// package one of them still lists stays in the catalogue.
pub async fn served_by_other_arches(
    executor: impl PgExecutor<'_>,
    repo_id: i64,
    arch: &ArchName,
) -> Result<HashSet<String>, sqlx::Error> {
    let names = sqlx::query_scalar!(
        "select f.filename from published_files f
         join repo_arches ra on ra.id = f.repo_arch_id
         where ra.repo_id = $1 and ra.arch <> $2 and f.retired_until is null",
        repo_id,
        arch.as_str()
    )
    .fetch_all(executor)
    .await?;
    Ok(names.into_iter().collect())
}

/// Records that the architecture's databases are live with `packages` packages: nothing is
/// left for a regeneration to build (a mirror's databases are the upstream's).
pub async fn mark_published(
    tx: &mut PgConnection,
    repo_arch_id: i64,
    packages: usize,
    signed: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update repo_arches
         set built_seq = change_seq, dirty_since = null, published_at = now(),
             build_count = build_count + 1, package_count = $2,
             signed_databases = signed_databases or $3
         where id = $1",
        repo_arch_id,
        packages as i64,
        signed
    )
    .execute(tx)
    .await?;
    Ok(())
}
