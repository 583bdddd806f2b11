//! Regeneration bookkeeping of repository architectures (see the `repo_arches` migration):
//! marking changes, reading the facts `crate::schedule` decides on and applying its decision,
//! taking the snapshot a build publishes, and recording that it went live.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{DbError, uploads};
use crate::blobs::Digest;
use crate::jobs::{self, Regenerate};
use crate::names::{ArchName, DistroName, FileName, RepoName};
pub use crate::schedule::Timing;
use crate::schedule::{self, Decision};
use sqlx::{PgConnection, PgExecutor, PgPool};

/// Records a catalogue change in the given repository architectures and queues one
/// regeneration job for each that has none pending, due at once (the job itself waits for the
/// repository to be quiet, see [`plan`]). Call it in the transaction that makes the change:
/// the job then exists exactly when the change does.
pub async fn mark_dirty(conn: &mut PgConnection, repo_arch_ids: &[i64]) -> Result<(), DbError> {
    // Rows are locked in id order, so transactions touching several never deadlock.
    let rows = sqlx::query!(
        r#"with old as (
             select id, regen_pending from repo_arches
             where id = any($1) order by id for update
           )
           update repo_arches r
           set change_seq = r.change_seq + 1,
               last_change_at = now(),
               dirty_since = coalesce(r.dirty_since, now()),
               regen_pending = true
           from old where r.id = old.id
           returning r.id, old.regen_pending as "was_pending!""#,
        repo_arch_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in rows.into_iter().filter(|r| !r.was_pending) {
        jobs::enqueue(
            &mut *conn,
            &Regenerate {
                repo_arch_id: row.id,
            },
            Duration::ZERO,
        )
        .await?;
    }
    Ok(())
}

/// Which repository architecture a build is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildTarget {
    pub repo_arch_id: i64,
    pub repo_id: i64,
    pub distro: DistroName,
    pub repo: RepoName,
    pub arch: ArchName,
    /// It has published signed databases: it never publishes unsigned ones again.
    pub signed_databases: bool,
}

/// What a regeneration job should do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The repository architecture was removed.
    Gone,
    /// The live databases already reflect every change.
    UpToDate,
    /// Not quiet yet (or uploads of the repository are still being parsed): look again after
    /// `wait`. A wait up to [`Timing::hold`] is the caller's to sleep (the pending flag stays
    /// set, so changes meanwhile queue no other job); a longer one `requeued` the job.
    Wait { wait: Duration, requeued: bool },
    /// Build now; the pending flag is cleared, so a change from here on queues one more job.
    Build(BuildTarget),
}

pub async fn plan(pool: &PgPool, repo_arch_id: i64, timing: Timing) -> Result<Plan, DbError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"select ra.repo_id, ra.arch as "arch: ArchName", ra.change_seq, ra.built_seq,
                  ra.signed_databases,
                  d.name as "distro: DistroName", r.name as "repo: RepoName",
                  extract(epoch from now() - ra.last_change_at)::float8 as "quiet_for!",
                  coalesce(extract(epoch from now() - ra.dirty_since)::float8, 0) as "dirty_for!",
                  exists (select 1 from mirrors m where m.repo_id = ra.repo_id) as "mirrored!"
           from repo_arches ra
           join repos r on r.id = ra.repo_id
           join distros d on d.id = r.distro_id
           where ra.id = $1
           for update of ra"#,
        repo_arch_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Plan::Gone);
    };
    // A mirror's databases are the upstream's, made live by its syncs: never rebuilt here.
    if row.change_seq <= row.built_seq || row.mirrored {
        sqlx::query!(
            "update repo_arches
             set regen_pending = false, dirty_since = null,
                 built_seq = greatest(built_seq, change_seq)
             where id = $1",
            repo_arch_id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(Plan::UpToDate);
    }

    let parsing = uploads::has_unfinished(&mut *tx, row.distro.as_str(), row.repo.as_str()).await?;
    let since = |secs: f64| Duration::from_secs_f64(secs.max(0.0));
    if let Decision::Wait { wait, requeue } =
        schedule::decide(&timing, since(row.quiet_for), since(row.dirty_for), parsing)
    {
        if requeue {
            jobs::enqueue(&mut tx, &Regenerate { repo_arch_id }, wait).await?;
        }
        tx.commit().await?;
        return Ok(Plan::Wait {
            wait,
            requeued: requeue,
        });
    }
    sqlx::query!(
        "update repo_arches set regen_pending = false where id = $1",
        repo_arch_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Plan::Build(BuildTarget {
        repo_arch_id,
        repo_id: row.repo_id,
        distro: row.distro,
        repo: row.repo,
        arch: row.arch,
        signed_databases: row.signed_databases,
    }))
}

/// A package as a build publishes it.
#[derive(Debug, Clone)]
pub struct SnapshotPackage {
    pub id: i64,
    pub filename: FileName,
    pub digest: Digest,
    pub size: i64,
    pub signature_digest: Option<Digest>,
    pub signature_size: Option<i32>,
    pub db_member: Vec<u8>,
    pub files_member: Vec<u8>,
}

/// A package a snapshot listed, without its entries: what publishing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: i64,
    pub filename: FileName,
    pub digest: Digest,
    pub size: i64,
    /// Its detached signature's blob and size, served as `{filename}.sig`.
    pub signature: Option<(Digest, i64)>,
}

/// The packages of one database and the change they reflect, read in one snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub change_seq: i64,
    pub packages: Vec<Listed>,
}

/// Packages handed to a snapshot's receiver at a time.
const SNAPSHOT_BATCH: usize = 256;

/// Reads the packages of `target`'s database in one snapshot, handing each (with its
/// pre-rendered entries) to `sink` as it arrives, so the caller can write while this reads.
/// `None` if the repository architecture is gone. If the receiver goes away, reading stops and
/// the listing is incomplete: the receiver only does that when it failed, and then the build
/// does not go on.
pub async fn snapshot(
    pool: &PgPool,
    target: &BuildTarget,
    sink: &tokio::sync::mpsc::Sender<Vec<SnapshotPackage>>,
) -> Result<Option<Snapshot>, DbError> {
    use futures::TryStreamExt;

    let mut tx = pool.begin().await?;
    // One snapshot for both reads, so change_seq describes exactly these packages.
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let Some(change_seq) = sqlx::query_scalar!(
        "select change_seq from repo_arches where id = $1",
        target.repo_arch_id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let mut packages = Vec::new();
    {
        let mut rows = sqlx::query_as!(
            SnapshotPackage,
            r#"select id, filename as "filename: FileName", sha256 as "digest: Digest",
                      compressed_size as size,
                      signature_digest as "signature_digest: Digest", signature_size,
                      db_member, files_member
               from packages
               where repo_id = $1 and (arch = $2 or arch = 'any')
               order by name collate "C", arch"#,
            target.repo_id,
            target.arch.as_str()
        )
        .fetch(&mut *tx);
        // Handed over in batches: a wake-up per package would cost more than the package.
        let mut batch = Vec::with_capacity(SNAPSHOT_BATCH);
        while let Some(package) = rows.try_next().await? {
            packages.push(Listed {
                id: package.id,
                filename: package.filename.clone(),
                digest: package.digest.clone(),
                size: package.size,
                signature: package
                    .signature_digest
                    .clone()
                    .zip(package.signature_size.map(i64::from)),
            });
            batch.push(package);
            if batch.len() == SNAPSHOT_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(SNAPSHOT_BATCH));
                if sink.send(full).await.is_err() {
                    break;
                }
            }
        }
        if !batch.is_empty() {
            let _ = sink.send(batch).await;
        }
    }
    tx.commit().await?;
    Ok(Some(Snapshot {
        change_seq,
        packages,
    }))
}

/// Locks a repository architecture's row for a publish; false if it was removed.
pub async fn lock_target(conn: &mut PgConnection, repo_arch_id: i64) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        "select id from repo_arches where id = $1 for update",
        repo_arch_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Records, in the publishing transaction, that the databases of `snapshot` are live: counts
/// the build, keeps how many packages they list, and publishes the uploads they list.
pub async fn finish(
    conn: &mut PgConnection,
    target: &BuildTarget,
    snapshot: &Snapshot,
    signed: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update repo_arches
         set built_seq = greatest(built_seq, $2),
             signed_databases = signed_databases or $3,
             build_count = build_count + 1,
             published_at = now(),
             package_count = $4,
             dirty_since = case when greatest(built_seq, $2) >= change_seq then null else now() end,
             regen_failures = 0, regen_retry_at = null
         where id = $1",
        target.repo_arch_id,
        snapshot.change_seq,
        signed,
        i64::try_from(snapshot.packages.len()).unwrap_or(i64::MAX)
    )
    .execute(&mut *conn)
    .await?;
    // The repository's uploads waiting for a database are few, the packages many: those are
    // read and matched here, so no statement carries every package of the repository.
    let waiting = sqlx::query!(
        r#"select id, package_id as "package_id!" from uploads
           where status = 'parsed' and distro = $1 and repo = $2 and package_id is not null"#,
        target.distro.as_str(),
        target.repo.as_str()
    )
    .fetch_all(&mut *conn)
    .await?;
    if waiting.is_empty() {
        return Ok(());
    }
    let listed: std::collections::HashSet<i64> = snapshot.packages.iter().map(|p| p.id).collect();
    let published: Vec<uuid::Uuid> = waiting
        .into_iter()
        .filter(|u| listed.contains(&u.package_id))
        .map(|u| u.id)
        .collect();
    sqlx::query!(
        "update uploads set status = 'published', updated_at = now()
         where id = any($1) and status = 'parsed'",
        &published
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Repository architectures with unpublished changes and no regeneration job pending: their
/// job was lost (a crash between clearing the flag and publishing), or failed and has waited
/// out its pause ([`failed`]).
pub async fn stranded(executor: impl PgExecutor<'_>) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from repo_arches ra
         where change_seq > built_seq and not regen_pending
           and (regen_retry_at is null or regen_retry_at <= now())
           and not exists (select 1 from mirrors m where m.repo_id = ra.repo_id)
         order by id"
    )
    .fetch_all(executor)
    .await
}

/// Queues a regeneration job for a repository architecture unless one is pending.
pub async fn requeue(pool: &PgPool, repo_arch_id: i64) -> Result<(), DbError> {
    let mut tx = pool.begin().await?;
    let claimed = sqlx::query!(
        "update repo_arches set regen_pending = true
         where id = $1 and not regen_pending and change_seq > built_seq",
        repo_arch_id
    )
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() == 1 {
        jobs::enqueue(&mut tx, &Regenerate { repo_arch_id }, Duration::ZERO).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records that a rebuild of `repo_arch_id` failed for good: the sweep tries it again only
/// after a pause that doubles with each failure in a row, from 10 seconds up to an hour.
/// Returns when it will.
pub async fn failed(
    executor: impl PgExecutor<'_>,
    repo_arch_id: i64,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"update repo_arches set
               regen_failures = regen_failures + 1,
               regen_retry_at = now() + least(
                   interval '10 seconds' * power(2, least(regen_failures, 12)),
                   interval '1 hour')
           where id = $1
           returning regen_retry_at as "retry_at!""#,
        repo_arch_id
    )
    .fetch_optional(executor)
    .await
}
