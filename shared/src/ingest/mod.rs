//! Putting a parsed package into the catalogue, in one transaction: the version rules, the
//! replacement of older versions, and marking the affected databases for regeneration.

mod accept;
mod decide;
mod parse;
mod receive;
mod signature;
mod start;

use std::collections::BTreeSet;

use bytes::Bytes;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use accept::{AcceptError, accept};
pub use decide::{Decision, Permissions, decide};
pub use parse::{BlobFacts, ParseBlobError, ParsedBlob, parse_blob, render};
pub use receive::{Received, receive};
pub use signature::{SignaturePolicy, settle};
pub use start::{MAX_PARSE_STARTS, Start, start};

use crate::actor::Actor;
use crate::blobs::{self, BlobError, BlobStore, Digest, Source};
use crate::db::locks::{self, Lock};
use crate::db::uploads::{self, UploadStatus};
use crate::db::{DbError, catalogue, events, mirrors, packages, regen};
use crate::names::{ArchName, DistroName, RepoName};
use crate::package::ParsedPackage;
use crate::signing::SignatureFile;

/// Why a package could not be recorded (the catalogue is unchanged).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

impl From<sqlx::Error> for RecordError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

impl RecordError {
    /// Faults that go away by themselves: the database or the store being unreachable.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Db(err) => err.is_unavailable(),
            Self::Blob(err) => err.is_transient(),
        }
    }
}

/// Settings of the ingest step.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The architecture whose database receives `any` packages of a repository that has no
    /// architecture-specific package yet.
    pub default_arch: ArchName,
}

/// The package of an upload, with everything the catalogue stores about it.
pub struct IngestPackage<'a> {
    pub upload_id: Uuid,
    pub distro: &'a DistroName,
    pub repo: &'a RepoName,
    pub parsed: &'a ParsedPackage,
    pub size: i64,
    pub sha256: &'a Digest,
    pub md5: &'a str,
    pub permissions: Permissions,
    pub db_member: &'a [u8],
    pub files_member: &'a [u8],
    /// The detached signature it is published with (rendered into `db_member` already).
    pub signature: Option<&'a SignatureFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The package is in the catalogue, replacing `replaced` packages.
    Added { package_id: i64, replaced: usize },
    /// The identical package was already current.
    Unchanged { package_id: i64 },
    /// The version rules refused it: the upload is failed with this reason; the catalogue is
    /// unchanged.
    Refused(String),
    /// Another delivery of the same job already finished this upload.
    AlreadyDone,
}

/// Records `pkg` unless the version rules refuse it. Idempotent per upload: the upload row is
/// locked and must still be `processing`.
pub async fn record(
    pool: &PgPool,
    store: &BlobStore,
    pkg: &IngestPackage<'_>,
    config: &IngestConfig,
) -> Result<Outcome, RecordError> {
    let info = &pkg.parsed.info;
    let mut tx = pool.begin().await?;
    // The history names the key that uploaded it, as the api recorded it on the upload.
    let actor = match uploads::lock(&mut *tx, pkg.upload_id).await? {
        Some(upload) if upload.status == UploadStatus::Processing => upload.uploaded_by,
        _ => return Ok(Outcome::AlreadyDone),
    };
    let actor = actor.as_ref();
    let repo_id = catalogue::ensure_repo(&mut tx, pkg.distro, pkg.repo).await?;
    // The api refuses uploads into a mirror; this catches one accepted just before the
    // repository became a mirror.
    if let Some(upstream) = mirrors::upstream_of_repo(&mut *tx, repo_id).await? {
        let reason = crate::mirror::read_only_reason(pkg.distro, pkg.repo, &upstream);
        uploads::fail(&mut *tx, pkg.upload_id, &reason).await?;
        tx.commit().await?;
        return Ok(Outcome::Refused(reason));
    }
    lock_package_name(&mut tx, repo_id, info.name.as_str()).await?;
    let current =
        packages::current_for(&mut *tx, repo_id, info.name.as_str(), info.arch.as_str()).await?;

    let (name, version, arch) = (
        info.name.as_str(),
        info.version.as_str(),
        info.arch.as_str(),
    );
    match decide(name, &info.version, pkg.sha256, &current, pkg.permissions) {
        Decision::Refuse(reason) => {
            // Only a name already in the repository is refused, so the repository existed
            // before this transaction and committing creates nothing.
            uploads::fail(&mut *tx, pkg.upload_id, &reason).await?;
            history(
                &mut tx,
                repo_id,
                pkg,
                events::Action::Refused,
                Some(&reason),
                actor,
            )
            .await?;
            tx.commit().await?;
            Ok(Outcome::Refused(reason))
        }
        Decision::Unchanged {
            package_id,
            published,
        } => {
            let status = if published {
                UploadStatus::Published
            } else {
                UploadStatus::Parsed
            };
            uploads::set_package(
                &mut *tx,
                pkg.upload_id,
                package_id,
                name,
                version,
                arch,
                status,
            )
            .await?;
            history(&mut tx, repo_id, pkg, events::Action::Kept, None, actor).await?;
            tx.commit().await?;
            Ok(Outcome::Unchanged { package_id })
        }
        Decision::Insert { replace } => {
            let reason = format!(
                "superseded by {name} {version} (upload {}) before a database listed it",
                pkg.upload_id
            );
            uploads::fail_for_removed_packages(&mut *tx, &replace, &reason, false).await?;
            let replaced = packages::delete(&mut *tx, &replace).await?.len();
            // Its signature is a blob too, served as `{filename}.sig`.
            let signature = match pkg.signature {
                Some(signature) => {
                    let bytes = signature.as_bytes();
                    let digest = Digest::of(bytes);
                    blobs::claim(
                        &mut tx,
                        store,
                        &digest,
                        bytes.len() as u64,
                        Source::Bytes(Bytes::copy_from_slice(bytes)),
                    )
                    .await?;
                    Some(packages::NewSignature {
                        base64: signature.to_base64(),
                        digest,
                        size: bytes.len() as i32,
                    })
                }
                None => None,
            };
            let package_id = packages::insert(
                &mut tx,
                &packages::NewPackage {
                    repo_id,
                    upload_id: Some(pkg.upload_id),
                    info,
                    filename: pkg.parsed.filename(),
                    compressed_size: pkg.size,
                    sha256: pkg.sha256,
                    md5: pkg.md5,
                    files: &pkg.parsed.files,
                    db_member: pkg.db_member,
                    files_member: pkg.files_member,
                    signature: signature.as_ref(),
                },
            )
            .await?;
            uploads::set_package(
                &mut *tx,
                pkg.upload_id,
                package_id,
                name,
                version,
                arch,
                UploadStatus::Parsed,
            )
            .await?;
            history(&mut tx, repo_id, pkg, events::Action::Added, None, actor).await?;
            let touched: BTreeSet<&str> = std::iter::once(arch)
                .chain(current.iter().map(|c| c.arch.as_str()))
                .collect();
            let arch_ids =
                affected_arches(&mut tx, repo_id, &touched, &config.default_arch).await?;
            // Last, so the repository architecture rows stay locked for as short as possible.
            regen::mark_dirty(&mut tx, &arch_ids).await?;
            tx.commit().await?;
            Ok(Outcome::Added {
                package_id,
                replaced,
            })
        }
    }
}

async fn history(
    conn: &mut PgConnection,
    repo_id: i64,
    pkg: &IngestPackage<'_>,
    action: events::Action,
    detail: Option<&str>,
    actor: Option<&Actor>,
) -> Result<(), sqlx::Error> {
    let info = &pkg.parsed.info;
    events::record(
        conn,
        &events::Event {
            repo_id,
            name: info.name.as_str(),
            arch: info.arch.as_str(),
            version: info.version.as_str(),
            action,
            upload_id: Some(pkg.upload_id),
            detail,
            actor,
        },
    )
    .await
}

/// Serialises decisions about one package name in one repository, so racing uploads of
/// several versions are judged one after the other.
pub async fn lock_package_name(
    conn: &mut PgConnection,
    repo_id: i64,
    name: &str,
) -> Result<(), sqlx::Error> {
    locks::lock_for_transaction(conn, &Lock::PackageName { repo_id, name }).await
}

/// The repository architectures whose databases change when packages of these architectures
/// change: each concrete one, and for `any` every architecture of the repository (the default
/// one when it has none yet).
pub async fn affected_arches(
    conn: &mut PgConnection,
    repo_id: i64,
    arches: &BTreeSet<&str>,
    default_arch: &ArchName,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids = BTreeSet::new();
    for arch in arches.iter().filter(|a| **a != ArchName::ANY) {
        let arch = ArchName::parse(arch).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        ids.insert(catalogue::ensure_repo_arch(conn, repo_id, &arch).await?);
    }
    if arches.contains(ArchName::ANY) {
        ids.extend(catalogue::repo_arch_ids(&mut *conn, repo_id).await?);
        if ids.is_empty() {
            ids.insert(catalogue::ensure_repo_arch(conn, repo_id, default_arch).await?);
        }
    }
    Ok(ids.into_iter().collect())
}
