//! Reliability (3): Postgres goes away during a stream of uploads. The api answers 503 with a
//! problem document meanwhile (it does not hang, and does not accept what it cannot queue),
//! both processes recover by themselves, and nothing accepted is lost.
//!
//! Runs against a Postgres server of its own, so stopping it disturbs no other test.

use std::time::{Duration, Instant};

use rieter_e2e::{API_KEY, Build, Options, PrivatePostgres, Rieter, build_many};

#[tokio::test(flavor = "multi_thread")]
async fn uploads_survive_a_postgres_restart() {
    let files = build_many(&Build::many("pgr", 120, "1.0")).unwrap();
    let pg = PrivatePostgres::start().unwrap();
    let rieter = Rieter::start(Options {
        admin_url: Some(pg.admin_url()),
        quiet_period_secs: 0.5,
        ..Options::default()
    })
    .await
    .unwrap();

    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut outage: Option<Instant> = None;
    let mut restarted = false;
    for (i, file) in files.iter().enumerate() {
        if i == 40 {
            pg.stop_server("fast").unwrap();
            outage = Some(Instant::now());
        }
        let down = outage.is_some() && !restarted;
        if down && outage.unwrap().elapsed() > Duration::from_secs(10) {
            pg.start_server().unwrap();
            restarted = true;
            println!("postgres was down for {:?}", outage.unwrap().elapsed());
        }
        let sent = Instant::now();
        let resp = rieter
            .client
            .post(rieter.url("/pgr/core"))
            .bearer_auth(API_KEY)
            .body(std::fs::read(file).unwrap())
            .send()
            .await
            .expect("the api stays up");
        let took = sent.elapsed();
        slowest = slowest.max(took);
        assert!(
            took < Duration::from_secs(30),
            "an upload hung for {took:?}"
        );
        match resp.status().as_u16() {
            202 => {
                let body: serde_json::Value = resp.json().await.unwrap();
                accepted.push(body["id"].as_str().unwrap().to_owned());
            }
            503 => {
                assert!(down, "a 503 while the database was up (upload {i})");
                assert_eq!(resp.headers()["content-type"], "application/problem+json");
                let problem: serde_json::Value = resp.json().await.unwrap();
                assert_eq!(problem["status"], 503);
                refused.push(file.clone());
                if refused.len() == 1 {
                    // Readiness agrees while the database is away.
                    let ready = rieter
                        .client
                        .get(rieter.url("/api/v1/ready"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(ready.status(), 503);
                }
            }
            other => panic!("upload {i} answered {other}"),
        }
    }
    assert!(restarted, "the stream ended before the outage did");
    assert!(
        refused.len() >= 2,
        "only {} uploads saw the outage",
        refused.len()
    );
    let ready = rieter
        .client
        .get(rieter.url("/api/v1/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // Re-send what was refused, as the client would.
    for file in &refused {
        let (id, _) = rieter
            .upload_retrying("pgr/core", file, Duration::from_secs(60))
            .await
            .unwrap();
        accepted.push(id);
    }
    let unavailable = refused.len();
    rieter
        .wait_quiescent(Duration::from_secs(180))
        .await
        .unwrap();
    let report = rieter.check_invariants().await.unwrap();
    let restarts = rieter.log_lines("worker stopped; restarting it").len();
    let transient = rieter.log_lines("transient failure").len();
    println!(
        "postgres restart: {} uploads accepted, {unavailable} answered 503 during the outage \
         (slowest answer {slowest:?}); worker restarts {restarts}, transient retries {transient}; \
         {} published, {} rebuild(s)",
        accepted.len(),
        report.published,
        report.rebuilds
    );
    assert_eq!(report.uploads, 120);
    assert_eq!(report.published, 120);
    assert_eq!(report.packages_served, 120);
}
