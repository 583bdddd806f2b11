//! The maintenance sweep against a real Postgres and a real blob directory, with the worker's
//! own state: files past their grace period stop being served, and blobs nothing refers to are
//! deleted, row and object, while those something still refers to stay.

use std::ffi::OsString;
use std::time::Duration;

use bytes::Bytes;
use rieter::blobs::{self, Digest, Source};
use rieter::db::{catalogue, manifest};
use rieter::names::{ArchName, DistroName, FileName, RepoName};
use rieter::settings::{WorkerConfig, load_from};
use rieter_testkit::TestDatabase;

#[tokio::test]
async fn a_sweep_expires_retired_files_and_collects_what_nothing_refers_to() {
    let db = TestDatabase::create().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("RIETER_DATABASE_URL", db.url()),
        ("RIETER_DATA_DIR", data.path().to_str().unwrap()),
    ]
    .map(|(k, v)| (OsString::from(k), OsString::from(v)));
    let config: WorkerConfig = load_from(env).unwrap();
    let state = rieter_worker::build_state(config).await.unwrap();
    let pool = &state.pool;

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
    drop(conn);

    // Three blobs: one nothing refers to, one named by a file whose grace period is over, one
    // by a file still in its grace period.
    let [loose, expired, in_grace] = [b"loose".as_slice(), b"expired", b"in grace"].map(Digest::of);
    let mut tx = pool.begin().await.unwrap();
    for (digest, bytes) in [
        (&loose, b"loose".as_slice()),
        (&expired, b"expired"),
        (&in_grace, b"in grace"),
    ] {
        let source = Source::Bytes(Bytes::copy_from_slice(bytes));
        blobs::claim(&mut tx, &state.blobs, digest, bytes.len() as u64, source)
            .await
            .unwrap();
    }
    let entries = [
        ("old.pkg.tar.zst", &expired),
        ("older.pkg.tar.zst", &in_grace),
    ]
    .map(|(name, digest)| manifest::Entry {
        filename: FileName::parse(name).unwrap(),
        digest: digest.clone(),
        size: 1,
    });
    for (listing, grace) in [
        (entries.to_vec(), Duration::ZERO),
        (vec![], Duration::from_secs(600)),
    ] {
        let current = manifest::current(&mut *tx, arch_id).await.unwrap();
        let change = manifest::diff(&current, listing);
        manifest::switch(&mut tx, arch_id, &change, grace)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query(
        "update published_files set retired_until = now() - interval '1 second'
         where filename = 'old.pkg.tar.zst'",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("update blobs set claimed_at = now() - interval '1 minute'")
        .execute(pool)
        .await
        .unwrap();

    rieter_worker::sweep::sweep_once(&state).await.unwrap();

    let files: Vec<String> = sqlx::query_scalar("select filename from published_files")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(files, ["older.pkg.tar.zst"]);
    let mut left: Vec<String> = sqlx::query_scalar("select digest from blobs")
        .fetch_all(pool)
        .await
        .unwrap();
    left.sort();
    assert_eq!(left, [in_grace.to_string()]);
    for (digest, kept) in [(&loose, false), (&expired, false), (&in_grace, true)] {
        let path = state.blobs.local_path(digest).unwrap();
        assert_eq!(path.exists(), kept, "{digest:?}");
    }
}
