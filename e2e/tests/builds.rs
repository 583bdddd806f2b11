//! Builds and the lease protocol (issue 16, second part), driven over HTTP as an agent drives
//! it: queued by hand or by a due schedule (once, with two workers sweeping), claimed per
//! architecture, extended, finished; cancelled while queued and while running; and a lease
//! that is not extended puts the build back in the queue, until it has been tried enough.

use std::time::{Duration, Instant};

use reqwest::Method;
use rieter_e2e::api::Auth;
use rieter_e2e::{API_KEY, Options, Rieter};
use serde_json::{Value, json};

async fn call(
    rieter: &Rieter,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    rieter.call(method, path, Auth::Bearer(key), body).await
}

async fn target(rieter: &Rieter, name: &str, schedule: Option<&str>) -> i64 {
    let (status, t) = call(
        rieter,
        Method::POST,
        "/api/v1/targets",
        API_KEY,
        Some(json!({
            "name": name, "kind": "git", "url": "https://git.example.org/pkgs.git",
            "distro": "b", "repo": "main", "arches": ["x86_64", "aarch64"], "schedule": schedule
        })),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    t["id"].as_i64().unwrap()
}

async fn claim(rieter: &Rieter, key: &str, arches: &[&str]) -> (u16, Value) {
    call(
        rieter,
        Method::POST,
        "/api/v1/agent/claim",
        key,
        Some(json!({"name": "agent-1", "arches": arches})),
    )
    .await
}

async fn build(rieter: &Rieter, id: i64) -> Value {
    let (status, b) = call(
        rieter,
        Method::GET,
        &format!("/api/v1/builds/{id}"),
        API_KEY,
        None,
    )
    .await;
    assert_eq!(status, 200, "{b}");
    b
}

async fn wait_status(rieter: &Rieter, id: i64, status: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let b = build(rieter, id).await;
        if b["status"] == status {
            return b;
        }
        assert!(
            Instant::now() < deadline,
            "build {id} never became {status}: {b}\n{}",
            rieter.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_claim_extend_and_finish_builds_through_leases() {
    let rieter = Rieter::start(Options {
        workers: 1,
        env: vec![("RIETER_BUILD_LEASE_SECS".into(), "5".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let agent = rieter
        .create_key("agent", json!([{"permission": "agent"}]))
        .await
        .unwrap();
    let agent = agent["secret"].as_str().unwrap().to_owned();
    let builder = rieter
        .create_key("builder", json!([{"permission": "build", "distro": "b"}]))
        .await
        .unwrap();
    let builder = builder["secret"].as_str().unwrap().to_owned();
    let id = target(&rieter, "hello", None).await;
    let builds = format!("/api/v1/targets/{id}/builds");

    // Queued by hand; asking again returns the same build; not an arch of the target: 400.
    let (status, queued) = call(
        &rieter,
        Method::POST,
        &builds,
        &builder,
        Some(json!({"arch": "x86_64"})),
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["status"], "queued");
    let first = queued["id"].as_i64().unwrap();
    let (status, again) = call(
        &rieter,
        Method::POST,
        &builds,
        API_KEY,
        Some(json!({"arch": "x86_64"})),
    )
    .await;
    assert_eq!((status, again["id"].as_i64()), (202, Some(first)));
    assert_eq!(again["force"], false);
    let (_, forced) = call(
        &rieter,
        Method::POST,
        &builds,
        API_KEY,
        Some(json!({"arch": "x86_64", "force": true})),
    )
    .await;
    assert_eq!(
        (forced["id"].as_i64(), forced["force"].as_bool()),
        (Some(first), Some(true)),
        "a forced request forces the waiting build"
    );
    let (status, problem) = call(
        &rieter,
        Method::POST,
        &builds,
        API_KEY,
        Some(json!({"arch": "riscv64"})),
    )
    .await;
    assert_eq!(status, 400, "{problem}");

    // Only agents claim; a claim takes the oldest build of the agent's architectures.
    let (status, _) = claim(&rieter, &builder, &["x86_64"]).await;
    assert_eq!(status, 403);
    let (status, _) = claim(&rieter, &agent, &["aarch64"]).await;
    assert_eq!(status, 204, "nothing for aarch64");
    let (status, claimed) = claim(&rieter, &agent, &["aarch64", "x86_64"]).await;
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["build"]["id"].as_i64(), Some(first));
    assert_eq!(claimed["build"]["status"], "running");
    assert_eq!(claimed["build"]["agent"], "agent-1");
    assert_eq!(claimed["target"]["url"], "https://git.example.org/pkgs.git");
    assert_eq!(
        (
            claimed["lease_secs"].as_i64(),
            claimed["extend_every_secs"].as_i64()
        ),
        (Some(5), Some(1))
    );
    let lease = claimed["lease_id"].as_str().unwrap().to_owned();
    let extend = format!("/api/v1/agent/builds/{first}/extend");
    let finish = format!("/api/v1/agent/builds/{first}/finish");

    // Extended with its lease; another lease id changes nothing.
    let (status, extended) = call(
        &rieter,
        Method::POST,
        &extend,
        &agent,
        Some(json!({"lease_id": lease})),
    )
    .await;
    assert_eq!((status, extended["cancel"].as_bool()), (200, Some(false)));
    let other = "00000000-0000-4000-8000-000000000000";
    let (status, _) = call(
        &rieter,
        Method::POST,
        &extend,
        &agent,
        Some(json!({"lease_id": other})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = call(
        &rieter,
        Method::POST,
        &finish,
        &agent,
        Some(json!({"lease_id": other, "outcome": "succeeded"})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = call(
        &rieter,
        Method::POST,
        &format!("/api/v1/agent/builds/{first}/report"),
        &agent,
        Some(json!({"lease_id": other, "packages": [{"name": "hello", "version": "1-1"}]})),
    )
    .await;
    assert_eq!(status, 409, "a report under another lease");
    let (status, refused) = call(
        &rieter,
        Method::POST,
        &format!("/api/v1/agent/builds/{first}/report"),
        &agent,
        Some(json!({"lease_id": lease, "packages": [{"name": "hello", "version": "nope"}]})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    // Log chunks and packages are raw bodies, accepted under the lease only, from agents only.
    let http = reqwest::Client::new();
    let raw = |path: String, key: &str, lease: &str, body: &'static [u8]| {
        http.post(rieter.url(&path))
            .bearer_auth(key)
            .query(&[("lease_id", lease), ("offset", "0")])
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    let log_path = format!("/api/v1/agent/builds/{first}/log");
    let packages_path = format!("/api/v1/agent/builds/{first}/packages");
    for (path, key, lease_id, want) in [
        (&log_path, agent.as_str(), other, 409),
        (&log_path, builder.as_str(), lease.as_str(), 403),
        (&packages_path, agent.as_str(), other, 409),
        (&packages_path, builder.as_str(), lease.as_str(), 403),
        (&log_path, agent.as_str(), lease.as_str(), 200),
    ] {
        let resp = raw(path.clone(), key, lease_id, b"line\n").await.unwrap();
        assert_eq!(
            resp.status().as_u16(),
            want,
            "{path} {}",
            resp.text().await.unwrap()
        );
    }
    let (_, b) = call(
        &rieter,
        Method::GET,
        &format!("/api/v1/builds/{first}"),
        API_KEY,
        None,
    )
    .await;
    assert_eq!(b["log_bytes"], 5);
    // Kept alive past the lease by extensions.
    for _ in 0..7 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (status, _) = call(
            &rieter,
            Method::POST,
            &extend,
            &agent,
            Some(json!({"lease_id": lease})),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, done) = call(
        &rieter,
        Method::POST,
        &finish,
        &agent,
        Some(json!({"lease_id": lease, "outcome": "succeeded"})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "succeeded");
    assert!(done["finished_at"].is_string() && done["started_at"].is_string());
    assert_eq!(done["attempts"], 1);
    let (status, _) = call(
        &rieter,
        Method::POST,
        &finish,
        &agent,
        Some(json!({"lease_id": lease, "outcome": "failed"})),
    )
    .await;
    assert_eq!(status, 409, "a finished build stays finished");

    // Cancelled while queued: at once.
    let (_, queued) = call(
        &rieter,
        Method::POST,
        &builds,
        API_KEY,
        Some(json!({"arch": "aarch64"})),
    )
    .await;
    let queued_id = queued["id"].as_i64().unwrap();
    let (status, cancelled) = call(
        &rieter,
        Method::POST,
        &format!("/api/v1/builds/{queued_id}/cancel"),
        &builder,
        None,
    )
    .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (202, Some("cancelled"))
    );

    // Cancelled while running: the agent hears it at its next extension and finishes it.
    let (_, queued) = call(
        &rieter,
        Method::POST,
        &builds,
        API_KEY,
        Some(json!({"arch": "x86_64", "force": true})),
    )
    .await;
    let running = queued["id"].as_i64().unwrap();
    assert_ne!(
        running, first,
        "the first build ended, so this is a new one"
    );
    assert_eq!(queued["force"], true);
    let (_, claimed) = claim(&rieter, &agent, &["x86_64"]).await;
    let lease = claimed["lease_id"].as_str().unwrap().to_owned();
    let (status, asked) = call(
        &rieter,
        Method::POST,
        &format!("/api/v1/builds/{running}/cancel"),
        API_KEY,
        None,
    )
    .await;
    assert_eq!(
        (
            status,
            asked["status"].as_str(),
            asked["cancel_requested"].as_bool()
        ),
        (202, Some("running"), Some(true))
    );
    let (_, extended) = call(
        &rieter,
        Method::POST,
        &format!("/api/v1/agent/builds/{running}/extend"),
        &agent,
        Some(json!({"lease_id": lease})),
    )
    .await;
    assert_eq!(extended["cancel"], true);
    let (_, done) = call(
        &rieter,
        Method::POST,
        &format!("/api/v1/agent/builds/{running}/finish"),
        &agent,
        Some(json!({"lease_id": lease, "outcome": "cancelled", "error": "cancelled by request"})),
    )
    .await;
    assert_eq!(
        (done["status"].as_str(), done["error"].as_str()),
        (Some("cancelled"), Some("cancelled by request"))
    );

    // An agent that stops reporting: its lease ends, the build goes back to the queue and
    // another claim gets it; after three claims it fails.
    let (_, queued) = call(
        &rieter,
        Method::POST,
        &builds,
        API_KEY,
        Some(json!({"arch": "aarch64"})),
    )
    .await;
    let lost = queued["id"].as_i64().unwrap();
    for attempt in 1..=3 {
        let (status, claimed) = claim(&rieter, &agent, &["aarch64"]).await;
        assert_eq!(status, 200, "attempt {attempt}: {claimed}");
        assert_eq!(claimed["build"]["id"].as_i64(), Some(lost));
        assert_eq!(claimed["build"]["attempts"], attempt);
        if attempt < 3 {
            // The worker's sweep ends the lease (or the next claim does).
            wait_status(&rieter, lost, "queued", Duration::from_secs(30)).await;
        }
    }
    let failed = wait_status(&rieter, lost, "failed", Duration::from_secs(30)).await;
    assert!(
        failed["error"].as_str().unwrap().contains("3 times"),
        "{failed}"
    );

    // Listing: newest first, filtered; a key without `build` or `agent` sees none of it.
    let (status, page) = call(
        &rieter,
        Method::GET,
        &format!("/api/v1/builds?target={id}&status=cancelled"),
        &builder,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![running, queued_id]);
    let (status, page) = call(&rieter, Method::GET, "/api/v1/builds", API_KEY, None).await;
    assert_eq!((status, page["total"].as_i64()), (200, Some(4)));
    let reader = rieter
        .create_key("ci", json!([{"permission": "publish", "distro": "b"}]))
        .await
        .unwrap();
    let reader = reader["secret"].as_str().unwrap();
    let (status, _) = call(&rieter, Method::GET, "/api/v1/builds", reader, None).await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &rieter,
        Method::GET,
        &format!("/api/v1/builds/{first}"),
        reader,
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_due_schedule_queues_one_run_per_architecture_with_two_workers_sweeping() {
    let rieter = Rieter::start(Options {
        workers: 2,
        ..Options::default()
    })
    .await
    .unwrap();
    let id = target(&rieter, "nightly", Some("0 3 * * *")).await;
    let pool = rieter.db.pool().await.unwrap();
    // Make it due now, as if 03:00 had come.
    sqlx::query("update build_targets set next_run_at = now() - interval '1 second' where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let (_, page) = call(
            &rieter,
            Method::GET,
            &format!("/api/v1/builds?target={id}"),
            API_KEY,
            None,
        )
        .await;
        if page["total"].as_i64() >= Some(2) {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled builds: {page}\n{}",
            rieter.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Several more sweeps by both workers: still one build per architecture.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, page2) = call(
        &rieter,
        Method::GET,
        &format!("/api/v1/builds?target={id}"),
        API_KEY,
        None,
    )
    .await;
    assert_eq!(page2["total"], 2, "{page}\n{page2}");
    let mut arches: Vec<&str> = page2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["arch"].as_str().unwrap())
        .collect();
    arches.sort_unstable();
    assert_eq!(arches, ["aarch64", "x86_64"]);
    // The schedule moved to its next run: in the future, at 03:00.
    let (_, t) = call(
        &rieter,
        Method::GET,
        &format!("/api/v1/targets/{id}"),
        API_KEY,
        None,
    )
    .await;
    let next: chrono::DateTime<chrono::Utc> = t["next_run_at"].as_str().unwrap().parse().unwrap();
    assert!(next > chrono::Utc::now());
    assert_eq!(next.format("%H:%M:%S").to_string(), "03:00:00");
}
