//! The invariants that must hold after any sequence of uploads, removals, crashes and faults,
//! checked from the outside: the database, the served files, the data directory and pacman.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use sha2::{Digest, Sha256};

use crate::Rieter;
use crate::pacman::Pacman;

/// What the check saw.
#[derive(Debug, Default)]
pub struct Report {
    pub uploads: i64,
    pub published: i64,
    pub failed: i64,
    pub repo_arches: usize,
    pub packages_served: usize,
    pub rebuilds: i64,
}

/// One entry of a served database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DbEntry {
    pub name: String,
    pub version: String,
    pub filename: String,
    pub csize: u64,
    pub sha256: String,
}

/// Reads a database archive (concatenated gzip members of a tar) into its entries.
pub fn parse_db(bytes: &[u8]) -> anyhow::Result<Vec<DbEntry>> {
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(bytes));
    let mut entries = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if !path.ends_with("/desc") {
            continue;
        }
        let mut desc = String::new();
        entry.read_to_string(&mut desc)?;
        let field = |key: &str| -> anyhow::Result<String> {
            let marker = format!("%{key}%\n");
            let start = desc
                .find(&marker)
                .with_context(|| format!("{path}: no {key}"))?
                + marker.len();
            Ok(desc[start..].lines().next().unwrap_or_default().to_owned())
        };
        entries.push(DbEntry {
            name: field("NAME")?,
            version: field("VERSION")?,
            filename: field("FILENAME")?,
            csize: field("CSIZE")?.parse()?,
            sha256: field("SHA256SUM")?,
        });
    }
    entries.sort();
    Ok(entries)
}

impl Rieter {
    /// The entries of the database served at `path` (`/{distro}/{repo}/{arch}/{repo}.db`).
    pub async fn served_db(&self, path: &str) -> anyhow::Result<Vec<DbEntry>> {
        let resp = self.client.get(self.url(path)).send().await?;
        ensure!(resp.status() == 200, "GET {path}: {}", resp.status());
        parse_db(&resp.bytes().await?)
    }

    /// Waits until every upload is final and every repository architecture's live database
    /// reflects every change (nothing queued, nothing pending).
    pub async fn wait_quiescent(&self, timeout: Duration) -> anyhow::Result<()> {
        let pool = self.db.pool().await?;
        let deadline = Instant::now() + timeout;
        loop {
            let (unfinished, unbuilt): (i64, i64) = sqlx::query_as(
                "select (select count(*) from uploads where status not in ('published', 'failed')),
                        (select count(*) from repo_arches
                         where change_seq > built_seq or regen_pending)",
            )
            .fetch_one(&pool)
            .await?;
            if unfinished == 0 && unbuilt == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "not quiescent after {timeout:?}: {unfinished} unfinished uploads, \
                     {unbuilt} repository architectures awaiting a build\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Checks every invariant (see the module doc) and says what it saw.
    pub async fn check_invariants(&self) -> anyhow::Result<Report> {
        let pool = self.db.pool().await?;
        let mut report = Report::default();
        (report.uploads, report.published, report.failed) = sqlx::query_as(
            "select count(*), count(*) filter (where status = 'published'),
                    count(*) filter (where status = 'failed') from uploads",
        )
        .fetch_one(&pool)
        .await?;
        ensure!(
            report.uploads == report.published + report.failed,
            "uploads without a final status: {report:?}"
        );
        report.rebuilds =
            sqlx::query_scalar("select coalesce(sum(build_count), 0)::bigint from repo_arches")
                .fetch_one(&pool)
                .await?;

        // Every architecture serves exactly the catalogue's current packages, and every file
        // its database names is there with the right size and checksum.
        let arches: Vec<(String, String, String, i64)> = sqlx::query_as(
            "select d.name, r.name, ra.arch, r.id from repo_arches ra
             join repos r on r.id = ra.repo_id join distros d on d.id = r.distro_id
             order by 1, 2, 3",
        )
        .fetch_all(&pool)
        .await?;
        report.repo_arches = arches.len();
        // (distro, repo) -> (pacman Server line, packages served for x86_64)
        let mut x86_views: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
        for (distro, repo, arch, repo_id) in &arches {
            let expected: BTreeSet<(String, String, String, String)> = sqlx::query_as(
                "select name, version, filename, sha256 from packages
                 where repo_id = $1 and (arch = $2 or arch = 'any')",
            )
            .bind(repo_id)
            .bind(arch)
            .fetch_all(&pool)
            .await?
            .into_iter()
            .collect();
            let base = format!("/{distro}/{repo}/{arch}");
            for db in [format!("{repo}.db"), format!("{repo}.files")] {
                let bytes = self.fetch(&format!("{base}/{db}")).await?;
                let served = parse_db(&bytes).with_context(|| format!("{base}/{db}"))?;
                let names: BTreeSet<&str> = served.iter().map(|e| e.name.as_str()).collect();
                ensure!(
                    names.len() == served.len(),
                    "{base}/{db} lists a name twice"
                );
                let served_set: BTreeSet<(String, String, String, String)> = served
                    .iter()
                    .map(|e| {
                        (
                            e.name.clone(),
                            e.version.clone(),
                            e.filename.clone(),
                            e.sha256.clone(),
                        )
                    })
                    .collect();
                ensure!(
                    served_set == expected,
                    "{base}/{db} differs from the catalogue:\nserved {served_set:?}\nexpected {expected:?}"
                );
                if db.ends_with(".db") {
                    for entry in &served {
                        let file = self.fetch(&format!("{base}/{}", entry.filename)).await?;
                        ensure!(
                            file.len() as u64 == entry.csize,
                            "{base}/{}: size",
                            entry.filename
                        );
                        ensure!(
                            hex::encode(Sha256::digest(&file)) == entry.sha256,
                            "{base}/{}: checksum",
                            entry.filename
                        );
                        report.packages_served += 1;
                    }
                    if arch == "x86_64" {
                        let server = format!("{}/{distro}/{repo}/$arch", self.base_url);
                        x86_views.insert((distro.clone(), repo.clone()), (server, served.len()));
                    }
                }
            }
        }

        // The `blobs` table records exactly the blobs something refers to (once the sweeps
        // have collected the rest), and the store holds every one of them.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let referenced: BTreeSet<String> = sqlx::query_scalar(
                "select sha256 from packages union select digest from published_files
                 union select sha256 from uploads where status in ('queued', 'processing')",
            )
            .fetch_all(&pool)
            .await?
            .into_iter()
            .collect();
            let recorded: BTreeSet<String> = sqlx::query_scalar("select digest from blobs")
                .fetch_all(&pool)
                .await?
                .into_iter()
                .collect();
            let stored: BTreeSet<String> = self.blob_files().into_iter().collect();
            // Stored objects no row records (a claim whose transaction failed, or a process
            // killed between storing and committing) are harmless, and collected after an
            // hour; every recorded blob must be stored.
            if recorded == referenced && stored.is_superset(&recorded) {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "blobs: {} stored, {} recorded, {} referenced; referenced but not stored: {:?}",
                stored.len(),
                recorded.len(),
                referenced.len(),
                referenced.difference(&stored).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        ensure!(self.partial_uploads() == 0, "partial uploads remain");

        // And a real pacman agrees, for the x86_64 view of each repository.
        for ((_, repo), (server, served)) in &x86_views {
            let pacman = Pacman::new(&[(repo, server)])?;
            pacman.ok(&["-Sy"])?;
            let listed = pacman.ok(&["-Sl", repo])?;
            let count = listed
                .lines()
                .filter(|l| l.starts_with(&format!("{repo} ")))
                .count();
            ensure!(
                count == *served,
                "pacman lists {count} packages of {server}, the server {served}"
            );
        }
        Ok(report)
    }

    async fn fetch(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let resp = self.client.get(self.url(path)).send().await?;
        ensure!(resp.status() == 200, "GET {path}: {}", resp.status());
        Ok(resp.bytes().await?.to_vec())
    }
}
