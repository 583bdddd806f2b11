//! Half-received uploads: a body cut off by the client (HTTP/1.1 close or reset, HTTP/2
//! RST_STREAM) or by the stall timeout leaves no file behind; the sweep removes the scratch
//! directory of an api that died and never touches that of a live one, even a paused one.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::poll_fn;
use rieter_e2e::{API_KEY, Build, Options, Rieter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Declared size of the bodies that are never finished.
const DECLARED: usize = 16 << 20;

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

fn noise(len: usize) -> Bytes {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Nothing of any upload is left: no partial body, no blob, no upload row.
async fn assert_nothing_kept(rieter: &Rieter) {
    assert_eq!(rieter.partial_uploads(), 0, "a partial upload was left");
    assert_eq!(rieter.blob_files(), Vec::<String>::new());
    let pool = rieter.db.pool().await.unwrap();
    let uploads: i64 = sqlx::query_scalar("select count(*) from uploads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(uploads, 0, "a cut-off upload was recorded");
}

/// The api still accepts and publishes a real package.
async fn assert_still_serving(rieter: &Rieter, name: &str) {
    let file = Build::new(name, "1.0").build_one().unwrap();
    let id = rieter.upload("half/main", &file).await.unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
}

/// Opens an HTTP/1.1 upload of `DECLARED` bytes and sends its head and `first` body bytes.
async fn raw_upload(rieter: &Rieter, first: usize) -> TcpStream {
    let addr = rieter.base_url.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /half/main HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {API_KEY}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {DECLARED}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&noise(first)).await.unwrap();
    socket
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http1_client_going_away_mid_body_leaves_nothing() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    for (round, reset) in [false, true, false, true].into_iter().enumerate() {
        let mut socket = raw_upload(&rieter, 1 << 20).await;
        wait_until(&rieter, "the upload starting", || {
            rieter.partial_uploads() == 1
        })
        .await;
        // A burst more, then go away while the api is still writing it.
        socket
            .write_all(&noise((round + 1) * (300 << 10)))
            .await
            .unwrap();
        if reset {
            // SO_LINGER 0: close with a TCP reset, like a killed client with unsent data.
            socket.set_zero_linger().unwrap();
        }
        drop(socket);
        wait_until(&rieter, "removing the cut-off body", || {
            rieter.partial_uploads() == 0
        })
        .await;
    }
    assert_nothing_kept(&rieter).await;
    assert_still_serving(&rieter, "after-http1-drop").await;
    println!("half uploads: 4 HTTP/1.1 bodies cut off (2 closed, 2 reset); nothing left");
}

/// Sends `data` on an HTTP/2 stream as the peer's flow control allows.
async fn send_h2(stream: &mut h2::SendStream<Bytes>, mut data: Bytes) {
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let granted = poll_fn(|cx| stream.poll_capacity(cx))
            .await
            .expect("the stream closed")
            .unwrap();
        if granted > 0 {
            let chunk = data.split_to(granted.min(data.len()));
            stream.send_data(chunk, false).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http2_stream_reset_mid_body_leaves_nothing() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let addr = rieter.base_url.trim_start_matches("http://");
    // HTTP/2 with prior knowledge (h2c): the api serves it on the same port as HTTP/1.1.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    let rounds = 12;
    for round in 0..rounds {
        let request = http::Request::post(format!("http://{addr}/half/main"))
            .header("authorization", format!("Bearer {API_KEY}"))
            .header("content-type", "application/octet-stream")
            .header("content-length", DECLARED)
            .body(())
            .unwrap();
        let mut sender = client.clone().ready().await.unwrap();
        let (response, mut stream) = sender.send_request(request, false).unwrap();
        send_h2(&mut stream, noise(1 << 20)).await;
        wait_until(&rieter, "the upload starting", || {
            rieter.partial_uploads() == 1
        })
        .await;
        // A burst more, then reset the stream while the api is busy with it.
        send_h2(&mut stream, noise((round % 4 + 1) * (300 << 10))).await;
        stream.send_reset(h2::Reason::CANCEL);
        assert!(response.await.is_err(), "a reset stream got a response");
        wait_until(&rieter, "removing the reset body", || {
            rieter.partial_uploads() == 0
        })
        .await;
    }
    // The connection itself stayed open and usable.
    let health = http::Request::get(format!("http://{addr}/api/v1/health"))
        .body(())
        .unwrap();
    let (response, _) = client
        .clone()
        .ready()
        .await
        .unwrap()
        .send_request(health, true)
        .unwrap();
    assert_eq!(response.await.unwrap().status(), 200);
    assert!(
        !connection.is_finished(),
        "the HTTP/2 connection was closed"
    );
    assert_nothing_kept(&rieter).await;
    assert_still_serving(&rieter, "after-h2-reset").await;
    println!(
        "half uploads: {rounds} HTTP/2 streams reset mid-body on one connection; nothing left"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_upload_is_cut_off_and_leaves_nothing() {
    let rieter = Rieter::start(Options {
        env: vec![("RIETER_UPLOAD_STALL_TIMEOUT_SECS".into(), "2".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    // Half a body, then silence with the connection kept open.
    let mut socket = raw_upload(&rieter, 1 << 20).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&answer).contains("stalled") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed without an answer");
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        read.is_ok(),
        "a stalled upload was never cut off: {answer:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    wait_until(&rieter, "removing the stalled body", || {
        rieter.partial_uploads() == 0
    })
    .await;
    assert_nothing_kept(&rieter).await;
    println!("half uploads: a body stalled for 2 s was refused with 400; nothing left");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_apis_scratch_is_removed_by_the_sweep() {
    let mut rieter = Rieter::start(Options::default()).await.unwrap();
    let _socket = raw_upload(&rieter, 2 << 20).await;
    wait_until(&rieter, "the upload starting", || {
        rieter.partial_uploads() == 1
    })
    .await;
    let tmp = rieter.data_dir().join("tmp");
    // The api's scratch directory is the one receiving the upload (each worker has one too).
    let api_scratch = entries(&tmp)
        .into_iter()
        .find(|dir| !entries(&tmp.join(dir)).is_empty())
        .expect("the api's scratch directory");
    rieter.kill_api();
    // Until it has missed its heartbeats for a while, a process without its lock may only be
    // reconnecting to Postgres; once they have been missed...
    rieter.age_scratch(rieter::scratch::DEAD_AFTER).unwrap();
    // ... the workers' sweep alone cleans up (no api is started again), and leaves the live
    // workers' own directories alone.
    wait_until(&rieter, "the sweep removing the dead api's scratch", || {
        !tmp.join(&api_scratch).exists()
    })
    .await;
    assert_eq!(entries(&tmp).len(), rieter.worker_count());
    assert_nothing_kept(&rieter).await;
    println!("half uploads: an api SIGKILLed mid-upload; the sweep removed its scratch");
}

#[tokio::test(flavor = "multi_thread")]
async fn sweeps_never_touch_a_live_apis_upload_even_while_it_is_paused() {
    let rieter = Rieter::start(Options {
        env: vec![("RIETER_SWEEP_INTERVAL_SECS".into(), "1".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let file = Build::new("slow-client", "1.0")
        .padding(4 << 20)
        .build_one()
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    // What an api that died long ago left (the 0.1.0 layout, with a lock file): proof that the
    // sweeps run and judge while the upload is in progress.
    let tmp = rieter.data_dir().join("tmp");
    let dead = "00000000-0000-4000-8000-00000000dead";
    std::fs::create_dir(tmp.join(dead)).unwrap();
    std::fs::write(tmp.join(dead).join("x.part"), b"half").unwrap();
    std::fs::write(tmp.join(format!("{dead}.lock")), b"").unwrap();
    rieter.age_scratch(rieter::scratch::DEAD_AFTER).unwrap();

    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
    let pending = tokio::spawn(
        rieter
            .client
            .post(rieter.url("/half/main"))
            .bearer_auth(API_KEY)
            .header("content-length", bytes.len())
            .body(reqwest::Body::wrap_stream(rx))
            .send(),
    );
    let chunks: Vec<Bytes> = bytes
        .chunks(bytes.len().div_ceil(24))
        .map(Bytes::copy_from_slice)
        .collect();
    for (i, chunk) in chunks.into_iter().enumerate() {
        tx.unbounded_send(Ok(chunk)).unwrap();
        if i == 2 {
            wait_until(&rieter, "a sweep removing the dead scratch", || {
                !tmp.join(dead).exists() && !tmp.join(format!("{dead}.lock")).exists()
            })
            .await;
        }
        if i == 12 {
            // A paused api (SIGSTOP) is slow, not dead: several sweeps pass meanwhile.
            rieter.signal_api("STOP");
            tokio::time::sleep(Duration::from_secs(4)).await;
            rieter.signal_api("CONT");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(tx);
    let resp = pending.await.unwrap().unwrap();
    assert_eq!(resp.status(), 202, "{}", rieter.logs());
    let id = resp.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    assert_eq!(rieter.partial_uploads(), 0);
    println!("half uploads: a 10 s upload (4 s of it paused) survived ~10 sweeps and published");
}
