//! Upgrading in place: a catalogue and data directory written by 0.1.0 (blobs named by upload
//! id, hard-linked trees) are moved into the content-addressed blob store and the manifest on
//! the first start, with no package lost. The fixture (`fixtures/upgrade-0.1.0`) was made by
//! the 0.1.0 binaries: three packages published in `up/main` and `up/extra`, then `up-tool`
//! replaced by a newer version, its old file still in its grace period.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rieter_e2e::pacman::Pacman;
use rieter_e2e::{Build, Options, Rieter, TestDatabase};
use sha2::{Digest, Sha256};

/// The last migration 0.1.0 had applied.
const LAST_0_1_0_MIGRATION: i64 = 20261201000100;

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/upgrade-0.1.0")
}

/// A database as 0.1.0 left it: its migrations, then its rows.
async fn old_database() -> TestDatabase {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    apalis_postgres::PostgresStorage::setup(&pool)
        .await
        .unwrap();
    let mut migrator = sqlx::migrate::Migrator::new(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations"
    )))
    .await
    .unwrap();
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= LAST_0_1_0_MIGRATION)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator.run(&pool).await.unwrap();
    let url = db.url().split('?').next().unwrap().to_owned();
    // A data-only dump orders tables, not rows: uploads and packages refer to each other, so
    // foreign keys are checked by nothing while it loads (as pg_restore --disable-triggers).
    let loaded = Command::new("psql")
        .env("PGOPTIONS", "-c session_replication_role=replica")
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(fixture().join("catalogue.sql"))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    db
}

/// The sha256 of every file of the 0.1.0 trees, by URL path.
fn tree_digests(data: &Path) -> BTreeMap<String, String> {
    let mut digests = BTreeMap::new();
    for (distro, repo, arch) in [("up", "main", "x86_64"), ("up", "extra", "x86_64")] {
        let dir = data.join("repos").join(distro).join(repo).join(arch);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(entry.path()).unwrap();
            digests.insert(
                format!("/{distro}/{repo}/{arch}/{name}"),
                hex::encode(Sha256::digest(&bytes)),
            );
        }
    }
    digests
}

#[tokio::test(flavor = "multi_thread")]
async fn a_0_1_0_data_directory_is_moved_into_the_blob_store_on_first_start() {
    let db = old_database().await;
    let data = tempfile::tempdir().unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(fixture().join("data.tar.gz"))
        .arg("-C")
        .arg(data.path())
        .status()
        .unwrap();
    assert!(untar.success());
    let before = tree_digests(data.path());
    assert_eq!(before.len(), 12, "{before:?}");

    let rieter = Rieter::start_on(
        Options {
            data_dir: Some(data.path().to_owned()),
            ..Options::default()
        },
        db,
    )
    .await
    .unwrap();

    // Every file 0.1.0 served is served again, byte for byte: the live databases, the current
    // packages, and the replaced package's file, still within its grace period.
    for (path, digest) in &before {
        let resp = rieter.client.get(rieter.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let bytes = resp.bytes().await.unwrap();
        assert_eq!(&hex::encode(Sha256::digest(&bytes)), digest, "{path}");
    }
    assert!(!data.path().join("repos").exists(), "the old trees remain");
    let legacy: Vec<_> = std::fs::read_dir(data.path().join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(legacy, ["sha256"], "0.1.0's blob files remain");
    let pool = rieter.db.pool().await.unwrap();
    let retired: i64 = sqlx::query_scalar(
        "select count(*) from published_files
         where filename = 'up-tool-1.0-1-x86_64.pkg.tar.zst' and retired_until > now()",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(retired, 1, "the replaced file keeps its grace period");

    // pacman syncs and installs from the upgraded repository.
    let pacman = Pacman::new(&[("main", &rieter.url("/up/main/$arch"))]).unwrap();
    pacman.ok(&["-Sy", "up-tool"]).unwrap();
    assert_eq!(
        std::fs::read_to_string(pacman.root().join("usr/bin/up-tool")).unwrap(),
        "#!/bin/sh\necho two\n"
    );

    // And the repository goes on: a new version publishes over the upgraded manifest.
    let v3 = Build::new("up-tool", "3.0").build_one().unwrap();
    let id = rieter.upload("up/main", &v3).await.unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    rieter
        .wait_quiescent(Duration::from_secs(60))
        .await
        .unwrap();
    let report = rieter.check_invariants().await.unwrap();
    assert_eq!(report.repo_arches, 2);
    println!(
        "upgrade: {} files of 0.1.0 served again, then {report:?}",
        before.len()
    );
}
