//! Reliability (5): concurrent uploads of several versions of one package, interleaved with
//! removals of it. The outcome is what the last committed operation implies, every decision is
//! the one vercmp calls for, and no database ever lists two versions of the name.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rieter_e2e::invariants::parse_db;
use rieter_e2e::{API_KEY, Build, Options, Rieter};

/// `/usr/bin/vercmp a b`: the sign of pacman's comparison.
fn vercmp(a: &str, b: &str) -> i32 {
    let out = Command::new("vercmp").arg(a).arg(b).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse::<i32>()
        .unwrap()
        .signum()
}

const VERSIONS: &[(&str, Option<&str>)] = &[
    ("1.0", None),
    ("1.0a", None),
    ("1.0.1", None),
    ("1.9", None),
    ("1.10", None),
    ("2.0rc1", None),
    ("2.0", None),
    ("0.1", Some("1")),
];

#[tokio::test(flavor = "multi_thread")]
async fn racing_versions_and_removals_follow_vercmp_and_commit_order() {
    let files: Vec<_> = VERSIONS
        .iter()
        .map(|(v, epoch)| {
            let build = Build::new("race", v);
            match epoch {
                Some(e) => build.epoch(e),
                None => build,
            }
            .build_one()
            .unwrap()
        })
        .collect();
    let rieter = Arc::new(
        Rieter::start(Options {
            quiet_period_secs: 0.2,
            ..Options::default()
        })
        .await
        .unwrap(),
    );

    // Watch the served database throughout: never two entries named `race`.
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (rieter, stop, samples) = (rieter.clone(), stop.clone(), samples.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let resp = rieter
                    .client
                    .get(rieter.url("/racing/core/x86_64/core.db"))
                    .send()
                    .await
                    .unwrap();
                if resp.status() == 200 {
                    let entries = parse_db(&resp.bytes().await.unwrap()).unwrap();
                    let race = entries.iter().filter(|e| e.name == "race").count();
                    assert!(race <= 1, "the database lists {race} versions of race");
                    samples.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let mut seed = 0x1234_5678u64;
    let (mut removed, mut missing) = (0, 0);
    for _round in 0..5 {
        let mut order: Vec<usize> = (0..files.len()).collect();
        for i in (1..order.len()).rev() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let mut tasks = Vec::new();
        for &i in &order {
            let (rieter, file) = (rieter.clone(), files[i].clone());
            tasks.push(tokio::spawn(async move {
                rieter.upload("racing/core", &file).await.unwrap();
                None
            }));
        }
        for delay in [(seed >> 20) % 300, (seed >> 30) % 600] {
            let rieter = rieter.clone();
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let resp = rieter
                    .client
                    .delete(rieter.url("/racing/core/x86_64/race"))
                    .bearer_auth(API_KEY)
                    .send()
                    .await
                    .unwrap();
                Some(resp.status().as_u16())
            }));
        }
        for task in tasks {
            match task.await.unwrap() {
                Some(202) => removed += 1,
                Some(404) => missing += 1,
                Some(other) => panic!("removal answered {other}"),
                None => {}
            }
        }
        rieter
            .wait_quiescent(Duration::from_secs(60))
            .await
            .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    sampler.await.unwrap();

    // Replay the history in commit order and check every decision against vercmp.
    let pool = rieter.db.pool().await.unwrap();
    let history: Vec<(String, String)> = sqlx::query_as(
        "select action, version from package_events where name = 'race' order by id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut state: Option<String> = None;
    let mut counts = std::collections::BTreeMap::new();
    for (action, version) in &history {
        *counts.entry(action.clone()).or_insert(0) += 1;
        match (action.as_str(), &state) {
            ("added", Some(current)) => {
                assert_eq!(vercmp(version, current), 1, "{version} replaced {current}")
            }
            ("added", None) => {}
            ("kept", current) => assert_eq!(current.as_deref(), Some(version.as_str())),
            ("refused", Some(current)) => assert_eq!(
                vercmp(version, current),
                -1,
                "{version} refused against {current}"
            ),
            ("removed", current) => assert_eq!(current.as_deref(), Some(version.as_str())),
            other => panic!("impossible step {other:?}"),
        }
        state = match action.as_str() {
            "added" | "kept" => Some(version.clone()),
            "removed" => None,
            _ => state,
        };
    }
    let uploads: i64 = sqlx::query_scalar("select count(*) from uploads")
        .fetch_one(&pool)
        .await
        .unwrap();
    let decided: i64 = sqlx::query_scalar(
        "select count(distinct upload_id) from package_events where action <> 'removed'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(decided, uploads, "every upload has exactly one decision");
    assert_eq!(
        counts.get("removed").copied().unwrap_or(0),
        removed,
        "202s and removals disagree"
    );

    // The end state is the replayed one, in the catalogue and in what is served.
    let current: Option<String> =
        sqlx::query_scalar("select version from packages where name = 'race'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    assert_eq!(current, state);
    let report = rieter.check_invariants().await.unwrap();
    println!(
        "racing: {uploads} uploads of {} versions and {} removals ({removed} removed something, \
         {missing} found nothing) over 5 rounds; decisions {counts:?}; {} database samples never \
         showed two versions; final version {state:?}; {} rebuild(s)",
        VERSIONS.len(),
        removed + missing,
        samples.load(Ordering::Relaxed),
        report.rebuilds
    );
}
