//! Scenarios 2 and 6: a burst of uploads through the real api and workers, against repo-add;
//! and the latency of one upload on an idle server, against the quiet period it must wait.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use rieter_e2e::{Options, Rieter};
use serde_json::Value;

use crate::Opts;
use crate::regen::{median, repo_add};
use crate::report::{Quantity, Row};
use crate::synth::{self, Spec};

pub const CLIENTS: usize = 32;
/// The shipped default (worker `quiet_period_secs`): both scenarios run with what users get.
pub const QUIET_SECS: f64 = 3.0;
/// A shorter quiet period, for a repository fed by CI in bursts: the burst is also measured
/// with it, since the quiet period is a fixed part of the burst's time.
const SHORT_QUIET_SECS: f64 = 1.0;

pub fn options(quiet_period_secs: f64) -> Options {
    Options {
        workers: 2,
        quiet_period_secs,
        max_regen_delay_secs: 60.0,
        env: vec![
            // Logging and the per-process defaults users run with.
            ("RUST_LOG".to_owned(), "warn".to_owned()),
            (
                "RIETER_PARSE_CONCURRENCY".to_owned(),
                num_cpus().to_string(),
            ),
        ],
        ..Options::default()
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Small packages like the ones a CI pipeline publishes.
pub fn small_packages(count: usize, prefix: &str) -> anyhow::Result<Vec<PathBuf>> {
    let specs: Vec<Spec> = (0..count)
        .map(|i| Spec::new(format!("{prefix}-{i:04}"), 8, 2048))
        .collect();
    synth::write_all(&specs, &synth::inputs_dir(&format!("{prefix}-{count}")))
}

pub async fn burst(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    let count = if opts.quick { 200 } else { 1000 };
    let files = small_packages(count, "burst")?;
    let mut bursts = Vec::new();
    for quiet in [QUIET_SECS, SHORT_QUIET_SECS] {
        let mut rieter = Rieter::start(options(quiet)).await?;
        let result = run_burst(&rieter, &files).await;
        rieter.stop();
        let (took, rebuilds) = result?;
        eprintln!(
            "quiet {quiet} s: {count} uploads published in {took:.2} s with {rebuilds} rebuild(s)"
        );
        bursts.push((quiet, took, rebuilds));
    }

    let (one_call, per_package, loop_label) = if opts.skip_baselines {
        (f64::NAN, f64::NAN, "(skipped)".to_owned())
    } else {
        let work = tempfile::tempdir()?;
        let started = Instant::now();
        repo_add(&work.path().join("one/burst.db.tar.gz"), &files)?;
        let one_call = started.elapsed().as_secs_f64();
        let (per_package, label) = repo_add_loop(&files, opts, &work.path().join("loop"))?;
        (one_call, per_package, label)
    };

    let mut rows = Vec::new();
    for (quiet, took, rebuilds) in bursts {
        rows.push(
            Row::new(
                format!("ingest: {count} uploads, {CLIENTS} clients, api + 2 workers, to all published (quiet period {quiet} s)"),
                Quantity::Seconds(took),
            )
            .baseline("repo-add, 1 call", Quantity::Seconds(one_call))
            .target("≥ 10× faster (ratio ≤ 0.1)", took * 10.0 <= one_call),
        );
        rows.push(
            Row::new(
                format!("ingest: the same burst (quiet period {quiet} s)"),
                Quantity::Seconds(took),
            )
            .baseline(loop_label.clone(), Quantity::Seconds(per_package)),
        );
        rows.push(
            Row::new(
                format!("ingest: rebuilds of the repository architecture (quiet period {quiet} s)"),
                Quantity::Count(rebuilds),
            )
            .target("≤ 5", rebuilds <= 5),
        );
    }
    Ok(rows)
}

/// Uploads every file with `CLIENTS` concurrent clients and waits until all are published.
/// Returns the time from the first byte sent to the last upload published, and the number of
/// rebuilds the server counted.
pub async fn run_burst(rieter: &Rieter, files: &[PathBuf]) -> anyhow::Result<(f64, u64)> {
    // Bodies are read before the clock starts: the disk is not what is measured.
    let bodies: Vec<bytes::Bytes> = files
        .iter()
        .map(|f| std::fs::read(f).map(bytes::Bytes::from))
        .collect::<Result<_, _>>()?;
    let next = Mutex::new(bodies.iter());
    let started = Instant::now();
    let clients = (0..CLIENTS).map(|_| async {
        let mut ids = Vec::new();
        loop {
            let Some(body) = next.lock().expect("queue lock").next().cloned() else {
                return anyhow::Ok(ids);
            };
            ids.push(upload(rieter, "bench/burst", body).await?);
        }
    });
    let ids: Vec<String> = futures::future::try_join_all(clients)
        .await?
        .into_iter()
        .flatten()
        .collect();
    ensure!(
        ids.len() == files.len(),
        "{} uploads accepted of {}",
        ids.len(),
        files.len()
    );
    let accepted = started.elapsed().as_secs_f64();
    wait_all_published(rieter, files.len(), Duration::from_secs(600)).await?;
    let took = started.elapsed().as_secs_f64();
    eprintln!("all accepted after {accepted:.2} s");

    let pool = rieter.db.pool().await?;
    let (parsed, published): (f64, f64) = sqlx::query_as(
        "select extract(epoch from (select max(created_at) from packages)
                                   - (select min(created_at) from uploads))::float8,
                extract(epoch from (select max(published_at) from repo_arches)
                                   - (select max(created_at) from packages))::float8",
    )
    .fetch_one(&pool)
    .await?;
    eprintln!(
        "last package recorded {parsed:.2} s after the first upload; published {published:.2} s later"
    );
    let rebuilds: i64 =
        sqlx::query_scalar("select coalesce(sum(build_count), 0)::int8 from repo_arches")
            .fetch_one(&pool)
            .await?;
    let served = rieter
        .client
        .get(rieter.url("/bench/burst/x86_64/burst.db"))
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let db = tempfile::NamedTempFile::new()?;
    std::fs::write(db.path(), &served)?;
    crate::regen::check_entries(db.path(), files.len())?;
    Ok((took, rebuilds as u64))
}

async fn upload(rieter: &Rieter, target: &str, body: bytes::Bytes) -> anyhow::Result<String> {
    let resp = rieter
        .client
        .post(rieter.url(&format!("/{target}")))
        .bearer_auth(rieter_e2e::API_KEY)
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    let json: Value = resp.json().await?;
    ensure!(status == 202, "upload answered {status}: {json}");
    Ok(json["id"].as_str().context("upload id")?.to_owned())
}

/// Polls the uploads list until `count` uploads are published; fails on the first failed one.
async fn wait_all_published(
    rieter: &Rieter,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let failed = total(rieter, "failed").await?;
        ensure!(failed == 0, "{failed} uploads failed");
        if total(rieter, "published").await? >= count as u64 {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "uploads not all published within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn total(rieter: &Rieter, status: &str) -> anyhow::Result<u64> {
    let page: Value = rieter
        .client
        .get(rieter.url(&format!("/api/v1/uploads?status={status}&per_page=1")))
        .bearer_auth(rieter_e2e::API_KEY)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    page["total"].as_u64().context("total in the uploads page")
}

/// repo-add called once per package, as a CI pipeline publishing each build does. Without
/// `--full-baselines`, the first 100 calls are timed and scaled to the full count (each call
/// rewrites the whole database, so later calls cost more: this understates the loop).
fn repo_add_loop(files: &[PathBuf], opts: &Opts, dir: &Path) -> anyhow::Result<(f64, String)> {
    let sample = if opts.full_baselines {
        files.len()
    } else {
        files.len().min(100)
    };
    std::fs::create_dir_all(dir)?;
    let db = dir.join("burst.db.tar.gz");
    let started = Instant::now();
    for file in &files[..sample] {
        repo_add(&db, std::slice::from_ref(file))?;
    }
    let took = started.elapsed().as_secs_f64();
    if sample == files.len() {
        Ok((took, "repo-add, 1 call per package".to_owned()))
    } else {
        Ok((
            took * files.len() as f64 / sample as f64,
            format!("repo-add, 1 call per package (first {sample}, scaled)"),
        ))
    }
}

pub async fn latency(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    let samples = if opts.quick { 2 } else { 5 };
    let files = small_packages(samples + 1, "latency")?;
    let mut rieter = Rieter::start(options(QUIET_SECS)).await?;
    let result = run_latency(&rieter, &files).await;
    rieter.stop();
    let times = result?;
    eprintln!("upload to published: {times:?}");
    let median = median(times);
    Ok(vec![
        Row::new(
            format!("latency: 1 upload on an idle server to published (median of {samples})"),
            Quantity::Seconds(median),
        )
        .baseline("quiet period", Quantity::Seconds(QUIET_SECS))
        .target("≤ quiet + 300 ms", median <= QUIET_SECS + 0.3),
    ])
}

async fn run_latency(rieter: &Rieter, files: &[PathBuf]) -> anyhow::Result<Vec<f64>> {
    // The first upload creates the repository; the timed ones find it in place.
    let first = rieter.upload("bench/latency", &files[0]).await?;
    rieter
        .wait_for(&first, &["published"], Duration::from_secs(60))
        .await?;
    let mut times = Vec::new();
    for file in &files[1..] {
        // Idle: nothing queued, nothing pending, the last rebuild well past.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let body = bytes::Bytes::from(std::fs::read(file)?);
        let started = Instant::now();
        let id = upload(rieter, "bench/latency", body).await?;
        loop {
            let status = rieter.upload_status(&id).await?;
            match status["status"].as_str() {
                Some("published") => break,
                Some("failed") => anyhow::bail!("upload failed: {status}"),
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        times.push(started.elapsed().as_secs_f64());
    }
    Ok(times)
}
