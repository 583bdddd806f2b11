//! Scratch directories against a real Postgres: a claimed one survives every sweep, a dead
//! one is removed, and an owner that lost its connection keeps its directory and takes its
//! lock back.

use std::fs::FileTimes;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use rieter::scratch;
use rieter::storage::Storage;
use rieter_testkit::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

fn dirs(tmp: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Sets a path's modification time `ago` into the past.
fn backdate(path: &Path, ago: Duration) {
    let then = SystemTime::now() - ago;
    std::fs::File::open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(then))
        .unwrap();
}

/// How many advisory locks sessions other than this one hold in the test database.
async fn held_locks(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_locks
         where locktype = 'advisory' and granted and pid <> pg_backend_pid()
           and database = (select oid from pg_database where datname = current_database())",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn only_scratch_of_processes_without_lock_or_heartbeat_is_removed() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path()).unwrap();
    let tmp = storage.tmp_dir();
    let _live = scratch::claim(&pool, storage.clone()).await.unwrap();
    let mine = dirs(&tmp);
    assert_eq!(mine.len(), 1);
    // A process that died: its directory, with a half upload, and nobody holding its lock.
    // Until it has missed heartbeats for DEAD_AFTER, it may only be reconnecting: it stays.
    let dead = Uuid::new_v4().to_string();
    std::fs::create_dir(tmp.join(&dead)).unwrap();
    std::fs::write(tmp.join(&dead).join("x.part"), b"half").unwrap();
    assert_eq!(scratch::remove_dead(&pool, &storage).await.unwrap(), 0);
    assert_eq!(dirs(&tmp).len(), 2);

    backdate(
        &tmp.join(&dead),
        scratch::DEAD_AFTER + Duration::from_secs(1),
    );
    assert_eq!(scratch::remove_dead(&pool, &storage).await.unwrap(), 1);
    assert_eq!(dirs(&tmp), mine);
    assert_eq!(scratch::remove_dead(&pool, &storage).await.unwrap(), 0);

    // A live owner whose directory looks old (an idle process between heartbeats, as far as
    // mtime goes) is kept by its lock.
    backdate(&tmp.join(&mine[0]), scratch::DEAD_AFTER * 2);
    assert_eq!(scratch::remove_dead(&pool, &storage).await.unwrap(), 0);
    assert_eq!(dirs(&tmp), mine);
    // Its next heartbeat touches it again.
    let live = Uuid::parse_str(&mine[0]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while storage.scratch_idle(live).unwrap().unwrap() >= scratch::DEAD_AFTER {
        assert!(Instant::now() < deadline, "no heartbeat");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Postgres ends the owner's lock connection (as a restart does). Its heartbeat keeps its
    // directory through every sweep until it holds its lock again.
    let terminated: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_locks
         where locktype = 'advisory' and pid <> pg_backend_pid()
           and database = (select oid from pg_database where datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(terminated, 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while held_locks(&pool).await != 1 {
        assert_eq!(scratch::remove_dead(&pool, &storage).await.unwrap(), 0);
        assert_eq!(dirs(&tmp), mine);
        assert!(
            Instant::now() < deadline,
            "the owner never took its scratch lock back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(scratch::remove_dead(&pool, &storage).await.unwrap(), 0);
    assert_eq!(dirs(&tmp), mine);
}
