//! Scenario 1: regenerating a large repository's databases, against repo-add.
//!
//! Figures: the full rebuild (every entry rendered and compressed from the parsed packages,
//! both archives written), the regeneration job's rebuild of the whole repository from the
//! catalogue (entries pre-rendered at parse time), and the rebuild after one package is added.
//! Baselines: repo-add building the database in one call, and repo-add adding the one package
//! to the same database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use rieter::blobs::{BlobStore, Location, S3Options};
use rieter::db::regen::{self, Timing};
use rieter::names::{DistroName, RepoName};
use rieter::package::{self, Limits, ParsedPackage};
use rieter::regenerate::{self, Rebuild};
use rieter::repo_db::{self, DbEntry};
use rieter::storage::Storage;
use rieter_e2e::TestDatabase;

use crate::Opts;
use crate::catalogue::Catalogue;
use crate::report::{Quantity, Row};
use crate::synth::{self, Spec};

const ADDED_SAMPLES: usize = 5;

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    let count = if opts.quick { 500 } else { 10_000 };
    let dir = synth::inputs_dir(&format!("regen-{count}"));
    eprintln!(
        "generating {count} packages (about 50 files each) in {}",
        dir.display()
    );
    let specs: Vec<Spec> = (0..count)
        .map(|i| Spec::new(format!("bench-{i:05}"), 10 + (i * 37) % 81, 64))
        .collect();
    let files = synth::write_all(&specs, &dir)?;
    let added_specs: Vec<Spec> = (0..ADDED_SAMPLES)
        .map(|i| Spec::new(format!("added-{i}"), 50, 64))
        .collect();
    let added = synth::write_all(&added_specs, &dir.join("added"))?;
    let mean_files = specs.iter().map(|s| s.files).sum::<usize>() as f64 / count as f64;
    eprintln!("{count} packages, {mean_files:.1} files each on average");

    // The full rebuild from nothing, in process: render every entry, write both archives.
    let parsed = parse_all(&files)?;
    let work = tempfile::tempdir()?;
    let full = full_render(&parsed, work.path())?;

    // The regeneration step on a real catalogue.
    let db = TestDatabase::create().await?;
    let pool = rieter::db::open(db.url(), 8, true).await?;
    let data = tempfile::tempdir()?;
    let catalogue = Catalogue {
        pool: pool.clone(),
        storage: Storage::open(data.path())?,
        blobs: BlobStore::open(
            &Location::Local(data.path().join("blobs")),
            &S3Options::default(),
        )?,
        distro: DistroName::parse("bench")?,
        repo: RepoName::parse("large")?,
    };
    let started = Instant::now();
    catalogue.add_all(&files).await?;
    eprintln!(
        "catalogue loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let repo_arch_id = repo_arch(&pool).await?;
    // A live catalogue has been analysed by autovacuum long before it holds 10,000 packages;
    // this one was loaded in seconds, and stale statistics would pick a sort spilling to disk.
    sqlx::query("analyze").execute(&pool).await?;
    let first = timed_rebuild(&catalogue, repo_arch_id, count).await?;
    // The database before the samples are added: where repo-add starts from.
    let base = work.path().join("base");
    std::fs::create_dir_all(&base)?;
    for name in ["large.db.tar.gz", "large.files.tar.gz"] {
        std::fs::copy(catalogue.published("x86_64", name).await?, base.join(name))?;
    }
    let mut after_one = Vec::new();
    for (i, file) in added.iter().enumerate() {
        catalogue.add(file).await?;
        after_one.push(timed_rebuild(&catalogue, repo_arch_id, count + i + 1).await?);
    }
    check_entries(
        &catalogue.published("x86_64", "large.db.tar.gz").await?,
        count + ADDED_SAMPLES,
    )?;

    // Baselines.
    let (repo_add_one, repo_add_full, full_label) = if opts.skip_baselines {
        (f64::NAN, f64::NAN, "(skipped)".to_owned())
    } else {
        let one = repo_add_one(&base, &added, work.path())?;
        let (full, label) = repo_add_full(&files, opts, work.path())?;
        (one, full, label)
    };

    let median_one = median(after_one);
    Ok(vec![
        Row::new(
            format!("regen: full rebuild, {count} pkgs (render + compress all)"),
            Quantity::Seconds(full),
        )
        .baseline(full_label.clone(), Quantity::Seconds(repo_add_full))
        .target("< 1 s", full < 1.0),
        Row::new(
            format!("regen: job rebuild, {count} pkgs (first publish)"),
            Quantity::Seconds(first),
        )
        .baseline(full_label, Quantity::Seconds(repo_add_full))
        .target("< 1 s", first < 1.0),
        Row::new(
            format!("regen: job rebuild after +1 pkg (median of {ADDED_SAMPLES})"),
            Quantity::Seconds(median_one),
        )
        .baseline(
            "repo-add of 1 pkg to the same db",
            Quantity::Seconds(repo_add_one),
        )
        .target("< 100 ms", median_one < 0.1),
    ])
}

fn parse_all(files: &[PathBuf]) -> anyhow::Result<Vec<(ParsedPackage, u64)>> {
    files
        .iter()
        .map(|f| {
            let parsed = package::parse_file(f, &Limits::default())
                .with_context(|| f.display().to_string())?;
            Ok((parsed, std::fs::metadata(f)?.len()))
        })
        .collect()
}

/// Renders and compresses every entry (on every core, as the workers would) and writes both
/// archives: what a rebuild without any cached entries costs.
fn full_render(parsed: &[(ParsedPackage, u64)], dir: &Path) -> anyhow::Result<f64> {
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = parsed.len().div_ceil(threads).max(1);
    let members = std::thread::scope(|scope| {
        let handles: Vec<_> = parsed
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(p, size)| {
                            let hash = "0".repeat(64);
                            let entry = DbEntry::new(
                                &p.info,
                                p.filename().as_str(),
                                *size as i64,
                                &hash[..32],
                                &hash,
                            );
                            repo_db::render_members(&entry, &p.files)
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("render thread panicked"))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let members: Vec<_> = members.into_iter().flatten().collect();
    let db = std::fs::File::create(dir.join("full.db.tar.gz"))?;
    repo_db::write_archive(std::io::BufWriter::new(db), members.iter().map(|m| &m.db))?;
    let files = std::fs::File::create(dir.join("full.files.tar.gz"))?;
    repo_db::write_archive(
        std::io::BufWriter::new(files),
        members.iter().map(|m| &m.files),
    )?;
    Ok(started.elapsed().as_secs_f64())
}

async fn repo_arch(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar::<_, i64>("select id from repo_arches where arch = 'x86_64'")
            .fetch_one(pool)
            .await?,
    )
}

/// Plans (with no quiet period) and rebuilds, as the regeneration job does once the repository
/// is quiet; returns the wall time of both.
async fn timed_rebuild(
    catalogue: &Catalogue,
    repo_arch_id: i64,
    expect: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let timing = Timing {
        quiet: Duration::ZERO,
        max_delay: Duration::ZERO,
        poll: Duration::from_millis(500),
        hold: Duration::ZERO,
    };
    let regen::Plan::Build(target) = regen::plan(&catalogue.pool, repo_arch_id, timing).await?
    else {
        anyhow::bail!("the repository did not need a rebuild");
    };
    let rebuilt = regenerate::rebuild(
        &catalogue.pool,
        &catalogue.blobs,
        catalogue.storage.scratch_dir(),
        &target,
        Duration::from_secs(600),
        None,
    )
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let Rebuild::Published {
        packages, phases, ..
    } = rebuilt
    else {
        anyhow::bail!("rebuild gave {rebuilt:?}");
    };
    ensure!(
        packages == expect,
        "rebuilt {packages} packages, expected {expect}"
    );
    eprintln!("rebuild of {packages} packages: {elapsed:.3} s; {phases:?}");
    Ok(elapsed)
}

/// Counts the `desc` entries of a published database with bsdtar (libarchive, as pacman reads
/// it), so the figures are for databases pacman can read.
pub fn check_entries(db: &Path, expect: usize) -> anyhow::Result<()> {
    let out = Command::new("bsdtar").arg("-tf").arg(db).output()?;
    ensure!(
        out.status.success(),
        "bsdtar failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let descs = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.ends_with("/desc"))
        .count();
    ensure!(
        descs == expect,
        "the database lists {descs} packages, expected {expect}"
    );
    Ok(())
}

/// repo-add adding each sample package to a copy of the database Rieter published before the
/// samples were added (content repo-add itself would have written); returns the median time.
fn repo_add_one(base: &Path, added: &[PathBuf], work: &Path) -> anyhow::Result<f64> {
    let dir = work.join("repo-add-one");
    let mut times = Vec::new();
    for file in added {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        for name in ["large.db.tar.gz", "large.files.tar.gz"] {
            std::fs::copy(base.join(name), dir.join(name))?;
        }
        let started = Instant::now();
        repo_add(&dir.join("large.db.tar.gz"), std::slice::from_ref(file))?;
        times.push(started.elapsed().as_secs_f64());
    }
    Ok(median(times))
}

/// repo-add building the whole database in one call. Without `--full-baselines` on the large
/// input, it runs on the first 1,000 packages and the time is scaled to the full count
/// (repo-add's cost per package is flat or growing, so this understates it).
fn repo_add_full(files: &[PathBuf], opts: &Opts, work: &Path) -> anyhow::Result<(f64, String)> {
    let sample = if opts.full_baselines || files.len() <= 1000 {
        files.len()
    } else {
        1000
    };
    let dir = work.join("repo-add-full");
    std::fs::create_dir_all(&dir)?;
    eprintln!("repo-add: building a database of {sample} packages in one call");
    let started = Instant::now();
    repo_add(&dir.join("large.db.tar.gz"), &files[..sample])?;
    let took = started.elapsed().as_secs_f64();
    if sample == files.len() {
        Ok((took, "repo-add, 1 call".to_owned()))
    } else {
        let scaled = took * files.len() as f64 / sample as f64;
        Ok((scaled, format!("repo-add, 1 call (scaled from {sample})")))
    }
}

pub fn repo_add(db: &Path, files: &[PathBuf]) -> anyhow::Result<()> {
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = Command::new("repo-add")
        .arg("--quiet")
        .arg(db)
        .args(files)
        .output()
        .context("running repo-add")?;
    ensure!(
        out.status.success(),
        "repo-add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
