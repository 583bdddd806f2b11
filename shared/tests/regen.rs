//! The coalescing rules of regeneration, step by step against a real database.

use std::time::Duration;

use rieter::db::regen::{self, Plan, Timing};
use rieter::db::{catalogue, uploads};
use rieter::names::{ArchName, DistroName, RepoName};
use rieter_testkit::TestDatabase;
use sqlx::PgPool;

struct Fixture {
    _db: TestDatabase,
    pool: PgPool,
    arch_id: i64,
}

async fn fixture() -> Fixture {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    rieter::db::migrate(&pool).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let repo_id = catalogue::ensure_repo(
        &mut conn,
        &DistroName::parse("d").unwrap(),
        &RepoName::parse("r").unwrap(),
    )
    .await
    .unwrap();
    let arch_id =
        catalogue::ensure_repo_arch(&mut conn, repo_id, &ArchName::parse("x86_64").unwrap())
            .await
            .unwrap();
    Fixture {
        _db: db,
        pool,
        arch_id,
    }
}

async fn queued_jobs(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from apalis.jobs where job_type = 'rieter.regenerate'")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn change(pool: &PgPool, arch_id: i64) {
    let mut tx = pool.begin().await.unwrap();
    regen::mark_dirty(&mut tx, &[arch_id]).await.unwrap();
    tx.commit().await.unwrap();
}

const NOW: Timing = Timing {
    quiet: Duration::ZERO,
    max_delay: Duration::from_secs(60),
    poll: Duration::from_millis(500),
    hold: Duration::ZERO,
};

async fn build(f: &Fixture) -> (regen::BuildTarget, regen::Snapshot) {
    let Plan::Build(target) = regen::plan(&f.pool, f.arch_id, NOW).await.unwrap() else {
        panic!("expected a build");
    };
    // The fixture's repository has no packages, so nothing is sent to the receiver.
    let (sink, _received) = tokio::sync::mpsc::channel(1);
    let snapshot = regen::snapshot(&f.pool, &target, &sink)
        .await
        .unwrap()
        .unwrap();
    (target, snapshot)
}

/// Records a snapshot as published, as the publishing transaction does.
async fn finish(f: &Fixture, (target, snapshot): &(regen::BuildTarget, regen::Snapshot)) {
    let mut tx = f.pool.begin().await.unwrap();
    assert!(regen::lock_target(&mut tx, f.arch_id).await.unwrap());
    regen::finish(&mut tx, target, snapshot, false)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_burst_of_changes_queues_one_job() {
    let f = fixture().await;
    for _ in 0..50 {
        change(&f.pool, f.arch_id).await;
    }
    assert_eq!(queued_jobs(&f.pool).await, 1);
    let snapshot = build(&f).await;
    finish(&f, &snapshot).await;
    assert_eq!(
        regen::plan(&f.pool, f.arch_id, NOW).await.unwrap(),
        Plan::UpToDate
    );
}

#[tokio::test]
async fn a_change_during_a_build_causes_exactly_one_more_build() {
    let f = fixture().await;
    change(&f.pool, f.arch_id).await;
    let snapshot = build(&f).await;
    // Changes arrive while the build runs: one more job, however many changes.
    change(&f.pool, f.arch_id).await;
    change(&f.pool, f.arch_id).await;
    assert_eq!(queued_jobs(&f.pool).await, 2);
    finish(&f, &snapshot).await;

    let second = build(&f).await;
    assert!(second.1.change_seq > snapshot.1.change_seq);
    finish(&f, &second).await;
    assert_eq!(
        regen::plan(&f.pool, f.arch_id, NOW).await.unwrap(),
        Plan::UpToDate
    );
    let builds: i64 = sqlx::query_scalar("select build_count from repo_arches where id = $1")
        .bind(f.arch_id)
        .fetch_one(&f.pool)
        .await
        .unwrap();
    assert_eq!(builds, 2);
}

#[tokio::test]
async fn waits_for_quiet_and_for_parsing_but_not_beyond_the_maximum_delay() {
    let f = fixture().await;
    change(&f.pool, f.arch_id).await;
    let patient = Timing {
        quiet: Duration::from_secs(30),
        ..NOW
    };
    let Plan::Wait {
        wait,
        requeued: true,
    } = regen::plan(&f.pool, f.arch_id, patient).await.unwrap()
    else {
        panic!("built before the quiet period, or did not re-queue a long wait");
    };
    assert!(
        wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );
    assert_eq!(queued_jobs(&f.pool).await, 2, "waiting re-queues the job");

    // An upload of the repository still being parsed also postpones the build.
    let upload = uploads::NewUpload {
        id: uuid::Uuid::new_v4(),
        distro: DistroName::parse("d").unwrap(),
        repo: RepoName::parse("r").unwrap(),
        size: 1,
        sha256: rieter::blobs::Digest::of(b""),
        md5: String::new(),
        allow_downgrade: false,
        overwrite: false,
        uploaded_by: rieter::actor::Actor::Config,
        signature: None,
        build_id: None,
    };
    uploads::insert(&f.pool, &upload, "job").await.unwrap();
    assert!(matches!(
        regen::plan(&f.pool, f.arch_id, NOW).await.unwrap(),
        Plan::Wait { .. }
    ));

    // But a stream of changes cannot postpone it past the maximum delay.
    sqlx::query("update repo_arches set dirty_since = now() - interval '2 minutes' where id = $1")
        .bind(f.arch_id)
        .execute(&f.pool)
        .await
        .unwrap();
    assert!(matches!(
        regen::plan(&f.pool, f.arch_id, patient).await.unwrap(),
        Plan::Build(_)
    ));
}

#[tokio::test]
async fn a_wait_within_the_hold_is_left_to_the_job_and_queues_nothing() {
    let f = fixture().await;
    change(&f.pool, f.arch_id).await;
    assert_eq!(queued_jobs(&f.pool).await, 1);
    let holding = Timing {
        quiet: Duration::from_secs(3),
        hold: Duration::from_secs(3),
        ..NOW
    };
    let Plan::Wait {
        wait,
        requeued: false,
    } = regen::plan(&f.pool, f.arch_id, holding).await.unwrap()
    else {
        panic!("expected a wait for the job to sleep through");
    };
    assert!(wait <= Duration::from_secs(3), "{wait:?}");
    assert_eq!(queued_jobs(&f.pool).await, 1, "no second job");
    // Changes meanwhile queue nothing either: the job still counts as pending.
    change(&f.pool, f.arch_id).await;
    assert_eq!(queued_jobs(&f.pool).await, 1);
}

#[tokio::test]
async fn a_lost_job_is_requeued_once() {
    let f = fixture().await;
    change(&f.pool, f.arch_id).await;
    // The worker cleared the flag to build, then died.
    let _ = build(&f).await;
    assert_eq!(regen::stranded(&f.pool).await.unwrap(), [f.arch_id]);
    regen::requeue(&f.pool, f.arch_id).await.unwrap();
    regen::requeue(&f.pool, f.arch_id).await.unwrap();
    assert_eq!(
        queued_jobs(&f.pool).await,
        2,
        "one original job and one requeue"
    );
    assert!(regen::stranded(&f.pool).await.unwrap().is_empty());
}
