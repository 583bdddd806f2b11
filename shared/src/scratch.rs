//! Which scratch directories (`<data_dir>/tmp/<instance>/`, uploads being received) belong to
//! a live process.
//!
//! A process claims a fresh instance id by taking a session advisory lock named after it in
//! Postgres, on a connection of its own, before it creates the directory, and holds that lock
//! for its whole life. Postgres releases the lock when the connection ends, which the kernel
//! does for a process that dies in any way (SIGKILL included). A process that is only slow or
//! paused (SIGSTOP, an overloaded host) keeps its connection and so its lock.
//!
//! The lock alone cannot tell a dead process from one whose connection Postgres dropped (a
//! restart, a failover): for a few seconds, until the owner takes its lock back, it is free.
//! So the owner also touches its directory every few seconds, and a directory is removed only
//! when its lock is free *and* it has not been touched for [`DEAD_AFTER`]: a live process
//! always passes one of the two tests, a dead one fails both once [`DEAD_AFTER`] has passed.
//!
//! Unlike a lock file, the lock needs nothing from the file system: it holds on any host sharing
//! the data directory (`flock` over NFS is not reliable), and it stays right when each process
//! gets a private scratch space.

use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::db::locks::{self, Lock};
use crate::storage::Storage;

/// How often the owner touches its directory and checks that its lock connection is still up.
const CHECK_EVERY: Duration = Duration::from_secs(2);
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// A directory untouched for this long, whose lock is free, belongs to a dead process. Many
/// heartbeats long, so a stalled host or a clock step between hosts sharing the directory
/// does not make a live process look dead.
pub const DEAD_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("scratch directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Gives this process its own scratch directory, proven alive by a lock held on a dedicated
/// connection (one more than the pool's size) until the process ends.
pub async fn claim(pool: &PgPool, storage: Storage) -> Result<Storage, ScratchError> {
    let instance = Uuid::new_v4();
    let conn = hold(pool, instance).await?;
    let storage = {
        let storage = storage.clone();
        tokio::task::spawn_blocking(move || storage.with_scratch(instance))
            .await
            .map_err(std::io::Error::other)??
    };
    tracing::info!(instance = %instance, "claimed a scratch directory");
    tokio::spawn(keep(pool.clone(), storage.clone(), instance, conn));
    Ok(storage)
}

async fn hold(pool: &PgPool, instance: Uuid) -> Result<PgConnection, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    locks::lock(&mut conn, &Lock::Scratch { instance }).await?;
    Ok(conn)
}

/// Keeps the lock for the life of the process, taking it back whenever the connection was
/// lost, and touches the directory (recreating it should it be gone) at every check.
async fn keep(pool: PgPool, storage: Storage, instance: Uuid, mut conn: PgConnection) {
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        heartbeat(&storage, instance).await;
        if conn.ping().await.is_ok() {
            continue;
        }
        tracing::warn!(instance = %instance, "lost the connection holding the scratch lock; taking it back");
        conn = loop {
            match hold(&pool, instance).await {
                Ok(conn) => break conn,
                Err(err) => {
                    tracing::warn!(instance = %instance, error = %err, "taking the scratch lock back failed; retrying");
                    tokio::time::sleep(RETRY_EVERY).await;
                    heartbeat(&storage, instance).await;
                }
            }
        };
        tracing::info!(instance = %instance, "holding the scratch lock again");
    }
}

async fn heartbeat(storage: &Storage, instance: Uuid) {
    let storage = storage.clone();
    match tokio::task::spawn_blocking(move || storage.touch_scratch()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::error!(instance = %instance, error = %err, "touching the scratch directory failed");
        }
        Err(err) => tracing::error!(error = %err, "touching the scratch directory panicked"),
    }
}

/// Removes the scratch directories of processes that are gone, with the half-received uploads
/// in them. Returns how many it removed.
pub async fn remove_dead(pool: &PgPool, storage: &Storage) -> Result<usize, ScratchError> {
    let owners = {
        let storage = storage.clone();
        tokio::task::spawn_blocking(move || storage.scratch_owners())
            .await
            .map_err(std::io::Error::other)??
    };
    let mut conn = pool.acquire().await?;
    let mut removed = 0;
    for &instance in &owners {
        if !untouched(storage, instance).await? {
            continue;
        }
        let key = Lock::Scratch { instance };
        if !locks::try_lock(&mut conn, &key).await? {
            continue;
        }
        // Holding the lock keeps an owner that is only reconnecting from taking its lock back
        // while its directory is being removed; checked again under it, as it may have touched
        // the directory in between.
        if !untouched(storage, instance).await? {
            locks::unlock(&mut conn, &key).await?;
            continue;
        }
        let storage = storage.clone();
        let result = tokio::task::spawn_blocking(move || storage.remove_scratch(instance)).await;
        locks::unlock(&mut conn, &key).await?;
        result.map_err(std::io::Error::other)??;
        tracing::info!(instance = %instance, "removed the scratch directory of a process that is gone");
        removed += 1;
    }
    tracing::debug!(
        live = owners.len() - removed,
        removed,
        "checked scratch directories"
    );
    Ok(removed)
}

/// Whether an instance's directory has gone without a heartbeat for [`DEAD_AFTER`].
async fn untouched(storage: &Storage, instance: Uuid) -> Result<bool, ScratchError> {
    let storage = storage.clone();
    let idle = tokio::task::spawn_blocking(move || storage.scratch_idle(instance))
        .await
        .map_err(std::io::Error::other)??;
    Ok(idle.is_some_and(|idle| idle >= DEAD_AFTER))
}
