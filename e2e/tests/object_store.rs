//! Storage on an S3-compatible object store (a real one: s3s-fs): api and worker processes that
//! share nothing but Postgres and the bucket, each with a private data directory, as on
//! separate hosts. A package uploaded through one api is published by the workers and served,
//! with pacman's caching and range semantics, by the other; a worker killed mid-parse loses
//! nothing.

use std::time::{Duration, Instant};

use rieter_e2e::pacman::Pacman;
use rieter_e2e::s3::S3Server;
use rieter_e2e::{API_KEY, Build, Options, Rieter, slow_package};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// Polls `done` until it holds, failing after a generous bound.
async fn wait_until(rieter: &Rieter, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 30 s\n{}",
            rieter.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn upload_rows(rieter: &Rieter) -> i64 {
    let pool = rieter.db.pool().await.unwrap();
    sqlx::query_scalar("select count(*) from uploads")
        .fetch_one(&pool)
        .await
        .unwrap()
}

/// Opens an HTTP/1.1 upload of `head` (`Content-Length: N` or `Transfer-Encoding: chunked`).
async fn raw_upload(rieter: &Rieter, framing: &str) -> TcpStream {
    let addr = rieter.base_url.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /s3/main HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {API_KEY}\r\n\
         Content-Type: application/octet-stream\r\n{framing}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
}

/// Uploads stream into the bucket as they arrive (a multipart upload at a staging key, parts
/// visible before the body ends), land at their digest's key, are stored once however often
/// they arrive, and leave nothing behind when cut off or too large. The processes get their S3
/// settings only from a config file's keys: no `AWS_*` variable is set.
#[tokio::test(flavor = "multi_thread")]
async fn uploads_stream_into_the_bucket_and_leave_nothing_behind() {
    const LIMIT: usize = 24 << 20;
    let rieter = Rieter::start(Options {
        s3: true,
        private_data_dirs: true,
        s3_config_file: true,
        max_upload_bytes: LIMIT as u64,
        workers: 1,
        ..Options::default()
    })
    .await
    .unwrap();

    // Three parts (8 MiB each): it lands at its digest's key with its bytes.
    let big = Build::new("s3-big", "1.0")
        .padding(20 << 20)
        .build_one()
        .unwrap();
    let bytes = std::fs::read(&big).unwrap();
    assert!(bytes.len() > 16 << 20 && bytes.len() < LIMIT);
    let digest = hex::encode(Sha256::digest(&bytes));
    let id = rieter.upload("s3/main", &big).await.unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    let stored = rieter
        .blob_root()
        .join("sha256")
        .join(&digest[..2])
        .join(&digest);
    assert_eq!(std::fs::read(&stored).unwrap(), bytes, "the blob's bytes");
    assert_eq!(rieter.staging_debris(), Vec::<String>::new());

    // The same content again: accepted, still one object, no staged copy left.
    let blobs_before = rieter.blob_files();
    let again = rieter.upload("s3/main", &big).await.unwrap();
    assert_eq!(
        rieter.wait_final(&again).await.unwrap()["status"],
        "published"
    );
    let blobs_after = rieter.blob_files();
    assert_eq!(blobs_after.iter().filter(|b| **b == digest).count(), 1);
    assert_eq!(blobs_after, blobs_before);
    assert_eq!(rieter.staging_debris(), Vec::<String>::new());
    let rows = upload_rows(&rieter).await;
    assert_eq!(rows, 2);

    // A client going away mid-body, once parts are in the bucket: the multipart upload is
    // aborted, no object is staged, no row written.
    for reset in [false, true] {
        let mut socket = raw_upload(&rieter, &format!("Content-Length: {}", 20 << 20)).await;
        socket.write_all(&vec![7u8; 12 << 20]).await.unwrap();
        wait_until(&rieter, "a part reaching the bucket", || {
            !rieter.staging_debris().is_empty()
        })
        .await;
        if reset {
            socket.set_zero_linger().unwrap();
        }
        drop(socket);
        wait_until(&rieter, "aborting the cut-off upload", || {
            rieter.staging_debris().is_empty()
        })
        .await;
    }
    assert_eq!(upload_rows(&rieter).await, rows);

    // Too large, with no Content-Length to refuse it early: 413 once the limit is passed,
    // and nothing left.
    let socket = raw_upload(&rieter, "Transfer-Encoding: chunked").await;
    let (mut read, mut write) = socket.into_split();
    let sender = tokio::spawn(async move {
        let chunk = vec![9u8; 1 << 20];
        for _ in 0..(LIMIT >> 20) + 4 {
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            if write.write_all(&framed).await.is_err() {
                return;
            }
        }
        let _ = write.write_all(b"0\r\n\r\n").await;
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(60), read.read(&mut buf))
            .await
            .expect("an answer to the oversized upload")
            .unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    sender.abort();
    wait_until(&rieter, "aborting the oversized upload", || {
        rieter.staging_debris().is_empty()
    })
    .await;
    assert_eq!(upload_rows(&rieter).await, rows);
    assert_eq!(rieter.blob_files(), blobs_after);
    println!(
        "object store: a {} MiB upload streamed in parts to its digest's key; a duplicate \
         stored once; 2 cut-off and 1 oversized upload left no staged object or part",
        bytes.len() >> 20
    );
}

/// What a process that died between staging an upload and accepting it leaves, a staged
/// object, is deleted by the orphan scan once it is older than any upload could take, and not
/// before.
#[tokio::test(flavor = "multi_thread")]
async fn the_orphan_scan_deletes_stale_staged_uploads() {
    use rieter::blobs::{self, BlobStore, Location, Staged};

    let s3 = S3Server::start().await.unwrap();
    let db = rieter_e2e::TestDatabase::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    rieter::db::migrate(&pool).await.unwrap();
    let location = Location::S3 {
        bucket: rieter_e2e::s3::BUCKET.into(),
        prefix: format!("{}/", rieter_e2e::s3::PREFIX),
    };
    let store = BlobStore::open(&location, &s3.options()).unwrap();
    let mut upload = store.start_staging();
    upload.write(&vec![3u8; 9 << 20]).await.unwrap();
    let Staged::Object(staged) = upload.finish().await.unwrap() else {
        panic!("more than a part was kept in memory");
    };
    assert_eq!(s3.staging_debris().len(), 1, "{:?}", s3.staging_debris());
    // The process dies before it accepts the upload.
    std::mem::forget(staged);

    assert_eq!(
        blobs::collect_orphans(&pool, &store, Duration::ZERO)
            .await
            .unwrap(),
        0,
        "a staged upload younger than a day is left alone"
    );
    assert_eq!(s3.staging_debris().len(), 1);
    assert_eq!(
        blobs::collect_stale_staging(&store, Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    assert_eq!(s3.staging_debris(), Vec::<String>::new());
}
