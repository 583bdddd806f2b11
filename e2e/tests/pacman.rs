//! Rieter as a pacman repository: a real pacman syncs, searches, installs and lists files from
//! the databases Rieter publishes.

use std::process::Command;
use std::time::Duration;

use rieter_e2e::pacman::Pacman;
use rieter_e2e::{API_KEY, Build, Ext, Options, Pkg, Rieter};
use serde_json::Value;

async fn publish_all(rieter: &Rieter, target: &str, files: &[std::path::PathBuf]) -> Vec<Value> {
    let mut ids = Vec::new();
    for file in files {
        ids.push(rieter.upload(target, file).await.unwrap());
    }
    let mut uploads = Vec::new();
    for id in ids {
        let upload = rieter.wait_final(&id).await.unwrap();
        assert_eq!(upload["status"], "published", "{upload}");
        uploads.push(upload);
    }
    uploads
}

/// Entry directories (`name-version`) of a database file, read with bsdtar.
fn db_entries(bytes: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("bsdtar")
        .arg("-tf")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut entries: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_suffix("/desc"))
        .map(str::to_owned)
        .collect();
    entries.sort();
    entries
}

async fn get(rieter: &Rieter, path: &str) -> reqwest::Response {
    rieter.client.get(rieter.url(path)).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn pacman_syncs_searches_installs_and_lists_files() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let mut files = vec![
        Build::new("e2e-tool", "1.2.3")
            .epoch("1")
            .with_pkg(|p| p.file("usr/bin/e2e-tool", "#!/bin/sh\necho tool\n"))
            .build_one()
            .unwrap(),
        Build::new("e2e-data", "7").arch("any").build_one().unwrap(),
        Build::new("e2e-xz", "0.1")
            .ext(Ext::Xz)
            .build_one()
            .unwrap(),
    ];
    files.extend(
        Build::new("e2e-suite", "2.0")
            .with_pkg(|p| Pkg {
                name: "e2e-suite-core".into(),
                ..p
            })
            .split(Pkg::new("e2e-suite-docs").arch("any"))
            .build()
            .unwrap(),
    );
    publish_all(&rieter, "e2e/main", &files).await;

    let server = rieter.url("/e2e/main/$arch");
    let pacman = Pacman::new(&[("main", &server)]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    let listed = pacman.ok(&["-Sl", "main"]).unwrap();
    for expected in [
        "main e2e-tool 1:1.2.3-1",
        "main e2e-data 7-1",
        "main e2e-xz 0.1-1",
        "main e2e-suite-core 2.0-1",
        "main e2e-suite-docs 2.0-1",
    ] {
        assert!(
            listed.contains(expected),
            "-Sl lacks {expected:?}:\n{listed}"
        );
    }
    let search = pacman.ok(&["-Ss", "e2e-suite"]).unwrap();
    assert!(search.contains("main/e2e-suite-core 2.0-1"), "{search}");

    pacman.ok(&["-S", "e2e-tool", "e2e-data"]).unwrap();
    let installed = std::fs::read_to_string(pacman.root().join("usr/bin/e2e-tool")).unwrap();
    assert_eq!(installed, "#!/bin/sh\necho tool\n");
    assert!(pacman.root().join("usr/share/e2e-data/README").is_file());
    let query = pacman.ok(&["-Q"]).unwrap();
    assert!(query.contains("e2e-tool 1:1.2.3-1"), "{query}");

    pacman.ok(&["-Fy"]).unwrap();
    let files_list = pacman.ok(&["-Fl", "e2e-tool"]).unwrap();
    assert!(
        files_list.contains("e2e-tool usr/bin/e2e-tool"),
        "{files_list}"
    );

    // A second sync is answered 304: pacman sends If-Modified-Since with the Last-Modified it
    // stored, and says so in its debug output.
    let before = rieter.log_lines("http.status=304").len();
    let again = pacman.ok(&["-Sy", "--debug"]).unwrap();
    assert!(again.contains("main.db: response code 304"), "{again}");
    assert!(
        rieter.log_lines("http.status=304").len() > before,
        "no 304 was served"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serving_honours_http_caching_and_ranges() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let file = Build::new("e2e-range", "1.0")
        .padding(100_000)
        .build_one()
        .unwrap();
    publish_all(&rieter, "e2e/main", std::slice::from_ref(&file)).await;
    let bytes = std::fs::read(&file).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap();
    let url = format!("/e2e/main/x86_64/{name}");

    let full = get(&rieter, &url).await;
    assert_eq!(full.status(), 200);
    let headers = full.headers().clone();
    assert_eq!(headers["content-length"], bytes.len().to_string().as_str());
    assert_eq!(headers["accept-ranges"], "bytes");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let modified = headers["last-modified"].to_str().unwrap().to_owned();
    assert_eq!(full.bytes().await.unwrap(), bytes);

    let head = rieter.client.head(rieter.url(&url)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    assert_eq!(head.headers()["etag"], etag.as_str());

    let part = rieter
        .client
        .get(rieter.url(&url))
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-199/{}", bytes.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), bytes[100..200]);
    let tail = rieter
        .client
        .get(rieter.url(&url))
        .header("Range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.bytes().await.unwrap(), bytes[1000..]);
    let outside = rieter
        .client
        .get(rieter.url(&url))
        .header("Range", format!("bytes={}-", bytes.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 416);
    assert_eq!(
        outside.headers()["content-range"],
        format!("bytes */{}", bytes.len()).as_str()
    );

    let cached = rieter
        .client
        .get(rieter.url(&url))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let cached = rieter
        .client
        .get(rieter.url(&url))
        .header("If-Modified-Since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let stale = rieter
        .client
        .get(rieter.url(&url))
        .header("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);

    for db in [
        "main.db",
        "main.db.tar.gz",
        "main.files",
        "main.files.tar.gz",
    ] {
        let resp = get(&rieter, &format!("/e2e/main/x86_64/{db}")).await;
        assert_eq!(resp.status(), 200, "{db}");
        let body = resp.bytes().await.unwrap();
        assert_eq!(db_entries(&body), ["e2e-range-1.0-1"], "{db}");
    }
    // A literal `:` (epoch) in the file name, as pacman sends it.
    let epoch = Build::new("e2e-colon", "3.0")
        .epoch("2")
        .build_one()
        .unwrap();
    publish_all(&rieter, "e2e/main", std::slice::from_ref(&epoch)).await;
    let resp = get(
        &rieter,
        "/e2e/main/x86_64/e2e-colon-2:3.0-1-x86_64.pkg.tar.zst",
    )
    .await;
    assert_eq!(resp.status(), 200);

    for missing in [
        "/e2e/main/x86_64/nope-1-1-x86_64.pkg.tar.zst",
        "/e2e/main/aarch64/main.db",
        "/e2e/other/x86_64/other.db",
        "/nodistro/main/x86_64/main.db",
        "/e2e/main/x86_64/.hidden",
    ] {
        let resp = get(&rieter, missing).await;
        assert_eq!(resp.status(), 404, "{missing}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn any_packages_reach_every_architecture_including_later_ones() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let any = Build::new("e2e-everywhere", "1.0")
        .arch("any")
        .build_one()
        .unwrap();
    publish_all(&rieter, "e2e/main", std::slice::from_ref(&any)).await;
    // No architecture-specific package yet: the default architecture gets it.
    let x86 = get(&rieter, "/e2e/main/x86_64/main.db")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(db_entries(&x86), ["e2e-everywhere-1.0-1"]);

    let arm = Build::new("e2e-armonly", "1.0")
        .arch("aarch64")
        .build_one()
        .unwrap();
    publish_all(&rieter, "e2e/main", std::slice::from_ref(&arm)).await;
    let arm_db = get(&rieter, "/e2e/main/aarch64/main.db")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        db_entries(&arm_db),
        ["e2e-armonly-1.0-1", "e2e-everywhere-1.0-1"]
    );
    let file = get(
        &rieter,
        "/e2e/main/aarch64/e2e-everywhere-1.0-1-any.pkg.tar.zst",
    )
    .await;
    assert_eq!(file.status(), 200);

    // Removing the `any` package removes it from every architecture.
    let resp = rieter
        .client
        .delete(rieter.url("/e2e/main/any/e2e-everywhere"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    wait_until(|| async {
        let x86 = get(&rieter, "/e2e/main/x86_64/main.db")
            .await
            .bytes()
            .await
            .unwrap();
        let arm = get(&rieter, "/e2e/main/aarch64/main.db")
            .await
            .bytes()
            .await
            .unwrap();
        db_entries(&x86).is_empty() && db_entries(&arm) == ["e2e-armonly-1.0-1"]
    })
    .await;
}

async fn wait_until<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not reached in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn newer_versions_replace_older_ones_and_old_files_go_after_the_grace_period() {
    let rieter = Rieter::start(Options {
        grace_period_secs: 3,
        ..Options::default()
    })
    .await
    .unwrap();
    let v1 = Build::new("e2e-up", "1.0")
        .with_pkg(|p| p.file("usr/share/e2e-up/v", "1"))
        .build_one()
        .unwrap();
    let v2 = Build::new("e2e-up", "2.0")
        .with_pkg(|p| p.file("usr/share/e2e-up/v", "2"))
        .build_one()
        .unwrap();
    publish_all(&rieter, "e2e/main", std::slice::from_ref(&v1)).await;
    let pacman = Pacman::new(&[("main", &rieter.url("/e2e/main/$arch"))]).unwrap();
    pacman.ok(&["-Sy", "e2e-up"]).unwrap();
    assert_eq!(
        std::fs::read_to_string(pacman.root().join("usr/share/e2e-up/v")).unwrap(),
        "1"
    );

    publish_all(&rieter, "e2e/main", std::slice::from_ref(&v2)).await;
    let db = get(&rieter, "/e2e/main/x86_64/main.db")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(db_entries(&db), ["e2e-up-2.0-1"]);
    // A client holding the previous database can still fetch the old file for a while...
    let old = "/e2e/main/x86_64/e2e-up-1.0-1-x86_64.pkg.tar.zst";
    assert_eq!(get(&rieter, old).await.status(), 200);
    pacman.ok(&["-Syu"]).unwrap();
    assert_eq!(
        std::fs::read_to_string(pacman.root().join("usr/share/e2e-up/v")).unwrap(),
        "2"
    );
    // ...and then it is deleted.
    wait_until(|| async { get(&rieter, old).await.status() == 404 }).await;
    assert_eq!(
        get(&rieter, "/e2e/main/x86_64/e2e-up-2.0-1-x86_64.pkg.tar.zst")
            .await
            .status(),
        200
    );
    // The replaced package's blob is collected: the new package and the two archives remain.
    rieter.wait_blob_count(3).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn removals_unpublish_packages_architectures_repositories_and_distributions() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let files = [
        Build::new("e2e-rm-a", "1.0").build_one().unwrap(),
        Build::new("e2e-rm-b", "1.0").build_one().unwrap(),
        Build::new("e2e-rm-c", "1.0")
            .arch("aarch64")
            .build_one()
            .unwrap(),
    ];
    publish_all(&rieter, "e2e/main", &files).await;
    publish_all(&rieter, "e2e/extra", &files[..1]).await;
    publish_all(&rieter, "other/main", &files[..1]).await;
    let delete = |path: &str| {
        rieter
            .client
            .delete(rieter.url(path))
            .bearer_auth(API_KEY)
            .send()
    };

    assert_eq!(
        rieter
            .client
            .delete(rieter.url("/e2e/main/x86_64/e2e-rm-a"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        delete("/e2e/main/x86_64/e2e-rm-a").await.unwrap().status(),
        202
    );
    assert_eq!(
        delete("/e2e/main/x86_64/e2e-rm-a").await.unwrap().status(),
        404
    );
    assert_eq!(
        delete("/e2e/main/x86_64/no-such").await.unwrap().status(),
        404
    );
    wait_until(|| async {
        let db = get(&rieter, "/e2e/main/x86_64/main.db")
            .await
            .bytes()
            .await
            .unwrap();
        db_entries(&db) == ["e2e-rm-b-1.0-1"]
    })
    .await;
    let pacman = Pacman::new(&[("main", &rieter.url("/e2e/main/$arch"))]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    let listed = pacman.ok(&["-Sl", "main"]).unwrap();
    assert!(
        !listed.contains("e2e-rm-a") && listed.contains("e2e-rm-b"),
        "{listed}"
    );

    assert_eq!(delete("/e2e/main/aarch64").await.unwrap().status(), 204);
    assert_eq!(
        get(&rieter, "/e2e/main/aarch64/main.db").await.status(),
        404
    );
    assert_eq!(delete("/e2e/main/aarch64").await.unwrap().status(), 404);
    assert_eq!(get(&rieter, "/e2e/main/x86_64/main.db").await.status(), 200);

    assert_eq!(delete("/e2e/extra").await.unwrap().status(), 204);
    assert_eq!(
        get(&rieter, "/e2e/extra/x86_64/extra.db").await.status(),
        404
    );
    assert_eq!(delete("/e2e/extra").await.unwrap().status(), 404);

    assert_eq!(delete("/other").await.unwrap().status(), 204);
    assert_eq!(
        get(&rieter, "/other/main/x86_64/main.db").await.status(),
        404
    );
    assert_eq!(delete("/other").await.unwrap().status(), 404);
    assert_eq!(delete("/nothing").await.unwrap().status(), 404);

    // The last package removed leaves a valid, empty database.
    assert_eq!(
        delete("/e2e/main/x86_64/e2e-rm-b").await.unwrap().status(),
        202
    );
    wait_until(|| async {
        let resp = get(&rieter, "/e2e/main/x86_64/main.db").await;
        resp.status() == 200 && db_entries(&resp.bytes().await.unwrap()).is_empty()
    })
    .await;
    pacman.ok(&["-Sy"]).unwrap();
    assert_eq!(pacman.ok(&["-Sl", "main"]).unwrap().trim(), "");
    // The other trees' blobs are collected. What remains: e2e-main's empty databases, whose two
    // archives are the same bytes (an archive with no entries), so one blob, and the files of
    // e2e-rm-a and e2e-rm-b, still downloadable for their grace period.
    rieter.wait_blob_count(3).await.unwrap();
    assert_eq!(
        get(
            &rieter,
            "/e2e/main/x86_64/e2e-rm-b-1.0-1-x86_64.pkg.tar.zst"
        )
        .await
        .status(),
        200
    );
}
