//! Synchronous publish (issue 15): `?wait=SECONDS` holds the upload's answer until it is final:
//! `201` when published, `422` (a problem document with the upload alongside) when it failed,
//! `202` when the time ran out.

use std::time::{Duration, Instant};

use rieter_e2e::{API_KEY, Build, Options, Rieter};
use serde_json::Value;

async fn upload(rieter: &Rieter, target: &str, body: Vec<u8>, put: bool) -> (u16, String, Value) {
    let request = if put {
        rieter.client.put(rieter.url(target))
    } else {
        rieter.client.post(rieter.url(target))
    };
    let resp = request
        .bearer_auth(API_KEY)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_can_wait_until_it_is_published_or_failed() {
    // A quiet period long enough that a short wait runs out first.
    let rieter = Rieter::start(Options {
        quiet_period_secs: 3.0,
        ..Options::default()
    })
    .await
    .unwrap();
    let v2 = Build::new("wait-pkg", "2.0").build_one().unwrap();
    let v1 = Build::new("wait-pkg", "1.0").build_one().unwrap();
    let other = Build::new("wait-other", "1.0").build_one().unwrap();

    // Published: 201, once the database lists it.
    let started = Instant::now();
    let (status, _, body) = upload(
        &rieter,
        "/w/main?wait=60",
        std::fs::read(&v2).unwrap(),
        false,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "published");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "published before the quiet period"
    );
    let db = rieter
        .client
        .get(rieter.url("/w/main/x86_64/main.db"))
        .send()
        .await
        .unwrap();
    assert_eq!(db.status(), 200);

    // Refused by the version rules: 422, the reason in `detail`, the upload alongside.
    let (status, content_type, body) = upload(
        &rieter,
        "/w/main?wait=60",
        std::fs::read(&v1).unwrap(),
        true,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["status"], 422);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("older than the current wait-pkg 2.0-1"),
        "{detail}"
    );
    assert_eq!(body["error"], body["detail"]);
    let id = body["id"].as_str().unwrap();
    assert_eq!(rieter.upload_status(id).await.unwrap()["status"], "failed");

    // The wait runs out before the quiet period: 202, as without `wait`.
    let (status, _, body) = upload(
        &rieter,
        "/w/main?wait=1",
        std::fs::read(&other).unwrap(),
        false,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_ne!(body["status"], "published");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");

    // Out of bounds.
    for wait in ["0", "301", "x"] {
        let (status, _, body) = upload(
            &rieter,
            &format!("/w/main?wait={wait}"),
            std::fs::read(&other).unwrap(),
            false,
        )
        .await;
        assert_eq!(status, 400, "wait={wait}: {body}");
    }
}
