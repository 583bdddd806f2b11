//! One rebuild of a repository architecture: read the catalogue snapshot while writing its
//! database archives, store them as blobs, and switch the architecture's manifest to them and
//! to the package files they name, in one transaction.
//!
//! The regeneration job decides *when* to call this (quiet period, lock); this module is *what*
//! a rebuild is, so the job and the benchmarks run the same code.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use sqlx::PgPool;

use crate::blobs::{self, BlobError, BlobStore, Digest, Source};
use crate::db::manifest::{self, Current, Entry};
use crate::db::regen::{self, BuildTarget, Snapshot, SnapshotPackage};
use crate::db::{DbError, packages};
use crate::names::{FileName, RepoName};
use crate::publish::{ArchiveWriter, Archives, DbFileNames};
use crate::signing::distro_keys::{self, DistroKeyError};
use crate::signing::{KeyEncryptionKey, ServerKey, ServerKeyError, SignatureFile};

#[derive(Debug, thiserror::Error)]
pub enum RegenerateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("scratch file: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("background task: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// These packages keep the repository from being published; the rest of it is fine. The
    /// caller takes them out of the catalogue ([`crate::removal::reject_packages`]), so one bad
    /// package never stalls its repository.
    #[error("package(s) {package_ids:?} {fault}")]
    Unpublishable {
        package_ids: Vec<i64>,
        fault: PackageFault,
    },
    /// So many package files are gone that storage itself is the likelier fault (a blob store
    /// restored without its blobs, a missing mount, a wrong bucket): nothing is taken out.
    #[error("the files of {lost} of the {total} packages are missing from storage")]
    FilesLost { lost: usize, total: usize },
    /// The distribution's signing key could not be loaded or used: nothing is published
    /// unsigned instead.
    #[error("signing the databases: {0}")]
    Signing(#[from] DistroKeyError),
    #[error("signing the databases: {0}")]
    Sign(#[from] ServerKeyError),
}

/// Why a package cannot be published, as its uploader reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PackageFault {
    #[error("could not be published: the package file is missing from storage")]
    FileMissing,
}

impl RegenerateError {
    /// Faults that go away by themselves: the database being unreachable, the disk being full.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Db(db) => db.is_unavailable(),
            Self::Io(io) => matches!(
                io.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
            ),
            Self::Blob(blob) => blob.is_transient(),
            Self::Signing(DistroKeyError::Db(db)) => db.is_unavailable(),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for RegenerateError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebuild {
    /// The new databases are live.
    Published {
        packages: usize,
        change_seq: i64,
        /// Files the new databases no longer name, served until their grace period ends.
        retired: u64,
        /// Where the time went.
        phases: Phases,
    },
    /// Packages were replaced or removed after the snapshot was read and their files are
    /// gone; nothing was published, and the change that removed them has queued the next
    /// rebuild.
    Superseded { missing: Vec<i64> },
    /// The repository architecture was removed (before or during the rebuild).
    Gone,
    /// It has published signed databases and its distribution has no signing key now:
    /// nothing was published (pacman would keep the old signature and refuse an unsigned
    /// database). The changes stay pending until the distribution has a key again.
    Held,
}

/// How long each step of a rebuild took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Phases {
    /// Reading the packages and their pre-rendered entries while writing the entries to the
    /// scratch archives.
    pub snapshot: Duration,
    /// Completing and syncing the archives.
    pub write: Duration,
    /// Storing the archives and switching the manifest.
    pub finish: Duration,
}

/// Rebuilds `target`'s databases from the catalogue and publishes them. `scratch` is a
/// directory of this process for the archives being written; `grace` is how long files the
/// new databases no longer name stay downloadable. The caller serialises rebuilds of one
/// repository architecture (the regeneration job holds its advisory lock).
pub async fn rebuild(
    pool: &PgPool,
    store: &BlobStore,
    scratch: PathBuf,
    target: &BuildTarget,
    grace: Duration,
    kek: Option<&KeyEncryptionKey>,
) -> Result<Rebuild, RegenerateError> {
    // The databases of a distribution with a signing key are signed; without one, an
    // architecture that has served signatures publishes nothing.
    let signer = distro_keys::load_signing_key(pool, &target.distro, kek).await?;
    if signer.is_none() && target.signed_databases {
        return Ok(Rebuild::Held);
    }
    let repo = target.repo.clone();
    // The archives are written on a blocking thread while the catalogue is read: packages flow
    // through a bounded channel, so neither side waits for the other to finish.
    let started = Instant::now();
    let (sink, mut packages) = tokio::sync::mpsc::channel::<Vec<SnapshotPackage>>(8);
    let writer = tokio::task::spawn_blocking(move || -> io::Result<ArchiveWriter> {
        let mut writer = ArchiveWriter::create(&scratch)?;
        while let Some(batch) = packages.blocking_recv() {
            for p in batch {
                writer.add(&p.db_member, &p.files_member)?;
            }
        }
        Ok(writer)
    });
    let snapshot = async move {
        let snapshot = regen::snapshot(pool, target, &sink).await;
        drop(sink);
        snapshot
    };
    // The manifest is read beside the snapshot, on a connection of its own (see
    // `manifest::current`), to compare the new databases with.
    let (snapshot, live) = tokio::join!(snapshot, manifest::current(pool, target.repo_arch_id));
    // The writer's failure is what stopped the reading, if both failed.
    let writer = writer.await??;
    let mut phases = Phases {
        snapshot: started.elapsed(),
        ..Phases::default()
    };
    let Some(snapshot) = snapshot? else {
        return Ok(Rebuild::Gone);
    };
    let started = Instant::now();
    let (archives, signatures) = tokio::task::spawn_blocking(move || {
        let archives = writer.finish()?;
        let signatures = signer.map(|key| sign(&key, &archives)).transpose()?;
        Ok::<_, RegenerateError>((archives, signatures))
    })
    .await??;
    phases.write = started.elapsed();
    let started = Instant::now();
    let published = publish(
        pool,
        store,
        target,
        &repo,
        &snapshot,
        &live?,
        &archives,
        signatures.as_ref(),
        grace,
    )
    .await?;
    phases.finish = started.elapsed();
    match published {
        Published::Live { retired } => Ok(Rebuild::Published {
            packages: snapshot.packages.len(),
            change_seq: snapshot.change_seq,
            retired,
            phases,
        }),
        Published::Gone => Ok(Rebuild::Gone),
        Published::Missing(missing) => {
            superseded_or_lost(pool, missing, snapshot.packages.len()).await
        }
    }
}

/// Detached signatures of both archives.
struct Signatures {
    db: SignatureFile,
    files: SignatureFile,
}

/// Signs both archives. Blocking: it reads them.
fn sign(key: &ServerKey, archives: &Archives) -> Result<Signatures, RegenerateError> {
    let read = |path: &std::path::Path| {
        std::fs::File::open(path).map(|f| io::BufReader::with_capacity(256 * 1024, f))
    };
    Ok(Signatures {
        db: key.sign(read(&archives.db.path)?)?,
        files: key.sign(read(&archives.files.path)?)?,
    })
}

enum Published {
    Live {
        retired: u64,
    },
    Gone,
    /// These packages' files are not in the store: nothing was published.
    Missing(Vec<i64>),
}

/// Blob existence checks in flight at once while publishing.
const EXISTENCE_CHECKS: usize = 16;

/// Stores the archives and switches the manifest from `live` to the snapshot, in one
/// transaction.
#[allow(clippy::too_many_arguments)]
async fn publish(
    pool: &PgPool,
    store: &BlobStore,
    target: &BuildTarget,
    repo: &RepoName,
    snapshot: &Snapshot,
    live: &HashMap<FileName, Current>,
    archives: &Archives,
    signatures: Option<&Signatures>,
    grace: Duration,
) -> Result<Published, RegenerateError> {
    let names = DbFileNames::new(repo);
    let mut listing: Vec<Entry> = Vec::with_capacity(2 * snapshot.packages.len() + 8);
    for (name, archive) in [
        (&names.db, &archives.db),
        (&names.db_link, &archives.db),
        (&names.files, &archives.files),
        (&names.files_link, &archives.files),
    ] {
        listing.push(Entry {
            filename: name.clone(),
            digest: archive.digest.clone(),
            size: archive.size as i64,
        });
    }
    // Each name of a database has its signature beside it, all published in this one switch:
    // pacman fetches `{name}.sig` right after `{name}`.
    let signature_blobs = signatures.map(|s| {
        [&s.db, &s.files].map(|sig| {
            (
                Digest::of(sig.as_bytes()),
                Bytes::copy_from_slice(sig.as_bytes()),
            )
        })
    });
    if let Some([db, files]) = &signature_blobs {
        for (name, (digest, bytes)) in [
            (&names.db, db),
            (&names.db_link, db),
            (&names.files, files),
            (&names.files_link, files),
        ] {
            listing.push(Entry {
                filename: FileName::signature_of(name)
                    .expect("a database name has room for `.sig`"),
                digest: digest.clone(),
                size: bytes.len() as i64,
            });
        }
    }
    for p in &snapshot.packages {
        listing.push(Entry {
            filename: p.filename.clone(),
            digest: p.digest.clone(),
            size: p.size,
        });
        // Parsing refused every package whose name has no room for `.sig`.
        if let Some((digest, size)) = &p.signature
            && let Ok(filename) = FileName::signature_of(&p.filename)
        {
            listing.push(Entry {
                filename,
                digest: digest.clone(),
                size: *size,
            });
        }
    }
    let change = manifest::diff(live, listing);
    // Nothing is stored before the snapshot is known to be publishable, and only packages new
    // to the manifest need checking: a live entry's foreign key keeps its blob recorded. A new
    // package's blob is recorded while its package is current (a foreign key too), so one
    // unrecorded now belongs to a package that left after the snapshot; and its object must be
    // in the store, which is checked once, when it is first published.
    let upserted: HashSet<&FileName> = change.upsert.iter().map(|e| &e.filename).collect();
    let new: Vec<(i64, &Digest)> = snapshot
        .packages
        .iter()
        .filter(|p| upserted.contains(&p.filename))
        .map(|p| (p.id, &p.digest))
        .collect();
    let mut tx = pool.begin().await?;
    let digests: Vec<Digest> = new.iter().map(|(_, d)| (*d).clone()).collect();
    let unrecorded = crate::db::blobs::unrecorded(&mut *tx, &digests).await?;
    let mut missing: Vec<i64> = new
        .iter()
        .filter(|(_, digest)| unrecorded.contains(*digest))
        .map(|(id, _)| *id)
        .collect();
    // One request each on S3, so they overlap: after a burst, hundreds are new. (Owned items
    // and store: the job's future must be `Send` for any lifetime.)
    let to_check: Vec<(i64, Digest)> = new
        .iter()
        .filter(|(_, digest)| !unrecorded.contains(*digest))
        .map(|(id, digest)| (*id, (*digest).clone()))
        .collect();
    let absent: Vec<Option<i64>> = futures::stream::iter(to_check)
        .map(|(id, digest)| {
            let store = store.clone();
            async move {
                let found = store.exists(&digest).await.map_err(BlobError::from)?;
                Ok::<_, BlobError>((!found).then_some(id))
            }
        })
        .buffer_unordered(EXISTENCE_CHECKS)
        .try_collect()
        .await?;
    missing.extend(absent.into_iter().flatten());
    if !missing.is_empty() {
        return Ok(Published::Missing(missing));
    }
    // The archives' blobs next: claiming may write to the store, and the architecture's row,
    // which every upload to it must update, is locked only after that.
    for archive in [&archives.db, &archives.files] {
        blobs::claim(
            &mut tx,
            store,
            &archive.digest,
            archive.size,
            Source::File(&archive.path),
        )
        .await?;
    }
    for (digest, bytes) in signature_blobs.iter().flatten() {
        let size = bytes.len() as u64;
        blobs::claim(&mut tx, store, digest, size, Source::Bytes(bytes.clone())).await?;
    }
    if !regen::lock_target(&mut tx, target.repo_arch_id).await? {
        return Ok(Published::Gone);
    }
    let retired = manifest::switch(&mut tx, target.repo_arch_id, &change, grace).await?;
    regen::finish(&mut tx, target, snapshot, signatures.is_some()).await?;
    tx.commit().await?;
    Ok(Published::Live { retired })
}

/// Packages whose file was missing from a build: superseded if they left the catalogue after
/// the snapshot (the change that removed them queued the next rebuild), else their files were
/// lost and, unless most of the repository's were, they cannot be published.
async fn superseded_or_lost(
    pool: &PgPool,
    missing: Vec<i64>,
    total: usize,
) -> Result<Rebuild, RegenerateError> {
    let lost = packages::still_current(pool, &missing).await?;
    if lost.is_empty() {
        return Ok(Rebuild::Superseded { missing });
    }
    if lost.len() * 2 > total {
        return Err(RegenerateError::FilesLost {
            lost: lost.len(),
            total,
        });
    }
    Err(RegenerateError::Unpublishable {
        package_ids: lost,
        fault: PackageFault::FileMissing,
    })
}
