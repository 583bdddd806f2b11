//! Storage on an S3-compatible object store (a real one: s3s-fs): api and worker processes that
//! share nothing but Postgres and the bucket, each with a private data directory, as on
//! separate hosts. A package uploaded through one api is published by the workers and served,
//! with pacman's caching and range semantics, by the other; a worker killed mid-parse loses
//! nothing.

use std::time::Duration;

use rieter_e2e::pacman::Pacman;
use rieter_e2e::{API_KEY, Build, Options, Rieter, slow_package};
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "multi_thread")]
async fn two_apis_and_two_workers_share_nothing_but_postgres_and_the_bucket() {
    let mut rieter = Rieter::start(Options {
        s3: true,
        private_data_dirs: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let other = rieter.start_another_api().await.unwrap();

    // Published through the first api...
    let v1 = Build::new("s3-tool", "1.0")
        .with_pkg(|p| p.file("usr/share/s3-tool/v", "1"))
        .build_one()
        .unwrap();
    let v2 = Build::new("s3-tool", "2.0")
        .with_pkg(|p| p.file("usr/share/s3-tool/v", "2"))
        .padding(3 << 20)
        .build_one()
        .unwrap();
    let data = Build::new("s3-data", "1").arch("any").build_one().unwrap();
    for file in [&v1, &data, &v2] {
        let id = rieter.upload("s3/main", file).await.unwrap();
        assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    }

    // ... and served by the other: pacman syncs and installs.
    let pacman = Pacman::new(&[("main", &format!("{other}/s3/main/$arch"))]).unwrap();
    pacman.ok(&["-Sy", "s3-tool", "s3-data"]).unwrap();
    assert_eq!(
        std::fs::read_to_string(pacman.root().join("usr/share/s3-tool/v")).unwrap(),
        "2"
    );

    // The same validators and ranges from either api.
    let name = v2.file_name().unwrap().to_str().unwrap();
    let bytes = std::fs::read(&v2).unwrap();
    let url = |base: &str| format!("{base}/s3/main/x86_64/{name}");
    let first = rieter
        .client
        .get(url(&rieter.base_url))
        .send()
        .await
        .unwrap();
    let second = rieter.client.get(url(&other)).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["etag"], second.headers()["etag"]);
    assert_eq!(
        first.headers()["last-modified"],
        second.headers()["last-modified"]
    );
    let etag = second.headers()["etag"].to_str().unwrap().to_owned();
    let modified = second.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        hex::encode(Sha256::digest(second.bytes().await.unwrap())),
        hex::encode(Sha256::digest(&bytes))
    );
    let revalidated = rieter
        .client
        .get(format!("{other}/s3/main/x86_64/main.db"))
        .send()
        .await
        .unwrap();
    let db_modified = revalidated.headers()["last-modified"].clone();
    let not_modified = rieter
        .client
        .get(format!("{other}/s3/main/x86_64/main.db"))
        .header("if-modified-since", db_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    let tagged = rieter
        .client
        .get(url(&other))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status(), 304);
    // A resumed download: the rest of the file from an offset, guarded by If-Range.
    let offset = bytes.len() - 100_000;
    let rest = rieter
        .client
        .get(url(&other))
        .header("range", format!("bytes={offset}-"))
        .header("if-range", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 206);
    assert_eq!(
        rest.headers()["content-range"],
        format!("bytes {offset}-{}/{}", bytes.len() - 1, bytes.len()).as_str()
    );
    assert_eq!(rest.bytes().await.unwrap(), bytes[offset..]);
    // The replaced version stays downloadable for its grace period, from both.
    let old = format!(
        "/s3/main/x86_64/{}",
        v1.file_name().unwrap().to_str().unwrap()
    );
    for base in [&rieter.base_url, &other] {
        let resp = rieter
            .client
            .get(format!("{base}{old}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{base}{old}");
    }

    // A worker killed mid-parse loses nothing: the other worker, or its restart, parses the
    // upload from the bucket.
    let slow = rieter
        .client
        .post(format!("{other}/s3/main"))
        .bearer_auth(API_KEY)
        .body(slow_package(1 << 30))
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), 202);
    let id = slow.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    rieter
        .wait_for(&id, &["processing"], Duration::from_secs(60))
        .await
        .unwrap();
    let pool = rieter.db.pool().await.unwrap();
    let parsing: String = sqlx::query_scalar(
        "select lock_by from apalis.jobs where id = (select job_id from uploads where id = $1::uuid)",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let index = usize::from(!parsing.contains("worker0"));
    rieter.kill_worker(index);
    rieter.start_worker(index).unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    rieter
        .wait_quiescent(Duration::from_secs(120))
        .await
        .unwrap();
    let report = rieter.check_invariants().await.unwrap();
    assert_eq!(report.published, 4);
    println!(
        "object store: 2 apis and 2 workers without a shared disk; published through one, \
         installed through the other; worker{index} killed mid-parse; {report:?}"
    );
}

/// With `presigned_url_secs`, package downloads are redirected to the object store, and
/// pacman follows the redirect; databases are still answered (and revalidated) by the api.
#[tokio::test(flavor = "multi_thread")]
async fn package_downloads_can_be_redirected_to_presigned_urls() {
    let rieter = Rieter::start(Options {
        s3: true,
        private_data_dirs: true,
        env: vec![("RIETER_PRESIGNED_URL_SECS".into(), "300".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let file = Build::new("s3-direct", "1.0")
        .with_pkg(|p| p.file("usr/share/s3-direct/v", "direct"))
        .build_one()
        .unwrap();
    let id = rieter.upload("s3/main", &file).await.unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let name = file.file_name().unwrap().to_str().unwrap();
    let resp = no_redirects
        .get(rieter.url(&format!("/s3/main/x86_64/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 307);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("X-Amz-Signature=") && location.contains("/sha256/"),
        "{location}"
    );
    // The presigned URL serves the package itself, ranges included, without the api.
    let direct = no_redirects.get(&location).send().await.unwrap();
    assert_eq!(direct.status(), 200);
    assert_eq!(direct.bytes().await.unwrap(), std::fs::read(&file).unwrap());
    let db = no_redirects
        .get(rieter.url("/s3/main/x86_64/main.db"))
        .send()
        .await
        .unwrap();
    assert_eq!(db.status(), 200, "databases are not redirected");

    let pacman = Pacman::new(&[("main", &rieter.url("/s3/main/$arch"))]).unwrap();
    pacman.ok(&["-Sy", "s3-direct"]).unwrap();
    assert_eq!(
        std::fs::read_to_string(pacman.root().join("usr/share/s3-direct/v")).unwrap(),
        "direct"
    );
}
