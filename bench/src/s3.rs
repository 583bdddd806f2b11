//! Scenario 7: the S3 blob store against the local one, and against the S3 server itself.
//!
//! Both figures run on s3s-fs (the S3 server the tests use, on this machine): the same burst of
//! uploads as scenario 2, published through an S3 store and through the local directory in the
//! same run; and a 10 MiB package streamed through the api from S3, against downloading the
//! same object straight from the S3 server with a presigned URL.

use std::time::Duration;

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use rieter_e2e::{Options, Rieter};

use crate::Opts;
use crate::ingest;
use crate::report::{Quantity, Row};
use crate::serve::{self, Load};

/// The burst on S3 may take this much longer than on the local directory.
const BURST_TARGET: f64 = 1.5;
/// Streaming through the api must reach this share of a direct download.
const SERVE_TARGET: f64 = 0.8;
const ROUNDS: usize = 2;

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    let mut rows = burst(opts).await?;
    rows.extend(serve_package(opts).await?);
    Ok(rows)
}

async fn burst(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    let count = if opts.quick { 200 } else { 1000 };
    let files = ingest::small_packages(count, "burst")?;
    let mut took = Vec::new();
    for s3 in [false, true] {
        // Each store with its own default parse concurrency (one per CPU, three on S3: see
        // `WorkerConfig::parse_concurrency`), set explicitly as the test harness sets its own.
        let mut options = ingest::options(ingest::QUIET_SECS);
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let parses = if s3 { 3 * cpus } else { cpus };
        options
            .env
            .retain(|(key, _)| key != "RIETER_PARSE_CONCURRENCY");
        options
            .env
            .push(("RIETER_PARSE_CONCURRENCY".to_owned(), parses.to_string()));
        let mut rieter = Rieter::start(Options {
            s3,
            private_data_dirs: s3,
            ..options
        })
        .await?;
        let result = ingest::run_burst(&rieter, &files).await;
        rieter.stop();
        let (seconds, rebuilds) = result?;
        let store = if s3 { "S3" } else { "local" };
        eprintln!("{store}: {count} uploads published in {seconds:.2} s, {rebuilds} rebuild(s)");
        took.push(seconds);
    }
    let (local, s3) = (took[0], took[1]);
    Ok(vec![
        Row::new(
            format!(
                "s3: {count} uploads, {} clients, to all published, S3 store (quiet period {} s)",
                ingest::CLIENTS,
                ingest::QUIET_SECS
            ),
            Quantity::Seconds(s3),
        )
        .baseline("the same on the local store", Quantity::Seconds(local))
        .target(
            format!("≤ {BURST_TARGET}× local"),
            s3 <= local * BURST_TARGET,
        ),
    ])
}

async fn serve_package(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    let load = Load {
        threads: 2,
        connections: 64,
        seconds: if opts.quick { 3 } else { 10 },
    };
    let (_, big) = serve::inputs()?;
    let mut rieter = Rieter::start(Options {
        workers: 1,
        s3: true,
        private_data_dirs: true,
        env: vec![("RUST_LOG".to_owned(), "warn".to_owned())],
        ..Options::default()
    })
    .await?;
    serve::publish(&rieter, [&big].into_iter()).await?;
    let name = big
        .file_name()
        .and_then(|n| n.to_str())
        .context("package file name")?;
    let path = format!("/{}/{}/{}/{name}", serve::DISTRO, serve::REPO, serve::ARCH);

    // The object's own URL, from an api configured to hand out presigned URLs.
    let presigning = rieter
        .start_another_api_with(&[("RIETER_PRESIGNED_URL_SECS", "3600")])
        .await?;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let resp = no_redirects
        .get(format!("{presigning}{path}"))
        .send()
        .await?;
    ensure!(
        resp.status() == StatusCode::TEMPORARY_REDIRECT,
        "presigning api answered {}",
        resp.status()
    );
    let direct = resp.headers()["location"].to_str()?.to_owned();

    let through_api = rieter.url(&path);
    let expected = std::fs::metadata(&big)?.len();
    for url in [&through_api, &direct] {
        let body = no_redirects
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        ensure!(
            body.len() as u64 == expected,
            "{url} sent {} bytes",
            body.len()
        );
    }
    let mut best = [0.0f64; 2];
    for round in 0..ROUNDS {
        for (i, url) in [&through_api, &direct].into_iter().enumerate() {
            let rate = load.run(url, &[])?;
            let who = ["through the api", "direct"][i];
            eprintln!("S3 10 MiB package {who}, run {}: {rate:.1}/s", round + 1);
            best[i] = best[i].max(rate);
        }
    }
    rieter.stop();
    let ratio = best[0] / best[1];
    Ok(vec![
        Row::new(
            "s3: GET 10 MiB package through the api, rps",
            Quantity::PerSecond(best[0]),
        )
        .baseline(
            "the same object straight from the S3 server (presigned GET)",
            Quantity::PerSecond(best[1]),
        )
        .target(format!("≥ {SERVE_TARGET}× direct"), ratio >= SERVE_TARGET),
    ])
}
