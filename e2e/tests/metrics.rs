//! Metrics (issue 15): the api's `GET /metrics` and a worker's listener, scraped and read with
//! a Prometheus text-format parser before and after a burst of uploads.

use std::net::TcpListener;

use prometheus_parse::{Scrape, Value};
use rieter_e2e::api::Auth;
use rieter_e2e::{API_KEY, Build, Options, Rieter};
use serde_json::json;

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

/// The sum of the samples of `name` whose labels include `labels`.
fn sum(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

async fn scrape(rieter: &Rieter, url: &str, key: Option<&str>) -> (u16, String) {
    let mut request = rieter.client.get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let resp = request.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_what_happened() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let worker_metrics = format!("http://127.0.0.1:{port}/metrics");
    let rieter = Rieter::start(Options {
        workers: 1,
        env: vec![("RIETER_METRICS_BIND".into(), format!("127.0.0.1:{port}"))],
        ..Options::default()
    })
    .await
    .unwrap();
    let api_metrics = rieter.url("/metrics");
    // The api is up; the worker listens once it has started too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while rieter.client.get(&worker_metrics).send().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never served its metrics:\n{}",
            rieter.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Who may read them: an admin key, or a key with the `metrics` permission.
    assert_eq!(scrape(&rieter, &api_metrics, None).await.0, 401);
    let scraper = rieter
        .create_key("prometheus", json!([{"permission": "metrics"}]))
        .await
        .unwrap();
    let scraper = scraper["secret"].as_str().unwrap().to_owned();
    let publisher = rieter
        .create_key("ci", json!([{"permission": "publish", "distro": "m"}]))
        .await
        .unwrap();
    let publisher = publisher["secret"].as_str().unwrap();
    assert_eq!(scrape(&rieter, &api_metrics, Some(publisher)).await.0, 403);
    // The metrics key reads nothing else.
    let (status, _) = rieter
        .get_json("/api/v1/keys", Auth::Bearer(&scraper))
        .await
        .unwrap();
    assert_eq!(status, 403);

    let (status, text) = scrape(&rieter, &api_metrics, Some(&scraper)).await;
    assert_eq!(status, 200, "{text}");
    let api_before = parse(&text);
    let worker_before = parse(&scrape(&rieter, &worker_metrics, None).await.1);

    let builds = Build::many("metrics-pkg", 5, "1.0");
    let files = rieter_e2e::build_many(&builds).unwrap();
    let mut ids = Vec::new();
    for file in &files {
        ids.push(rieter.upload("m/main", file).await.unwrap());
    }
    for id in &ids {
        assert_eq!(rieter.wait_final(id).await.unwrap()["status"], "published");
    }
    let db = rieter
        .client
        .get(rieter.url("/m/main/x86_64/main.db"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();

    let api_after = parse(&scrape(&rieter, &api_metrics, Some(API_KEY)).await.1);
    let worker_after = parse(&scrape(&rieter, &worker_metrics, None).await.1);
    let moved = |before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]| {
        sum(after, name, labels) - sum(before, name, labels)
    };
    let uploads = [("operation", "upload_package"), ("status", "202")];
    assert_eq!(
        moved(
            &api_before,
            &api_after,
            "rieter_http_requests_total",
            &uploads
        ),
        5.0
    );
    let served = [("operation", "get_repo_file")];
    assert!(
        moved(
            &api_before,
            &api_after,
            "rieter_http_response_bytes_total",
            &served
        ) >= db.len() as f64
    );
    assert!(sum(&api_after, "rieter_uploads", &[("status", "published")]) >= 5.0);
    for queue in [
        "rieter.parse_upload",
        "rieter.regenerate",
        "rieter.mirror_sync",
    ] {
        assert!(
            api_after
                .samples
                .iter()
                .any(|s| s.metric == "rieter_jobs_queued" && s.labels.get("queue") == Some(queue)),
            "{queue}"
        );
    }
    assert_eq!(sum(&api_after, "rieter_database_up", &[]), 1.0);
    assert!(
        sum(
            &api_after,
            "rieter_db_pool_max_connections",
            &[("pool", "main")]
        ) > 0.0
    );

    let recorded = [("outcome", "recorded")];
    assert_eq!(
        moved(
            &worker_before,
            &worker_after,
            "rieter_parses_total",
            &recorded
        ),
        5.0
    );
    assert_eq!(
        moved(
            &worker_before,
            &worker_after,
            "rieter_parse_duration_seconds_count",
            &[]
        ),
        5.0
    );
    let main = [("distro", "m"), ("repo", "main"), ("arch", "x86_64")];
    assert!(
        moved(
            &worker_before,
            &worker_after,
            "rieter_rebuilds_total",
            &main
        ) >= 1.0
    );
    assert!(
        sum(
            &worker_after,
            "rieter_db_pool_max_connections",
            &[("pool", "main")]
        ) > 0.0
    );
}
