//! Reliability (6): SIGTERM lets in-flight work finish (bounded), and a rolling restart of the
//! api and the workers during a stream of uploads loses nothing.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rieter_e2e::{API_KEY, Build, Options, Rieter, build_many, slow_package};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_an_upload_in_flight_finish() {
    let mut rieter = Rieter::start(Options::default()).await.unwrap();
    let file = Build::new("term-upload", "1.0")
        .padding(4 << 20)
        .build_one()
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();

    // Stream the body slowly: SIGTERM arrives while it is being received.
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
    let request = rieter
        .client
        .post(rieter.url("/term/core"))
        .bearer_auth(API_KEY)
        .header("content-length", bytes.len())
        .body(reqwest::Body::wrap_stream(rx))
        .send();
    let pending = tokio::spawn(request);
    let chunks: Vec<Bytes> = bytes
        .chunks(256 << 10)
        .map(Bytes::copy_from_slice)
        .collect();
    let mut sent = 0;
    for chunk in chunks {
        tx.unbounded_send(Ok(chunk)).unwrap();
        sent += 1;
        if sent == 4 {
            rieter.signal_api("TERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(tx);
    let resp = pending
        .await
        .unwrap()
        .expect("the in-flight upload was cut off");
    assert_eq!(resp.status(), 202);
    let id = resp.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = rieter
        .wait_api_exit(Duration::from_secs(30))
        .expect("the api did not exit after SIGTERM");
    assert!(status.success(), "the api exited with {status}");

    rieter.start_api().unwrap();
    rieter.wait_healthy().await.unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    println!("shutdown: an upload streamed across SIGTERM was accepted and published");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_a_running_parse_finish() {
    let mut rieter = Rieter::start(Options {
        workers: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    // A parse that takes seconds (inflating 2 GiB), so it is caught in progress however
    // slowly this test gets to poll on a loaded machine.
    let pool = rieter.db.pool().await.unwrap();
    let id = rieter
        .upload_body("term/core", slow_package(2 << 30))
        .await
        .unwrap();
    // Catch the parse in progress (polling the database directly, every few milliseconds).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: String =
            sqlx::query_scalar("select status::text from uploads where id = $1::uuid")
                .bind(&id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(
            status == "queued" || status == "processing",
            "the parse finished before it could be interrupted"
        );
        if status == "processing" {
            break;
        }
        assert!(Instant::now() < deadline, "the parse never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let started = Instant::now();
    let status = rieter.terminate_worker(0).expect("the worker was running");
    let took = started.elapsed();
    assert!(status.success(), "the worker exited with {status}");
    // The job was finished before exiting, not abandoned: it ran once.
    let upload = rieter.upload_status(&id).await.unwrap();
    assert_ne!(
        upload["status"], "processing",
        "the worker exited with the upload half done"
    );
    let attempts: Vec<i32> = sqlx::query_scalar(
        "select attempts from apalis.jobs where job_type = 'rieter.parse_upload'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(attempts, [1], "the parse job ran more than once");
    rieter.start_worker(0).unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    println!("shutdown: SIGTERM during a parse; the worker finished it and exited in {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolling_restart_during_uploads_loses_nothing() {
    let files = build_many(&Build::many("roll", 150, "1.0")).unwrap();
    let mut rieter = Rieter::start(Options::default()).await.unwrap();
    let client = rieter.client.clone();
    let base = rieter.base_url.clone();
    let uploader = tokio::spawn(async move {
        let (mut ids, mut refused) = (Vec::new(), 0usize);
        for file in files {
            let body = std::fs::read(&file).unwrap();
            // A patient client: connection errors and 503s are retried.
            loop {
                let resp = client
                    .post(format!("{base}/roll/core"))
                    .bearer_auth(API_KEY)
                    .body(body.clone())
                    .send()
                    .await;
                match resp {
                    Ok(resp) if resp.status() == 202 => {
                        let body: serde_json::Value = resp.json().await.unwrap();
                        ids.push(body["id"].as_str().unwrap().to_owned());
                        break;
                    }
                    Ok(resp) if resp.status() == 503 => refused += 1,
                    Ok(resp) => panic!("upload answered {}", resp.status()),
                    Err(_) => refused += 1,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        (ids, refused)
    });

    let mut restarts = 0;
    for step in 0..6 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        match step % 3 {
            0 => {
                let status = rieter.terminate_api().unwrap();
                assert!(status.success(), "the api exited with {status}");
                rieter.start_api().unwrap();
                rieter.wait_healthy().await.unwrap();
            }
            worker => {
                let status = rieter.terminate_worker(worker - 1).unwrap();
                assert!(
                    status.success(),
                    "worker {} exited with {status}",
                    worker - 1
                );
                rieter.start_worker(worker - 1).unwrap();
            }
        }
        restarts += 1;
    }
    let (ids, refused) = uploader.await.unwrap();
    rieter
        .wait_quiescent(Duration::from_secs(120))
        .await
        .unwrap();
    let report = rieter.check_invariants().await.unwrap();
    println!(
        "rolling restart: {restarts} graceful restarts (api and workers) during {} uploads; \
         {refused} attempts refused while the api restarted and retried; {} published; {} rebuild(s)",
        ids.len(),
        report.published,
        report.rebuilds
    );
    assert_eq!(ids.len(), 150);
    assert_eq!(report.published, 150);
    assert_eq!(report.packages_served, 150);
}
