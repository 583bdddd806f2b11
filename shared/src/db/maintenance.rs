//! Queries of the periodic maintenance sweep.

use sqlx::PgExecutor;
use uuid::Uuid;

/// Of the given blob ids, those no upload in progress and no package refers to.
pub async fn unreferenced_blobs(
    executor: impl PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select t.id as "id!" from unnest($1::uuid[]) as t(id)
           where not exists (select 1 from uploads u
                             where u.id = t.id and u.status in ('queued', 'processing'))
             and not exists (select 1 from packages p where p.upload_id = t.id)"#,
        ids
    )
    .fetch_all(executor)
    .await
}

/// Deletes finished job rows older than `days` (apalis never deletes them).
pub async fn prune_finished_jobs(
    executor: impl PgExecutor<'_>,
    days: i32,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "delete from apalis.jobs
         where (status = 'Done' or status = 'Killed' or (status = 'Failed' and attempts >= max_attempts))
           and done_at < now() - make_interval(days => $1)",
        days
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}
