//! Reliability (2): processes killed with SIGKILL at any moment lose nothing and corrupt
//! nothing.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rieter_e2e::{API_KEY, Build, Options, Rieter, build_many};

/// What a worker was doing when it was killed, from the job rows it held.
#[derive(Debug, Default)]
struct Kills {
    during_parse: usize,
    during_regeneration: usize,
    between: usize,
    /// Kills skipped because they could have been an upload's last allowed parse start.
    spared: usize,
}

/// The most parse starts of an upload being parsed now. An upload whose parse is killed
/// `ingest::MAX_PARSE_STARTS` times fails by design (the guard against a package that kills
/// every worker parsing it); apalis hands a killed worker's job out again first, so without
/// this check the adversary could, by chance, keep killing one upload's parse until it does.
async fn most_parse_starts(pool: &sqlx::PgPool) -> i32 {
    sqlx::query_scalar(
        "select coalesce(max(parse_attempts), 0) from uploads where status = 'processing'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn running_jobs(pool: &sqlx::PgPool, worker_prefix: &str) -> (i64, i64) {
    sqlx::query_as(
        "select count(*) filter (where job_type = 'rieter.parse_upload'),
                count(*) filter (where job_type = 'rieter.regenerate')
         from apalis.jobs where status = 'Running' and lock_by like $1",
    )
    .bind(format!("{worker_prefix}%"))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The name prefix of the process currently running as worker `index` (names carry the
/// harness's start counter, see `Rieter::command`).
async fn worker_prefix(pool: &sqlx::PgPool, index: usize) -> Option<String> {
    sqlx::query_scalar::<_, String>(
        "select id from apalis.workers where id like $1 order by last_seen desc limit 1",
    )
    .bind(format!("e2e-worker{index}-%"))
    .fetch_optional(pool)
    .await
    .unwrap()
    .map(|id| {
        id.split("-parse-")
            .next()
            .unwrap()
            .split("-regen-")
            .next()
            .unwrap()
            .to_owned()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_killed_at_random_moments_lose_nothing() {
    workers_killed_at_random_moments(Options::default()).await;
}

/// The same with blobs on a real S3 server and a data directory per process, as on separate
/// hosts.
#[tokio::test(flavor = "multi_thread")]
async fn workers_killed_at_random_moments_lose_nothing_on_s3() {
    workers_killed_at_random_moments(Options {
        s3: true,
        private_data_dirs: true,
        ..Options::default()
    })
    .await;
}

async fn workers_killed_at_random_moments(options: Options) {
    let storage = if options.s3 { "S3" } else { "the local store" };
    // Three repositories and a steady stream, so parses and regenerations are always running.
    let files = build_many(&Build::many("crash", 240, "1.0")).unwrap();
    let mut rieter = Rieter::start(Options {
        quiet_period_secs: 0.3,
        ..options
    })
    .await
    .unwrap();
    let pool = rieter.db.pool().await.unwrap();

    let uploader = {
        let client = rieter.client.clone();
        let base = rieter.base_url.clone();
        let files = files.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for (i, file) in files.iter().enumerate() {
                let target = format!("{base}/crash/repo{}", i % 3);
                let resp = client
                    .post(&target)
                    .bearer_auth(API_KEY)
                    .body(std::fs::read(file).unwrap())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 202);
                let body: serde_json::Value = resp.json().await.unwrap();
                ids.push(body["id"].as_str().unwrap().to_owned());
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            ids
        })
    };

    let mut kills = Kills::default();
    let mut seed = 0x9e37_79b9u64;
    let started = Instant::now();
    while kills.during_parse + kills.during_regeneration + kills.between < 24 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let index = (seed >> 40) as usize % 2;
        // Alternate: kill mid-parse, kill mid-regeneration, kill at a random moment.
        let want = (kills.during_parse + kills.during_regeneration + kills.between) % 3;
        let Some(prefix) = worker_prefix(&pool, index).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let deadline = Instant::now() + Duration::from_secs(3);
        let random_moment = Instant::now() + Duration::from_millis(200 + (seed >> 50) % 1500);
        let (parsing, regenerating) = loop {
            let (parsing, regenerating) = running_jobs(&pool, &prefix).await;
            let hit = match want {
                0 => parsing > 0,
                1 => regenerating > 0,
                _ => Instant::now() > random_moment,
            };
            if hit || Instant::now() > deadline {
                break (parsing, regenerating);
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        };
        if most_parse_starts(&pool).await >= rieter::ingest::MAX_PARSE_STARTS - 1 {
            kills.spared += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        rieter.kill_worker(index);
        match (parsing, regenerating) {
            (_, r) if r > 0 => kills.during_regeneration += 1,
            (p, _) if p > 0 => kills.during_parse += 1,
            _ => kills.between += 1,
        }
        rieter.start_worker(index).unwrap();
        tokio::time::sleep(Duration::from_millis(300 + (seed >> 52) % 700)).await;
    }
    let ids = uploader.await.unwrap();
    let killing = started.elapsed();
    rieter
        .wait_quiescent(Duration::from_secs(240))
        .await
        .unwrap();

    let report = rieter.check_invariants().await.unwrap();
    let retried: i64 = sqlx::query_scalar("select count(*) from apalis.jobs where attempts > 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let requeued = rieter.log_lines("re-queued").len();
    println!(
        "crashes on {storage}: {} uploads; {} SIGKILLs over {killing:?} ({} during parsing, {} during \
         regeneration, {} between jobs); {retried} job(s) ran more than once, {requeued} \
         re-queued by the sweep; {} kill(s) spared to stay under the parse-start guard; {} \
         published, {} failed; {} rebuild(s)",
        ids.len(),
        kills.during_parse + kills.during_regeneration + kills.between,
        kills.during_parse,
        kills.during_regeneration,
        kills.between,
        kills.spared,
        report.published,
        report.failed,
        report.rebuilds
    );
    assert_eq!(report.uploads, 240);
    let reasons: Vec<Option<String>> =
        sqlx::query_scalar("select error from uploads where status = 'failed'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        report.failed, 0,
        "distinct packages must all publish; failed: {reasons:?}"
    );
    assert_eq!(report.packages_served, 240);
    assert!(
        kills.during_parse > 0 && kills.during_regeneration > 0,
        "{kills:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_killed_mid_upload_keeps_nothing_of_it() {
    let mut rieter = Rieter::start(Options::default()).await.unwrap();
    let file = Build::new("crash-big", "1.0")
        .padding(8 << 20)
        .build_one()
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();

    // Send the first megabyte, then stall; kill the api while it waits for the rest.
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
    tx.unbounded_send(Ok(Bytes::copy_from_slice(&bytes[..1 << 20])))
        .unwrap();
    let request = rieter
        .client
        .post(rieter.url("/crash/main"))
        .bearer_auth(API_KEY)
        .header("content-length", bytes.len())
        .body(reqwest::Body::wrap_stream(rx))
        .send();
    let pending = tokio::spawn(request);
    let deadline = Instant::now() + Duration::from_secs(10);
    while rieter.partial_uploads() == 0 {
        assert!(Instant::now() < deadline, "the upload never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rieter.kill_api();
    assert!(
        pending.await.unwrap().is_err(),
        "the interrupted upload cannot succeed"
    );
    drop(tx);
    assert_eq!(
        rieter.partial_uploads(),
        1,
        "the half-received body is on disk"
    );

    // Time passes: the dead api's scratch misses its heartbeats.
    rieter.age_scratch(rieter::scratch::DEAD_AFTER).unwrap();
    rieter.start_api().unwrap();
    rieter.wait_healthy().await.unwrap();
    assert_eq!(
        rieter.partial_uploads(),
        0,
        "start-up did not clean up the partial upload"
    );
    let pool = rieter.db.pool().await.unwrap();
    let uploads: i64 = sqlx::query_scalar("select count(*) from uploads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(uploads, 0, "a half-received upload was recorded");

    let id = rieter.upload("crash/main", &file).await.unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    rieter
        .wait_quiescent(Duration::from_secs(60))
        .await
        .unwrap();
    let report = rieter.check_invariants().await.unwrap();
    println!("api crash: 1 upload interrupted by SIGKILL, cleaned on restart; {report:?}");
    assert_eq!(report.packages_served, 1);
}
