//! Periodic maintenance, run by one worker at a time: re-queue uploads and regenerations whose
//! job was lost, fail uploads whose job gave up, delete package files past their grace period,
//! delete files and trees nothing refers to, prune old job rows.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rieter::db::locks::{self, Lock};
use rieter::db::{maintenance, regen, uploads};
use rieter::jobs::{self, ParseUpload};
use rieter::names::{ArchName, DistroName, RepoName};
use rieter::publish;
use uuid::Uuid;

use crate::error::JobError;
use crate::jobs::parse_upload;
use crate::state::{SharedState, WorkerState};

/// A blob or temporary file younger than this may belong to a request still in flight.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(600);
/// An unfinished upload untouched for this long, whose job is gone, is stranded.
const STRANDED_MIN_AGE_SECS: f64 = 30.0;
const FINISHED_JOB_RETENTION_DAYS: i32 = 7;

pub async fn run(state: SharedState) {
    let mut ticker = tokio::time::interval(Duration::from_secs(state.config.sweep_interval_secs));
    loop {
        ticker.tick().await;
        if let Err(err) = sweep_once(&state).await {
            tracing::warn!(error = %err, "maintenance sweep failed; retrying next interval");
        }
    }
}

/// One sweep, skipped when another worker is sweeping.
pub async fn sweep_once(state: &WorkerState) -> Result<(), JobError> {
    let mut lock_conn = state.pool.acquire().await?;
    if !locks::try_lock(&mut lock_conn, &Lock::Sweep).await? {
        return Ok(());
    }
    let result = sweep_locked(state).await;
    locks::unlock(&mut lock_conn, &Lock::Sweep).await?;
    result
}

async fn sweep_locked(state: &WorkerState) -> Result<(), JobError> {
    requeue_stranded_uploads(state).await?;
    requeue_stranded_regenerations(state).await?;
    delete_retired_files(state).await?;
    discard_orphaned_trees(state).await?;
    remove_orphaned_blobs(state).await?;
    let mut removed = rieter::scratch::remove_dead(&state.pool, &state.storage).await?;
    let storage = state.storage.clone();
    removed += tokio::task::spawn_blocking(move || storage.clean_tmp(ORPHAN_MIN_AGE)).await??;
    if removed > 0 {
        tracing::info!(files = removed, "removed abandoned temporary files");
    }
    let pruned = maintenance::prune_finished_jobs(&state.pool, FINISHED_JOB_RETENTION_DAYS).await?;
    if pruned > 0 {
        tracing::info!(jobs = pruned, "pruned finished job rows");
    }
    Ok(())
}

async fn requeue_stranded_uploads(state: &WorkerState) -> Result<(), JobError> {
    for stranded in uploads::stranded(&state.pool, STRANDED_MIN_AGE_SECS, 1000).await? {
        if stranded.job_gave_up {
            // The job's last error is ours to read, not the public uploads list's.
            tracing::warn!(
                upload.id = %stranded.id,
                last_error = stranded.last_result.as_deref().unwrap_or("unknown"),
                "failing upload whose job gave up"
            );
            let reason = uploads::internal_error_reason(stranded.id);
            parse_upload::fail(state, stranded.id, &reason).await?;
            continue;
        }
        let mut tx = state.pool.begin().await?;
        let job = ParseUpload {
            upload_id: stranded.id,
        };
        let job_id = jobs::enqueue(&mut tx, &job, Duration::ZERO)
            .await
            .map_err(rieter::db::DbError::from)?;
        uploads::set_job(&mut *tx, stranded.id, &job_id).await?;
        tx.commit().await?;
        tracing::warn!(upload.id = %stranded.id, "re-queued upload whose parse job was lost");
    }
    Ok(())
}

async fn remove_orphaned_blobs(state: &WorkerState) -> Result<(), JobError> {
    let dir = state.storage.blobs_dir();
    let candidates = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Uuid>> {
        let cutoff = std::time::SystemTime::now() - ORPHAN_MIN_AGE;
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let old = entry.metadata()?.modified()? < cutoff;
            if let (true, Some(id)) = (
                old,
                entry
                    .file_name()
                    .to_str()
                    .and_then(|n| Uuid::parse_str(n).ok()),
            ) {
                ids.push(id);
            }
        }
        Ok(ids)
    })
    .await??;
    for chunk in candidates.chunks(1000) {
        for id in maintenance::unreferenced_blobs(&state.pool, chunk).await? {
            tracing::info!(blob = %id, "removing orphaned blob");
            state.storage.remove_blob(id).await?;
        }
    }
    Ok(())
}

/// Queues a regeneration for architectures with unpublished changes and no pending job (their
/// job died with a worker), skipping those being built right now.
async fn requeue_stranded_regenerations(state: &WorkerState) -> Result<(), JobError> {
    for id in regen::stranded(&state.pool).await? {
        let key = Lock::Regenerate { repo_arch_id: id };
        let mut conn = state.pool.acquire().await?;
        if locks::try_lock(&mut conn, &key).await? {
            let requeued = regen::requeue(&state.pool, id).await;
            locks::unlock(&mut conn, &key).await?;
            requeued?;
            tracing::warn!(repo_arch.id = id, "re-queued a lost regeneration");
        }
    }
    Ok(())
}

/// Deletes package files whose grace period after leaving the database is over.
async fn delete_retired_files(state: &WorkerState) -> Result<(), JobError> {
    for file in regen::due_retired_files(&state.pool, 1000).await? {
        if !file.named {
            let (Ok(distro), Ok(repo), Ok(arch)) = (
                DistroName::parse(&file.distro),
                RepoName::parse(&file.repo),
                ArchName::parse(&file.arch),
            ) else {
                continue;
            };
            let Some(name) =
                Some(&file.filename).filter(|n| !n.contains('/') && !n.starts_with('.'))
            else {
                continue;
            };
            let path = state.storage.arch_dir(&distro, &repo, &arch).join(name);
            match tokio::fs::remove_file(&path).await {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
                _ => tracing::info!(file = %path.display(), "deleted a retired package file"),
            }
        }
        regen::forget_retired_file(&state.pool, file.repo_arch_id, &file.filename).await?;
    }
    Ok(())
}

/// Moves published trees that no repository architecture owns any more (left by a crash
/// between a removal's commit and its rename) to the trash, and empties the trash.
async fn discard_orphaned_trees(state: &WorkerState) -> Result<(), JobError> {
    // Directories are listed before rows are read: a directory seen here was created after its
    // row committed, so its row is visible below unless it was removed.
    let root = state.storage.repos_dir();
    let dirs = tokio::task::spawn_blocking(move || list_trees(&root)).await??;
    let paths = regen::all_paths(&state.pool).await?;
    let ids: HashMap<(&str, &str, &str), i64> = paths
        .iter()
        .map(|p| {
            (
                (p.distro.as_str(), p.repo.as_str(), p.arch.as_str()),
                p.repo_arch_id,
            )
        })
        .collect();
    let distros: HashSet<&str> = paths.iter().map(|p| p.distro.as_str()).collect();
    let repos: HashSet<(&str, &str)> = paths
        .iter()
        .map(|p| (p.distro.as_str(), p.repo.as_str()))
        .collect();
    for (path, distro, repo, arch) in dirs {
        let owner = match (&repo, &arch) {
            (None, _) => distros.contains(distro.as_str()).then_some(None),
            (Some(repo), None) => repos
                .contains(&(distro.as_str(), repo.as_str()))
                .then_some(None),
            (Some(repo), Some(arch)) => ids
                .get(&(distro.as_str(), repo.as_str(), arch.as_str()))
                .map(Some),
        };
        match owner {
            None => {
                tracing::info!(dir = %path.display(), "discarding a tree no repository owns");
                state.storage.discard_tree(&path).await?;
            }
            Some(Some(id)) => remove_build_leftovers(state, *id, path).await?,
            Some(None) => {}
        }
    }
    let storage = state.storage.clone();
    tokio::task::spawn_blocking(move || storage.empty_trash()).await??;
    Ok(())
}

type Tree = (PathBuf, String, Option<String>, Option<String>);

/// Distribution, repository and architecture directories under `root`, parents first.
fn list_trees(root: &Path) -> std::io::Result<Vec<Tree>> {
    let names = |dir: &Path| -> std::io::Result<Vec<(PathBuf, String)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir()
                && let Some(name) = entry.file_name().to_str()
            {
                out.push((entry.path(), name.to_owned()));
            }
        }
        Ok(out)
    };
    let mut trees = Vec::new();
    for (distro_path, distro) in names(root)? {
        trees.push((distro_path.clone(), distro.clone(), None, None));
        for (repo_path, repo) in names(&distro_path)? {
            trees.push((repo_path.clone(), distro.clone(), Some(repo.clone()), None));
            for (arch_path, arch) in names(&repo_path)? {
                trees.push((arch_path, distro.clone(), Some(repo.clone()), Some(arch)));
            }
        }
    }
    Ok(trees)
}

/// Deletes temporary files a build that died half-way left in an architecture's directory,
/// unless a build is running there now.
async fn remove_build_leftovers(
    state: &WorkerState,
    repo_arch_id: i64,
    dir: PathBuf,
) -> Result<(), JobError> {
    let has_leftovers = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || publish::has_leftovers(&dir)).await??
    };
    if !has_leftovers {
        return Ok(());
    }
    let key = Lock::Regenerate { repo_arch_id };
    let mut conn = state.pool.acquire().await?;
    if locks::try_lock(&mut conn, &key).await? {
        let removed = tokio::task::spawn_blocking(move || publish::remove_leftovers(&dir)).await?;
        locks::unlock(&mut conn, &key).await?;
        tracing::info!(
            repo_arch.id = repo_arch_id,
            files = removed?,
            "removed leftovers of an interrupted build"
        );
    }
    Ok(())
}
