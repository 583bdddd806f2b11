//! Every Postgres advisory lock Rieter takes, in one place: what each protects and its key.
//!
//! Keys are text hashed by Postgres (`hashtextextended`), so two locks collide exactly when
//! their text is equal; building the text here, from typed parts, is what keeps unrelated locks
//! apart. The texts are part of the protocol between processes of different versions during a
//! rolling upgrade: change them only with that in mind.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::blobs::Digest;

/// What an advisory lock protects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lock<'a> {
    /// One maintenance sweep at a time across all workers (session lock).
    Sweep,
    /// Planning or building one repository architecture's databases (session lock).
    Regenerate { repo_arch_id: i64 },
    /// Held for a process's whole life: its upload scratch directory is alive (session lock).
    Scratch { instance: Uuid },
    /// Decisions about one package name in one repository (transaction lock).
    PackageName { repo_id: i64, name: &'a str },
    /// Storing, claiming or collecting one blob (transaction lock for claims, session lock
    /// for the collector).
    Blob { digest: &'a Digest },
    /// Moving a 0.1.0 data directory into the blob store (session lock).
    Upgrade,
    /// Syncing one mirror (session lock): one sync of a mirror at a time across all workers.
    MirrorSync { mirror_id: i64 },
}

impl Lock<'_> {
    /// The text Postgres hashes into the lock's key.
    pub fn key(&self) -> String {
        match self {
            Self::Sweep => "rieter.sweep".to_owned(),
            Self::Regenerate { repo_arch_id } => format!("rieter.regen:{repo_arch_id}"),
            Self::Scratch { instance } => format!("rieter.scratch.{instance}"),
            Self::PackageName { repo_id, name } => format!("rieter.package:{repo_id}:{name}"),
            Self::Blob { digest } => format!("rieter.blob:{digest}"),
            Self::Upgrade => "rieter.upgrade".to_owned(),
            Self::MirrorSync { mirror_id } => format!("rieter.mirror:{mirror_id}"),
        }
    }
}

/// Takes a session-level lock if free. Held until [`unlock`] or the connection closes, so a
/// crashed holder never keeps it.
pub async fn try_lock(conn: &mut PgConnection, lock: &Lock<'_>) -> Result<bool, sqlx::Error> {
    let locked = sqlx::query_scalar!(
        r#"select pg_try_advisory_lock(hashtextextended($1, 0)) as "locked!""#,
        lock.key()
    )
    .fetch_one(conn)
    .await?;
    Ok(locked)
}

/// Takes a session-level lock, waiting for it.
pub async fn lock(conn: &mut PgConnection, lock: &Lock<'_>) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(
        r#"select pg_advisory_lock(hashtextextended($1, 0)) as "locked!""#,
        lock.key()
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// Releases a session-level lock this connection holds.
pub async fn unlock(conn: &mut PgConnection, lock: &Lock<'_>) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(
        r#"select pg_advisory_unlock(hashtextextended($1, 0)) as "unlocked!""#,
        lock.key()
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// Takes a lock until the current transaction ends, waiting for it.
pub async fn lock_for_transaction(
    conn: &mut PgConnection,
    lock: &Lock<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended($1, 0))",
        lock.key()
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_texts_and_stay_apart() {
        let instance = Uuid::nil();
        let keys = [
            Lock::Sweep.key(),
            Lock::Regenerate { repo_arch_id: 7 }.key(),
            Lock::Scratch { instance }.key(),
            Lock::PackageName {
                repo_id: 7,
                name: "foo",
            }
            .key(),
            Lock::Blob {
                digest: &Digest::of(b""),
            }
            .key(),
            Lock::Upgrade.key(),
            Lock::MirrorSync { mirror_id: 7 }.key(),
        ];
        assert_eq!(
            keys,
            [
                "rieter.sweep",
                "rieter.regen:7",
                "rieter.scratch.00000000-0000-0000-0000-000000000000",
                "rieter.package:7:foo",
                "rieter.blob:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "rieter.upgrade",
                "rieter.mirror:7",
            ]
        );
    }
}
