//! Regeneration bookkeeping of repository architectures (see the `repo_arches` migration).

use std::time::Duration;

use sqlx::PgConnection;

use super::DbError;
use crate::jobs::{self, Regenerate};

/// Records a catalogue change in the given repository architectures and queues one
/// regeneration job for each that has none pending. Call it in the transaction that makes the
/// change: the job then exists exactly when the change does.
pub async fn mark_dirty(
    conn: &mut PgConnection,
    repo_arch_ids: &[i64],
    delay: Duration,
) -> Result<(), DbError> {
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
            delay,
        )
        .await?;
    }
    Ok(())
}
