//! Start-up: the command line, configuration errors name their key, schemas are migrated or
//! checked, secrets stay out of logs, the health check the compose file uses.

use rieter_e2e::{API_KEY, Options, Rieter, TestDatabase, run_args_to_exit, run_to_exit};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_errors_name_the_key() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    let out = run_to_exit("rieter-api", &[("RIETER_DATA_DIR", data)]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("RIETER_DATABASE_URL"), "{text}");

    let out = run_to_exit(
        "rieter-api",
        &[
            ("RIETER_DATABASE_URL", "postgres://127.0.0.1/x"),
            ("RIETER_DATA_DIR", data),
        ],
    );
    assert!(stderr(&out).contains("RIETER_API_KEY"), "{}", stderr(&out));

    let out = run_to_exit(
        "rieter-api",
        &[
            ("RIETER_DATABASE_URL", "postgres://127.0.0.1/x"),
            ("RIETER_API_KEY", "short"),
            ("RIETER_DATA_DIR", data),
        ],
    );
    let text = stderr(&out);
    assert!(
        text.contains("RIETER_API_KEY") && text.contains("32 characters"),
        "{text}"
    );

    let out = run_to_exit(
        "rieter-api",
        &[
            ("RIETER_DATABASE_URL", "postgres://127.0.0.1/x"),
            ("RIETER_API_KEY", API_KEY),
            ("RIETER_BIND", "not-an-address"),
            ("RIETER_DATA_DIR", data),
        ],
    );
    assert!(stderr(&out).contains("RIETER_BIND"), "{}", stderr(&out));

    let out = run_to_exit(
        "rieter-worker",
        &[
            ("RIETER_DATABASE_URL", "postgres://127.0.0.1/x"),
            ("RIETER_PARSE_CONCURRENCY", "lots"),
            ("RIETER_DATA_DIR", data),
        ],
    );
    assert!(
        stderr(&out).contains("RIETER_PARSE_CONCURRENCY"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_an_unmigrated_schema_unless_allowed_to_migrate() {
    let db = TestDatabase::create().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    for binary in ["rieter-worker", "rieter-api"] {
        let out = run_to_exit(
            binary,
            &[
                ("RIETER_DATABASE_URL", db.url()),
                ("RIETER_API_KEY", API_KEY),
                ("RIETER_DATA_DIR", data),
                ("RIETER_AUTO_MIGRATE", "false"),
            ],
        );
        assert!(!out.status.success(), "{binary} started on an empty schema");
        let text = stderr(&out);
        assert!(text.contains("schema is out of date"), "{binary}: {text}");
    }
    // With migrations allowed, both schemas (ours and the job queue's) get created, and a
    // process with migrations off then passes the schema check: it only fails later, binding
    // the address the running api already holds.
    let rieter = Rieter::start(Options {
        workers: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    let bind = rieter.base_url.trim_start_matches("http://").to_owned();
    let out = run_to_exit(
        "rieter-api",
        &[
            ("RIETER_DATABASE_URL", rieter.db.url()),
            ("RIETER_API_KEY", API_KEY),
            ("RIETER_DATA_DIR", rieter.data_dir().to_str().unwrap()),
            ("RIETER_AUTO_MIGRATE", "false"),
            ("RIETER_BIND", &bind),
        ],
    );
    let text = stderr(&out);
    assert!(!text.contains("out of date"), "{text}");
    assert!(text.contains("RIETER_BIND"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_the_logs() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    // Exercise auth failures and successes so any logging of keys would show.
    let _ = rieter
        .client
        .post(rieter.url("/e2e/main"))
        .bearer_auth("wrong-key-that-must-not-be-logged")
        .body(b"x".to_vec())
        .send()
        .await
        .unwrap();
    let _ = rieter
        .upload_bytes("/e2e/main", b"not a package".to_vec())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let logs = rieter.logs();
    assert!(
        logs.contains("starting rieter-api"),
        "no start-up log:\n{logs}"
    );
    assert!(logs.contains("[redacted]"));
    assert!(!logs.contains(API_KEY), "the admin key was logged");
    assert!(
        !logs.contains("wrong-key-that-must-not-be-logged"),
        "a presented key was logged"
    );
}

#[test]
fn help_and_version_print_and_exit_without_starting() {
    let version = env!("CARGO_PKG_VERSION");
    for binary in ["rieter-api", "rieter-worker"] {
        // No configuration at all: were they to start, they would fail for want of a database.
        let out = run_args_to_exit(binary, &["--version"], &[]);
        assert!(out.status.success(), "{binary}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.trim(), format!("{binary} {version}"));
        let out = run_args_to_exit(binary, &["--help"], &[]);
        assert!(out.status.success(), "{binary}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("RIETER_CONFIG"), "{binary}: {text}");
        // A flag neither knows is refused, not ignored.
        let out = run_args_to_exit(binary, &["--bind", "0.0.0.0:1"], &[]);
        assert_eq!(out.status.code(), Some(2), "{binary}: {}", stderr(&out));
        assert!(stderr(&out).contains("--bind"), "{}", stderr(&out));
    }
    let out = run_args_to_exit("rieter-api", &["--help"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("healthcheck") && text.contains("openapi"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_health_check_passes_on_a_running_api_and_fails_on_none() {
    let rieter = Rieter::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await
    .unwrap();
    let health = rieter.get_ok("/api/v1/health").await.unwrap();
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    let logged = rieter.log_lines("starting rieter-api");
    assert!(
        logged[0].contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION")))
            || logged[0].contains(&format!("version={}", env!("CARGO_PKG_VERSION"))),
        "{logged:?}"
    );

    // As the compose file runs it: the container's own environment, bound to all addresses.
    let bind = rieter.base_url.trim_start_matches("http://").to_owned();
    let port = bind.rsplit(':').next().unwrap();
    let all = format!("0.0.0.0:{port}");
    let out = run_args_to_exit("rieter-api", &["healthcheck"], &[("RIETER_BIND", &all)]);
    assert!(out.status.success(), "{}", stderr(&out));

    drop(rieter);
    let out = run_args_to_exit(
        "rieter-api",
        &["healthcheck", "--timeout-secs", "2"],
        &[("RIETER_BIND", &bind)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&bind), "{}", stderr(&out));
}
