//! Scenario 3: the cost of parsing one package, against `zstd -d` decompressing it, on a
//! 200 MiB package and on a 5,000-file package.
//!
//! Figure: what the worker's parse job does with a package on its CPU, `package::parse_file`
//! (decompress, walk the tar, read `.PKGINFO`, collect the file list) then
//! `repo_db::render_members` (the `desc` and `files` entries, gzipped). The sha256 and md5 are
//! computed by the api while it receives the upload, so the job does not hash; a second row
//! adds hashing the file first, for the reading of the issue where "hashes" are part of
//! parsing, and a third shows decompression alone in process, without `zstd`'s process start.
//! Baseline: `zstd -d -c` of the same file to /dev/null, decompression being the physical
//! limit. After a warm-up that fills the page cache, the steps run in turn, round after round,
//! and each figure is the median of its rounds; the phases printed on stderr say where the
//! time goes.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, ensure};
use md5::Md5;
use rieter::package::{self, Limits, ParsedPackage};
use rieter::repo_db::{self, DbEntry, EntryMembers};
use sha2::{Digest, Sha256};

use crate::Opts;
use crate::report::{Quantity, Row};
use crate::synth::{self, Spec};

const RUNS: usize = 5;
const SMALL_RUNS: usize = 21;
const TARGET: f64 = 1.3;

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    // Text payload compresses about 3:1, so 600 MiB of files make a package of about 200 MiB.
    let (large, many) = if opts.quick {
        (
            Spec::new("parse-large-quick", 240, 256 << 10),
            Spec::new("parse-many-quick", 1000, 3 << 10),
        )
    } else {
        (
            Spec::new("parse-large", 2500, 256 << 10),
            Spec::new("parse-many", 5000, 3 << 10),
        )
    };
    let dir = synth::inputs_dir("parse");
    let mut rows = Vec::new();
    for spec in [large, many] {
        let path = spec.write(&dir)?;
        let size = std::fs::metadata(&path)?.len();
        let label = format!(
            "{:.0} MiB pkg, {} files",
            size as f64 / (1024.0 * 1024.0),
            spec.files
        );
        eprintln!(
            "{label}: {} ({} MiB unpacked)",
            path.display(),
            (spec.files * spec.file_size) >> 20
        );
        rows.extend(tokio::task::spawn_blocking(move || measure(&path, size, &label)).await??);
    }
    Ok(rows)
}

fn measure(path: &Path, size: u64, label: &str) -> anyhow::Result<Vec<Row>> {
    // Warm the page cache, and check that every step does the work it claims.
    let (sha256, md5) = hash_file(path)?;
    let warm = Instant::now();
    let members = parse_and_render(path, size, &sha256, &md5)?;
    let warm = warm.elapsed().as_secs_f64();
    ensure!(
        !members.files.is_empty() && !members.db.is_empty(),
        "rendered nothing"
    );
    zstd_d(path)?;
    let parsed = package::parse_file(path, &Limits::default())?;
    let tar = unpacked(path)?;
    ensure!(
        package::parse(tar.as_slice(), &Limits::default())?.files == parsed.files,
        "the uncompressed tar parses differently"
    );
    // Small packages take milliseconds, where a stray scheduling delay weighs more: more runs.
    let runs = if warm < 0.1 { SMALL_RUNS } else { RUNS };

    // In the order of the names they are given below.
    let mut times = [const { Vec::new() }; 8];
    for _ in 0..runs {
        times[0].push(timed(|| {
            parse_and_render(path, size, &sha256, &md5).map(drop)
        })?);
        times[1].push(timed(|| zstd_d(path))?);
        times[2].push(timed(|| {
            let (sha256, md5) = hash_file(path)?;
            parse_and_render(path, size, &sha256, &md5).map(drop)
        })?);
        // Phases, for finding what bounds the figure.
        times[3].push(timed(|| decompress_only(path))?);
        times[4].push(timed(|| {
            package::parse_file(path, &Limits::default())?;
            Ok(())
        })?);
        times[5].push(timed(|| {
            package::parse(tar.as_slice(), &Limits::default())?;
            Ok(())
        })?);
        times[6].push(timed(|| render(&parsed, size, &sha256, &md5).map(drop))?);
        times[7].push(timed(|| hash_file(path).map(drop))?);
    }
    let [
        rieter,
        zstd,
        hashed,
        decode,
        parse_only,
        tar_walk,
        render_only,
        hash,
    ] = times.map(median);
    eprintln!(
        "{label}: medians of {runs}: parse+render {:.1} ms, zstd -d {:.1} ms; phases: zstd crate \
         decoding to a sink {:.1} ms, parse_file {:.1} ms, parse_file on the uncompressed tar \
         in memory {:.1} ms, render_members {:.1} ms, sha256+md5 of the file {:.1} ms",
        rieter * 1e3,
        zstd * 1e3,
        decode * 1e3,
        parse_only * 1e3,
        tar_walk * 1e3,
        render_only * 1e3,
        hash * 1e3
    );
    let baseline = format!("zstd -d to /dev/null (median of {runs})");
    let target = format!("≤ {TARGET}× zstd -d");
    Ok(vec![
        Row::new(
            format!("parse: {label}, parse_file + render_members (median of {runs})"),
            Quantity::Seconds(rieter),
        )
        .baseline(&baseline, Quantity::Seconds(zstd))
        .target(&target, rieter <= TARGET * zstd),
        Row::new(
            format!(
                "parse: {label}, same + sha256/md5 of the file, sequential \
                 (the api hashes during the upload instead)"
            ),
            Quantity::Seconds(hashed),
        )
        .baseline(&baseline, Quantity::Seconds(zstd)),
        Row::new(
            format!(
                "parse: {label}, decompression alone (zstd crate in process, no tar walk: \
                 the tighter limit)"
            ),
            Quantity::Seconds(decode),
        )
        .baseline(&baseline, Quantity::Seconds(zstd)),
    ])
}

/// What the parse job does on its blocking thread (worker/src/jobs/parse_upload.rs).
fn parse_and_render(
    path: &Path,
    size: u64,
    sha256: &str,
    md5: &str,
) -> anyhow::Result<EntryMembers> {
    let parsed = package::parse_file(path, &Limits::default())
        .with_context(|| format!("parsing {}", path.display()))?;
    render(&parsed, size, sha256, md5)
}

fn render(
    parsed: &ParsedPackage,
    size: u64,
    sha256: &str,
    md5: &str,
) -> anyhow::Result<EntryMembers> {
    let entry = DbEntry::new(
        &parsed.info,
        parsed.filename().as_str(),
        size as i64,
        md5,
        sha256,
    );
    Ok(repo_db::render_members(&entry, &parsed.files)?)
}

/// The package's tar archive, decompressed into memory.
fn unpacked(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut tar = Vec::new();
    zstd::Decoder::new(File::open(path)?)?.read_to_end(&mut tar)?;
    Ok(tar)
}

fn hash_file(path: &Path) -> anyhow::Result<(String, String)> {
    let mut file = File::open(path)?;
    let (mut sha256, mut md5) = (Sha256::new(), Md5::new());
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha256.update(&buf[..n]);
        md5.update(&buf[..n]);
    }
    Ok((hex::encode(sha256.finalize()), hex::encode(md5.finalize())))
}

fn zstd_d(path: &Path) -> anyhow::Result<()> {
    let status = Command::new("zstd")
        .args(["-d", "-q", "-c"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .context("running zstd")?;
    ensure!(status.success(), "zstd -d failed: {status}");
    Ok(())
}

/// Decompression alone, in process: what the parser's decoder costs without the tar walk.
fn decompress_only(path: &Path) -> anyhow::Result<()> {
    let mut decoder = zstd::Decoder::new(File::open(path)?)?;
    io::copy(&mut decoder, &mut io::sink())?;
    Ok(())
}

fn timed(f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let started = Instant::now();
    f()?;
    Ok(started.elapsed().as_secs_f64())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
