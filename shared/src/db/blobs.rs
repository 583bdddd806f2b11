//! The `blobs` table: which blobs the store holds, and which of them nothing refers to.

use std::time::Duration;

use sqlx::{PgConnection, PgExecutor};

use crate::blobs::Digest;

/// Refreshes a known blob's claim; false when the blob is not recorded.
pub async fn touch(conn: &mut PgConnection, digest: &Digest) -> Result<bool, sqlx::Error> {
    let touched = sqlx::query!(
        "update blobs set claimed_at = now() where digest = $1",
        digest as &Digest
    )
    .execute(conn)
    .await?;
    Ok(touched.rows_affected() == 1)
}

/// Records a blob the store now holds.
pub async fn insert(
    conn: &mut PgConnection,
    digest: &Digest,
    size: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into blobs (digest, size) values ($1, $2)
         on conflict (digest) do update set claimed_at = now()",
        digest as &Digest,
        size
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Of these digests, those with no `blobs` row.
pub async fn unrecorded(
    executor: impl PgExecutor<'_>,
    digests: &[Digest],
) -> Result<Vec<Digest>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select d as "d!: Digest" from unnest($1::text[]) as d
           where not exists (select 1 from blobs b where b.digest = d)"#,
        digests as &[Digest]
    )
    .fetch_all(executor)
    .await
}

/// Blobs no package, published file, upload in flight, mirror sync or build log refers to,
/// claimed longer than `hold` ago.
pub async fn unreferenced(
    executor: impl PgExecutor<'_>,
    hold: Duration,
    limit: i64,
) -> Result<Vec<Digest>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select b.digest as "digest: Digest" from blobs b
           where b.claimed_at < now() - make_interval(secs => $1)
             and not exists (select 1 from packages p where p.sha256 = b.digest)
             and not exists (select 1 from packages p where p.signature_digest = b.digest)
             and not exists (select 1 from published_files f where f.digest = b.digest)
             and not exists (select 1 from uploads u
                             where u.sha256 = b.digest and u.status in ('queued', 'processing'))
             and not exists (select 1 from mirror_held_blobs h where h.digest = b.digest)
             and not exists (select 1 from build_log_chunks c where c.digest = b.digest)
           order by b.claimed_at
           limit $2"#,
        hold.as_secs_f64(),
        limit
    )
    .fetch_all(executor)
    .await
}

/// Forgets a blob if it is still unreferenced and unclaimed; true when it was forgotten (its
/// object is then the caller's to delete).
pub async fn forget_unreferenced(
    executor: impl PgExecutor<'_>,
    digest: &Digest,
    hold: Duration,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "delete from blobs b
         where b.digest = $1
           and b.claimed_at < now() - make_interval(secs => $2)
           and not exists (select 1 from packages p where p.sha256 = b.digest)
           and not exists (select 1 from packages p where p.signature_digest = b.digest)
           and not exists (select 1 from published_files f where f.digest = b.digest)
           and not exists (select 1 from uploads u
                           where u.sha256 = b.digest and u.status in ('queued', 'processing'))
           and not exists (select 1 from mirror_held_blobs h where h.digest = b.digest)
           and not exists (select 1 from build_log_chunks c where c.digest = b.digest)",
        digest as &Digest,
        hold.as_secs_f64()
    )
    .execute(executor)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// How many blobs are recorded, and their total size.
pub async fn totals(executor: impl PgExecutor<'_>) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) as "count!", coalesce(sum(size), 0)::bigint as "bytes!" from blobs"#
    )
    .fetch_one(executor)
    .await?;
    Ok((row.count, row.bytes))
}
