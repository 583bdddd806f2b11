//! Scenario 9 (issue 13): mirroring a 2,000-package upstream over loopback.
//!
//! The upstream is a tree built with the real `repo-add` (the e2e harness's `Upstream`), served
//! by nginx with an access log. A fresh deployment (api + 1 worker, so one process does the
//! sync) mirrors it; the figure is the time from the `POST` creating the mirror to its first
//! sync `succeeded`, and the worker's peak resident memory meanwhile. Baselines, in the same
//! run and from the same tree: `wget --mirror` from the same nginx, and `rsync -a` from an rsync
//! daemon. Then a sync with nothing changed upstream must cost one request: with the upstream's
//! `lastupdate` that is a GET of it; without one, a conditional GET of the database answered
//! 304. `wget --mirror` run again on its copy is the baseline for that.
//!
//! Not the harness's own static file server: it sends a response's head and body in separate
//! writes without `TCP_NODELAY`, so on a kept-alive connection every file with a body waits
//! about 40 ms for the client's delayed ACK. That would be most of what is measured here (80 s
//! for 2,000 files one at a time); nginx answers the same requests in well under 1 ms.

mod baseline;
mod sync;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rieter_e2e::upstream::Upstream;

use self::baseline::{RsyncDaemon, Run};
use self::sync::{RESYNCS, Source, Synced, sync_fresh};
use crate::Opts;
use crate::regen::median;
use crate::report::{Quantity, Row};
use crate::serve::nginx::{Logged, Nginx};
use crate::synth::{self, Spec};

const REPO: &str = "core";
const ARCH: &str = "x86_64";
/// The link page `wget --mirror` starts from (see [`baseline::write_listing`]).
const LISTING: &str = "listing.html";
const LASTUPDATE: i64 = 1_764_000_000;
/// The default `max_concurrent_downloads`.
const CONCURRENCY: u32 = 4;

/// The median time of `runs`, the most requests one of them made, and whether each made
/// exactly one request and it was `expected`.
fn summarise(runs: &[(f64, Vec<Logged>)], expected: impl Fn(&Logged) -> bool) -> (f64, u64, bool) {
    let took = median(runs.iter().map(|(t, _)| *t).collect());
    let most = runs.iter().map(|(_, log)| log.len()).max().unwrap_or(0);
    let met = runs
        .iter()
        .all(|(_, log)| log.len() == 1 && expected(&log[0]));
    (took, most as u64, met)
}

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Row>> {
    let count = if opts.quick { 200 } else { 2000 };
    let files = inputs(count)?;
    let mut package_bytes = 0;
    for file in &files {
        package_bytes += std::fs::metadata(file)?.len();
    }
    let upstream = Upstream::start().await?;
    let started = Instant::now();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    upstream.add(REPO, ARCH, &paths)?;
    upstream.set_lastupdate(LASTUPDATE)?;
    let dir = upstream.dir(REPO, ARCH);
    let tree = baseline::write_listing(&dir, LISTING)?;
    eprintln!(
        "upstream: {count} packages ({:.1} MiB) added with repo-add in {:.1} s; {} files",
        mib(package_bytes),
        started.elapsed().as_secs_f64(),
        tree.len()
    );
    let server = Nginx::start_logged(upstream.root()).await?;

    // The baselines, each into a fresh directory, then again over their own copy.
    let work = tempfile::tempdir()?;
    let listing = format!("{}/{REPO}/os/{ARCH}/{LISTING}", server.base_url);
    let wget_dest = baseline::dest(work.path(), "wget")?;
    server.take_log()?;
    let wget = baseline::wget_mirror(&listing, &wget_dest).await?;
    let wget_requests = server.take_log()?.len();
    baseline::check_copy(&dir, &wget_dest.join(REPO).join("os").join(ARCH), &tree)?;
    baseline::refresh_listing(&dir.join(LISTING))?;
    let wget_again = baseline::wget_mirror(&listing, &wget_dest).await?;
    let wget_again_log = server.take_log()?;
    eprintln!(
        "wget --mirror: {:.2} s, {:.1} MiB peak, {wget_requests} requests; again: {:.2} s, {} \
         requests ({})",
        wget.seconds,
        mib(wget.peak_rss),
        wget_again.seconds,
        wget_again_log.len(),
        statuses(&wget_again_log)
    );
    let rsyncd = RsyncDaemon::start(upstream.root()).await?;
    let rsync_dest = baseline::dest(work.path(), "rsync")?;
    let from = format!("{REPO}/os/{ARCH}/");
    let rsync = rsyncd.pull(&from, &rsync_dest).await?;
    baseline::check_copy(&dir, &rsync_dest, &tree)?;
    let rsync_again = rsyncd.pull(&from, &rsync_dest).await?;
    drop(rsyncd);
    eprintln!(
        "rsync -a: {:.2} s, {:.1} MiB peak; again: {:.2} s",
        rsync.seconds,
        mib(rsync.peak_rss),
        rsync_again.seconds
    );

    let source = Source {
        tree: &upstream,
        server: &server,
    };
    let four = sync_fresh(&source, count, package_bytes, CONCURRENCY, true).await?;
    let one = sync_fresh(&source, count, package_bytes, 1, false).await?;
    let resyncs = four.resyncs.as_ref().context("the re-syncs")?;

    let what = format!("{count} pkgs, {:.0} MiB", mib(package_bytes));
    let wget_name = "wget --mirror (1 connection)";
    let first = format!("mirror: first sync, {what}, {CONCURRENCY} downloads at a time");
    let mut rows = vec![
        Row::new(
            format!("{first}, POST to succeeded"),
            Quantity::Seconds(four.seconds),
        )
        .baseline(wget_name, Quantity::Seconds(wget.seconds)),
        Row::new(
            "mirror: the same first sync",
            Quantity::Seconds(four.seconds),
        )
        .baseline("rsync -a from rsyncd", Quantity::Seconds(rsync.seconds)),
        Row::new(
            format!("mirror: first sync, {what}, 1 download at a time"),
            Quantity::Seconds(one.seconds),
        )
        .baseline(wget_name, Quantity::Seconds(wget.seconds)),
        peak_row(&four, CONCURRENCY, "wget --mirror", wget),
        peak_row(&four, CONCURRENCY, "rsync -a (client)", rsync),
        peak_row(&one, 1, "wget --mirror", wget),
    ];
    let no_change = "mirror: no-change re-sync, requests to an upstream";
    let (took, most, met) = summarise(&resyncs.with_lastupdate, |l| {
        l.path == "/lastupdate" && l.status == 200
    });
    rows.push(
        Row::new(
            format!("{no_change} with lastupdate (most of {RESYNCS})"),
            Quantity::Count(most),
        )
        .baseline(
            "wget --mirror again",
            Quantity::Count(wget_again_log.len() as u64),
        )
        .target("1 request (lastupdate)", met),
    );
    rows.push(
        Row::new(
            format!("mirror: that re-sync, POST to succeeded (median of {RESYNCS})"),
            Quantity::Seconds(took),
        )
        .baseline("wget --mirror again", Quantity::Seconds(wget_again.seconds)),
    );
    rows.push(
        Row::new("mirror: the same re-sync", Quantity::Seconds(took))
            .baseline("rsync -a again", Quantity::Seconds(rsync_again.seconds)),
    );
    let (took, most, met) = summarise(&resyncs.without_lastupdate, |l| {
        l.path == format!("/{REPO}/os/{ARCH}/{REPO}.db") && l.conditional && l.status == 304
    });
    rows.push(
        Row::new(
            format!("{no_change} without lastupdate (most of {RESYNCS})"),
            Quantity::Count(most),
        )
        .target("1 conditional request (db, 304)", met),
    );
    rows.push(Row::new(
        format!("mirror: that re-sync, POST to succeeded (median of {RESYNCS})"),
        Quantity::Seconds(took),
    ));
    Ok(rows)
}

fn peak_row(synced: &Synced, concurrency: u32, name: &str, baseline: Run) -> Row {
    Row::new(
        format!(
            "mirror: worker peak RSS during the first sync ({concurrency} at a time; idle {:.1} \
             MiB)",
            mib(synced.idle_rss)
        ),
        Quantity::Bytes(synced.peak_rss),
    )
    .baseline(
        format!("{name} peak RSS"),
        Quantity::Bytes(baseline.peak_rss),
    )
}

/// Packages of 8 to 64 files of 4 KiB text (about 46 KiB compressed on average): big enough
/// that bytes count, small enough that per-file costs show.
fn inputs(count: usize) -> anyhow::Result<Vec<PathBuf>> {
    let specs: Vec<Spec> = (0..count)
        .map(|i| Spec::new(format!("mirror-{i:04}"), 8 + (i * 37) % 57, 4096))
        .collect();
    synth::write_all(&specs, &synth::inputs_dir(&format!("mirror-{count}")))
}

/// The statuses of logged requests, counted: `200 ×3, 304 ×2000`.
fn statuses(log: &[Logged]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for l in log {
        *counts.entry((l.status, l.conditional)).or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|((status, conditional), n)| {
            let kind = if *conditional { " conditional" } else { "" };
            format!("{status}{kind} ×{n}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
