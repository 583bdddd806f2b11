//! Moving a data directory written by 0.1.0 into the blob store and the manifest, on the first
//! start of this version: blobs named `blobs/<upload id>` are stored under their digest, and
//! each live tree `repos/<distro>/<repo>/<arch>/` (hard links to those blobs, the database
//! archives, files retired but still in their grace period) becomes its architecture's
//! manifest. The migration that introduced the `blobs` table already recorded the digests of
//! every package and upload in flight; this moves their bytes.
//!
//! One process does it (under an advisory lock) before it serves or parses anything; every
//! other process waits for it, then finds nothing left to do. It can be interrupted at any
//! point and run again: each legacy file is removed only once its content is in the store, and
//! a tree only once its manifest has committed.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{BlobError, BlobStore, Digest};
use crate::db::blobs as rows;
use crate::db::locks::{self, Lock};

#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("reading the 0.1.0 data directory: {0}")]
    Io(#[from] io::Error),
    #[error("background task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<super::StoreError> for UpgradeError {
    fn from(err: super::StoreError) -> Self {
        Self::Blob(err.into())
    }
}

/// What an upgrade moved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Legacy blob files stored under their digest.
    pub blobs: usize,
    /// Legacy blob files no upload or package referred to (deleted).
    pub unreferenced: usize,
    /// Architecture trees turned into manifests.
    pub trees: usize,
    /// Files of those trees now in manifests.
    pub files: usize,
}

/// Upgrades `data_dir` if it holds 0.1.0's layout; a no-op otherwise.
pub async fn run(
    pool: &PgPool,
    store: &BlobStore,
    data_dir: &Path,
) -> Result<Report, UpgradeError> {
    let legacy = Legacy::new(data_dir);
    if !legacy.present()? {
        return Ok(Report::default());
    }
    let mut conn = pool.acquire().await?;
    locks::lock(&mut conn, &Lock::Upgrade).await?;
    let result = upgrade_locked(pool, store, &legacy).await;
    locks::unlock(&mut conn, &Lock::Upgrade).await?;
    let report = result?;
    tracing::info!(
        blobs = report.blobs,
        unreferenced = report.unreferenced,
        trees = report.trees,
        files = report.files,
        "moved the 0.1.0 data directory into the blob store"
    );
    Ok(report)
}

/// 0.1.0's paths in a data directory.
#[derive(Clone)]
struct Legacy {
    blobs: PathBuf,
    repos: PathBuf,
    trash: PathBuf,
}

impl Legacy {
    fn new(data_dir: &Path) -> Self {
        Self {
            blobs: data_dir.join("blobs"),
            repos: data_dir.join("repos"),
            trash: data_dir.join("trash"),
        }
    }

    fn present(&self) -> io::Result<bool> {
        Ok(self.repos.exists() || self.trash.exists() || !self.blob_files()?.is_empty())
    }

    /// The files `blobs/<upload id>`.
    fn blob_files(&self) -> io::Result<Vec<(Uuid, PathBuf)>> {
        let mut found = Vec::new();
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(found),
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let id = entry
                .file_name()
                .to_str()
                .and_then(|n| Uuid::parse_str(n).ok());
            if let (Some(id), true) = (id, entry.file_type()?.is_file()) {
                found.push((id, entry.path()));
            }
        }
        Ok(found)
    }
}

async fn upgrade_locked(
    pool: &PgPool,
    store: &BlobStore,
    legacy: &Legacy,
) -> Result<Report, UpgradeError> {
    let mut report = Report::default();
    let files = {
        let legacy = legacy.clone();
        tokio::task::spawn_blocking(move || legacy.blob_files()).await??
    };
    for (id, path) in files {
        let digest = sqlx::query_scalar!(
            r#"select u.sha256 as "digest: Digest" from uploads u
               where u.id = $1 and exists (select 1 from blobs b where b.digest = u.sha256)"#,
            id
        )
        .fetch_optional(pool)
        .await?;
        match digest {
            Some(digest) => {
                store.put_file(&digest, &path).await?;
                report.blobs += 1;
            }
            None => report.unreferenced += 1,
        }
        tokio::fs::remove_file(&path).await?;
    }
    if tokio::fs::try_exists(&legacy.repos).await? {
        let trees = sqlx::query!(
            r#"select ra.id, d.name as distro, r.name as repo, ra.arch, ra.repo_id,
                      exists (select 1 from published_files f where f.repo_arch_id = ra.id)
                        as "has_manifest!"
               from repo_arches ra join repos r on r.id = ra.repo_id
               join distros d on d.id = r.distro_id"#
        )
        .fetch_all(pool)
        .await?;
        for tree in trees {
            let dir = legacy
                .repos
                .join(&tree.distro)
                .join(&tree.repo)
                .join(&tree.arch);
            if tree.has_manifest || !tokio::fs::try_exists(&dir).await? {
                continue;
            }
            report.files +=
                import_tree(pool, store, tree.id, tree.repo_id, &tree.arch, dir).await?;
            report.trees += 1;
        }
    }
    // Trees no architecture owns (removed ones) and the trash are only deleted.
    for dir in [&legacy.repos, &legacy.trash] {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&dir) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        })
        .await??;
    }
    Ok(report)
}

/// A file of a legacy tree.
struct TreeFile {
    name: String,
    digest: Digest,
    size: i64,
    modified_at: DateTime<Utc>,
    path: PathBuf,
    /// Hashed here: not a current package's file, so its blob may be unrecorded (archives,
    /// retired files).
    hashed: bool,
}

/// Turns one architecture's tree into its manifest, in one transaction.
async fn import_tree(
    pool: &PgPool,
    store: &BlobStore,
    repo_arch_id: i64,
    repo_id: i64,
    arch: &str,
    dir: PathBuf,
) -> Result<usize, UpgradeError> {
    // The tree's package files are hard links to the current packages' blobs: their digests
    // are known. Anything else (database archives, retired files) is hashed.
    let known: HashMap<String, Digest> = sqlx::query!(
        r#"select filename, sha256 as "digest: Digest" from packages
           where repo_id = $1 and (arch = $2 or arch = 'any')"#,
        repo_id,
        arch
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.filename, r.digest))
    .collect();
    let retired: HashMap<String, DateTime<Utc>> = sqlx::query!(
        "select filename, delete_after from retired_files where repo_arch_id = $1",
        repo_arch_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.filename, r.delete_after))
    .collect();
    let (files, links) = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || read_tree(&dir, &known)).await??
    };
    let mut tx = pool.begin().await?;
    for file in &files {
        locks::lock_for_transaction(
            &mut tx,
            &Lock::Blob {
                digest: &file.digest,
            },
        )
        .await?;
        if file.hashed && !rows::touch(&mut tx, &file.digest).await? {
            store.put_file(&file.digest, &file.path).await?;
            rows::insert(&mut tx, &file.digest, file.size).await?;
        } else if !store.exists(&file.digest).await? {
            // A current package whose blob file was gone: the tree kept its bytes.
            store.put_file(&file.digest, &file.path).await?;
        }
    }
    let by_name: HashMap<&str, &TreeFile> = files.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut count = 0;
    let entries = files.iter().map(|f| (f.name.as_str(), f)).chain(
        links
            .iter()
            .filter_map(|(link, target)| Some((link.as_str(), *by_name.get(target.as_str())?))),
    );
    for (name, file) in entries {
        sqlx::query!(
            "insert into published_files
               (repo_arch_id, filename, digest, size, modified_at, retired_until)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (repo_arch_id, filename) do nothing",
            repo_arch_id,
            name,
            &file.digest as &Digest,
            file.size,
            file.modified_at,
            retired.get(name).copied()
        )
        .execute(&mut *tx)
        .await?;
        count += 1;
    }
    sqlx::query!(
        "delete from retired_files where repo_arch_id = $1",
        repo_arch_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(count)
}

type Links = Vec<(String, String)>;

/// The regular files of a tree (hashing those whose digest is not `known`) and its symbolic
/// links (`{repo}.db` → `{repo}.db.tar.gz`).
fn read_tree(dir: &Path, known: &HashMap<String, Digest>) -> io::Result<(Vec<TreeFile>, Links)> {
    let mut files = Vec::new();
    let mut links = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // Hidden files (a dead build's leftovers) and names the manifest cannot hold.
        if crate::names::FileName::parse(&name).is_err() {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            if let Some(target) = std::fs::read_link(entry.path())?.to_str() {
                links.push((name, target.to_owned()));
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let meta = entry.metadata()?;
        let modified_at = DateTime::<Utc>::from(meta.modified()?);
        let (digest, hashed) = match known.get(&name) {
            Some(digest) => (digest.clone(), false),
            None => (hash_file(&entry.path())?, true),
        };
        files.push(TreeFile {
            name,
            digest,
            size: meta.len() as i64,
            modified_at,
            path: entry.path(),
            hashed,
        });
    }
    Ok((files, links))
}

fn hash_file(path: &Path) -> io::Result<Digest> {
    use sha2::Digest as _;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(Digest::from_hasher(hasher))
}
