//! The build system end to end (issue 16): `rieter-agent` processes build PKGBUILDs from a
//! git repository served on loopback, in the `unshare` sandbox with the host's makepkg,
//! and publish them; a real pacman installs the result. Dependent targets build in order;
//! a second run is skipped and a forced one rebuilds; a cancel stops a running build; the
//! build of an agent killed mid-way goes, once its lease ends, to another agent; and a
//! hostile PKGBUILD finds neither the agent's key nor the network.
//!
//! The sandbox needs root (mount namespaces); RIETER_SKIP_ROOT_TESTS=1 skips these tests.

use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::StatusCode;
use rieter_e2e::agent::{Agent, PkgbuildRepo, processes_with};
use rieter_e2e::api::Auth;
use rieter_e2e::html::{Browser, field_value};
use rieter_e2e::pacman::Pacman;
use rieter_e2e::{API_KEY, Options, Rieter};
use serde_json::{Value, json};

fn skip() -> bool {
    if std::env::var_os("RIETER_SKIP_ROOT_TESTS").is_some() {
        eprintln!("skipped: the unshare sandbox needs root");
        return true;
    }
    false
}

async fn deployment() -> (Rieter, String) {
    let rieter = Rieter::start(Options {
        workers: 1,
        env: vec![("RIETER_BUILD_LEASE_SECS".into(), "5".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let key = rieter
        .create_key("agent", json!([{"permission": "agent"}]))
        .await
        .unwrap();
    let key = key["secret"].as_str().unwrap().to_owned();
    (rieter, key)
}

async fn call(rieter: &Rieter, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, value) = rieter.call(method, path, Auth::Bearer(API_KEY), body).await;
    assert!((200..300).contains(&status), "{path}: {status} {value}");
    value
}

async fn target(rieter: &Rieter, repo: &PkgbuildRepo, name: &str) -> i64 {
    let t = call(
        rieter,
        Method::POST,
        "/api/v1/targets",
        Some(json!({
            "name": name, "kind": "git", "url": repo.url(), "branch": "main", "path": name,
            "distro": "e2e", "repo": "built", "arches": ["x86_64"]
        })),
    )
    .await;
    t["id"].as_i64().unwrap()
}

async fn request(rieter: &Rieter, target: i64, force: bool) -> i64 {
    let b = call(
        rieter,
        Method::POST,
        &format!("/api/v1/targets/{target}/builds"),
        Some(json!({"arch": "x86_64", "force": force})),
    )
    .await;
    b["id"].as_i64().unwrap()
}

async fn build(rieter: &Rieter, id: i64) -> Value {
    call(rieter, Method::GET, &format!("/api/v1/builds/{id}"), None).await
}

async fn log(rieter: &Rieter, id: i64) -> String {
    let resp = reqwest::Client::new()
        .get(rieter.url(&format!("/api/v1/builds/{id}/log")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

/// Waits until build `id` has ended; its record.
async fn ended(rieter: &Rieter, id: i64, within: Duration, agents: &[&Agent]) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let b = build(rieter, id).await;
        if !matches!(b["status"].as_str(), Some("queued" | "running")) {
            return b;
        }
        if Instant::now() > deadline {
            let agent_logs: Vec<String> = agents.iter().map(|a| a.logs()).collect();
            panic!(
                "build {id} did not end: {b}\nlog:\n{}\nagents:\n{}\nserver:\n{}",
                log(rieter, id).await,
                agent_logs.join("\n---\n"),
                rieter.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until build `id`'s log contains `needle`.
async fn log_shows(rieter: &Rieter, id: i64, needle: &str, within: Duration, agent: &Agent) {
    let deadline = Instant::now() + within;
    loop {
        let text = log(rieter, id).await;
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "build {id}'s log never showed {needle:?}:\n{text}\nagent:\n{}",
            agent.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const LIBGREET: &str = r#"pkgname=libgreet
pkgver=1.0
pkgrel=1
pkgdesc='The greeting library'
arch=(x86_64)
license=(MIT)
provides=('greet-data=1.0')
package() {
    mkdir -p "$pkgdir/usr/share/greet"
    echo 'Hello from libgreet' > "$pkgdir/usr/share/greet/words"
}
"#;

// Its version comes from pkgver(), as a VCS package's does.
const GREETER: &str = r#"pkgname=greeter
pkgver=0
pkgrel=1
pkgdesc='Greets, with the library'
arch=(x86_64)
license=(MIT)
depends=('greet-data>=1')
pkgver() { echo 2.5; }
build() { echo "building greeter $pkgver"; }
package() {
    mkdir -p "$pkgdir/usr/bin"
    printf '#!/bin/sh\ncat /usr/share/greet/words\n' > "$pkgdir/usr/bin/greeter"
    chmod 755 "$pkgdir/usr/bin/greeter"
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_builds_dependent_targets_in_order_and_pacman_installs_them() {
    if skip() {
        return;
    }
    let (rieter, key) = deployment().await;
    let repo = PkgbuildRepo::start().await.unwrap();
    repo.commit("libgreet", LIBGREET).unwrap();
    repo.commit("greeter", GREETER).unwrap();
    // The dependent target first: queued first, it is claimed first, and sent back to wait.
    let greeter = target(&rieter, &repo, "greeter").await;
    let libgreet = target(&rieter, &repo, "libgreet").await;
    let greeter_build = request(&rieter, greeter, false).await;
    let lib_build = request(&rieter, libgreet, false).await;
    let agent = Agent::start(
        &rieter.url(""),
        "builder-1",
        &[("RIETER_AGENT_KEY", &key), ("RIETER_AGENT_CAPACITY", "2")],
    )
    .unwrap();

    let lib = ended(&rieter, lib_build, Duration::from_secs(120), &[&agent]).await;
    let app = ended(&rieter, greeter_build, Duration::from_secs(120), &[&agent]).await;
    assert_eq!(
        lib["status"],
        "succeeded",
        "{lib}\n{}",
        log(&rieter, lib_build).await
    );
    assert_eq!(
        app["status"],
        "succeeded",
        "{app}\n{}",
        log(&rieter, greeter_build).await
    );
    assert_eq!(app["agent"], "builder-1");
    // Sent back once to wait, without counting as an attempt; started after the library's
    // build had ended.
    assert_eq!(app["attempts"], 1, "{app}");
    assert!(
        app["started_at"].as_str().unwrap() >= lib["finished_at"].as_str().unwrap(),
        "greeter started before libgreet ended: {app} {lib}"
    );
    assert!(
        agent.logs().contains("waits for a dependency"),
        "{}",
        agent.logs()
    );
    // Their packages are the builds' uploads, published.
    for b in [&lib, &app] {
        let uploads = b["packages"].as_array().unwrap();
        assert_eq!(uploads.len(), 1, "{b}");
        let upload = rieter
            .upload_status(uploads[0].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(upload["status"], "published", "{upload}");
    }
    let app_log = log(&rieter, greeter_build).await;
    assert!(app_log.contains("building greeter 2.5"), "{app_log}");
    assert!(
        app_log.contains("uploading greeter-2.5-1-x86_64.pkg.tar"),
        "{app_log}"
    );
    assert_eq!(app["log_bytes"].as_u64().unwrap() as usize, app_log.len());
    // `rieter builds log` prints the same.
    let url = rieter.url("");
    let cli = rieter_e2e::run_args_to_exit(
        "rieter",
        &["builds", "log", &greeter_build.to_string(), "--follow"],
        &[("RIETER_URL", url.as_str()), ("RIETER_API_KEY", API_KEY)],
    );
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&cli.stdout), app_log);

    // The web UI lists the builds and shows one with its log; a key managing no target
    // sees no builds.
    let mut browser = Browser::new(&rieter);
    browser.sign_in(API_KEY).await;
    let admin = browser.get("/admin").await;
    assert!(
        admin
            .assert_html("/admin", StatusCode::OK)
            .contains("href=\"/admin/builds\"")
    );
    let list = browser.get("/admin/builds?status=succeeded").await;
    let list = list.assert_html("/admin/builds", StatusCode::OK);
    assert!(
        list.contains(&format!("href=\"/admin/builds/{greeter_build}\"")),
        "{list}"
    );
    assert!(list.contains("2 builds."), "{list}");
    let page = browser.get(&format!("/admin/builds/{greeter_build}")).await;
    let page = page.assert_html("a build's page", StatusCode::OK);
    assert!(
        page.contains("building greeter 2.5") && page.contains("builder-1"),
        "{page}"
    );
    assert!(
        !page.contains("Cancel this build"),
        "an ended build has no cancel button"
    );
    let publisher = rieter
        .create_key("ci", json!([{"permission": "publish", "distro": "e2e"}]))
        .await
        .unwrap();
    let mut other = Browser::new(&rieter);
    other.sign_in(publisher["secret"].as_str().unwrap()).await;
    other
        .get("/admin/builds")
        .await
        .assert_html("builds for a key without targets", StatusCode::FORBIDDEN);
    other
        .get(&format!("/admin/builds/{greeter_build}"))
        .await
        .assert_html(
            "a build of a target the key does not manage",
            StatusCode::NOT_FOUND,
        );

    // A real pacman installs the application, and its dependency with it.
    let pacman = Pacman::new(&[("built", &rieter.url("/e2e/built/$arch"))]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman.ok(&["-S", "greeter"]).unwrap();
    let words = std::fs::read_to_string(pacman.root().join("usr/share/greet/words")).unwrap();
    assert_eq!(words, "Hello from libgreet\n");
    assert!(pacman.root().join("usr/bin/greeter").is_file());

    // Again: every version is in the repository, so both are skipped.
    let again = request(&rieter, greeter, false).await;
    let skipped = ended(&rieter, again, Duration::from_secs(60), &[&agent]).await;
    assert_eq!(skipped["status"], "skipped", "{skipped}");
    assert_eq!(skipped["packages"], json!([]));

    // Forced: built again, and its package replaces the one of the same version.
    let before = call(
        &rieter,
        Method::GET,
        "/api/v1/packages?distro=e2e&repo=built&name=greeter",
        None,
    )
    .await;
    let forced = request(&rieter, greeter, true).await;
    let rebuilt = ended(&rieter, forced, Duration::from_secs(60), &[&agent]).await;
    assert_eq!(
        rebuilt["status"],
        "succeeded",
        "{rebuilt}\n{}",
        log(&rieter, forced).await
    );
    assert_eq!(rebuilt["packages"].as_array().unwrap().len(), 1);
    let after = call(
        &rieter,
        Method::GET,
        "/api/v1/packages?distro=e2e&repo=built&name=greeter",
        None,
    )
    .await;
    let (before, after) = (&before["items"][0], &after["items"][0]);
    assert_eq!(after["version"], "2.5-1");
    assert_ne!(
        before["id"], after["id"],
        "the forced build's package replaced the old one: {before} {after}"
    );
    assert!(after["build_date"].as_str() > before["build_date"].as_str());
}

const SLOW: &str = r#"pkgname=slow
pkgver=1
pkgrel=1
arch=(x86_64)
license=(MIT)
build() { echo 'slow build started'; sleep 611; }
package() { :; }
"#;

const STEADY: &str = r#"pkgname=steady
pkgver=1
pkgrel=1
arch=(x86_64)
license=(MIT)
build() { echo 'steady build started'; sleep 7.25; echo 'steady build done'; }
package() { mkdir -p "$pkgdir/usr/share/steady"; echo ok > "$pkgdir/usr/share/steady/ok"; }
"#;

/// Waits until no process's command line contains `needle`.
async fn gone(needle: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !processes_with(needle).is_empty() {
        assert!(Instant::now() < deadline, "{needle:?} still runs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_stops_a_running_build_and_a_killed_agents_build_goes_to_another() {
    if skip() {
        return;
    }
    let (rieter, key) = deployment().await;
    let repo = PkgbuildRepo::start().await.unwrap();
    repo.commit("slow", SLOW).unwrap();
    repo.commit("steady", STEADY).unwrap();
    let slow = target(&rieter, &repo, "slow").await;
    let steady = target(&rieter, &repo, "steady").await;
    let mut first =
        Agent::start(&rieter.url(""), "builder-a", &[("RIETER_AGENT_KEY", &key)]).unwrap();

    // Cancelled mid-build: the sandbox is killed, every process of the build with it.
    let id = request(&rieter, slow, false).await;
    log_shows(
        &rieter,
        id,
        "slow build started",
        Duration::from_secs(60),
        &first,
    )
    .await;
    assert_eq!(
        processes_with("sleep 611").len(),
        1,
        "the build's sleep runs"
    );
    // Followed over HTTP, the log streams until the build ends.
    let follow = tokio::spawn({
        let url = rieter.url(&format!("/api/v1/builds/{id}/log?follow=true"));
        async move {
            let resp = reqwest::Client::new()
                .get(url)
                .bearer_auth(API_KEY)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
            resp.text().await.unwrap()
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !follow.is_finished(),
        "the followed log ended before its build"
    );
    // Cancelled from the build's page in the web UI, which reloads while the build runs.
    let mut browser = Browser::new(&rieter);
    browser.sign_in(API_KEY).await;
    let page = browser.get(&format!("/admin/builds/{id}")).await;
    let page = page.assert_html("a running build's page", StatusCode::OK);
    assert!(page.contains("Cancel this build") && page.contains("http-equiv=\"refresh\""));
    let csrf = field_value(page, "csrf").unwrap();
    let asked = Instant::now();
    let cancel = browser
        .post(&format!("/admin/builds/{id}/cancel"), &[("csrf", &csrf)])
        .await;
    assert_eq!(cancel.status, StatusCode::SEE_OTHER, "{}", cancel.body);
    let cancelled = ended(&rieter, id, Duration::from_secs(20), &[&first]).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    eprintln!("cancelled {:?} after the request", asked.elapsed());
    gone("sleep 611", Duration::from_secs(5)).await;
    let text = log(&rieter, id).await;
    assert!(text.ends_with("==> rieter-agent: cancelled\n"), "{text}");
    let followed = tokio::time::timeout(Duration::from_secs(10), follow)
        .await
        .expect("the followed log ends with its build")
        .unwrap();
    assert_eq!(followed, text);

    // The agent is killed mid-build: its sandbox dies with it; the lease ends, and another
    // agent builds it from the start, continuing its log.
    let id = request(&rieter, steady, false).await;
    log_shows(
        &rieter,
        id,
        "steady build started",
        Duration::from_secs(60),
        &first,
    )
    .await;
    first.kill();
    gone("sleep 7.25", Duration::from_secs(5)).await;
    assert_eq!(build(&rieter, id).await["status"], "running");
    let second = Agent::start(&rieter.url(""), "builder-b", &[("RIETER_AGENT_KEY", &key)]).unwrap();
    let done = ended(&rieter, id, Duration::from_secs(90), &[&second]).await;
    assert_eq!(
        done["status"],
        "succeeded",
        "{done}\n{}",
        log(&rieter, id).await
    );
    assert_eq!(done["agent"], "builder-b");
    assert_eq!(done["attempts"], 2);
    let text = log(&rieter, id).await;
    assert_eq!(text.matches("steady build started").count(), 2, "{text}");
    assert!(text.contains("(attempt 2)"), "{text}");
    assert!(text.contains("steady build done"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pkgbuild_finds_neither_the_agents_key_nor_the_network() {
    if skip() {
        return;
    }
    let (rieter, key) = deployment().await;
    let repo = PkgbuildRepo::start().await.unwrap();
    // The agent's own directory, outside /tmp: its config file holds the key.
    let home = tempfile::Builder::new()
        .prefix("rieter-agent-home-")
        .tempdir_in("/var/tmp")
        .unwrap();
    // The agent signs what it builds; the distribution takes only packages signed so.
    let signing = rieter::signing::ServerKey::generate("Rieter agent <agent@e2e.invalid>").unwrap();
    let signing_file = home.path().join("signing.key");
    std::fs::write(&signing_file, signing.to_bytes()).unwrap();
    let resp = reqwest::Client::new()
        .put(rieter.url("/api/v1/distros/e2e/packager-keys"))
        .bearer_auth(API_KEY)
        .body(signing.public_key_armored())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let config = home.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "server_url = {:?}\nagent_key = {key:?}\nagent_arches = [\"x86_64\"]\n\
             agent_signing_key = {:?}\n",
            rieter.url(""),
            signing_file.display().to_string()
        ),
    )
    .unwrap();
    let data = home.path().join("data");
    let port = rieter
        .url("")
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let hostile = format!(
        r#"pkgname=hostile
pkgver=1
pkgrel=1
arch=(x86_64)
license=(MIT)
build() {{
    env | grep RIETER && echo 'LEAK: environment'
    for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f" 2>/dev/null; done | grep RIETER && echo 'LEAK: environ'
    grep agent_key {config} 2>/dev/null && echo 'LEAK: config file'
    ls {data} 2>/dev/null && echo 'LEAK: data directory'
    test -s {signing} && echo 'LEAK: signing key'
    ls /var/run/postgresql 2>/dev/null && echo 'LEAK: sockets'
    if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo 'LEAK: network'; else echo 'no network'; fi
    touch /etc/hostile 2>/dev/null && echo 'LEAK: wrote /etc'
    echo "running as $(id -u)"
    echo 'checks done'
}}
package() {{ mkdir -p "$pkgdir/usr/share/hostile"; echo ok > "$pkgdir/usr/share/hostile/ok"; }}
"#,
        config = config.display(),
        data = data.display(),
        signing = signing_file.display(),
    );
    repo.commit("hostile", &hostile).unwrap();
    // A `url` target: one PKGBUILD, downloaded.
    let t = call(
        &rieter,
        Method::POST,
        "/api/v1/targets",
        Some(json!({
            "name": "hostile", "kind": "url", "url": repo.file_url("hostile/PKGBUILD"),
            "distro": "e2e", "repo": "built", "arches": ["x86_64"]
        })),
    )
    .await;
    let agent = Agent::start(
        "http://unused.invalid",
        "builder-h",
        &[
            ("RIETER_AGENT_CONFIG", config.to_str().unwrap()),
            ("RIETER_SERVER_URL", &rieter.url("")),
            ("RIETER_DATA_DIR", data.to_str().unwrap()),
        ],
    )
    .unwrap();
    let id = request(&rieter, t["id"].as_i64().unwrap(), false).await;

    // An agent whose key the server refuses stops, saying why.
    let refused_dir = tempfile::tempdir().unwrap();
    let url = rieter.url("");
    let refused = rieter_e2e::run_to_exit(
        "rieter-agent",
        &[
            ("RIETER_SERVER_URL", url.as_str()),
            ("RIETER_AGENT_KEY", "rieter_0000000000000000-not-a-key"),
            ("RIETER_AGENT_ARCHES", "x86_64"),
            ("RIETER_DATA_DIR", refused_dir.path().to_str().unwrap()),
        ],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the server refused this agent (401"),
        "{stderr}"
    );

    let done = ended(&rieter, id, Duration::from_secs(90), &[&agent]).await;
    let text = log(&rieter, id).await;
    assert_eq!(done["status"], "succeeded", "{done}\n{text}");
    assert!(text.contains("checks done"), "{text}");
    assert!(text.contains("no network"), "{text}");
    assert!(text.contains("running as 65534"), "{text}");
    assert!(!text.contains("LEAK"), "{text}");
    assert!(!text.contains(&key), "the key is in the log:\n{text}");
    assert!(!std::path::Path::new("/etc/hostile").exists());
    // Signed by the agent: accepted where a signature is required, its .sig served.
    assert!(
        text.contains("uploading hostile-1-1-x86_64.pkg.tar.gz (signed)"),
        "{text}"
    );
    let sig = reqwest::get(rieter.url("/e2e/built/x86_64/hostile-1-1-x86_64.pkg.tar.gz.sig"))
        .await
        .unwrap();
    assert_eq!(sig.status(), 200);

    // A remote source is downloaded in its own step, with network; the build has none.
    let fetched = format!(
        r#"pkgname=fetched
pkgver=1
pkgrel=1
arch=(x86_64)
license=(MIT)
source=("words.txt::{}")
sha256sums=('SKIP')
package() {{ install -Dm644 "$srcdir/words.txt" "$pkgdir/usr/share/fetched/words.txt"; }}
"#,
        repo.file_url("words/words.txt")
    );
    repo.commit("fetched", &fetched).unwrap();
    repo.commit_file("words/words.txt", "fetched over the network\n")
        .unwrap();
    let t = target(&rieter, &repo, "fetched").await;
    let id = request(&rieter, t, false).await;
    let done = ended(&rieter, id, Duration::from_secs(90), &[&agent]).await;
    let text = log(&rieter, id).await;
    assert_eq!(done["status"], "succeeded", "{done}\n{text}");
    assert!(
        text.contains("downloading sources (with network)"),
        "{text}"
    );
    let pacman = Pacman::new(&[("built", &rieter.url("/e2e/built/$arch"))]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman.ok(&["-S", "fetched"]).unwrap();
    assert_eq!(
        std::fs::read_to_string(pacman.root().join("usr/share/fetched/words.txt")).unwrap(),
        "fetched over the network\n"
    );
}

/// The container and nspawn sandboxes need an Arch image or root with base-devel, which
/// this project's CI (Debian, offline) cannot fetch: `RIETER_TEST_ARCH_IMAGE` (for docker and
/// podman, e.g. `archlinux:base-devel` pulled beforehand) and `RIETER_TEST_ARCH_ROOT` (for
/// nspawn) turn them on; without them, each backend says why it was skipped.
#[tokio::test(flavor = "multi_thread")]
async fn the_container_and_nspawn_sandboxes_build_where_arch_is_available() {
    if skip() {
        return;
    }
    let image = std::env::var("RIETER_TEST_ARCH_IMAGE").ok();
    let root = std::env::var("RIETER_TEST_ARCH_ROOT").ok();
    let mut backends: Vec<(&str, &str, String)> = Vec::new();
    for engine in ["docker", "podman"] {
        let found = std::process::Command::new(engine)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        match (&image, found) {
            (None, _) => eprintln!("{engine}: skipped, RIETER_TEST_ARCH_IMAGE is not set"),
            (Some(_), false) => eprintln!("{engine}: skipped, it is not installed"),
            (Some(image), true) => backends.push((engine, "RIETER_AGENT_IMAGE", image.clone())),
        }
    }
    match &root {
        None => eprintln!("nspawn: skipped, RIETER_TEST_ARCH_ROOT is not set"),
        Some(root) => backends.push(("nspawn", "RIETER_AGENT_CHROOT", root.clone())),
    }
    if backends.is_empty() {
        return;
    }
    let (rieter, key) = deployment().await;
    let repo = PkgbuildRepo::start().await.unwrap();
    repo.commit("libgreet", LIBGREET).unwrap();
    let t = target(&rieter, &repo, "libgreet").await;
    for (sandbox, setting, value) in backends {
        let agent = Agent::start(
            &rieter.url(""),
            sandbox,
            &[
                ("RIETER_AGENT_KEY", &key),
                ("RIETER_AGENT_SANDBOX", sandbox),
                (setting, &value),
            ],
        )
        .unwrap();
        let id = request(&rieter, t, true).await;
        let done = ended(&rieter, id, Duration::from_secs(600), &[&agent]).await;
        assert_eq!(
            done["status"],
            "succeeded",
            "{sandbox}: {done}\n{}",
            log(&rieter, id).await
        );
    }
}
