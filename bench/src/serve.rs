//! Scenario 4: serving what pacman downloads, against nginx serving the same directory.
//!
//! Rieter (api + 1 worker) publishes a small repository plus one 10 MiB package; nginx then
//! serves Rieter's published directory under the same URL paths. wrk loads each server in
//! turn (Rieter, nginx, Rieter, nginx; the better of two runs each) for: the database (200),
//! the database with `If-Modified-Since` (304, what `pacman -Sy` mostly gets) and the large
//! package (200).

pub mod nginx;
mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use rieter_e2e::{Options, Rieter};

use self::nginx::Nginx;
pub use self::wrk::Load;
use crate::Opts;
use crate::report::{Quantity, Row};
use crate::synth::{self, Payload, Spec};

pub const DISTRO: &str = "bench";
pub const REPO: &str = "serve";
pub const ARCH: &str = "x86_64";
const SMALL_PACKAGES: usize = 20;
const ROUNDS: usize = 2;
const TARGET: f64 = 0.8;

/// One request shape, sent identically to both servers.
struct Case {
    name: &'static str,
    /// The path under `/{distro}/{repo}/{arch}/`.
    file: String,
    /// Send `If-Modified-Since` with the `Last-Modified` each server gave.
    conditional: bool,
    expect: StatusCode,
}

/// The files Rieter serves, as a directory tree of hard links to the same blob files, for
/// nginx to serve the same bytes from the same page cache.
async fn export_tree(rieter: &Rieter) -> anyhow::Result<tempfile::TempDir> {
    let pool = rieter.db.pool().await?;
    let files: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "select d.name, r.name, ra.arch, f.filename, f.digest from published_files f
         join repo_arches ra on ra.id = f.repo_arch_id join repos r on r.id = ra.repo_id
         join distros d on d.id = r.distro_id where f.retired_until is null",
    )
    .fetch_all(&pool)
    .await?;
    let root = tempfile::Builder::new()
        .prefix("rieter-bench-tree-")
        .tempdir_in(rieter.data_dir())?;
    for (distro, repo, arch, name, digest) in files {
        let dir = root.path().join(distro).join(repo).join(arch);
        std::fs::create_dir_all(&dir)?;
        let blob = rieter
            .data_dir()
            .join("blobs/sha256")
            .join(&digest[..2])
            .join(&digest);
        std::fs::hard_link(blob, dir.join(name))?;
    }
    Ok(root)
}

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    let load = Load {
        threads: 2,
        connections: 64,
        seconds: if opts.quick { 3 } else { 10 },
    };
    let (small, big) = inputs()?;

    let mut rieter = Rieter::start(Options {
        workers: 1,
        env: vec![("RUST_LOG".to_owned(), "warn".to_owned())],
        ..Options::default()
    })
    .await?;
    publish(&rieter, small.iter().chain([&big])).await?;
    let tree = export_tree(&rieter).await?;
    let nginx = Nginx::start(tree.path()).await?;
    eprintln!(
        "nginx serving {} at {}",
        tree.path().display(),
        nginx.base_url
    );

    let big_name = big
        .file_name()
        .and_then(|n| n.to_str())
        .context("package file name")?
        .to_owned();
    let cases = [
        Case {
            name: "GET db",
            file: format!("{REPO}.db"),
            conditional: false,
            expect: StatusCode::OK,
        },
        Case {
            name: "GET db, If-Modified-Since",
            file: format!("{REPO}.db"),
            conditional: true,
            expect: StatusCode::NOT_MODIFIED,
        },
        Case {
            name: "GET 10 MiB package",
            file: big_name,
            conditional: false,
            expect: StatusCode::OK,
        },
    ];
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut rows = Vec::new();
    for case in &cases {
        let path = format!("/{DISTRO}/{REPO}/{ARCH}/{}", case.file);
        let servers = [rieter.url(&path), nginx.url(&path)];
        let mut best = [0.0f64; 2];
        let mut headers = [Vec::new(), Vec::new()];
        for (i, url) in servers.iter().enumerate() {
            headers[i] = check(&client, url, case).await?;
        }
        ensure_same_length(&client, &servers, &headers, case).await?;
        for round in 0..ROUNDS {
            for (i, url) in servers.iter().enumerate() {
                let rate = load.run(url, &headers[i])?;
                let who = ["rieter", "nginx"][i];
                eprintln!("{}: {who} run {}: {rate:.0}/s", case.name, round + 1);
                best[i] = best[i].max(rate);
            }
        }
        let ratio = best[0] / best[1];
        rows.push(
            Row::new(
                format!("serve: {}, rps", case.name),
                Quantity::PerSecond(best[0]),
            )
            .baseline("nginx", Quantity::PerSecond(best[1]))
            .target(format!("≥ {TARGET}× nginx"), ratio >= TARGET),
        );
    }
    drop(nginx);
    rieter.stop();
    Ok(rows)
}

/// The small repository (text payload, like typical packages) and one package of about
/// 10 MiB that does not compress.
pub fn inputs() -> anyhow::Result<(Vec<PathBuf>, PathBuf)> {
    let dir = synth::inputs_dir("serve");
    let specs: Vec<Spec> = (0..SMALL_PACKAGES)
        .map(|i| Spec::new(format!("serve-{i:02}"), 20 + i, 512))
        .collect();
    let small = synth::write_all(&specs, &dir)?;
    let big = Spec::new("serve-large", 10, 1 << 20)
        .payload(Payload::Random)
        .write(&dir)?;
    Ok((small, big))
}

/// Uploads every package and waits until each is published.
pub async fn publish<'a>(
    rieter: &Rieter,
    files: impl Iterator<Item = &'a PathBuf>,
) -> anyhow::Result<()> {
    let mut ids = Vec::new();
    for file in files {
        ids.push(rieter.upload(&format!("{DISTRO}/{REPO}"), file).await?);
    }
    for id in &ids {
        let upload = rieter.wait_final(id).await?;
        ensure!(
            upload["status"] == "published",
            "upload {id} was not published: {upload}"
        );
    }
    Ok(())
}

/// One request, to check the server answers `case` as expected before it is loaded; returns
/// the headers wrk must send to it.
async fn check(
    client: &reqwest::Client,
    url: &str,
    case: &Case,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    if case.conditional {
        let resp = client.get(url).send().await?;
        ensure!(
            resp.status() == StatusCode::OK,
            "GET {url}: {}",
            resp.status()
        );
        let modified = resp
            .headers()
            .get(reqwest::header::LAST_MODIFIED)
            .with_context(|| format!("GET {url} sent no Last-Modified"))?
            .to_str()?
            .to_owned();
        headers.push(("If-Modified-Since".to_owned(), modified));
    }
    Ok(headers)
}

/// Both servers answer the expected status with bodies of the same length, so the figures
/// compare the same work.
async fn ensure_same_length(
    client: &reqwest::Client,
    servers: &[String; 2],
    headers: &[Vec<(String, String)>; 2],
    case: &Case,
) -> anyhow::Result<()> {
    let mut lengths = [0usize; 2];
    for (i, url) in servers.iter().enumerate() {
        let mut request = client.get(url);
        for (name, value) in &headers[i] {
            request = request.header(name, value);
        }
        let resp = request.send().await?;
        ensure!(
            resp.status() == case.expect,
            "GET {url} ({}) answered {}, expected {}",
            case.name,
            resp.status(),
            case.expect
        );
        lengths[i] = resp.bytes().await?.len();
    }
    ensure!(
        lengths[0] == lengths[1],
        "{}: Rieter sent {} bytes, nginx {}",
        case.name,
        lengths[0],
        lengths[1]
    );
    Ok(())
}
