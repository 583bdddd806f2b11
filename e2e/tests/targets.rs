//! Build targets (issue 16, first part): created, listed, changed and deleted through the API
//! and the CLI; validated; schedules computed by the server; and reachable only by the admin
//! and keys with `build` on the target's distribution or repository.

use std::process::Command;

use chrono::{DateTime, Timelike, Utc};
use reqwest::Method;
use rieter_e2e::api::Auth;
use rieter_e2e::{API_KEY, Options, Rieter, binaries};
use serde_json::{Value, json};

async fn call(
    rieter: &Rieter,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = key.map_or(Auth::None, Auth::Bearer);
    rieter.call(method, path, auth, body).await
}

fn target(name: &str, distro: &str, repo: &str) -> Value {
    json!({
        "name": name, "kind": "git", "url": "https://git.example.org/pkgs.git",
        "branch": "main", "path": name, "distro": distro, "repo": repo,
        "arches": ["x86_64"], "schedule": "0 3 * * *"
    })
}

fn next_run(t: &Value) -> DateTime<Utc> {
    t["next_run_at"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_are_validated_scheduled_and_reachable_only_by_their_keys() {
    let rieter = Rieter::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await
    .unwrap();
    let admin = Some(API_KEY);

    // Created with a schedule: the server says when it next comes due (at 03:00 UTC).
    let (status, created) = call(
        &rieter,
        Method::POST,
        "/api/v1/targets",
        admin,
        Some(target("hello", "arch", "core")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let next = next_run(&created);
    assert!(next > Utc::now(), "{next}");
    assert_eq!((next.hour(), next.minute(), next.second()), (3, 0, 0));
    assert_eq!(created["path"], "hello");
    assert_eq!(created["timeout_secs"], 3600);

    // Refused with the reason.
    let refusals = [
        (json!({"kind": "svn"}), "found \"svn\"", 400),
        (json!({"arches": ["any"]}), "`any`", 400),
        (json!({"schedule": "nightly"}), "five fields", 400),
        (
            json!({"url": "https://u:p@git.example.org/x.git"}),
            "credentials",
            400,
        ),
        (json!({"path": "../etc"}), "without `..`", 400),
        (json!({"distro": "api"}), "api", 400),
        (json!({"name": "hello"}), "exists already", 409),
    ];
    for (edit, reason, expected) in refusals {
        let mut body = target("other", "arch", "core");
        for (k, v) in edit.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, problem) =
            call(&rieter, Method::POST, "/api/v1/targets", admin, Some(body)).await;
        assert_eq!(status, expected, "{edit}: {problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(reason), "{edit}: {detail}");
    }

    // Keys: `build` on one repository reaches that repository's targets only.
    let builder = rieter
        .create_key(
            "builder",
            json!([{"permission": "build", "distro": "arch", "repo": "extra"}]),
        )
        .await
        .unwrap();
    let builder = builder["secret"].as_str().unwrap().to_owned();
    let publisher = rieter
        .create_key("ci", json!([{"permission": "publish", "distro": "arch"}]))
        .await
        .unwrap();
    let publisher = publisher["secret"].as_str().unwrap().to_owned();
    let key = Some(builder.as_str());
    let (status, own) = call(
        &rieter,
        Method::POST,
        "/api/v1/targets",
        key,
        Some(target("mine", "arch", "extra")),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    let own_id = own["id"].as_i64().unwrap();
    let (status, _) = call(
        &rieter,
        Method::POST,
        "/api/v1/targets",
        key,
        Some(target("theirs", "arch", "core")),
    )
    .await;
    assert_eq!(status, 403);
    let (status, page) = call(&rieter, Method::GET, "/api/v1/targets", key, None).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["name"], "mine");
    let (status, _) = call(
        &rieter,
        Method::GET,
        &format!("/api/v1/targets/{id}"),
        key,
        None,
    )
    .await;
    assert_eq!(
        status, 404,
        "another repository's target does not exist for it"
    );
    let (status, _) = call(
        &rieter,
        Method::DELETE,
        &format!("/api/v1/targets/{id}"),
        key,
        None,
    )
    .await;
    assert_eq!(status, 404);
    // It may not move its target where it may not manage targets.
    let (status, problem) = call(
        &rieter,
        Method::PATCH,
        &format!("/api/v1/targets/{own_id}"),
        key,
        Some(json!({"repo": "core"})),
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    let (status, _) = call(
        &rieter,
        Method::GET,
        "/api/v1/targets",
        Some(&publisher),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(&rieter, Method::GET, "/api/v1/targets", None, None).await;
    assert_eq!(status, 401);
    let (status, page) = call(&rieter, Method::GET, "/api/v1/targets", admin, None).await;
    assert_eq!((status, page["total"].as_i64()), (200, Some(2)));

    // PATCH: `null` removes the schedule; a new one is computed again; other fields stay.
    let path = format!("/api/v1/targets/{id}");
    let (status, changed) = call(
        &rieter,
        Method::PATCH,
        &path,
        admin,
        Some(json!({"schedule": null})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["schedule"].clone(), changed["next_run_at"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(changed["url"], created["url"]);
    let (status, changed) = call(
        &rieter,
        Method::PATCH,
        &path,
        admin,
        Some(json!({"schedule": "30 4 * * *", "arches": ["x86_64", "aarch64"]})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let next = next_run(&changed);
    assert!(next > Utc::now());
    assert_eq!((next.hour(), next.minute()), (4, 30));
    assert_eq!(changed["arches"], json!(["x86_64", "aarch64"]));
    let (status, _) = call(
        &rieter,
        Method::PATCH,
        &path,
        admin,
        Some(json!({"name": "mine"})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = call(
        &rieter,
        Method::PATCH,
        &path,
        admin,
        Some(json!({"kind": "url"})),
    )
    .await;
    assert_eq!(status, 400, "a url target has no branch or path");

    // DELETE.
    let (status, _) = call(&rieter, Method::DELETE, &path, admin, None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&rieter, Method::GET, &path, admin, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&rieter, Method::DELETE, &path, admin, None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_manages_targets() {
    let rieter = Rieter::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await
    .unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(binaries().join("rieter"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RIETER_URL", rieter.url(""))
            .env("RIETER_API_KEY", API_KEY)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), stdout, stderr)
    };
    let (code, stdout, stderr) = cli(&[
        "--json",
        "targets",
        "create",
        "hello",
        "arch/extra",
        "--kind",
        "git",
        "--source",
        "https://git.example.org/pkgs.git",
        "--path",
        "hello",
        "--arches",
        "x86_64,aarch64",
        "--schedule",
        "0 3 * * *",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let created: Value = serde_json::from_str(&stdout).unwrap();
    let id = created["id"].as_i64().unwrap().to_string();
    assert_eq!(created["arches"], json!(["x86_64", "aarch64"]));

    let (code, stdout, _) = cli(&["targets", "ls"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("hello") && stdout.contains("arch/extra") && stdout.contains("0 3 * * *"),
        "{stdout}"
    );

    let (code, stdout, stderr) = cli(&[
        "--json",
        "targets",
        "update",
        &id,
        "--no-schedule",
        "--branch",
        "stable",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let changed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(changed["schedule"], Value::Null);
    assert_eq!(changed["branch"], "stable");
    let (code, stdout, _) = cli(&["targets", "show", &id]);
    assert_eq!(code, 0);
    assert!(stdout.contains("stable"), "{stdout}");

    let (code, _, stderr) = cli(&[
        "targets",
        "create",
        "bad",
        "arch/extra",
        "--kind",
        "svn",
        "--source",
        "https://x",
        "--arches",
        "x86_64",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no target kind \"svn\""), "{stderr}");
    let (code, _, stderr) = cli(&["targets", "update", &id, "--schedule", "61 * * * *"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("400"), "{stderr}");

    // Its builds: queued, listed, cancelled.
    let (code, stdout, stderr) = cli(&["--json", "builds", "run", &id, "--arch", "x86_64"]);
    assert_eq!(code, 0, "{stderr}");
    let queued: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(queued["status"], "queued");
    let build = queued["id"].as_i64().unwrap().to_string();
    let (code, _, stderr) = cli(&["builds", "run", &id, "--arch", "riscv64"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("not one of the target's architectures"),
        "{stderr}"
    );
    let (code, stdout, _) = cli(&["builds", "ls", "--target", &id]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("hello") && stdout.contains("queued"),
        "{stdout}"
    );
    let (code, stdout, _) = cli(&["builds", "cancel", &build]);
    assert_eq!(code, 0);
    assert!(stdout.contains("cancelled"), "{stdout}");
    let (code, stdout, _) = cli(&["--json", "builds", "ls", "--status", "cancelled"]);
    assert_eq!(code, 0);
    let page: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(page["total"], 1, "{page}");

    // Vieter's targets, imported: one named after its directory, the other after its
    // repository; the same name twice takes the Vieter id; a bad one is reported, not fatal.
    let dir = tempfile::tempdir().unwrap();
    let vieter = dir.path().join("targets.json");
    std::fs::write(
        &vieter,
        r#"{"message": "", "data": [
            {"id": 7, "kind": "git", "url": "https://aur.archlinux.org/paru-bin.git",
             "branch": "master", "path": "", "repo": "bur", "schedule": "",
             "arch": [{"id": 1, "target_id": 7, "value": "x86_64"}]},
            {"id": 8, "kind": "git", "url": "https://git.example.org/x.git", "branch": "main",
             "path": "paru-bin", "repo": "bur", "schedule": "0 */6",
             "arch": [{"id": 2, "target_id": 8, "value": "x86_64"}]},
            {"id": 9, "kind": "git", "url": "ftp://nope", "repo": "bur",
             "arch": [{"id": 3, "target_id": 9, "value": "x86_64"}]}
        ]}"#,
    )
    .unwrap();
    let (code, stdout, stderr) = cli(&[
        "--json",
        "targets",
        "import-vieter",
        vieter.to_str().unwrap(),
        "--distro",
        "arch",
    ]);
    assert_eq!(code, 1, "one of three is refused: {stdout}{stderr}");
    assert!(
        stderr.contains("1 of 3 Vieter targets were not imported"),
        "{stderr}"
    );
    let imported: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(imported[0]["name"], "paru-bin");
    assert_eq!(imported[1]["name"], "paru-bin-8");
    assert_eq!(imported[2]["outcome"], "failed");
    let (_, stdout, _) = cli(&["--json", "targets", "show", &imported[1]["id"].to_string()]);
    let second: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (second["schedule"].as_str(), second["distro"].as_str()),
        (Some("0 */6 * * *"), Some("arch"))
    );
    assert_eq!(second["repo"], "bur");

    let (code, _, _) = cli(&["targets", "rm", &id]);
    assert_eq!(code, 0);
    let (code, _, stderr) = cli(&["targets", "show", &id]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no target"), "{stderr}");
}
