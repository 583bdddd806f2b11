//! Request logs (issue 15): every request has an id, answered as `X-Request-Id` and on its log
//! line, and the client's address, taken from `X-Forwarded-For` only when the peer is a
//! trusted proxy.

use rieter_e2e::{Options, Rieter};

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_logged_with_their_id_and_client() {
    let rieter = Rieter::start(Options {
        env: vec![("RIETER_TRUSTED_PROXIES".into(), "127.0.0.1,::1".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let get = |headers: &[(&str, &str)]| {
        let mut request = rieter.client.get(rieter.url("/api/v1/distros"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };

    // A proxy's id is kept; the client is the nearest hop that is not a trusted proxy.
    let resp = get(&[
        ("x-request-id", "ci-run-42"),
        ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "ci-run-42");
    // Without one, the server makes one.
    let resp = get(&[("x-request-id", "no spaces allowed")]).await.unwrap();
    let made = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        if let Some(line) = rieter.log_lines("ci-run-42").into_iter().next() {
            break line;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no log line:\n{}",
            rieter.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(line.contains("client.address=198.51.100.7"), "{line}");
    assert!(line.contains("http.operation=\"list_distros\""), "{line}");
    assert!(line.contains("http.status=200"), "{line}");
    assert!(!rieter.log_lines(&made).is_empty());
}
