//! The package history (see the `package_events` migration). Write it inside the transaction
//! that holds the package name's lock.

use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Became the current version (possibly replacing another).
    Added,
    /// The identical file was uploaded again.
    Kept,
    /// The version rules refused it.
    Refused,
    /// Removed by a user.
    Removed,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Kept => "kept",
            Self::Refused => "refused",
            Self::Removed => "removed",
        }
    }
}

/// One history entry.
pub struct Event<'a> {
    pub repo_id: i64,
    pub name: &'a str,
    pub arch: &'a str,
    pub version: &'a str,
    pub action: Action,
    pub upload_id: Option<Uuid>,
    pub detail: Option<&'a str>,
}

pub async fn record(executor: impl PgExecutor<'_>, event: &Event<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into package_events (repo_id, name, arch, version, action, upload_id, detail)
         values ($1, $2, $3, $4, $5, $6, $7)",
        event.repo_id,
        event.name,
        event.arch,
        event.version,
        event.action.as_str(),
        event.upload_id,
        event.detail
    )
    .execute(executor)
    .await?;
    Ok(())
}
