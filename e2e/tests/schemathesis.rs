//! schemathesis, driven by the committed `openapi.yaml` through `scripts/schemathesis`, finds
//! no server error and no response that disagrees with the document, against a running Rieter
//! holding some data (a bounded number of examples per operation keeps it to minutes).

use std::process::Command;

use rieter_e2e::python::{repo_root, venv};
use rieter_e2e::{API_KEY, Build, Options, Rieter, build_many};

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_errors_or_schema_violations() {
    let env = venv("schemathesis", &["schemathesis"]).unwrap();
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let files = build_many(&[
        Build::new("st-one", "1.0"),
        Build::new("st-two", "2.0").arch("any"),
    ])
    .unwrap();
    for file in &files {
        let id = rieter.upload("st/main", file).await.unwrap();
        assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    }
    let scoped = rieter
        .create_key(
            "st",
            serde_json::json!([{"permission": "publish", "distro": "st"}]),
        )
        .await
        .unwrap();
    assert!(scoped["secret"].is_string());

    let report = tempfile::Builder::new()
        .prefix("rieter-schemathesis-")
        .tempdir()
        .unwrap();
    let out = Command::new(repo_root().join("scripts/schemathesis"))
        .arg(&rieter.base_url)
        .arg(API_KEY)
        .arg("--report-dir")
        .arg(report.path())
        .env("SCHEMATHESIS", env.join("bin/schemathesis"))
        .env("MAX_EXAMPLES", "50")
        .env("SEED", "4")
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(report.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        rieter.logs()
    );
    // It really ran every operation of the document.
    let spec = std::fs::read_to_string(repo_root().join("openapi.yaml")).unwrap();
    let operations = spec.matches("operationId:").count();
    assert!(operations > 20);
    assert!(
        stdout.contains(&format!("Tested: {operations}")),
        "{stdout}"
    );
    // And the server logged no internal error meanwhile.
    assert!(rieter.log_lines("ERROR").is_empty(), "{}", rieter.logs());
}
