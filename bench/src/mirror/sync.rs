//! The Rieter half of the mirror scenario: a fresh deployment mirrors the upstream, its first
//! sync is timed and checked, then no-change re-syncs are counted in the upstream's log.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use rieter_e2e::upstream::Upstream;
use rieter_e2e::{API_KEY, Options, Rieter, procs};
use serde_json::{Value, json};

use super::{ARCH, LASTUPDATE, REPO, mib};
use crate::serve::nginx::{Logged, Nginx};

const SYNC_TIMEOUT: Duration = Duration::from_secs(600);
/// How long the idle worker is left to settle before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);

/// One deployment's first sync, and the no-change re-syncs after it.
pub(super) struct Synced {
    pub seconds: f64,
    pub idle_rss: u64,
    pub peak_rss: u64,
    pub resyncs: Option<Resyncs>,
}

/// No-change re-syncs, each the time from its `POST` to `succeeded` and the requests the
/// upstream served meanwhile.
pub(super) struct Resyncs {
    /// The upstream serves `lastupdate`.
    pub with_lastupdate: Vec<(f64, Vec<Logged>)>,
    /// The upstream has no `lastupdate` (and had none at the previous sync).
    pub without_lastupdate: Vec<(f64, Vec<Logged>)>,
}

/// Re-syncs of each kind; the time reported is their median.
pub(super) const RESYNCS: usize = 5;

/// The upstream: its tree, and the server serving it.
pub(super) struct Source<'a> {
    pub tree: &'a Upstream,
    pub server: &'a Nginx,
}

impl Source<'_> {
    fn template(&self) -> String {
        format!("{}/$repo/os/$arch", self.server.base_url)
    }
}

/// A fresh deployment mirroring `upstream` with `concurrency` downloads at a time: the first
/// sync, checked against the upstream; with `resync`, the no-change re-syncs after it.
pub(super) async fn sync_fresh(
    upstream: &Source<'_>,
    count: usize,
    package_bytes: u64,
    concurrency: u32,
    resync: bool,
) -> anyhow::Result<Synced> {
    let mut rieter = Rieter::start(Options {
        workers: 1,
        env: vec![
            ("RUST_LOG".to_owned(), "warn".to_owned()),
            // The shipped default, not the test harness's 2 s: the sweep is what queues a
            // mirror's scheduled syncs.
            ("RIETER_SWEEP_INTERVAL_SECS".to_owned(), "30".to_owned()),
        ],
        ..Options::default()
    })
    .await?;
    let result = sync_on(&rieter, upstream, count, package_bytes, concurrency, resync).await;
    if result.is_err() {
        eprintln!("{}", rieter.logs());
    }
    rieter.stop();
    result
}

async fn sync_on(
    rieter: &Rieter,
    upstream: &Source<'_>,
    count: usize,
    package_bytes: u64,
    concurrency: u32,
    resync: bool,
) -> anyhow::Result<Synced> {
    let pool = rieter.db.pool().await?;
    let worker = rieter.worker_pid(0).context("the worker is not running")?;
    tokio::time::sleep(SETTLE).await;
    let idle_rss = procs::rss(worker)?;
    procs::reset_peak(worker)?;
    upstream.server.take_log()?;
    let started = Instant::now();
    let posted = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let (peak_rss, outcome) = procs::peak_rss_during(worker, async {
        let id = create_mirror(rieter, upstream, concurrency).await?;
        let sync = next_sync(&pool, id, 0).await?;
        anyhow::Ok((id, sync))
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let (id, sync) = outcome?;
    let requests = upstream.server.take_log()?.len();
    // The phases, from the sync's record (same clock: Postgres runs on this machine).
    let began = sync.started_epoch - posted.as_secs_f64();
    let publishing = sync.finished_epoch.unwrap_or(f64::NAN) - posted.as_secs_f64();
    eprintln!(
        "rieter, {concurrency} at a time: POST to succeeded {seconds:.2} s (the sync began at \
         {began:.2} s, its publication at {publishing:.2} s), {requests} requests; worker idle \
         {:.1} MiB, peak {:.1} MiB",
        mib(idle_rss),
        mib(peak_rss)
    );
    ensure!(
        sync.packages == Some(count as i64),
        "the first sync counted {:?} packages, the upstream has {count}",
        sync.packages
    );
    ensure!(
        sync.downloaded_bytes == package_bytes as i64,
        "the first sync downloaded {} bytes, the packages are {package_bytes}",
        sync.downloaded_bytes
    );
    let served = rieter
        .client
        .get(rieter.url(&format!("/m/{REPO}/{ARCH}/{REPO}.db")))
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let expected = std::fs::read(upstream.tree.path(REPO, ARCH, &format!("{REPO}.db.tar.gz")))?;
    ensure!(
        served.as_ref() == expected.as_slice(),
        "the mirror serves a {REPO}.db of {} bytes, not the upstream's ({} bytes)",
        served.len(),
        expected.len()
    );

    let resyncs = if resync {
        let with_lastupdate = resyncs(rieter, &pool, upstream, id).await?;
        // The sync after `lastupdate` goes learns that it went; the ones after it are measured.
        upstream.tree.remove_lastupdate()?;
        let without_lastupdate = match resync_logged(rieter, &pool, upstream, id).await {
            Ok(_) => resyncs(rieter, &pool, upstream, id).await,
            Err(err) => Err(err),
        };
        upstream.tree.set_lastupdate(LASTUPDATE)?;
        let without_lastupdate = without_lastupdate?;
        for (name, runs) in [
            ("with lastupdate", &with_lastupdate),
            ("without lastupdate", &without_lastupdate),
        ] {
            for (took, log) in runs {
                eprintln!("no-change re-sync {name}: {took:.3} s, {log:?}");
            }
        }
        Some(Resyncs {
            with_lastupdate,
            without_lastupdate,
        })
    } else {
        None
    };
    Ok(Synced {
        seconds,
        idle_rss,
        peak_rss,
        resyncs,
    })
}

async fn create_mirror(
    rieter: &Rieter,
    upstream: &Source<'_>,
    concurrency: u32,
) -> anyhow::Result<i64> {
    let resp = rieter
        .client
        .post(rieter.url("/api/v1/mirrors"))
        .bearer_auth(API_KEY)
        .json(&json!({
            "distro": "m", "repo": REPO, "upstream": upstream.template(),
            "arches": [ARCH], "interval_secs": 3600,
            "max_concurrent_downloads": concurrency,
        }))
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    ensure!(
        status == 201,
        "creating the mirror answered {status}: {body}"
    );
    body["id"].as_i64().context("the mirror's id")
}

/// A sync, as recorded.
#[derive(Debug, sqlx::FromRow)]
struct SyncRecord {
    id: i64,
    status: String,
    error: Option<String>,
    packages: Option<i64>,
    downloaded_bytes: i64,
    /// Its `started_at` and `finished_at`, in seconds since the epoch. `finished_at` is the
    /// `now()` of the transaction that closes the sync, which also makes it live: the time the
    /// publication began.
    started_epoch: f64,
    finished_epoch: Option<f64>,
}

/// Waits for the first sync of mirror `id` recorded after the sync `after` (0: the first
/// sync) to finish, polling every 20 ms; fails unless it succeeded. The records are read from
/// the database rather than the API's `last_sync`, which is the latest sync: another one may
/// start right after the awaited one.
async fn next_sync(pool: &sqlx::PgPool, id: i64, after: i64) -> anyhow::Result<SyncRecord> {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    loop {
        let sync: Option<SyncRecord> = sqlx::query_as(
            "select id, status, error, packages, downloaded_bytes,
                    extract(epoch from started_at)::float8 as started_epoch,
                    extract(epoch from finished_at)::float8 as finished_epoch
             from mirror_syncs where mirror_id = $1 and id > $2 order by id limit 1",
        )
        .bind(id)
        .bind(after)
        .fetch_optional(pool)
        .await?;
        match sync {
            Some(sync) if sync.status == "succeeded" => return Ok(sync),
            Some(sync) if sync.status != "running" => bail!(
                "sync {} of mirror {id} ended {}: {:?}",
                sync.id,
                sync.status,
                sync.error
            ),
            _ => {}
        }
        if Instant::now() > deadline {
            bail!("no sync of mirror {id} after sync {after} finished within {SYNC_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until mirror `id` has no sync queued or running; returns the last sync's id. A sync
/// requested while another is queued joins it, so each re-sync is asked of a quiet mirror.
/// Nothing but the bench asks for syncs here (the next scheduled one is an hour away): a sync
/// found queued is reported.
async fn wait_quiet(pool: &sqlx::PgPool, id: i64) -> anyhow::Result<i64> {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    let mut noted = false;
    loop {
        let (pending, running, last, syncs): (bool, bool, i64, i64) = sqlx::query_as(
            "select m.sync_pending,
                    exists (select from mirror_syncs s where s.mirror_id = m.id
                                                         and s.status = 'running'),
                    coalesce((select max(s.id) from mirror_syncs s where s.mirror_id = m.id), 0),
                    (select count(*) from mirror_syncs s where s.mirror_id = m.id)
             from mirrors m where m.id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await?;
        if !pending && !running {
            return Ok(last);
        }
        if !noted {
            eprintln!(
                "note: after {syncs} sync(s), another sync of mirror {id} is queued or running \
                 that the bench did not ask for; waiting for it"
            );
            noted = true;
        }
        ensure!(
            Instant::now() < deadline,
            "mirror {id} did not go quiet within {SYNC_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn resyncs(
    rieter: &Rieter,
    pool: &sqlx::PgPool,
    upstream: &Source<'_>,
    id: i64,
) -> anyhow::Result<Vec<(f64, Vec<Logged>)>> {
    let mut runs = Vec::with_capacity(RESYNCS);
    for _ in 0..RESYNCS {
        runs.push(resync_logged(rieter, pool, upstream, id).await?);
    }
    Ok(runs)
}

/// Queues a sync once the mirror is quiet and waits for it; returns the time from the `POST`
/// to `succeeded` and the requests the upstream served meanwhile.
async fn resync_logged(
    rieter: &Rieter,
    pool: &sqlx::PgPool,
    upstream: &Source<'_>,
    id: i64,
) -> anyhow::Result<(f64, Vec<Logged>)> {
    let last = wait_quiet(pool, id).await?;
    upstream.server.take_log()?;
    let started = Instant::now();
    let resp = rieter
        .client
        .post(rieter.url(&format!("/api/v1/mirrors/{id}/sync")))
        .bearer_auth(API_KEY)
        .send()
        .await?;
    ensure!(
        resp.status() == 202,
        "queueing a sync answered {}",
        resp.status()
    );
    let sync = next_sync(pool, id, last).await?;
    let took = started.elapsed().as_secs_f64();
    ensure!(
        sync.downloaded_bytes == 0,
        "sync {} of an unchanged upstream downloaded {} bytes",
        sync.id,
        sync.downloaded_bytes
    );
    Ok((took, upstream.server.take_log()?))
}
