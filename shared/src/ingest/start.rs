//! Starting to parse an upload, and giving up on one whose parsing never finishes.

use sqlx::PgPool;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::uploads::{self, Upload};

/// How many parse jobs may start on one upload. apalis re-delivers the job of a worker that
/// died without any limit, so an upload whose parsing kills the worker (an OOM kill, an abort)
/// would otherwise take down one worker after another.
pub const MAX_PARSE_STARTS: i32 = 3;

/// What a delivery of the parse job should do.
#[derive(Debug)]
pub enum Start {
    /// Parse it: the upload is `processing`.
    Parse(Box<Upload>),
    /// The upload is already past parsing: this delivery has nothing to do.
    Finished,
    /// Parsing it started [`MAX_PARSE_STARTS`] times and never finished: the upload is now
    /// failed with a reason, and its blob is the caller's to delete.
    GaveUp,
}

/// Moves the upload to `processing`, counting the start; past [`MAX_PARSE_STARTS`] starts it
/// fails the upload instead. Call it once per delivery: every call counts.
pub async fn start(pool: &PgPool, id: Uuid) -> Result<Start, DbError> {
    // One transaction, so nobody sees an upload that is given up as `processing` in between.
    let mut tx = pool.begin().await?;
    let Some(starts) = uploads::start_processing(&mut *tx, id).await? else {
        return Ok(Start::Finished);
    };
    if starts > MAX_PARSE_STARTS {
        let reason = format!(
            "parsing this package started {MAX_PARSE_STARTS} times and never finished (it \
             stops the worker); it is not tried again"
        );
        uploads::fail(&mut *tx, id, &reason).await?;
        tx.commit().await?;
        return Ok(Start::GaveUp);
    }
    let upload = uploads::find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(upload.map_or(Start::Finished, |u| Start::Parse(Box::new(u))))
}
