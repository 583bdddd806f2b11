//! Scratch directories against a real Postgres: a claimed one survives every sweep, a dead
//! one is removed, and an owner that lost its connection takes its lock and directory back.

use std::path::Path;
use std::time::{Duration, Instant};

use rieter::scratch;
use rieter::storage::Storage;
use rieter_testkit::TestDatabase;
use uuid::Uuid;

fn dirs(tmp: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn only_scratch_of_processes_without_their_lock_is_removed() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path()).unwrap();
    let tmp = storage.tmp_dir();
    let _live = scratch::claim(&pool, storage.clone()).await.unwrap();
    let mine = dirs(&tmp);
    assert_eq!(mine.len(), 1);
    // A process that died: its directory, with a half upload, and nobody holding its lock.
    let dead = Uuid::new_v4().to_string();
    std::fs::create_dir(tmp.join(&dead)).unwrap();
    std::fs::write(tmp.join(&dead).join("x.part"), b"half").unwrap();

    assert_eq!(scratch::remove_dead(&pool, &storage).await.unwrap(), 1);
    assert_eq!(dirs(&tmp), mine);
    assert_eq!(scratch::remove_dead(&pool, &storage).await.unwrap(), 0);

    // Postgres ends the owner's lock connection (as a restart does). Until the owner takes its
    // lock back, it looks dead and a sweep may remove its directory; then it recreates it.
    let terminated: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_locks
         where locktype = 'advisory' and pid <> pg_backend_pid()
           and database = (select oid from pg_database where datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(terminated, 1);
    scratch::remove_dead(&pool, &storage).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while dirs(&tmp) != mine || scratch::remove_dead(&pool, &storage).await.unwrap() != 0 {
        assert!(
            Instant::now() < deadline,
            "the owner never took its scratch back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
