//! A distribution's keys: its sealed signing key and the packager keys it trusts.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::names::DistroName;

/// A signing key as stored: the secret is sealed ([`crate::signing::KeyEncryptionKey`]).
#[derive(Debug, Clone)]
pub struct StoredSigningKey {
    pub distro_id: i64,
    pub fingerprint: String,
    pub public_key: String,
    pub sealed_secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// The signing key of `distro`, if it has one.
pub async fn signing_key(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
) -> Result<Option<StoredSigningKey>, sqlx::Error> {
    sqlx::query_as!(
        StoredSigningKey,
        "select k.distro_id, k.fingerprint, k.public_key, k.sealed_secret, k.created_at
         from signing_keys k join distros d on d.id = k.distro_id
         where d.name = $1",
        distro.as_str()
    )
    .fetch_optional(executor)
    .await
}

/// Stores a distribution's signing key unless it has one; false if it had.
pub async fn insert_signing_key(
    conn: &mut PgConnection,
    distro_id: i64,
    fingerprint: &str,
    public_key: &str,
    sealed_secret: &[u8],
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "insert into signing_keys (distro_id, fingerprint, public_key, sealed_secret)
         values ($1, $2, $3, $4)
         on conflict (distro_id) do nothing",
        distro_id,
        fingerprint,
        public_key,
        sealed_secret
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Removes a distribution's signing key; false if it had none.
pub async fn delete_signing_key(
    conn: &mut PgConnection,
    distro_id: i64,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!("delete from signing_keys where distro_id = $1", distro_id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// A trusted packager key as stored (binary OpenPGP).
#[derive(Debug, Clone)]
pub struct StoredPackagerKey {
    pub fingerprint: String,
    pub public_key: Vec<u8>,
    pub added_at: DateTime<Utc>,
}

/// The packager keys `distro` trusts, by fingerprint.
pub async fn packager_keys(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
) -> Result<Vec<StoredPackagerKey>, sqlx::Error> {
    sqlx::query_as!(
        StoredPackagerKey,
        "select k.fingerprint, k.public_key, k.added_at
         from packager_keys k join distros d on d.id = k.distro_id
         where d.name = $1
         order by k.fingerprint",
        distro.as_str()
    )
    .fetch_all(executor)
    .await
}

/// Replaces the packager keys of a distribution with `keys` (fingerprint, binary key).
pub async fn replace_packager_keys(
    conn: &mut PgConnection,
    distro_id: i64,
    keys: &[(String, Vec<u8>)],
) -> Result<(), sqlx::Error> {
    delete_packager_keys(&mut *conn, distro_id).await?;
    let fingerprints: Vec<&str> = keys.iter().map(|(f, _)| f.as_str()).collect();
    let blobs: Vec<&[u8]> = keys.iter().map(|(_, k)| k.as_slice()).collect();
    sqlx::query!(
        "insert into packager_keys (distro_id, fingerprint, public_key)
         select $1, k.fingerprint, k.public_key
         from unnest($2::text[], $3::bytea[]) as k(fingerprint, public_key)",
        distro_id,
        &fingerprints as &[&str],
        &blobs as &[&[u8]]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes every packager key of a distribution; how many there were.
pub async fn delete_packager_keys(
    conn: &mut PgConnection,
    distro_id: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!("delete from packager_keys where distro_id = $1", distro_id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected())
}

/// Every concrete architecture of a distribution's repositories, by id.
pub async fn distro_arch_ids(
    executor: impl PgExecutor<'_>,
    distro_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select ra.id from repo_arches ra join repos r on r.id = ra.repo_id
         where r.distro_id = $1 order by ra.id",
        distro_id
    )
    .fetch_all(executor)
    .await
}
