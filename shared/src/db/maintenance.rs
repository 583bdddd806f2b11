//! Queries of the periodic maintenance sweep.

use sqlx::PgExecutor;

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
