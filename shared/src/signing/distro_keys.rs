//! The keys of a distribution, as the API and the workers use them: its signing key
//! (created, read, removed; loaded to sign) and the packager keys it trusts.
//!
//! Creating or removing a signing key marks every architecture of the distribution dirty, so
//! its databases are published signed (or, see `repo_arches.signed_databases`, held) at once.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};

use super::{
    KeyEncryptionKey, KeyringError, PackagerKey, PackagerKeys, SealError, ServerKey, ServerKeyError,
};
use crate::db::{DbError, catalogue, regen, signing as db};
use crate::names::DistroName;

#[derive(Debug, thiserror::Error)]
pub enum DistroKeyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "signing keys are disabled: the server has no key encryption key (set \
         `key_encryption_key`, RIETER_KEY_ENCRYPTION_KEY, on the api and every worker)"
    )]
    NoEncryptionKey,
    #[error("distribution `{distro}` already has a signing key ({fingerprint}); delete it first")]
    Exists {
        distro: DistroName,
        fingerprint: String,
    },
    #[error(transparent)]
    Key(#[from] ServerKeyError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error("background task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<sqlx::Error> for DistroKeyError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

/// A signing key as the API shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    pub fingerprint: String,
    pub public_key: String,
    pub created_at: DateTime<Utc>,
}

/// What sealed keys are bound to: a sealed key copied to another distribution's row does not
/// open.
fn seal_context(distro_id: i64) -> Vec<u8> {
    format!("rieter signing key of distribution {distro_id}").into_bytes()
}

/// Gives `distro` (created if it does not exist yet) a signing key: `import`ed, or a new
/// Ed25519 one.
pub async fn create_signing_key(
    pool: &PgPool,
    distro: &DistroName,
    kek: Option<&KeyEncryptionKey>,
    import: Option<Vec<u8>>,
) -> Result<SigningKeyInfo, DistroKeyError> {
    let kek = kek.ok_or(DistroKeyError::NoEncryptionKey)?;
    let user_id = format!("Rieter {distro} <rieter@{distro}>");
    let key = tokio::task::spawn_blocking(move || match import {
        Some(armored) => ServerKey::import(&armored),
        None => ServerKey::generate(&user_id),
    })
    .await??;
    let mut tx = pool.begin().await?;
    let distro_id = catalogue::ensure_distro(&mut tx, distro).await?;
    let sealed = kek.seal(&key.to_bytes(), &seal_context(distro_id))?;
    let fingerprint = key.fingerprint();
    let public_key = key.public_key_armored();
    if !db::insert_signing_key(&mut tx, distro_id, &fingerprint, &public_key, &sealed).await? {
        let existing = db::signing_key(&mut *tx, distro).await?;
        return Err(DistroKeyError::Exists {
            distro: distro.clone(),
            fingerprint: existing.map(|k| k.fingerprint).unwrap_or_default(),
        });
    }
    let arches = db::distro_arch_ids(&mut *tx, distro_id).await?;
    regen::mark_dirty(&mut tx, &arches).await?;
    tx.commit().await?;
    tracing::info!(%distro, fingerprint, "signing key created");
    let stored = db::signing_key(pool, distro).await?;
    Ok(SigningKeyInfo {
        fingerprint,
        public_key,
        created_at: stored.map_or_else(Utc::now, |k| k.created_at),
    })
}

/// The public part of `distro`'s signing key.
pub async fn signing_key(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
) -> Result<Option<SigningKeyInfo>, sqlx::Error> {
    Ok(db::signing_key(executor, distro)
        .await?
        .map(|k| SigningKeyInfo {
            fingerprint: k.fingerprint,
            public_key: k.public_key,
            created_at: k.created_at,
        }))
}

/// Removes `distro`'s signing key; false if it had none. Architectures that have published
/// signed databases publish no more until it has a key again.
pub async fn delete_signing_key(pool: &PgPool, distro: &DistroName) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    let Some(distro_id) = catalogue::find_distro(&mut *tx, distro).await? else {
        return Ok(false);
    };
    if !db::delete_signing_key(&mut tx, distro_id).await? {
        return Ok(false);
    }
    let arches = db::distro_arch_ids(&mut *tx, distro_id).await?;
    regen::mark_dirty(&mut tx, &arches).await?;
    tx.commit().await?;
    tracing::info!(%distro, "signing key deleted");
    Ok(true)
}

/// The signing key that signs for `distro`, unsealed; `None` if it has none.
pub async fn load_signing_key(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
    kek: Option<&KeyEncryptionKey>,
) -> Result<Option<ServerKey>, DistroKeyError> {
    let Some(stored) = db::signing_key(executor, distro).await? else {
        return Ok(None);
    };
    let kek = kek.ok_or(DistroKeyError::NoEncryptionKey)?;
    let secret = kek.open(&stored.sealed_secret, &seal_context(stored.distro_id))?;
    Ok(Some(ServerKey::from_bytes(&secret)?))
}

/// A trusted packager key as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagerKeyInfo {
    pub fingerprint: String,
    pub added_at: DateTime<Utc>,
}

/// Replaces the packager keys `distro` (created if needed) trusts with the armored keys sent.
pub async fn set_packager_keys(
    pool: &PgPool,
    distro: &DistroName,
    armored: Vec<u8>,
) -> Result<Vec<PackagerKeyInfo>, DistroKeyError> {
    let keys = tokio::task::spawn_blocking(move || PackagerKey::parse_many(&armored)).await??;
    let rows: Vec<(String, Vec<u8>)> = keys
        .iter()
        .map(|k| (k.fingerprint.clone(), k.to_bytes()))
        .collect();
    let mut tx = pool.begin().await?;
    let distro_id = catalogue::ensure_distro(&mut tx, distro).await?;
    db::replace_packager_keys(&mut tx, distro_id, &rows).await?;
    tx.commit().await?;
    tracing::info!(%distro, keys = rows.len(), "packager keys set");
    Ok(packager_keys(pool, distro).await?)
}

/// The packager keys `distro` trusts.
pub async fn packager_keys(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
) -> Result<Vec<PackagerKeyInfo>, sqlx::Error> {
    Ok(db::packager_keys(executor, distro)
        .await?
        .into_iter()
        .map(|k| PackagerKeyInfo {
            fingerprint: k.fingerprint,
            added_at: k.added_at,
        })
        .collect())
}

/// Removes every packager key of `distro`; how many there were.
pub async fn delete_packager_keys(pool: &PgPool, distro: &DistroName) -> Result<u64, DbError> {
    let mut tx = pool.begin().await?;
    let Some(distro_id) = catalogue::find_distro(&mut *tx, distro).await? else {
        return Ok(0);
    };
    let deleted = db::delete_packager_keys(&mut tx, distro_id).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// The packager keys `distro` trusts, ready to verify with (empty: uploads need no signature).
pub async fn load_packager_keys(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
) -> Result<PackagerKeys, DistroKeyError> {
    let keys = db::packager_keys(executor, distro)
        .await?
        .iter()
        .map(|k| PackagerKey::from_bytes(&k.public_key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PackagerKeys::new(keys))
}
