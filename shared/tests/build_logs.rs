//! Build logs against a real Postgres and a real blob directory: chunks are appended at the
//! log's end only, a chunk sent again is taken once, only the lease holder appends, a
//! followed log ends with its build, and the retention removes old logs, after which the
//! collector deletes their blobs.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use rieter::blobs::{self, BlobStore, Location, S3Options};
use rieter::build::log::{self, LogError};
use rieter::build::queue::{self, Outcome};
use rieter::db::builds;
use rieter::names::ArchName;
use rieter_testkit::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

struct Fixture {
    _db: TestDatabase,
    pool: PgPool,
    _dir: tempfile::TempDir,
    store: BlobStore,
}

async fn fixture() -> Fixture {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    rieter::db::migrate(&pool).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(
        &Location::Local(dir.path().join("blobs")),
        &S3Options::default(),
    )
    .unwrap();
    Fixture {
        _db: db,
        pool,
        _dir: dir,
        store,
    }
}

/// A running build with its lease.
async fn running_build(pool: &PgPool) -> (i64, Uuid) {
    let target: i64 = sqlx::query_scalar(
        "insert into build_targets (name, kind, url, distro, repo, arches)
         values ('t', 'git', 'https://example.org/t.git', 'd', 'r', '{x86_64}') returning id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let arch = ArchName::parse("x86_64").unwrap();
    builds::request(pool, target, &arch, false).await.unwrap();
    let claimed = builds::claim(pool, "agent", &[arch], Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    (claimed.build.id, claimed.lease_id)
}

async fn read_all(f: &Fixture, id: i64, follow: bool) -> String {
    let parts: Vec<Bytes> = log::read(f.pool.clone(), f.store.clone(), id, follow)
        .try_collect()
        .await
        .unwrap();
    String::from_utf8(parts.concat()).unwrap()
}

#[tokio::test]
async fn chunks_are_appended_at_the_end_once_and_only_by_the_lease_holder() {
    let f = fixture().await;
    let (id, lease) = running_build(&f.pool).await;
    let append = |offset: u64, text: &'static str, lease: Uuid| {
        log::append(&f.pool, &f.store, id, lease, offset, Bytes::from(text))
    };
    assert_eq!(append(0, "hello ", lease).await.unwrap(), 6);
    // The same chunk again (its answer was lost): taken once.
    assert_eq!(append(0, "hello ", lease).await.unwrap(), 6);
    // Another chunk at a taken offset, or past the end: a gap, with the length to send from.
    assert!(matches!(
        append(0, "HELLO ", lease).await,
        Err(LogError::Gap {
            offset: 0,
            length: 6
        })
    ));
    assert!(matches!(
        append(9, "world\n", lease).await,
        Err(LogError::Gap { length: 6, .. })
    ));
    assert!(matches!(
        append(6, "world\n", Uuid::new_v4()).await,
        Err(LogError::LeaseLost(_))
    ));
    assert!(matches!(
        append(6, "", lease).await,
        Err(LogError::ChunkSize)
    ));
    assert_eq!(append(6, "world\n", lease).await.unwrap(), 12);
    assert_eq!(read_all(&f, id, false).await, "hello world\n");
    let build = builds::find(&f.pool, id).await.unwrap().unwrap();
    assert_eq!(build.log_bytes, 12);

    // Followed, the log ends when the build does, with what came before the end.
    let follower = tokio::spawn({
        let (pool, store) = (f.pool.clone(), f.store.clone());
        async move {
            let parts: Vec<Bytes> = log::read(pool, store, id, true)
                .try_collect()
                .await
                .unwrap();
            String::from_utf8(parts.concat()).unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !follower.is_finished(),
        "a followed log waits for its build"
    );
    append(12, "done\n", lease).await.unwrap();
    queue::finish(&f.pool, id, lease, Outcome::Succeeded, None)
        .await
        .unwrap();
    let followed = tokio::time::timeout(Duration::from_secs(10), follower)
        .await
        .expect("the followed log ended with the build")
        .unwrap();
    assert_eq!(followed, "hello world\ndone\n");
    // The build ended: its log takes no more.
    assert!(matches!(
        append(17, "late\n", lease).await,
        Err(LogError::LeaseLost(_))
    ));
}

#[tokio::test]
async fn old_logs_are_removed_and_their_blobs_collected() {
    let f = fixture().await;
    let (id, lease) = running_build(&f.pool).await;
    log::append(&f.pool, &f.store, id, lease, 0, Bytes::from("old log\n"))
        .await
        .unwrap();
    queue::finish(&f.pool, id, lease, Outcome::Failed, Some("broken"))
        .await
        .unwrap();
    // Ended yesterday: kept for 2 days, removed when kept for 1.
    sqlx::query("update builds set finished_at = now() - interval '1 day 1 hour'")
        .execute(&f.pool)
        .await
        .unwrap();
    let day = Duration::from_secs(24 * 3600);
    assert_eq!(log::remove_old(&f.pool, 2 * day).await.unwrap(), 0);
    assert_eq!(read_all(&f, id, false).await, "old log\n");
    // Recent claims are safe from the collector; make this one old.
    sqlx::query("update blobs set claimed_at = now() - interval '1 hour'")
        .execute(&f.pool)
        .await
        .unwrap();
    assert_eq!(
        blobs::collect_garbage(&f.pool, &f.store, 100)
            .await
            .unwrap(),
        0,
        "a log chunk is a reference"
    );
    assert_eq!(log::remove_old(&f.pool, day).await.unwrap(), 1);
    let build = builds::find(&f.pool, id).await.unwrap().unwrap();
    assert!(build.log_removed_at.is_some());
    assert_eq!(build.log_bytes, 0);
    assert_eq!(read_all(&f, id, false).await, "");
    assert_eq!(
        blobs::collect_garbage(&f.pool, &f.store, 100)
            .await
            .unwrap(),
        1
    );
}
