//! The `rieter` CLI (issue 15), run as a user or a CI job runs it, against a running server:
//! publish with `--wait` (exit codes, human output, `--json` read back), the catalogue
//! commands, removal, keys, packager keys with `--sig`, named servers from the configuration
//! file, completions and the man page; and the shell lines of the README's "publish from CI"
//! examples, executed as they are written there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rieter_e2e::gpg::Packager;
use rieter_e2e::python::repo_root;
use rieter_e2e::{API_KEY, Build, Options, Rieter, binaries};
use serde_json::Value;

/// Runs `rieter` with `args`, the server and key given in the environment as CI gives them.
fn rieter_cli(rieter: &Rieter, key: &str, args: &[&str]) -> Output {
    cli_in(rieter, key, args, None)
}

fn cli_in(rieter: &Rieter, key: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut command = Command::new(binaries().join("rieter"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .env("RIETER_URL", rieter.url(""))
        .env("RIETER_API_KEY", key);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.output().expect("running rieter")
}

fn text(output: &[u8]) -> String {
    String::from_utf8_lossy(output).into_owned()
}

/// The exit code, and stdout parsed as JSON.
fn json(output: &Output) -> (i32, Value) {
    let stdout = text(&output.stdout);
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {}", text(&output.stderr)));
    (output.status.code().unwrap_or(-1), value)
}

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

fn path(file: &Path) -> &str {
    file.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_waits_for_each_outcome_and_scripts_read_the_json() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let v2 = Build::new("cli-pkg", "2.0").build_one().unwrap();
    let v1 = Build::new("cli-pkg", "1.0").build_one().unwrap();
    let other = Build::new("cli-other", "1.0")
        .desc("a package for the CLI search")
        .build_one()
        .unwrap();

    // Published: exit 0, the outcome printed with the package.
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["publish", "c/main", path(&v2), "--wait"],
    );
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("published"), "{stdout}");
    assert!(stdout.contains("cli-pkg 2.0-1 (x86_64)"), "{stdout}");

    // Refused by the version rules: exit 1, the reason printed; --json says the same.
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["--json", "publish", "c/main", path(&v1), "--wait=60"],
    );
    let (code, outcomes) = json(&out);
    assert_eq!(code, 1, "{outcomes}");
    let failed = &outcomes[0];
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["file"], path(&v1));
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("older than the current cli-pkg 2.0-1"),
        "{failed}"
    );
    assert_eq!(failed["upload"]["status"], "failed");
    let failed_id = failed["upload"]["id"].as_str().unwrap().to_owned();

    // Several files: each outcome printed, non-zero when any failed.
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["publish", "--wait", "c/main", path(&other), path(&v1)],
    );
    assert_exit(&out, 1);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("published") && lines[0].contains("cli-other"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("failed") && lines[1].contains("older than"),
        "{stdout}"
    );

    // Without --wait: accepted at once, followed with `status`.
    let v3 = Build::new("cli-pkg", "3.0").build_one().unwrap();
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["--json", "publish", "c/main", path(&v3)],
    );
    let (code, outcomes) = json(&out);
    assert_eq!(code, 0, "{outcomes}");
    assert_eq!(outcomes[0]["outcome"], "accepted");
    let id = outcomes[0]["upload"]["id"].as_str().unwrap().to_owned();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    let (code, upload) = json(&rieter_cli(&rieter, API_KEY, &["--json", "status", &id]));
    assert_eq!((code, upload["status"].as_str()), (0, Some("published")));
    let out = rieter_cli(&rieter, API_KEY, &["status", &id]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("cli-pkg 3.0-1 (x86_64) in c/main"),
        "{}",
        text(&out.stdout)
    );

    // A missing file: an error of that file, not a panic.
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["publish", "c/main", "/nonexistent.pkg.tar.zst"],
    );
    assert_exit(&out, 1);
    assert!(text(&out.stdout).contains("opening /nonexistent.pkg.tar.zst"));

    // Failed uploads, listed.
    let (code, page) = json(&rieter_cli(
        &rieter,
        API_KEY,
        &["--json", "uploads", "--status", "failed"],
    ));
    assert_eq!(code, 0);
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&failed_id.as_str()), "{page}");
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["status"] == "failed")
    );
    let out = rieter_cli(&rieter, API_KEY, &["uploads", "--status", "nonsense"]);
    assert_exit(&out, 1);

    // The catalogue.
    let (code, found) = json(&rieter_cli(
        &rieter,
        "",
        &["--json", "search", "CLI search"],
    ));
    assert_eq!(code, 0);
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["name"], "cli-other");
    let out = rieter_cli(&rieter, "", &["search", "cli-"]);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("ID"), "{stdout}");
    assert!(
        stdout.contains("cli-pkg") && stdout.contains("3.0-1") && stdout.contains("c/main/x86_64"),
        "{stdout}"
    );

    let (code, info) = json(&rieter_cli(&rieter, "", &["--json", "info", "cli-pkg"]));
    assert_eq!(code, 0);
    assert_eq!(info.as_array().unwrap().len(), 1, "{info}");
    assert_eq!(info[0]["version"], "3.0-1");
    let package_id = info[0]["id"].as_i64().unwrap().to_string();
    let out = rieter_cli(&rieter, "", &["info", &package_id]);
    assert_exit(&out, 0);
    assert!(text(&out.stdout).contains("name:"), "{}", text(&out.stdout));
    let out = rieter_cli(&rieter, "", &["info", "no-such-package"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("no package named \"no-such-package\""));

    let (code, files) = json(&rieter_cli(&rieter, "", &["--json", "files", "cli-pkg"]));
    assert_eq!(code, 0);
    let files: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(files.iter().any(|f| f.contains("cli-pkg")), "{files:?}");

    let (code, repos) = json(&rieter_cli(&rieter, "", &["--json", "ls", "c"]));
    assert_eq!(code, 0);
    assert_eq!(repos["items"][0]["name"], "main");
    let out = rieter_cli(&rieter, "", &["ls"]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).lines().any(|l| l.starts_with("c ")),
        "{}",
        text(&out.stdout)
    );

    // Removal: a package; a whole repository only with --recursive.
    let out = rieter_cli(&rieter, API_KEY, &["rm", "c/main"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("--recursive"));
    let out = rieter_cli(&rieter, API_KEY, &["rm", "c/main/x86_64/cli-other"]);
    assert_exit(&out, 0);
    let out = rieter_cli(&rieter, API_KEY, &["rm", "c/main/x86_64/cli-other"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("404"), "{}", text(&out.stderr));
    let (_, found) = json(&rieter_cli(&rieter, "", &["--json", "search", "cli-other"]));
    assert_eq!(found["total"], 0);
    // No key: refused by the server with its reason.
    let out = rieter_cli(&rieter, "", &["rm", "-r", "c/main"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_signatures_named_servers_and_generated_docs() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // A key for CI, made with the CLI; it publishes, then is revoked and refused.
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &[
            "--json",
            "keys",
            "create",
            "--name",
            "ci",
            "--scope",
            "publish:k/main",
        ],
    );
    let (code, key) = json(&out);
    assert_eq!(code, 0, "{key}");
    let secret = key["secret"].as_str().unwrap().to_owned();
    let key_id = key["id"].as_str().unwrap().to_owned();
    assert_eq!(key["scopes"][0]["permission"], "publish");
    assert_eq!(key["scopes"][0]["repo"], "main");
    let out = rieter_cli(&rieter, API_KEY, &["keys", "ls"]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("publish:k/main"),
        "{}",
        text(&out.stdout)
    );
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["keys", "create", "--name", "x", "--scope", "fly"],
    );
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("no permission \"fly\""));

    let first = Build::new("cli-key", "1.0").build_one().unwrap();
    let out = rieter_cli(
        &rieter,
        &secret,
        &["publish", "k/main", path(&first), "--wait"],
    );
    assert_exit(&out, 0);
    let out = rieter_cli(&rieter, &secret, &["publish", "k/other", path(&first)]);
    assert_exit(&out, 1);
    assert!(text(&out.stdout).contains("403"), "{}", text(&out.stdout));
    let out = rieter_cli(&rieter, API_KEY, &["keys", "revoke", &key_id]);
    assert_exit(&out, 0);
    let second = Build::new("cli-key", "2.0").build_one().unwrap();
    let out = rieter_cli(&rieter, &secret, &["publish", "k/main", path(&second)]);
    assert_exit(&out, 1);
    assert!(text(&out.stdout).contains("401"), "{}", text(&out.stdout));

    // Packager keys set with the CLI: an unsigned upload fails, `--sig` sends the signature.
    let packager = Packager::new("CLI Packager <cli@example.org>").unwrap();
    let keyring = tmp.path().join("packager.asc");
    std::fs::write(&keyring, packager.public_key().unwrap()).unwrap();
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["packager-keys", "set", "k", path(&keyring)],
    );
    assert_exit(&out, 0);
    // A copy beside its signature, outside the shared fixture cache.
    let built = Build::new("cli-signed", "1.0").build_one().unwrap();
    let signed = tmp.path().join(built.file_name().unwrap());
    std::fs::copy(&built, &signed).unwrap();
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["publish", "k/main", path(&signed), "--wait"],
    );
    assert_exit(&out, 1);
    let sig = PathBuf::from(format!("{}.sig", signed.display()));
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["publish", "k/main", path(&signed), "--sig", "--wait"],
    );
    assert_exit(&out, 1);
    assert!(
        text(&out.stdout).contains("reading the signature"),
        "{}",
        text(&out.stdout)
    );
    std::fs::write(&sig, packager.sign(&signed).unwrap()).unwrap();
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &[
            "--json",
            "publish",
            "k/main",
            path(&signed),
            "--sig",
            "--wait",
        ],
    );
    let (code, outcomes) = json(&out);
    assert_eq!(code, 0, "{outcomes}");
    assert_eq!(outcomes[0]["outcome"], "published");
    let served = rieter
        .client
        .get(rieter.url(&format!(
            "/k/main/x86_64/{}.sig",
            signed.file_name().unwrap().to_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap(), std::fs::read(&sig).unwrap());
    let (code, keys) = json(&rieter_cli(
        &rieter,
        "",
        &["--json", "packager-keys", "ls", "k"],
    ));
    assert_eq!(code, 0);
    assert_eq!(keys["items"].as_array().unwrap().len(), 1, "{keys}");

    // Named servers: the file's default, another by name, and flags over both.
    let config = tmp.path().join("config.toml");
    let unreachable = "http://127.0.0.1:9"; // the discard port: nothing listens.
    std::fs::write(
        &config,
        format!(
            "default = \"down\"\n\n[servers.down]\nurl = \"{unreachable}\"\n\n\
             [servers.here]\nurl = \"{}\"\napi_key = \"{API_KEY}\"\n",
            rieter.url("")
        ),
    )
    .unwrap();
    let named = |args: &[&str]| {
        Command::new(binaries().join("rieter"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RIETER_CONFIG", &config)
            .output()
            .unwrap()
    };
    let out = named(&["ls"]);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("could not reach the server"),
        "{}",
        text(&out.stderr)
    );
    let out = named(&["--server", "here", "--json", "keys", "ls"]);
    let (code, keys) = json(&out);
    assert_eq!(code, 0, "{keys}");
    assert_eq!(
        keys["total"], 0,
        "the one key made here was revoked: {keys}"
    );
    let out = named(&["--server", "nowhere", "ls"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("no server \"nowhere\""));
    // --url to another server does not take a configured server's key with it.
    let out = named(&[
        "--server",
        "here",
        "--url",
        &format!("{}/", rieter.url("")),
        "keys",
        "ls",
    ]);
    assert_exit(&out, 0);
    let elsewhere = rieter.url("").replace("127.0.0.1", "localhost");
    let out = named(&["--server", "here", "--url", &elsewhere, "keys", "ls"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));

    // Completions and the man page come from the same definitions; usage errors exit 2.
    let out = rieter_cli(&rieter, "", &["completions", "bash"]);
    assert_exit(&out, 0);
    let script = text(&out.stdout);
    assert!(script.contains("complete") && script.contains("publish") && script.contains("--wait"));
    let out = rieter_cli(&rieter, "", &["man"]);
    assert_exit(&out, 0);
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH rieter"),
        "{page}"
    );
    assert!(page.contains("publish"));
    let out = rieter_cli(&rieter, "", &["publish", "k/main"]);
    assert_exit(&out, 2);
    let out = rieter_cli(&rieter, "", &["publish", "k/main", "x", "--wait=301"]);
    assert_exit(&out, 2);
}

/// The fenced block of `language` that follows the line `marker` in the README.
fn readme_block(marker: &str, language: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let after = readme
        .split_once(marker)
        .unwrap_or_else(|| panic!("README has no {marker:?}"))
        .1;
    let fence = format!("```{language}\n");
    let start = after.find(&fence).unwrap() + fence.len();
    let end = start + after[start..].find("```").unwrap();
    after[start..end].to_owned()
}

/// Runs `script` as a CI runner does (bash, failing on the first failing line), with the
/// `rieter` binary on PATH and the server and key in the variables the README sets.
fn run_ci(rieter: &Rieter, script: &str, dir: &Path) -> Output {
    let path = format!(
        "{}:{}",
        binaries().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("RIETER_URL", rieter.url(""))
        .env("RIETER_API_KEY", API_KEY)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_ci_examples_publish() {
    let rieter = Rieter::start(Options::default()).await.unwrap();

    // GitHub Actions: the `run` lines of the step named "Publish".
    let workflow: serde_yaml::Value =
        serde_yaml::from_str(&readme_block("<!-- ci-example: github -->", "yaml")).unwrap();
    let steps = workflow["jobs"]["publish"]["steps"].as_sequence().unwrap();
    let publish = steps
        .iter()
        .find(|s| s["name"] == "Publish")
        .expect("a step named Publish");
    assert_eq!(
        publish["env"]["RIETER_API_KEY"], "${{ secrets.RIETER_API_KEY }}",
        "the key comes from the repository's secrets"
    );
    let github = publish["run"].as_str().unwrap().to_owned();

    // GitLab CI: the job's script lines.
    let pipeline: serde_yaml::Value =
        serde_yaml::from_str(&readme_block("<!-- ci-example: gitlab -->", "yaml")).unwrap();
    let gitlab: Vec<String> = pipeline["publish"]["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    let gitlab = gitlab.join("\n");

    for (ci, script, version) in [("github", &github, "1.0"), ("gitlab", &gitlab, "2.0")] {
        // The job's working directory: what makepkg left there.
        let dir = tempfile::tempdir().unwrap();
        let built = Build::new("ci-example", version).build_one().unwrap();
        std::fs::copy(&built, dir.path().join(built.file_name().unwrap())).unwrap();
        let out = run_ci(&rieter, script, dir.path());
        assert_exit(&out, 0);
        assert!(
            text(&out.stdout).contains(&format!("ci-example {version}-1")),
            "{ci}: {}",
            text(&out.stdout)
        );
        let db = rieter
            .client
            .get(rieter.url("/arch/acme/x86_64/acme.db"))
            .send()
            .await
            .unwrap();
        assert_eq!(db.status(), 200, "{ci}");
    }

    // The same lines fail the job when the package is refused (a downgrade).
    let dir = tempfile::tempdir().unwrap();
    let older = Build::new("ci-example", "0.5").build_one().unwrap();
    std::fs::copy(&older, dir.path().join(older.file_name().unwrap())).unwrap();
    let out = run_ci(&rieter, &github, dir.path());
    assert_exit(&out, 1);
    assert!(
        text(&out.stdout).contains("older than"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_mirror_settings_and_metrics_commands() {
    let rieter = Rieter::start(Options {
        workers: 0,
        env: vec![(
            "RIETER_KEY_ENCRYPTION_KEY".into(),
            "e2e-key-encryption-key-0123456789abcdef".into(),
        )],
        ..Options::default()
    })
    .await
    .unwrap();

    // A signing key, generated; its public key exported for pacman-key.
    let (code, key) = json(&rieter_cli(
        &rieter,
        API_KEY,
        &["--json", "signing-key", "create", "s"],
    ));
    assert_eq!(code, 0, "{key}");
    let fingerprint = key["fingerprint"].as_str().unwrap().to_owned();
    let out = rieter_cli(&rieter, "", &["signing-key", "show", "s"]);
    assert_exit(&out, 0);
    assert!(text(&out.stdout).contains(&fingerprint));
    let out = rieter_cli(&rieter, "", &["signing-key", "export", "s"]);
    assert_exit(&out, 0);
    assert!(text(&out.stdout).starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    let out = rieter_cli(&rieter, API_KEY, &["signing-key", "create", "s"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("409"), "{}", text(&out.stderr));

    // Repository settings.
    let repo = Build::new("cli-settings", "1.0").build_one().unwrap();
    let _ = rieter.upload("s/main", &repo).await.unwrap();
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["repo-settings", "set", "s/main", "--sign-packages", "true"],
    );
    assert_exit(&out, 0);
    let (code, settings) = json(&rieter_cli(
        &rieter,
        "",
        &["--json", "repo-settings", "show", "s/main"],
    ));
    assert_eq!((code, &settings["sign_packages"]), (0, &Value::Bool(true)));

    // A mirror: created, shown, changed, listed and removed (no worker: it never syncs).
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &[
            "--json",
            "mirrors",
            "create",
            "m/core",
            "--upstream",
            "http://127.0.0.1:9/$repo/os/$arch",
            "--arches",
            "x86_64",
            "--interval-secs",
            "600",
        ],
    );
    let (code, mirror) = json(&out);
    assert_eq!(code, 0, "{mirror}");
    let id = mirror["id"].as_i64().unwrap().to_string();
    assert_eq!(mirror["arches"], serde_json::json!(["x86_64"]));
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &["mirrors", "update", &id, "--interval-secs", "7200"],
    );
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("7200 s"),
        "{}",
        text(&out.stdout)
    );
    let out = rieter_cli(&rieter, API_KEY, &["mirrors", "ls"]);
    assert_exit(&out, 0);
    assert!(text(&out.stdout).contains("m/core"));
    let out = rieter_cli(
        &rieter,
        API_KEY,
        &[
            "mirrors",
            "create",
            "m/x",
            "--upstream",
            "ftp://x",
            "--arches",
            "x86_64",
        ],
    );
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("400"), "{}", text(&out.stderr));
    let out = rieter_cli(&rieter, API_KEY, &["mirrors", "rm", &id]);
    assert_exit(&out, 0);
    let out = rieter_cli(&rieter, API_KEY, &["mirrors", "show", &id]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("404"));

    // Metrics: Prometheus text for the admin; refused without a key.
    let out = rieter_cli(&rieter, API_KEY, &["metrics"]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("# TYPE rieter_"),
        "{}",
        text(&out.stdout)
    );
    let out = rieter_cli(&rieter, "", &["metrics"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("401"));
}
