//! Web UI sessions (`ui_sessions`): created at sign-in, looked up by the digest of the
//! cookie's token on each page, deleted at sign-out or with their key (cascade).

use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    /// A key from `api_keys`.
    Key(Uuid),
    /// The configured admin key, by the session's binding to it (`sessions::Token::admin_binding`).
    Admin { binding: &'a [u8; 32] },
}

/// A live session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub key_id: Option<Uuid>,
    pub admin_binding: Option<Vec<u8>>,
}

/// Records a session lasting `lifetime_secs`, and deletes the expired ones while at it.
pub async fn create(
    pool: &PgPool,
    token_sha256: &[u8; 32],
    owner: Owner<'_>,
    lifetime_secs: i64,
) -> Result<(), sqlx::Error> {
    let (key_id, binding) = match owner {
        Owner::Key(id) => (Some(id), None),
        Owner::Admin { binding } => (None, Some(&binding[..])),
    };
    let mut tx = pool.begin().await?;
    sqlx::query!("delete from ui_sessions where expires_at < now()")
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into ui_sessions (token_sha256, key_id, admin_binding, expires_at)
         values ($1, $2, $3, now() + make_interval(secs => $4))",
        &token_sha256[..],
        key_id,
        binding,
        lifetime_secs as f64
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The session with this token digest, unless it expired (or never existed).
pub async fn find(
    executor: impl PgExecutor<'_>,
    token_sha256: &[u8; 32],
) -> Result<Option<Stored>, sqlx::Error> {
    sqlx::query_as!(
        Stored,
        "select key_id, admin_binding from ui_sessions
         where token_sha256 = $1 and expires_at > now()",
        &token_sha256[..]
    )
    .fetch_optional(executor)
    .await
}

/// Ends a session. False when there was none.
pub async fn delete(
    executor: impl PgExecutor<'_>,
    token_sha256: &[u8; 32],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "delete from ui_sessions where token_sha256 = $1",
        &token_sha256[..]
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}
