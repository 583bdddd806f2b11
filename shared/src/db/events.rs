//! The package history (see the `package_events` migration). Write it inside the transaction
//! that holds the package name's lock.

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::actor::Actor;

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
    /// The key behind it: the uploader's for uploads, the remover's for removals; `None` when
    /// the server itself acted (a package taken out because it cannot be published).
    pub actor: Option<&'a Actor>,
}

pub async fn record(executor: impl PgExecutor<'_>, event: &Event<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into package_events (repo_id, name, arch, version, action, upload_id, detail,
                                     actor_kind, actor_key_id, actor_name, actor_prefix)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        event.repo_id,
        event.name,
        event.arch,
        event.version,
        event.action.as_str(),
        event.upload_id,
        event.detail,
        event.actor.map(|a| a.kind().as_str()),
        event.actor.and_then(Actor::key_id),
        event.actor.map(Actor::name),
        event.actor.and_then(Actor::prefix),
    )
    .execute(executor)
    .await?;
    Ok(())
}
