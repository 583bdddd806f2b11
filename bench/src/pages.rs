//! Scenario 8: the web UI's pages on a 100,000-package catalogue.
//!
//! The catalogue is loaded through the library (`Catalogue`, as the api and the parse job
//! would) into a running Rieter's database and blob store, and published by its worker. Then
//! each page is requested one at a time (no concurrency: the figure is the server time of one
//! page, not throughput) and its latency percentiles are compared with the server's cheapest
//! answer, the embedded stylesheet, measured in the same run. Target: p95 ≤ 20 ms per page.
//!
//! The packages form a dependency tree (each depends on its parent, so a package page resolves
//! dependencies and finds dependents), and all depend on `glibc`, which is in the repository:
//! its page is the worst case of "required by".

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use rieter::blobs::{BlobStore, Location, S3Options};
use rieter::names::{DistroName, RepoName};
use rieter::storage::Storage;
use rieter_e2e::{Options, Rieter};

use crate::Opts;
use crate::catalogue::Catalogue;
use crate::report::{Quantity, Row};
use crate::synth::{self, Spec};

const DISTRO: &str = "bench";
const REPO: &str = "pages";
const TARGET_MS: f64 = 20.0;

/// The catalogue: the three libraries everything depends on, then a tree of packages.
fn specs(count: usize) -> Vec<Spec> {
    let mut specs: Vec<Spec> = ["glibc", "gcc-libs", "zlib"]
        .into_iter()
        .map(|name| Spec::new(name, 4, 64))
        .collect();
    specs.extend((0..count - specs.len()).map(|i| {
        let spec = Spec::new(format!("pkg-{i:06}"), 4, 64);
        if i == 0 {
            spec
        } else {
            spec.depends(vec![format!("pkg-{:06}", (i - 1) / 2)])
        }
    }));
    specs
}

/// Latencies of `rounds` sequential requests of `path`, after a few unmeasured ones.
async fn measure(
    client: &reqwest::Client,
    rieter: &Rieter,
    path: &str,
    rounds: usize,
) -> anyhow::Result<Vec<f64>> {
    let url = rieter.url(path);
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds + 5 {
        let started = Instant::now();
        let resp = client.get(&url).send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        let elapsed = started.elapsed().as_secs_f64();
        ensure!(status.is_success(), "GET {path}: {status}");
        ensure!(!body.is_empty(), "GET {path}: an empty body");
        if round >= 5 {
            times.push(elapsed);
        }
    }
    Ok(times)
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Waits until every architecture of the repository has published its last change.
async fn wait_published(rieter: &Rieter) -> anyhow::Result<()> {
    let pool = rieter.db.pool().await?;
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let pending: i64 =
            sqlx::query_scalar("select count(*) from repo_arches where built_seq < change_seq")
                .fetch_one(&pool)
                .await?;
        if pending == 0 {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "the catalogue was not published");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    let count = if opts.quick { 2_000 } else { 100_000 };
    let rounds = if opts.quick { 40 } else { 200 };
    let dir = synth::inputs_dir(&format!("pages-{count}"));
    eprintln!("generating {count} packages in {}", dir.display());
    let files = synth::write_all(&specs(count), &dir)?;

    let mut rieter = Rieter::start(Options {
        workers: 1,
        env: vec![("RUST_LOG".to_owned(), "warn".to_owned())],
        ..Options::default()
    })
    .await?;
    // The catalogue is parsed here, in process; the worker publishes it once it is loaded.
    rieter.terminate_worker(0);
    let pool = rieter.db.pool().await?;
    let scratch = tempfile::tempdir_in(rieter.data_dir())?;
    let catalogue = Catalogue {
        pool: pool.clone(),
        storage: Storage::open(scratch.path())?,
        blobs: BlobStore::open(
            &Location::Local(rieter.data_dir().join("blobs")),
            &S3Options::default(),
        )?,
        distro: DistroName::parse(DISTRO)?,
        repo: RepoName::parse(REPO)?,
    };
    let started = Instant::now();
    catalogue.add_all(&files).await?;
    eprintln!(
        "catalogue loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The parse jobs the uploads queued were done here already.
    sqlx::query("delete from apalis.jobs where job_type = 'rieter.parse_upload'")
        .execute(&pool)
        .await?;
    // What autovacuum would have done long before a catalogue reaches this size: statistics,
    // and the visibility map that lets counts read the index alone.
    sqlx::query("vacuum (analyze)").execute(&pool).await?;
    rieter.start_worker(0)?;
    wait_published(&rieter).await?;
    eprintln!(
        "catalogue published after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::new();
    let home = client.get(rieter.url("/")).send().await?.text().await?;
    let stylesheet = home
        .split('"')
        .find(|s| s.starts_with("/static/style-"))
        .context("the home page links no stylesheet")?
        .to_owned();
    let leaf = format!("pkg-{:06}", count / 2);
    let inner = format!("pkg-{:06}", count / 8);
    let pages: Vec<(String, String)> = vec![
        ("home".to_owned(), "/".to_owned()),
        (
            "search, one exact name".to_owned(),
            format!("/search?q={inner}"),
        ),
        (
            "search, a word in every description".to_owned(),
            "/search?q=synthetic".to_owned(),
        ),
        (
            "search, a word in every description, page 20".to_owned(),
            "/search?q=synthetic&page=20".to_owned(),
        ),
        (
            "repository, first page by name".to_owned(),
            format!("/{DISTRO}/{REPO}"),
        ),
        (
            "repository, page 100 by build date".to_owned(),
            format!("/{DISTRO}/{REPO}?sort=build_date&order=desc&page=100"),
        ),
        (
            "package with dependents".to_owned(),
            format!("/packages/{DISTRO}/{REPO}/x86_64/{inner}"),
        ),
        (
            "package, a leaf".to_owned(),
            format!("/packages/{DISTRO}/{REPO}/x86_64/{leaf}"),
        ),
        (
            format!("package required by all {count}"),
            format!("/packages/{DISTRO}/{REPO}/x86_64/glibc"),
        ),
    ];

    // The baseline first and last, to see whether the machine's load changed meanwhile.
    let baseline_before = measure(&client, &rieter, &stylesheet, rounds).await?;
    let mut measured = Vec::new();
    for (name, path) in &pages {
        let times = measure(&client, &rieter, path, rounds).await?;
        eprintln!(
            "{name}: p50 {:.2} ms, p95 {:.2} ms",
            percentile(&times, 0.5) * 1e3,
            percentile(&times, 0.95) * 1e3
        );
        measured.push((name, times));
    }
    let baseline_after = measure(&client, &rieter, &stylesheet, rounds).await?;
    let baseline: Vec<f64> = baseline_before.into_iter().chain(baseline_after).collect();
    let baseline_p95 = percentile(&baseline, 0.95);

    let mut rows = Vec::new();
    for (name, times) in measured {
        let p95 = percentile(&times, 0.95);
        rows.push(
            Row::new(
                format!("pages: {name}, p95 of {rounds} ({count} pkgs)"),
                Quantity::Seconds(p95),
            )
            .baseline("the stylesheet, p95", Quantity::Seconds(baseline_p95))
            .target(format!("≤ {TARGET_MS} ms"), p95 * 1e3 <= TARGET_MS),
        );
    }
    Ok(rows)
}
