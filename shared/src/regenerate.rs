//! One rebuild of a repository architecture: read the catalogue snapshot while writing its
//! published tree ([`TreeWriter`]), then record that the new databases are live
//! ([`regen::finish`]).
//!
//! The regeneration job decides *when* to call this (quiet period, lock); this module is *what*
//! a rebuild is, so the job and the benchmarks run the same code.

use std::io;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::db::regen::{self, BuildTarget, SnapshotPackage};
use crate::db::{DbError, packages};
use crate::names::{ArchName, DistroName, NameError, RepoName};
use crate::publish::{PublishedPackage, TreeWriter};
use crate::storage::Storage;

#[derive(Debug, thiserror::Error)]
pub enum RegenerateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("file system: {0}")]
    Io(#[from] io::Error),
    #[error("background task: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("invalid stored name: {0}")]
    InvalidName(#[from] NameError),
    /// These packages keep the repository from being published; the rest of it is fine. The
    /// caller takes them out of the catalogue ([`crate::removal::reject_packages`]), so one bad
    /// package never stalls its repository.
    #[error("package(s) {package_ids:?} {fault}")]
    Unpublishable {
        package_ids: Vec<i64>,
        fault: PackageFault,
    },
    /// So many package files are gone that storage itself is the likelier fault (a data
    /// directory restored without its blobs, a missing mount): nothing is taken out.
    #[error("the files of {lost} of the {total} packages are missing from storage")]
    FilesLost { lost: usize, total: usize },
}

/// Why a package cannot be published, as its uploader reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PackageFault {
    #[error("could not be published: the file name is too long for the file system")]
    FileNameTooLong,
    #[error("could not be published: the file system refuses the file name")]
    FileNameRefused,
    #[error("could not be published: the package file is missing from storage")]
    FileMissing,
}

impl PackageFault {
    /// The package's share in a failure to link its file into the tree. Only the file name can
    /// be the package's fault: by then the writer has created its archives in the same
    /// directory, so the directory and the file system work. Anything else (permissions, a
    /// read-only or full disk) is the server's and takes nothing out.
    fn of_link_error(err: &io::Error) -> Option<Self> {
        match err.kind() {
            io::ErrorKind::InvalidFilename => Some(Self::FileNameTooLong),
            io::ErrorKind::InvalidInput => Some(Self::FileNameRefused),
            _ => None,
        }
    }
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
        /// Files the new databases no longer name, now scheduled for deletion.
        retired: usize,
        /// Where the time went.
        phases: Phases,
    },
    /// Package files were replaced or removed after the snapshot was read; nothing was
    /// published, and the change that removed them has queued the next rebuild.
    Superseded { missing: Vec<i64> },
    /// The repository architecture was removed (before or during the rebuild).
    Gone,
}

/// How long each step of a rebuild took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Phases {
    /// Reading the packages and their pre-rendered entries while linking the package files
    /// and writing the entries to temporary archives.
    pub snapshot: Duration,
    /// Completing, syncing and renaming the archives.
    pub write: Duration,
    /// Recording the databases as live.
    pub finish: Duration,
}

/// Rebuilds `target`'s databases from the catalogue and publishes them. `grace` is how long
/// files the new databases no longer name stay downloadable. The caller serialises rebuilds of
/// one repository architecture (the regeneration job holds its advisory lock).
pub async fn rebuild(
    pool: &PgPool,
    storage: &Storage,
    target: &BuildTarget,
    grace: Duration,
) -> Result<Rebuild, RegenerateError> {
    let distro = DistroName::parse(&target.distro)?;
    let repo = RepoName::parse(&target.repo)?;
    let arch = ArchName::parse(&target.arch)?;
    let dir = storage.arch_dir(&distro, &repo, &arch);

    // The tree is written on a blocking thread while the catalogue is read: packages flow
    // through a bounded channel, so neither side waits for the other to finish.
    let started = Instant::now();
    let (sink, mut packages) = tokio::sync::mpsc::channel::<Vec<SnapshotPackage>>(8);
    let writer = {
        let (storage, dir) = (storage.clone(), dir.clone());
        tokio::task::spawn_blocking(move || -> Result<TreeWriter, RegenerateError> {
            let mut tree = TreeWriter::create(&dir, &repo)?;
            while let Some(batch) = packages.blocking_recv() {
                for p in batch {
                    tree.add(&PublishedPackage {
                        id: p.id,
                        filename: &p.filename,
                        blob: storage.blob_path(p.upload_id),
                        db_member: &p.db_member,
                        files_member: &p.files_member,
                    })
                    .map_err(|err| {
                        match PackageFault::of_link_error(&err) {
                            Some(fault) => RegenerateError::Unpublishable {
                                package_ids: vec![p.id],
                                fault,
                            },
                            None => err.into(),
                        }
                    })?;
                }
            }
            Ok(tree)
        })
    };
    let snapshot = regen::snapshot(pool, target, &sink).await;
    drop(sink);
    // The writer's failure is what stopped the reading, if both failed.
    let tree = writer.await??;
    let mut phases = Phases {
        snapshot: started.elapsed(),
        ..Phases::default()
    };
    let Some(snapshot) = snapshot? else {
        // Removed before we read it: take back the (empty) directory the writer made.
        drop(tree);
        let _ = tokio::fs::remove_dir(&dir).await;
        return Ok(Rebuild::Gone);
    };
    let started = Instant::now();
    let report = tokio::task::spawn_blocking(move || tree.finish()).await??;
    phases.write = started.elapsed();
    let started = Instant::now();
    if !report.missing.is_empty() {
        return superseded_or_lost(pool, report.missing, snapshot.packages.len()).await;
    }
    if !regen::finish(pool, target.repo_arch_id, &snapshot, &report.stale, grace).await? {
        // Removed while we built: do not leave a tree behind for it.
        storage.discard_tree(&dir).await?;
        return Ok(Rebuild::Gone);
    }
    phases.finish = started.elapsed();
    Ok(Rebuild::Published {
        packages: snapshot.packages.len(),
        change_seq: snapshot.change_seq,
        retired: report.stale.len(),
        phases,
    })
}

/// Packages whose file was missing from a build: superseded if they left the catalogue after
/// the snapshot (the change that removed them queued the next rebuild), else their files were
/// lost and, unless most of the repository's were, they cannot be published.
async fn superseded_or_lost(
    pool: &PgPool,
    missing: Vec<i64>,
    total: usize,
) -> Result<Rebuild, RegenerateError> {
    // A package's blob is only deleted after the transaction that takes the package out of
    // the catalogue commits: a package still there has lost its file.
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
