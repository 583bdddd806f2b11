//! Anonymous load: the reads anyone may trigger run on their own database connections with a
//! time limit, so however hard anonymous clients hammer the most expensive listing, uploads
//! and key checks keep working; a read past its limit is a 503 problem; `q` uses an index.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rieter_e2e::api::Auth;
use rieter_e2e::{Build, Options, Rieter, build_many};
use serde_json::{Value, json};

/// The synthetic catalogue of the listing measurements in docs/api.md: 100,000 packages in
/// distribution `bench`, written straight into the database.
const CATALOGUE: &str = include_str!("../../docs/bench/listing-data.sql");

/// The costliest request an anonymous client can make of the package listing: a search that
/// matches every package, counted, fully sorted, and paged as deep as listings go.
const EXPENSIVE: &str =
    "/api/v1/packages?q=number&sort=build_date&order=desc&per_page=200&page=500";

const HAMMERS: usize = 50;
const HAMMER_FOR: Duration = Duration::from_secs(10);
/// Generous: an upload or key check under load may be slow, but must not fail or hang.
const BOUND: Duration = Duration::from_secs(30);

async fn with_catalogue(options: Options) -> Rieter {
    let rieter = Rieter::start(options).await.unwrap();
    let pool = rieter.db.pool().await.unwrap();
    sqlx::raw_sql(CATALOGUE).execute(&pool).await.unwrap();
    rieter
}

fn is_problem(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get("content-type")
        .is_some_and(|v| v == "application/problem+json")
}

/// Requests `EXPENSIVE` from one anonymous client until `until`; the statuses it got.
async fn hammer(client: &reqwest::Client, url: &str, until: Instant) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    while Instant::now() < until {
        let resp = client.get(url).send().await.expect("an answer");
        let status = resp.status();
        assert!(
            status == 200 || (status == 503 && is_problem(&resp)),
            "anonymous listing: {status} {}",
            resp.text().await.unwrap_or_default()
        );
        resp.bytes().await.expect("the whole body");
        statuses.push(status);
    }
    statuses
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_and_key_checks_work_while_anonymous_clients_hammer_the_listing() {
    let rieter = with_catalogue(Options {
        workers: 1,
        ..Options::default()
    })
    .await;
    let files = build_many(&Build::many("load", 4, "1.0")).unwrap();
    let key = rieter
        .create_key(
            "ci",
            json!([{"permission": "publish", "distro": "load", "repo": "main"}]),
        )
        .await
        .unwrap();
    let (key_id, secret) = (
        key["id"].as_str().unwrap().to_owned(),
        key["secret"].as_str().unwrap().to_owned(),
    );

    let anonymous = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let url = rieter.url(EXPENSIVE);
    let until = Instant::now() + HAMMER_FOR;
    let hammers = futures::future::join_all((0..HAMMERS).map(|_| hammer(&anonymous, &url, until)));
    let checks = async {
        // Let the hammering take hold first.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut uploads = Vec::new();
        let mut key_checks = 0;
        let mut files = files.iter();
        // Every package is uploaded even if the hammering ends first on a slow machine.
        while Instant::now() < until || files.len() > 0 {
            if let Some(file) = files.next() {
                let (status, body) = tokio::time::timeout(
                    BOUND,
                    rieter.upload_as("load/main", file, Auth::Bearer(&secret)),
                )
                .await
                .expect("an upload answered within the bound")
                .unwrap();
                assert_eq!(status, 202, "upload under load: {body}");
                uploads.push(body["id"].as_str().unwrap().to_owned());
            }
            // The key is looked up, found, and lacks the admin scope.
            let (status, body) = tokio::time::timeout(
                BOUND,
                rieter.get_json(&format!("/api/v1/keys/{key_id}"), Auth::Bearer(&secret)),
            )
            .await
            .expect("a key check answered within the bound")
            .unwrap();
            assert_eq!(status, 403, "key check under load: {body}");
            key_checks += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (uploads, key_checks)
    };
    let (statuses, (uploads, key_checks)) = tokio::join!(hammers, checks);
    let statuses: Vec<StatusCode> = statuses.into_iter().flatten().collect();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    eprintln!(
        "{} anonymous listings ({ok} answered 200, the rest 503); {} uploads and {key_checks} \
         key checks meanwhile",
        statuses.len(),
        uploads.len()
    );
    assert_eq!(uploads.len(), files.len(), "every package was uploaded");
    assert!(key_checks >= 2, "{key_checks} key checks");
    for id in &uploads {
        let upload = rieter.wait_final(id).await.unwrap();
        assert_eq!(upload["status"], "published", "{upload}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_past_its_time_limit_is_a_503_problem() {
    let rieter = with_catalogue(Options {
        workers: 0,
        env: vec![("RIETER_DB_READ_TIMEOUT_MS".into(), "1".into())],
        ..Options::default()
    })
    .await;
    let resp = rieter
        .client
        .get(rieter.url("/api/v1/packages?q=number"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert!(is_problem(&resp));
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("narrow"), "{detail}");
    assert!(!detail.contains("cancel"), "internal text: {detail}");
    // Only reads are limited: the admin's operations run on the other connections.
    let (status, body) = rieter
        .get_json("/api/v1/keys", Auth::Bearer(rieter_e2e::API_KEY))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

/// The search finds packages through the trigram indexes (`pg_stat_user_indexes` counts the
/// scans the api's own queries made of them), and finds what it should.
#[tokio::test(flavor = "multi_thread")]
async fn q_searches_use_the_trigram_indexes() {
    let rieter = with_catalogue(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    let by_description = rieter
        .get_ok("/api/v1/packages?q=NUMBER%2012345&distro=bench")
        .await
        .unwrap();
    assert_eq!(by_description["total"], 1, "{by_description}");
    assert_eq!(
        by_description["items"][0]["description"],
        "synthetic package number 12345"
    );
    let name = by_description["items"][0]["name"].as_str().unwrap();
    let by_name = rieter
        .get_ok(&format!("/api/v1/packages?q={}", &name[4..16]))
        .await
        .unwrap();
    assert!(
        by_name["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == name),
        "{by_name}"
    );

    let pool = rieter.db.pool().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Backends report their statistics within seconds of going idle.
        let scans: Vec<(String, i64)> = sqlx::query_as(
            "select indexrelname::text, idx_scan from pg_stat_user_indexes
             where indexrelname in ('packages_name_trgm_idx', 'packages_description_trgm_idx')",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        if scans.len() == 2 && scans.iter().all(|(_, n)| *n > 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the trigram indexes were not used: {scans:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
