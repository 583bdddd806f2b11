//! A Python client generated from the committed `openapi.yaml` by openapi-python-client lists
//! packages page by page and fetches one from a running Rieter (`e2e/python/list_packages.py`).
//! The tools come from PyPI into a virtual environment under the target directory.

use std::process::Command;

use rieter_e2e::python::{repo_root, venv};
use rieter_e2e::{Build, Options, Rieter, build_many};

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_python_client_pages_through_packages() {
    let env = venv("client", &["openapi-python-client", "python-dateutil"]).unwrap();
    let out_dir = tempfile::Builder::new()
        .prefix("rieter-python-client-")
        .tempdir()
        .unwrap();
    let generated = out_dir.path().join("rieter_client");
    let python_dir = repo_root().join("e2e/python");
    let gen_out = Command::new(env.join("bin/openapi-python-client"))
        .arg("generate")
        .arg("--path")
        .arg(repo_root().join("openapi.yaml"))
        .arg("--config")
        .arg(python_dir.join("client-config.yaml"))
        .arg("--output-path")
        .arg(&generated)
        .arg("--meta")
        .arg("none")
        .env("PATH", env.join("bin"))
        .output()
        .unwrap();
    let gen_log = String::from_utf8_lossy(&gen_out.stdout).into_owned()
        + &String::from_utf8_lossy(&gen_out.stderr);
    assert!(
        gen_out.status.success(),
        "generating the client failed:\n{gen_log}"
    );
    // It generates without warnings about parts of the document it could not use.
    assert!(!gen_log.contains("Warning"), "{gen_log}");

    let rieter = Rieter::start(Options::default()).await.unwrap();
    let files = build_many(&[
        Build::new("py-c", "1.0"),
        Build::new("py-a", "2.0"),
        Build::new("py-b", "1.5").arch("any"),
        Build::new("py-d", "0.1"),
        Build::new("py-e", "3.0"),
    ])
    .unwrap();
    for file in &files {
        let id = rieter.upload("py/main", file).await.unwrap();
        assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    }

    let run = Command::new(env.join("bin/python"))
        .arg(python_dir.join("list_packages.py"))
        .arg(&rieter.base_url)
        .arg(files.len().to_string())
        .env("PYTHONPATH", out_dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "list_packages.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..5],
        [
            "py-a 2.0-1 x86_64",
            "py-b 1.5-1 any",
            "py-c 1.0-1 x86_64",
            "py-d 0.1-1 x86_64",
            "py-e 3.0-1 x86_64"
        ]
    );
    let filename = files[1].file_name().unwrap().to_str().unwrap();
    assert_eq!(lines[5], format!("detail: py-a /py/main/x86_64/{filename}"));
}
