//! The blob store's rules against a real Postgres and a real directory: a claim stores once and
//! records; the collector never takes a blob an upload in flight or a published file (live or
//! in its grace period) refers to, and takes it once nothing does; objects no row records are
//! collected; a foreign key refuses to forget a blob a package holds.

use std::time::Duration;

use bytes::Bytes;
use rieter::blobs::{self, BlobStore, Digest, Location, S3Options, Source};
use rieter::db::uploads::{self, NewUpload};
use rieter::db::{catalogue, manifest};
use rieter::ingest;
use rieter::names::{ArchName, DistroName, FileName, RepoName};
use rieter::storage::Storage;
use rieter_testkit::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

struct Fixture {
    _db: TestDatabase,
    pool: PgPool,
    dir: tempfile::TempDir,
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
        dir,
        store,
    }
}

/// Repository architecture `d/r/x86_64`.
async fn repo_arch(pool: &PgPool) -> i64 {
    let mut conn = pool.acquire().await.unwrap();
    let repo_id = catalogue::ensure_repo(
        &mut conn,
        &DistroName::parse("d").unwrap(),
        &RepoName::parse("r").unwrap(),
    )
    .await
    .unwrap();
    catalogue::ensure_repo_arch(&mut conn, repo_id, &ArchName::parse("x86_64").unwrap())
        .await
        .unwrap()
}

/// Makes `entries` the architecture's live files, as a rebuild does; how many were retired.
async fn publish(
    pool: &PgPool,
    arch_id: i64,
    entries: &[manifest::Entry],
    grace: Duration,
) -> usize {
    let mut tx = pool.begin().await.unwrap();
    let current = manifest::current(&mut *tx, arch_id).await.unwrap();
    let change = manifest::diff(&current, entries.to_vec());
    let retired = manifest::switch(&mut tx, arch_id, &change, grace)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    retired as usize
}

/// Claims `bytes` as a blob in `tx`, as a publish claims an archive; returns its digest.
async fn claim_bytes(
    tx: &mut sqlx::PgConnection,
    store: &BlobStore,
    bytes: &'static [u8],
) -> Digest {
    let digest = Digest::of(bytes);
    blobs::claim(
        tx,
        store,
        &digest,
        bytes.len() as u64,
        Source::Bytes(Bytes::from_static(bytes)),
    )
    .await
    .unwrap();
    digest
}

/// Moves every claim past the collector's margin, as time would.
async fn age_claims(pool: &PgPool) {
    sqlx::query("update blobs set claimed_at = now() - interval '1 minute'")
        .execute(pool)
        .await
        .unwrap();
}

async fn recorded(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from blobs")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn stored(store: &BlobStore, digest: &Digest) -> bool {
    store.local_path(digest).unwrap().exists()
}

#[tokio::test]
async fn the_collector_takes_a_blob_only_once_nothing_refers_to_it() {
    let f = fixture().await;
    // An upload, accepted as the api accepts one: blob stored and recorded with the upload.
    let scratch = Storage::open(f.dir.path().join("data")).unwrap();
    let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"pkg"))]);
    let received = ingest::receive(&scratch, &f.store, body, 1 << 20, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        matches!(received, ingest::Received::File(_)),
        "the local backend receives into a scratch file"
    );
    let digest = received.sha256().clone();
    let upload = NewUpload {
        id: Uuid::now_v7(),
        distro: DistroName::parse("d").unwrap(),
        repo: RepoName::parse("r").unwrap(),
        size: 3,
        sha256: digest.clone(),
        md5: received.md5().to_owned(),
        allow_downgrade: false,
        overwrite: false,
        uploaded_by: rieter::actor::Actor::Config,
        signature: None,
        build_id: None,
    };
    ingest::accept(&f.pool, &f.store, received, &upload)
        .await
        .unwrap();
    assert!(stored(&f.store, &digest));
    age_claims(&f.pool).await;
    // Queued: kept.
    assert_eq!(
        blobs::collect_garbage(&f.pool, &f.store, 100)
            .await
            .unwrap(),
        0
    );

    // Published under a name, then retired with a grace period: still kept.
    let arch_id = repo_arch(&f.pool).await;
    let entry = manifest::Entry {
        filename: FileName::parse("p-1-1-x86_64.pkg.tar.zst").unwrap(),
        digest: digest.clone(),
        size: 3,
    };
    publish(&f.pool, arch_id, &[entry], Duration::from_secs(600)).await;
    uploads::fail(&f.pool, upload.id, "refused").await.unwrap();
    age_claims(&f.pool).await;
    assert_eq!(
        blobs::collect_garbage(&f.pool, &f.store, 100)
            .await
            .unwrap(),
        0
    );
    let retired = publish(&f.pool, arch_id, &[], Duration::from_secs(600)).await;
    assert_eq!(retired, 1);
    assert_eq!(manifest::expire_retired(&f.pool).await.unwrap(), 0);
    assert_eq!(
        blobs::collect_garbage(&f.pool, &f.store, 100)
            .await
            .unwrap(),
        0
    );
    assert!(
        stored(&f.store, &digest),
        "a grace-period file lost its blob"
    );

    // Its grace period over: forgotten, then collected, row and object.
    sqlx::query("update published_files set retired_until = now() - interval '1 second'")
        .execute(&f.pool)
        .await
        .unwrap();
    assert_eq!(manifest::expire_retired(&f.pool).await.unwrap(), 1);
    assert_eq!(
        blobs::collect_garbage(&f.pool, &f.store, 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(recorded(&f.pool).await, 0);
    assert!(!stored(&f.store, &digest));
}

#[tokio::test]
async fn a_fresh_claim_is_left_alone_and_a_referenced_row_cannot_be_forgotten() {
    let f = fixture().await;
    let mut tx = f.pool.begin().await.unwrap();
    let digest = claim_bytes(&mut tx, &f.store, b"archive").await;
    // Claiming again in the same or a later transaction writes nothing new.
    assert_eq!(claim_bytes(&mut tx, &f.store, b"archive").await, digest);
    tx.commit().await.unwrap();
    assert_eq!(recorded(&f.pool).await, 1);
    // Unreferenced, but claimed a moment ago: its claimer may be about to refer to it.
    assert_eq!(
        blobs::collect_garbage(&f.pool, &f.store, 100)
            .await
            .unwrap(),
        0
    );
    assert!(stored(&f.store, &digest));

    // Whatever a query might get wrong, Postgres refuses to forget a blob a published file
    // refers to (and packages have the same foreign key).
    let arch_id = repo_arch(&f.pool).await;
    let entry = manifest::Entry {
        filename: FileName::parse("r.db.tar.gz").unwrap(),
        digest: digest.clone(),
        size: 7,
    };
    publish(&f.pool, arch_id, &[entry], Duration::ZERO).await;
    let refused = sqlx::query("delete from blobs where digest = $1")
        .bind(digest.as_str())
        .execute(&f.pool)
        .await
        .unwrap_err();
    assert_eq!(
        refused
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("23503"),
        "{refused}"
    );
    for package_fk in ["packages_sha256_fkey", "published_files_digest_fkey"] {
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_constraint where conname = $1)")
                .bind(package_fk)
                .fetch_one(&f.pool)
                .await
                .unwrap();
        assert!(exists, "{package_fk}");
    }
}

#[tokio::test]
async fn objects_no_row_records_are_collected_and_recorded_ones_kept() {
    let f = fixture().await;
    let orphan = Digest::of(b"left by a failed transaction");
    f.store
        .put_bytes(&orphan, Bytes::from_static(b"left by a failed transaction"))
        .await
        .unwrap();
    let mut tx = f.pool.begin().await.unwrap();
    let kept = claim_bytes(&mut tx, &f.store, b"recorded").await;
    tx.commit().await.unwrap();
    // Young objects may belong to a claim in progress.
    assert_eq!(
        blobs::collect_orphans(&f.pool, &f.store, Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        blobs::collect_orphans(&f.pool, &f.store, Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    assert!(!stored(&f.store, &orphan));
    assert!(stored(&f.store, &kept));
}
