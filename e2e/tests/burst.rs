//! A burst of concurrent uploads is coalesced into a handful of rebuilds, and the result is
//! exactly the uploaded set.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rieter_e2e::{Build, Options, Rieter, build_many};

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_200_uploads_is_published_with_few_rebuilds() {
    burst(Options::default()).await;
}

/// The same with blobs on a real S3 server and a data directory per process.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_200_uploads_is_published_with_few_rebuilds_on_s3() {
    burst(Options {
        s3: true,
        private_data_dirs: true,
        ..Options::default()
    })
    .await;
}

async fn burst(options: Options) {
    const COUNT: usize = 200;
    let storage = if options.s3 { "S3" } else { "the local store" };
    let files = build_many(&Build::many("e2e-burst", COUNT, "1.0")).unwrap();
    let rieter = Arc::new(
        Rieter::start(Options {
            workers: 2,
            quiet_period_secs: 2.0,
            ..options
        })
        .await
        .unwrap(),
    );
    let started = Instant::now();
    let uploads = files.iter().map(|file| {
        let rieter = rieter.clone();
        let file = file.clone();
        // As a client does: a 503 (every database connection busy for its acquire timeout,
        // on two cores running both of these tests at once) is sent again. The refusals are
        // reported below.
        tokio::spawn(async move {
            rieter
                .upload_retrying("e2e/burst", &file, Duration::from_secs(120))
                .await
                .unwrap()
        })
    });
    let sent_back = futures_join(uploads).await;
    let refused: usize = sent_back.iter().map(|(_, refused)| refused).sum();
    let ids: Vec<String> = sent_back.into_iter().map(|(id, _)| id).collect();
    let sent = started.elapsed();
    for id in &ids {
        let upload = rieter.wait_final(id).await.unwrap();
        assert_eq!(upload["status"], "published", "{upload}");
    }
    let published = started.elapsed();

    let pool = rieter.db.pool().await.unwrap();
    let (builds, arches): (i64, i64) =
        sqlx::query_as("select coalesce(sum(build_count), 0)::bigint, count(*) from repo_arches")
            .fetch_one(&pool)
            .await
            .unwrap();
    let logged = rieter.log_lines("repository database published").len();
    println!(
        "burst on {storage}: {COUNT} uploads sent in {sent:?} ({refused} answered 503 and sent \
         again), all published after {published:?}; {builds} rebuild(s) of {arches} repository \
         architecture(s), {logged} logged"
    );
    assert_eq!(arches, 1);
    assert!((1..=5).contains(&builds), "{builds} rebuilds for one burst");
    assert_eq!(logged as i64, builds, "the counter and the log disagree");

    let db = rieter
        .client
        .get(rieter.url("/e2e/burst/x86_64/burst.db"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("burst.db"), &db).unwrap();
    let listing = std::process::Command::new("bsdtar")
        .arg("-tf")
        .arg(dir.path().join("burst.db"))
        .output()
        .unwrap();
    let mut entries: Vec<String> = String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_suffix("/desc"))
        .map(str::to_owned)
        .collect();
    entries.sort();
    let expected: Vec<String> = (0..COUNT)
        .map(|i| format!("e2e-burst-{i:04}-1.0-1"))
        .collect();
    assert_eq!(entries, expected);
    // Nothing more happens afterwards: no pending regeneration, no extra rebuild.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after: i64 =
        sqlx::query_scalar("select coalesce(sum(build_count), 0)::bigint from repo_arches")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(after, builds);
    rieter.check_invariants().await.unwrap();
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}
