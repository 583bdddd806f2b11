//! Reliability (1): a burst of 1,000 uploads from 32 concurrent clients into one api and two
//! workers ends with every upload final and every invariant intact.

use std::time::{Duration, Instant};

use futures::StreamExt;
use rieter_e2e::invariants::parse_db;
use rieter_e2e::{Build, Options, Rieter, build_many};

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_uploads_from_32_clients_end_consistent() {
    // 800 distinct packages at 1.0, and 200 of the same names again at 2.0.
    let mut files = build_many(&Build::many("rel", 800, "1.0")).unwrap();
    files.extend(build_many(&Build::many("rel", 200, "2.0")).unwrap());
    // A fixed shuffle, so some 2.0 uploads arrive before their 1.0 (which is then refused).
    let mut state = 0x2545_f491u64;
    for i in (1..files.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        files.swap(i, (state >> 33) as usize % (i + 1));
    }

    let rieter = Rieter::start(Options {
        quiet_period_secs: 2.0,
        ..Options::default()
    })
    .await
    .unwrap();
    let started = Instant::now();
    let ids: Vec<String> = futures::stream::iter(files.iter())
        .map(|file| rieter.upload("rel/core", file))
        .buffer_unordered(32)
        .map(|r| r.unwrap())
        .collect()
        .await;
    let sent = started.elapsed();
    assert_eq!(ids.len(), 1000);
    rieter
        .wait_quiescent(Duration::from_secs(300))
        .await
        .unwrap();
    let settled = started.elapsed();

    let report = rieter.check_invariants().await.unwrap();
    println!(
        "burst: {} uploads by 32 clients sent in {sent:?}, quiescent after {settled:?}: \
         {} published, {} failed (older versions refused), {} packages served, {} rebuild(s)",
        report.uploads, report.published, report.failed, report.packages_served, report.rebuilds
    );
    assert_eq!(report.uploads, 1000);
    assert_eq!(report.packages_served, 800);

    // The served set is exactly the newest version of each name.
    let db = rieter
        .client
        .get(rieter.url("/rel/core/x86_64/core.db"))
        .send()
        .await
        .unwrap();
    let entries = parse_db(&db.bytes().await.unwrap()).unwrap();
    let expected: Vec<(String, String)> = (0..800)
        .map(|i| {
            (
                format!("rel-{i:04}"),
                if i < 200 { "2.0-1" } else { "1.0-1" }.to_owned(),
            )
        })
        .collect();
    let served: Vec<(String, String)> = entries.into_iter().map(|e| (e.name, e.version)).collect();
    assert_eq!(served, expected);

    // Every failure is an older version refused, nothing else.
    let pool = rieter.db.pool().await.unwrap();
    let reasons: Vec<String> =
        sqlx::query_scalar("select error from uploads where status = 'failed'")
            .fetch_all(&pool)
            .await
            .unwrap();
    for reason in &reasons {
        assert!(
            reason.contains("is older than the current") || reason.contains("superseded by"),
            "unexpected failure: {reason}"
        );
    }
    assert!(
        report.rebuilds <= 10,
        "{} rebuilds for one burst",
        report.rebuilds
    );
}
