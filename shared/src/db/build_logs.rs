//! The `build_log_chunks` table (see its migration): a build's log, in chunks stored as blobs.

use sqlx::{PgConnection, PgExecutor};

use crate::blobs::Digest;

/// A chunk of a build's log.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub start_offset: i64,
    pub size: i32,
    pub digest: Digest,
}

/// Where a build's log stands, read under a lock on the build (in the caller's transaction).
#[derive(Debug, Clone)]
pub struct LogState {
    pub log_bytes: i64,
    pub running: bool,
    /// Whether `lease_id` is the build's current lease.
    pub lease_held: bool,
}

/// Locks the build and reads its log's length; `None` when there is no such build.
pub async fn lock_state(
    conn: &mut PgConnection,
    build_id: i64,
    lease_id: uuid::Uuid,
) -> Result<Option<LogState>, sqlx::Error> {
    sqlx::query_as!(
        LogState,
        r#"select log_bytes, status = 'running' as "running!",
                  lease_id is not distinct from $2 as "lease_held!"
           from builds where id = $1 for update"#,
        build_id,
        lease_id
    )
    .fetch_optional(conn)
    .await
}

/// The chunk starting at `start_offset`, if the log has one.
pub async fn chunk_at(
    executor: impl PgExecutor<'_>,
    build_id: i64,
    start_offset: i64,
) -> Result<Option<Chunk>, sqlx::Error> {
    sqlx::query_as!(
        Chunk,
        r#"select start_offset, size, digest as "digest: Digest"
           from build_log_chunks where build_id = $1 and start_offset = $2"#,
        build_id,
        start_offset
    )
    .fetch_optional(executor)
    .await
}

/// Records a chunk at the end of the log (the caller checked that it starts there).
pub async fn append(
    conn: &mut PgConnection,
    build_id: i64,
    start_offset: i64,
    size: i32,
    digest: &Digest,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into build_log_chunks (build_id, start_offset, size, digest)
         values ($1, $2, $3, $4)",
        build_id,
        start_offset,
        size,
        digest as &Digest
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update builds set log_bytes = log_bytes + $2 where id = $1",
        build_id,
        i64::from(size)
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The chunks from `from` on (the first one may start before it), in order, at most `limit`.
pub async fn chunks_from(
    executor: impl PgExecutor<'_>,
    build_id: i64,
    from: i64,
    limit: i64,
) -> Result<Vec<Chunk>, sqlx::Error> {
    sqlx::query_as!(
        Chunk,
        r#"select start_offset, size, digest as "digest: Digest"
           from build_log_chunks
           where build_id = $1 and start_offset + size > $2
           order by start_offset
           limit $3"#,
        build_id,
        from,
        limit
    )
    .fetch_all(executor)
    .await
}

/// Removes the logs of builds that ended more than `max_age_secs` ago, at most `limit`
/// builds' worth; how many builds lost their log. Their blobs are then unreferenced and
/// the collector deletes them.
pub async fn remove_older_than(
    executor: impl PgExecutor<'_>,
    max_age_secs: f64,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let removed = sqlx::query!(
        "with old as (
             select id from builds
             where finished_at < now() - make_interval(secs => $1)
               and log_removed_at is null and log_bytes > 0
             order by finished_at
             limit $2
             for update skip locked),
         gone as (
             delete from build_log_chunks c using old where c.build_id = old.id)
         update builds b set log_removed_at = now(), log_bytes = 0
         from old where b.id = old.id",
        max_age_secs,
        limit
    )
    .execute(executor)
    .await?;
    Ok(removed.rows_affected())
}
