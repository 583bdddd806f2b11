//! One sync of a mirror: check cheaply whether the upstream changed, fetch and read its
//! databases, download the packages we do not have, verify everything, and make the new state
//! live in one transaction ([`super::publish`]). On any failure nothing changes: the previous
//! state keeps being served and the reason is recorded.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures::{StreamExt, TryStreamExt};
use sqlx::PgPool;

use super::fetch::{Expected, FetchError, Fetched, Fetcher, Pacer, Validators};
use super::publish::{self, UpstreamArch, UpstreamFile};
use crate::blobs::{self, BlobError, BlobStore, Digest, Source};
use crate::db::DbError;
use crate::db::locks::{self, Lock};
use crate::db::mirrors::{self, ArchState, MirrorRecord};
use crate::names::{ArchName, FileName};
use crate::publish::DbFileNames;
use crate::repo_db::{ReadError, ReadLimits, SyncEntry, read_database_with};
use crate::signing::{MAX_SIGNATURE_BYTES, SignatureFile};

/// What a sync needs from its process.
#[derive(Debug, Clone)]
pub struct SyncContext {
    pub pool: PgPool,
    pub store: BlobStore,
    /// A directory of this process for downloads in progress.
    pub scratch: PathBuf,
    /// How long files the new state no longer names stay downloadable.
    pub grace: Duration,
    pub limits: ReadLimits,
}

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the upstream's {file} has no such file ({url})")]
    Missing { file: String, url: String },
    #[error("reading the upstream's {file}: {source}")]
    Read { file: String, source: ReadError },
    #[error("the upstream's {0}")]
    Listing(String),
    #[error("the upstream is older than what this mirror serves: {0}")]
    Older(String),
    #[error("signature check: {0}")]
    Signature(String),
    #[error("the sync took longer than {} hours", MAX_SYNC_DURATION.as_secs() / 3600)]
    TimedOut,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("scratch file: {0}")]
    Io(#[from] io::Error),
    #[error("background task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<sqlx::Error> for SyncError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

impl SyncError {
    /// The reason recorded for the admin: the upstream's faults in full, ours without the
    /// internals (those are in the worker's log).
    pub fn public_reason(&self) -> String {
        match self {
            Self::Db(_) | Self::Blob(_) | Self::Io(_) | Self::Join(_) => {
                "internal error while syncing (the worker's log has the details)".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Another worker is syncing this mirror.
    Busy,
    /// The mirror was deleted.
    Gone,
    /// The upstream has not changed since the last sync.
    Unchanged { packages: i64 },
    /// The upstream's new state is live.
    Synced {
        packages: i64,
        arches: Vec<ArchName>,
        downloaded_bytes: u64,
    },
    /// Nothing changed; the reason is recorded on the sync.
    Failed { reason: String },
}

/// The largest database (`.db` or `.files`) accepted, compressed.
const MAX_DATABASE_BYTES: u64 = 1 << 30;
/// `lastupdate` holds a number.
const MAX_LASTUPDATE_BYTES: usize = 64;
/// The longest a sync may take: an upstream that trickles bytes cannot hold a worker's sync
/// slot for ever (each read may take a minute, and a retry follows a cut).
const MAX_SYNC_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The longest a failing mirror waits before trying again (the interval, if shorter).
const MAX_RETRY: Duration = Duration::from_secs(3600);
const FIRST_RETRY: Duration = Duration::from_secs(60);

/// Syncs mirror `mirror_id` unless another worker is syncing it.
pub async fn sync(ctx: &SyncContext, mirror_id: i64) -> Result<SyncOutcome, DbError> {
    let key = Lock::MirrorSync { mirror_id };
    let mut lock = ctx.pool.acquire().await?;
    if !locks::try_lock(&mut lock, &key).await? {
        return Ok(SyncOutcome::Busy);
    }
    let result = sync_locked(ctx, mirror_id).await;
    locks::unlock(&mut lock, &key).await?;
    result
}

async fn sync_locked(ctx: &SyncContext, mirror_id: i64) -> Result<SyncOutcome, DbError> {
    let started = {
        let mut tx = ctx.pool.begin().await?;
        let started = mirrors::start_sync(&mut tx, mirror_id).await?;
        tx.commit().await?;
        started
    };
    let Some((mirror, sync_id)) = started else {
        return Ok(SyncOutcome::Gone);
    };
    let dir = ctx.scratch.join(format!("mirror-{mirror_id}"));
    let result = tokio::time::timeout(MAX_SYNC_DURATION, run(ctx, &mirror, sync_id, &dir))
        .await
        .unwrap_or(Err(SyncError::TimedOut));
    record(&mirror, &result);
    match result {
        Ok(outcome) => {
            // Downloads are in the store now; what is left are the databases' copies.
            let _ = tokio::fs::remove_dir_all(&dir).await;
            Ok(outcome)
        }
        Err(err) => {
            let reason = err.public_reason();
            tracing::warn!(
                mirror.id = mirror_id, distro = %mirror.distro, repo = %mirror.repo,
                upstream = %mirror.spec.upstream, error = %err, "mirror sync failed"
            );
            let failures = mirrors::failures_in_a_row(&ctx.pool, mirror_id).await?;
            let retry = FIRST_RETRY
                .saturating_mul(1 << failures.clamp(0, 10) as u32)
                .min(MAX_RETRY);
            mirrors::fail(&ctx.pool, mirror_id, sync_id, &reason, retry.as_secs_f64()).await?;
            // Partial downloads stay for the next attempt to resume.
            Ok(SyncOutcome::Failed { reason })
        }
    }
}

/// Counts a sync's outcome and what it downloaded (`crate::metrics`).
fn record(mirror: &MirrorRecord, result: &Result<SyncOutcome, SyncError>) {
    let (outcome, downloaded) = match result {
        Ok(SyncOutcome::Synced {
            downloaded_bytes, ..
        }) => ("synced", *downloaded_bytes),
        Ok(_) => ("unchanged", 0),
        Err(_) => ("failed", 0),
    };
    let (distro, repo) = (mirror.distro.to_string(), mirror.repo.to_string());
    metrics::counter!(crate::metrics::MIRROR_SYNCS, "distro" => distro.clone(),
        "repo" => repo.clone(), "outcome" => outcome)
    .increment(1);
    if downloaded > 0 {
        metrics::counter!(crate::metrics::MIRROR_BYTES, "distro" => distro, "repo" => repo)
            .increment(downloaded);
    }
}

async fn run(
    ctx: &SyncContext,
    mirror: &MirrorRecord,
    sync_id: i64,
    dir: &Path,
) -> Result<SyncOutcome, SyncError> {
    tokio::fs::create_dir_all(dir).await?;
    let pacer = mirror
        .spec
        .bandwidth_limit_bytes_per_sec
        .map(|rate| Arc::new(Pacer::new(rate)));
    let fetcher = Fetcher::new(pacer)?;
    let states = mirrors::arch_states(&ctx.pool, mirror.id).await?;
    // An upstream that had no `lastupdate` at the last sync is not asked again: its no-change
    // sync costs one conditional request per architecture.
    let lastupdate = if mirror.upstream_lastupdate.is_some() || mirror.last_success_at.is_none() {
        lastupdate(&fetcher, mirror).await
    } else {
        None
    };
    if let (Some(upstream), Some(served)) = (lastupdate, mirror.upstream_lastupdate) {
        if upstream < served {
            return Err(SyncError::Older(format!(
                "its lastupdate is {upstream}, and the state served is from {served}"
            )));
        }
        let all_synced = mirror.spec.arches.iter().all(|a| states.contains_key(a));
        if upstream == served && all_synced {
            return unchanged(ctx, mirror, sync_id, lastupdate).await;
        }
    }
    let mut changed = Vec::new();
    for arch in &mirror.spec.arches {
        if let Some(fetched) =
            fetch_arch(ctx, &fetcher, mirror, arch, states.get(arch), dir).await?
        {
            changed.push(fetched);
        }
    }
    if changed.is_empty() {
        return unchanged(ctx, mirror, sync_id, lastupdate).await;
    }
    let downloaded_bytes = download_packages(ctx, &fetcher, mirror, sync_id, &changed, dir).await?;
    let packages = publish::publish(ctx, mirror, sync_id, &changed, lastupdate).await?;
    let Some(packages) = packages else {
        return Ok(SyncOutcome::Gone);
    };
    tracing::info!(
        mirror.id = mirror.id, distro = %mirror.distro, repo = %mirror.repo,
        arches = ?changed.iter().map(|c| c.arch.as_str()).collect::<Vec<_>>(),
        packages, downloaded_bytes, "mirror synced"
    );
    Ok(SyncOutcome::Synced {
        packages,
        arches: changed.into_iter().map(|c| c.arch).collect(),
        downloaded_bytes,
    })
}

async fn unchanged(
    ctx: &SyncContext,
    mirror: &MirrorRecord,
    sync_id: i64,
    lastupdate: Option<i64>,
) -> Result<SyncOutcome, SyncError> {
    let mut tx = ctx.pool.begin().await?;
    let packages = crate::db::catalogue::package_count(&mut *tx, mirror.repo_id).await?;
    mirrors::succeed(&mut tx, mirror.id, sync_id, packages, lastupdate).await?;
    tx.commit().await?;
    Ok(SyncOutcome::Unchanged { packages })
}

/// The upstream's `lastupdate`, if it has one that reads as a number. A fault fetching it is
/// not a sync's failure: the databases' own validators decide then.
async fn lastupdate(fetcher: &Fetcher, mirror: &MirrorRecord) -> Option<i64> {
    let url = mirror.spec.upstream.lastupdate_url();
    match fetcher.small(&url, MAX_LASTUPDATE_BYTES).await {
        Ok(Some(body)) => std::str::from_utf8(&body).ok()?.trim().parse().ok(),
        Ok(None) => None,
        Err(err) => {
            tracing::debug!(%url, error = %err, "no usable lastupdate");
            None
        }
    }
}

/// Fetches and reads one architecture's databases; `None` when they have not changed since
/// the state we serve.
async fn fetch_arch(
    ctx: &SyncContext,
    fetcher: &Fetcher,
    mirror: &MirrorRecord,
    arch: &ArchName,
    state: Option<&ArchState>,
    dir: &Path,
) -> Result<Option<UpstreamArch>, SyncError> {
    let names = DbFileNames::new(&mirror.repo);
    let url = |file: &FileName| mirror.spec.upstream.file_url(&mirror.repo, arch, file);
    let validators = state.map(|s| Validators {
        etag: s.etag.clone(),
        last_modified: s.last_modified.clone(),
    });
    let db_path = dir.join(format!("{arch}.db"));
    let db_url = url(&names.db_link);
    let (db, got_validators) = match fetcher
        .download(
            &db_url,
            &db_path,
            MAX_DATABASE_BYTES,
            None,
            validators.as_ref(),
        )
        .await?
    {
        Fetched::NotModified => return Ok(None),
        Fetched::Missing => {
            return Err(SyncError::Missing {
                file: names.db_link.to_string(),
                url: db_url.to_string(),
            });
        }
        Fetched::Done {
            size,
            digest,
            validators,
            ..
        } => (
            UpstreamFile {
                path: db_path,
                size,
                digest,
            },
            validators,
        ),
    };
    if state.is_some_and(|s| s.db_digest == db.digest) {
        return Ok(None);
    }
    if let Some(older) = older_than_served(state, &got_validators) {
        return Err(SyncError::Older(older));
    }
    let files_path = dir.join(format!("{arch}.files"));
    let files = match fetcher
        .download(
            &url(&names.files_link),
            &files_path,
            MAX_DATABASE_BYTES,
            None,
            None,
        )
        .await?
    {
        Fetched::Done { size, digest, .. } => Some(UpstreamFile {
            path: files_path,
            size,
            digest,
        }),
        _ => None,
    };
    // The databases' signatures are always kept: pacman's `DatabaseRequired` needs them.
    let db_sig = signature(
        fetcher,
        &url(&FileName::signature_of(&names.db_link).expect("room")),
    )
    .await?;
    let files_sig = match &files {
        Some(_) => {
            signature(
                fetcher,
                &url(&FileName::signature_of(&names.files_link).expect("room")),
            )
            .await?
        }
        _ => None,
    };
    if let Some(keyring) = &mirror.spec.verify {
        let keys = keyring.keys().clone();
        let checks = [
            (
                names.db_link.to_string(),
                Some(db.path.clone()),
                db_sig.clone(),
            ),
            (
                names.files_link.to_string(),
                files.as_ref().map(|f| f.path.clone()),
                files_sig.clone(),
            ),
        ];
        for (name, path, sig) in checks {
            let Some(path) = path else { continue };
            let Some(sig) = sig else {
                return Err(SyncError::Signature(format!(
                    "the upstream's {name} has no signature ({name}.sig)"
                )));
            };
            let keys = keys.clone();
            tokio::task::spawn_blocking(move || verify_file(&keys, sig, &path, &name)).await??;
        }
    }
    let db_name = names.db_link.to_string();
    let entries = read(&ctx.limits, &db.path, &db_name, None).await?;
    // File lists only for the packages the catalogue does not hold yet: the `.files` of a
    // large repository unpacks to hundreds of MiB.
    let held = mirrors::held_packages(&ctx.pool, mirror.repo_id).await?;
    let wanted: HashSet<String> = entries
        .iter()
        .filter(|e| !held.contains(&(e.filename.clone(), e.sha256.clone())))
        .map(|e| format!("{}-{}", e.info.name, e.info.version))
        .collect();
    let files_name = names.files_link.to_string();
    let file_lists = match &files {
        Some(files) => Some(read(&ctx.limits, &files.path, &files_name, Some(wanted)).await?),
        None => None,
    };
    let arch_owned = arch.clone();
    let entries =
        tokio::task::spawn_blocking(move || merge(&arch_owned, entries, file_lists)).await??;
    Ok(Some(UpstreamArch {
        arch: arch.clone(),
        db,
        files,
        db_sig,
        files_sig,
        validators: got_validators,
        entries,
    }))
}

/// Reads a downloaded database, the `files` members only of `files_of`'s directories when
/// given.
async fn read(
    limits: &ReadLimits,
    path: &Path,
    name: &str,
    files_of: Option<HashSet<String>>,
) -> Result<Vec<SyncEntry>, SyncError> {
    let (limits, path, name) = (limits.clone(), path.to_owned(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        let file = io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&path)?);
        let wanted = |dir: &str| files_of.as_ref().is_none_or(|f| f.contains(dir));
        read_database_with(file, &limits, &wanted)
            .map_err(|source| SyncError::Read { file: name, source })
    })
    .await?
}

/// The reason to refuse a database whose `Last-Modified` is older than the served one's.
fn older_than_served(state: Option<&ArchState>, got: &Validators) -> Option<String> {
    let parse = |text: &str| chrono::DateTime::parse_from_rfc2822(text).ok();
    let served = parse(state?.last_modified.as_deref()?)?;
    let new = parse(got.last_modified.as_deref()?)?;
    (new < served).then(|| {
        format!(
            "its database was last modified {}, and the one served {}",
            new.to_rfc2822(),
            served.to_rfc2822()
        )
    })
}

/// A detached signature the upstream serves beside a database, if any.
async fn signature(fetcher: &Fetcher, url: &reqwest13::Url) -> Result<Option<Vec<u8>>, SyncError> {
    Ok(fetcher.small(url, MAX_SIGNATURE_BYTES).await?)
}

fn verify_file(
    keys: &crate::signing::PackagerKeys,
    signature: Vec<u8>,
    path: &Path,
    name: &str,
) -> Result<(), SyncError> {
    let signature = SignatureFile::parse(signature)
        .map_err(|e| SyncError::Signature(format!("{name}: {e}")))?;
    let file = std::fs::File::open(path)?;
    signature
        .verify(keys, io::BufReader::new(file))
        .map_err(|e| SyncError::Signature(format!("{name}: {e}")))?;
    Ok(())
}

/// The `.db`'s entries with the `.files`'s file lists, after checking that both describe the
/// same packages and that every package belongs in `arch`'s database.
fn merge(
    arch: &ArchName,
    mut entries: Vec<SyncEntry>,
    files: Option<Vec<SyncEntry>>,
) -> Result<Vec<SyncEntry>, SyncError> {
    for entry in &entries {
        if entry.info.arch != *arch && !entry.info.arch.is_any() {
            return Err(SyncError::Listing(format!(
                "database for {arch} lists {} for {}",
                entry.filename, entry.info.arch
            )));
        }
    }
    let Some(files) = files else {
        return Ok(entries);
    };
    let mut lists: HashMap<(FileName, Digest), Option<Vec<String>>> = files
        .into_iter()
        .map(|f| ((f.filename, f.sha256), f.files))
        .collect();
    if lists.len() != entries.len() {
        return Err(SyncError::Listing(format!(
            "databases disagree: the .db lists {} packages and the .files {} (is the \
             upstream being updated?)",
            entries.len(),
            lists.len()
        )));
    }
    for entry in &mut entries {
        let key = (entry.filename.clone(), entry.sha256.clone());
        let Some(list) = lists.remove(&key) else {
            return Err(SyncError::Listing(format!(
                "databases disagree: the .files does not list {} as the .db does (is the \
                 upstream being updated?)",
                entry.filename
            )));
        };
        entry.files = list;
    }
    Ok(entries)
}

/// Downloads and stores the packages of `changed` that the store does not hold yet; returns
/// the bytes transferred.
async fn download_packages(
    ctx: &SyncContext,
    fetcher: &Fetcher,
    mirror: &MirrorRecord,
    sync_id: i64,
    changed: &[UpstreamArch],
    dir: &Path,
) -> Result<u64, SyncError> {
    // Each digest once, from the first architecture that lists it.
    let mut seen = HashSet::new();
    let mut wanted: Vec<(&ArchName, &SyncEntry)> = Vec::new();
    for upstream in changed {
        for entry in &upstream.entries {
            if seen.insert(&entry.sha256) {
                wanted.push((&upstream.arch, entry));
            }
        }
    }
    let digests: Vec<Digest> = wanted.iter().map(|(_, e)| e.sha256.clone()).collect();
    let missing: HashSet<Digest> = {
        let mut conn = ctx.pool.acquire().await?;
        mirrors::hold_recorded(&mut conn, mirror.id, &digests)
            .await?
            .into_iter()
            .collect()
    };
    // Owned, so the downloads' futures are `Send` for any lifetime (the job's must be).
    let downloads: Vec<Download> = wanted
        .into_iter()
        .filter(|(_, e)| missing.contains(&e.sha256))
        .map(|(arch, entry)| Download {
            ctx: ctx.clone(),
            fetcher: fetcher.clone(),
            mirror_id: mirror.id,
            sync_id,
            url: mirror
                .spec
                .upstream
                .file_url(&mirror.repo, arch, &entry.filename),
            path: dir.join(entry.sha256.as_str()),
            filename: entry.filename.clone(),
            expected: Expected {
                size: entry.compressed_size.max(0) as u64,
                digest: entry.sha256.clone(),
            },
            pgpsig: entry.pgpsig.clone(),
            keys: mirror.spec.verify.as_ref().map(|k| k.keys().clone()),
        })
        .collect();
    tracing::debug!(
        mirror.id = mirror.id,
        listed = digests.len(),
        to_download = downloads.len(),
        "downloading what the store does not hold"
    );
    let concurrency = mirror.spec.max_concurrent_downloads as usize;
    let transferred: Vec<u64> = futures::stream::iter(downloads)
        .map(Download::run)
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok(transferred.into_iter().sum())
}

/// One package to download, verify, store and hold.
struct Download {
    ctx: SyncContext,
    fetcher: Fetcher,
    mirror_id: i64,
    sync_id: i64,
    url: reqwest13::Url,
    path: PathBuf,
    filename: FileName,
    expected: Expected,
    pgpsig: Option<String>,
    /// Set when the mirror verifies signatures.
    keys: Option<crate::signing::PackagerKeys>,
}

impl Download {
    async fn run(self) -> Result<u64, SyncError> {
        let Self {
            ctx,
            fetcher,
            mirror_id,
            sync_id,
            url,
            path,
            filename,
            expected,
            pgpsig,
            keys,
        } = self;
        let transferred = match fetcher
            .download(&url, &path, expected.size, Some(&expected), None)
            .await?
        {
            Fetched::Done { transferred, .. } => transferred,
            Fetched::Missing | Fetched::NotModified => {
                return Err(SyncError::Missing {
                    file: filename.to_string(),
                    url: url.to_string(),
                });
            }
        };
        if let Some(keys) = keys {
            let Some(pgpsig) = pgpsig else {
                return Err(SyncError::Signature(format!(
                    "{filename} has no signature in the upstream database"
                )));
            };
            let signature = decode_signature(&pgpsig).ok_or_else(|| {
                SyncError::Signature(format!("{filename}: its %PGPSIG% is not base64"))
            })?;
            let (path, name) = (path.clone(), filename.to_string());
            tokio::task::spawn_blocking(move || verify_file(&keys, signature, &path, &name))
                .await??;
        }
        let mut tx = ctx.pool.begin().await?;
        blobs::claim(
            &mut tx,
            &ctx.store,
            &expected.digest,
            expected.size,
            Source::File(&path),
        )
        .await?;
        mirrors::hold(&mut tx, mirror_id, &expected.digest).await?;
        mirrors::add_downloaded(&mut *tx, sync_id, transferred).await?;
        tx.commit().await?;
        tokio::fs::remove_file(&path).await?;
        Ok(transferred)
    }
}

/// A `%PGPSIG%` value's bytes, if it is base64 of a plausible signature.
pub(super) fn decode_signature(pgpsig: &str) -> Option<Vec<u8>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(pgpsig.trim())
        .ok()?;
    (!bytes.is_empty() && bytes.len() <= MAX_SIGNATURE_BYTES).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::PkgInfo;

    fn entry(name: &str, arch: &str, files: Option<&[&str]>) -> SyncEntry {
        let info = PkgInfo::parse(&format!(
            "pkgname = {name}\npkgver = 1.0-1\narch = {arch}\nbuilddate = 1\nsize = 1\n"
        ))
        .unwrap();
        SyncEntry {
            filename: FileName::parse(&format!("{name}-1.0-1-{arch}.pkg.tar.zst")).unwrap(),
            compressed_size: 1,
            sha256: Digest::of(name.as_bytes()),
            md5: None,
            pgpsig: None,
            files: files.map(|f| f.iter().map(|s| (*s).to_owned()).collect()),
            info,
        }
    }

    fn x86() -> ArchName {
        ArchName::parse("x86_64").unwrap()
    }

    #[test]
    fn the_files_database_lends_its_lists() {
        let db = vec![entry("a", "x86_64", None), entry("b", "any", None)];
        let files = vec![
            entry("b", "any", Some(&["usr/", "usr/b"])),
            entry("a", "x86_64", Some(&["usr/a"])),
        ];
        let merged = merge(&x86(), db, Some(files)).unwrap();
        assert_eq!(merged[0].files.as_deref(), Some(&["usr/a".to_owned()][..]));
        assert_eq!(merged[1].files.as_ref().map(Vec::len), Some(2));
        // Without a `.files`, no lists.
        let merged = merge(&x86(), vec![entry("a", "x86_64", None)], None).unwrap();
        assert_eq!(merged[0].files, None);
    }

    #[test]
    fn databases_that_disagree_or_list_another_architecture_are_refused() {
        let db = || vec![entry("a", "x86_64", None), entry("b", "any", None)];
        let fewer = vec![entry("a", "x86_64", Some(&[]))];
        let err = merge(&x86(), db(), Some(fewer)).unwrap_err().to_string();
        assert!(err.contains("2 packages and the .files 1"), "{err}");
        let other = vec![
            entry("a", "x86_64", Some(&[])),
            entry("c", "any", Some(&[])),
        ];
        let err = merge(&x86(), db(), Some(other)).unwrap_err().to_string();
        assert!(err.contains("does not list b-1.0-1-any"), "{err}");
        let foreign = vec![entry("arm", "aarch64", None)];
        let err = merge(&x86(), foreign, None).unwrap_err().to_string();
        assert!(
            err.contains("lists arm-1.0-1-aarch64.pkg.tar.zst for aarch64"),
            "{err}"
        );
    }
}
