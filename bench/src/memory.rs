//! Scenario 5: memory under load, as resident memory above the process's own idle figure.
//!
//! (a) The api receiving 32 concurrent uploads of a 64 MiB package: bodies must stream to disk,
//! never be held whole. (b) The worker parsing a 1 GiB package (one parse at a time): the
//! archive must be read as a stream. Peaks are the larger of 20 ms samples of `VmRSS` and the
//! kernel's high-water mark `VmHWM`, reset just before the load.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use rieter_e2e::{API_KEY, Options, Rieter};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::Opts;
use crate::report::{Quantity, Row};
use crate::synth::{self, Payload, Spec};
use rieter_e2e::procs;

const MIB: u64 = 1 << 20;
const TARGET_ABOVE_IDLE: u64 = 64 * MIB;
/// How long an idle process is left to settle (connections opened, first jobs polled).
const SETTLE: Duration = Duration::from_secs(2);

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    Ok(vec![api_uploads(opts).await?, worker_parse(opts).await?])
}

/// (a) Concurrent uploads into the api.
async fn api_uploads(opts: &Opts) -> anyhow::Result<Row> {
    let (clients, size_mib) = if opts.quick { (8, 16) } else { (32, 64) };
    let package = Spec::new(format!("memory-upload-{size_mib}"), size_mib, MIB as usize)
        .payload(Payload::Random)
        .write(&synth::inputs_dir("memory"))?;
    let rieter = Rieter::start(Options {
        workers: 1,
        max_upload_bytes: 2 * size_mib as u64 * MIB,
        env: vec![("RUST_LOG".to_owned(), "warn".to_owned())],
        ..Options::default()
    })
    .await?;
    let api = rieter.api_pid().context("the api is not running")?;
    tokio::time::sleep(SETTLE).await;
    let idle = procs::rss(api)?;
    procs::reset_peak(api)?;
    let client = upload_client()?;
    let url = rieter.url("/bench/memory");
    let uploads = (0..clients).map(|_| upload(&client, &url, &package));
    let (peak, results) = procs::peak_rss_during(api, futures::future::join_all(uploads)).await?;
    let ids = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    eprintln!(
        "api: idle {:.1} MiB, peak {:.1} MiB during {clients} uploads of {size_mib} MiB",
        mib(idle),
        mib(peak)
    );
    report_outcomes(&rieter, &ids).await?;
    let above = peak.saturating_sub(idle);
    Ok(Row::new(
        format!("memory: api, {clients} concurrent {size_mib} MiB uploads (peak above idle)"),
        Quantity::Bytes(above),
    )
    .baseline("idle RSS", Quantity::Bytes(idle))
    .target("< 64 MiB above idle", above < TARGET_ABOVE_IDLE))
}

/// (b) One large package parsed by the worker.
async fn worker_parse(opts: &Opts) -> anyhow::Result<Row> {
    let files = if opts.quick { 128 } else { 1024 };
    let dir = synth::inputs_dir("memory");
    eprintln!("synthesising a {files} MiB package in {}", dir.display());
    let package = Spec::new(format!("memory-parse-{files}"), files, MIB as usize)
        .payload(Payload::Random)
        .write(&dir)?;
    let rieter = Rieter::start(Options {
        workers: 1,
        max_upload_bytes: 2 * files as u64 * MIB,
        env: vec![
            ("RUST_LOG".to_owned(), "warn".to_owned()),
            ("RIETER_PARSE_CONCURRENCY".to_owned(), "1".to_owned()),
        ],
        ..Options::default()
    })
    .await?;
    let worker = rieter.worker_pid(0).context("the worker is not running")?;
    tokio::time::sleep(SETTLE).await;
    let idle = procs::rss(worker)?;
    procs::reset_peak(worker)?;
    let client = upload_client()?;
    let url = rieter.url("/bench/memory");
    let parsed = async {
        let id = upload(&client, &url, &package).await?;
        rieter
            .wait_for(&id, &["published", "failed"], Duration::from_secs(600))
            .await
    };
    let (peak, outcome) = procs::peak_rss_during(worker, parsed).await?;
    let outcome = outcome?;
    ensure!(
        outcome["status"] == "published",
        "the {files} MiB package was not published: {outcome}"
    );
    eprintln!(
        "worker: idle {:.1} MiB, peak {:.1} MiB parsing and publishing {files} MiB",
        mib(idle),
        mib(peak)
    );
    let above = peak.saturating_sub(idle);
    Ok(Row::new(
        format!("memory: worker, parse + publish a {files} MiB package (peak above idle)"),
        Quantity::Bytes(above),
    )
    .baseline("idle RSS", Quantity::Bytes(idle))
    .target("< 64 MiB above idle", above < TARGET_ABOVE_IDLE))
}

fn upload_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?)
}

/// Uploads `file`, streamed from disk, and returns the upload id (the api must answer 202).
async fn upload(client: &reqwest::Client, url: &str, file: &Path) -> anyhow::Result<String> {
    let handle = tokio::fs::File::open(file).await?;
    let len = handle.metadata().await?.len();
    // Streamed in 256 KiB reads: the harness's own memory stays small, whatever the count.
    let chunks = futures::stream::try_unfold(handle, |mut handle| async move {
        let mut buf = vec![0; 256 * 1024];
        let n = handle.read(&mut buf).await?;
        buf.truncate(n);
        Ok::<_, std::io::Error>((n > 0).then_some((buf, handle)))
    });
    let body = reqwest::Body::wrap_stream(chunks);
    let resp = client
        .post(url)
        .bearer_auth(API_KEY)
        .header(reqwest::header::CONTENT_LENGTH, len)
        .body(body)
        .send()
        .await
        .with_context(|| format!("uploading {}", file.display()))?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    ensure!(status == 202, "upload answered {status}: {body}");
    Ok(body["id"].as_str().context("upload id")?.to_owned())
}

/// Waits for every upload to finish and prints how they ended: the same content uploaded many
/// times is accepted each time (before parsing), then settled by the worker.
async fn report_outcomes(rieter: &Rieter, ids: &[String]) -> anyhow::Result<()> {
    let mut outcomes: Vec<(String, String)> = Vec::new();
    for id in ids {
        let upload = rieter
            .wait_for(id, &["published", "failed"], Duration::from_secs(600))
            .await?;
        let status = upload["status"].as_str().unwrap_or_default().to_owned();
        let detail = upload["error"]
            .as_str()
            .or_else(|| upload["message"].as_str())
            .unwrap_or_default()
            .to_owned();
        outcomes.push((status, detail));
    }
    outcomes.sort();
    let mut counted: Vec<((String, String), usize)> = Vec::new();
    for outcome in outcomes {
        match counted.last_mut() {
            Some((last, n)) if *last == outcome => *n += 1,
            _ => counted.push((outcome, 1)),
        }
    }
    for ((status, detail), n) in counted {
        eprintln!("api: {n} of the uploads ended {status} {detail}");
    }
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}
