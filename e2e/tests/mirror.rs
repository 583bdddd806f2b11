//! Mirroring (issue 13), against an upstream built with the real `repo-add` and served on
//! loopback: the first sync, packages added, updated and removed upstream, the cheap no-change
//! check, a corrupted file, an upstream that goes away mid-sync, a resumed download, an
//! upstream older than what is served, and a real pacman installing from the mirror.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::StatusCode;
use rieter_e2e::api::Auth;
use rieter_e2e::gpg::Packager;
use rieter_e2e::html::{Browser, field_value};
use rieter_e2e::pacman::Pacman;
use rieter_e2e::upstream::Upstream;
use rieter_e2e::{API_KEY, Build, Options, Rieter};
use serde_json::{Value, json};

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

fn size(path: &Path) -> i64 {
    std::fs::metadata(path).unwrap().len() as i64
}

async fn create_mirror(rieter: &Rieter, body: Value) -> Value {
    let resp = rieter
        .client
        .post(rieter.url("/api/v1/mirrors"))
        .bearer_auth(API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

async fn mirror(rieter: &Rieter, id: i64) -> Value {
    let (status, body) = rieter
        .get_json(&format!("/api/v1/mirrors/{id}"), Auth::Bearer(API_KEY))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits for a sync that started after `after` (a `last_sync.started_at`, or null) to finish.
async fn wait_sync(rieter: &Rieter, id: i64, after: &Value) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let m = mirror(rieter, id).await;
        let sync = &m["last_sync"];
        if !sync.is_null()
            && sync["started_at"] != *after
            && sync["status"] != "running"
            && m["sync_pending"] == false
        {
            return Ok(sync.clone());
        }
        if Instant::now() > deadline {
            bail!("no sync of mirror {id} finished: {m}\n{}", rieter.logs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Queues a sync now and waits for it.
async fn sync_now(rieter: &Rieter, id: i64) -> Value {
    let before = mirror(rieter, id).await["last_sync"]["started_at"].clone();
    let resp = rieter
        .client
        .post(rieter.url(&format!("/api/v1/mirrors/{id}/sync")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    wait_sync(rieter, id, &before).await.unwrap()
}

async fn served(rieter: &Rieter, path: &str) -> (u16, Vec<u8>) {
    let resp = rieter.client.get(rieter.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path)
        .with_context(|| path.display().to_string())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mirror_follows_its_upstream_and_pacman_installs_from_it() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let upstream = Upstream::start().await.unwrap();
    let a1 = Build::new("mir-a", "1.0")
        .with_pkg(|p| p.file("usr/share/mir-a/version", "1.0\n"))
        .build_one()
        .unwrap();
    let b = Build::new("mir-b", "1.0").arch("any").build_one().unwrap();
    let c = Build::new("mir-c", "1.0").build_one().unwrap();
    let shared = Build::new("mir-shared", "1.0").build_one().unwrap();

    // A package some repository already holds is not downloaded again.
    let id = rieter.upload("local/main", &shared).await.unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");

    upstream
        .add("core", "x86_64", &[&a1, &b, &c, &shared])
        .unwrap();
    upstream.set_lastupdate(1000).unwrap();
    let created = create_mirror(
        &rieter,
        json!({"distro": "m", "repo": "core", "upstream": upstream.template(),
               "arches": ["x86_64"], "interval_secs": 3600}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["keep_signatures"], true);
    let sync = wait_sync(&rieter, id, &Value::Null).await.unwrap();
    assert_eq!(sync["status"], "succeeded", "{sync}");
    assert_eq!(sync["packages"], 4);
    assert_eq!(
        sync["downloaded_bytes"].as_i64().unwrap(),
        size(&a1) + size(&b) + size(&c),
        "only what no repository held was downloaded"
    );
    let log = upstream.take_log();
    assert!(
        !log.iter().any(|l| l.path.ends_with(&file_name(&shared))),
        "{log:?}"
    );
    assert!(!mirror(&rieter, id).await["last_success_at"].is_null());

    // Served as the upstream serves it: its own database bytes, the same package files.
    let (status, db) = served(&rieter, "/m/core/x86_64/core.db").await;
    assert_eq!(status, 200);
    assert_eq!(db, read(upstream.path("core", "x86_64", "core.db.tar.gz")));
    let (status, files_db) = served(&rieter, "/m/core/x86_64/core.files").await;
    assert_eq!(status, 200);
    assert_eq!(
        files_db,
        read(upstream.path("core", "x86_64", "core.files.tar.gz"))
    );
    let (status, bytes) = served(&rieter, &format!("/m/core/x86_64/{}", file_name(&a1))).await;
    assert_eq!((status, bytes), (200, read(a1.clone())));

    // In the catalogue, the API and the UI like any repository.
    let listed = rieter
        .get_ok("/api/v1/packages?distro=m&repo=core&per_page=50")
        .await
        .unwrap();
    assert_eq!(listed["total"], 4, "{listed}");
    // With what the upstream's .files database lists of each.
    let a = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "mir-a")
        .unwrap();
    let files = rieter
        .get_ok(&format!("/api/v1/packages/{}/files", a["id"]))
        .await
        .unwrap();
    assert!(
        files.to_string().contains("usr/share/mir-a/version"),
        "{files}"
    );
    let page = rieter
        .client
        .get(rieter.url("/m/core"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("mir-a"));

    // Read-only: uploads and removals are refused with the reason.
    let resp = rieter
        .client
        .post(rieter.url("/m/core"))
        .bearer_auth(API_KEY)
        .body(read(a1.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains("is a mirror of"));
    let resp = rieter
        .client
        .delete(rieter.url("/m/core/x86_64/mir-a"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    // A second mirror of the same repository is refused too.
    let resp = rieter
        .client
        .post(rieter.url("/api/v1/mirrors"))
        .bearer_auth(API_KEY)
        .json(
            &json!({"distro": "m", "repo": "core", "upstream": upstream.template(),
                      "arches": ["x86_64"], "interval_secs": 3600}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    // Without an admin key, mirrors are not there to see.
    let (status, _) = rieter
        .get_json("/api/v1/mirrors", Auth::None)
        .await
        .unwrap();
    assert_eq!(status, 401);

    // A real pacman installs from the mirror.
    let server = rieter.url("/m/core/$arch");
    let pacman = Pacman::new(&[("core", &server)]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman.ok(&["-S", "--noconfirm", "mir-a", "mir-b"]).unwrap();
    let installed = std::fs::read_to_string(pacman.root().join("usr/share/mir-a/version")).unwrap();
    assert_eq!(installed, "1.0\n");

    // Upstream: mir-a updated, mir-c removed, mir-d added.
    let a2 = Build::new("mir-a", "1.1")
        .with_pkg(|p| p.file("usr/share/mir-a/version", "1.1\n"))
        .build_one()
        .unwrap();
    let d = Build::new("mir-d", "1.0").build_one().unwrap();
    upstream
        .remove("core", "x86_64", &["mir-c"], &[&file_name(&c)])
        .unwrap();
    upstream.add("core", "x86_64", &[&a2, &d]).unwrap();
    upstream.set_lastupdate(2000).unwrap();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    assert_eq!(sync["packages"], 4);
    assert_eq!(
        sync["downloaded_bytes"].as_i64().unwrap(),
        size(&a2) + size(&d)
    );
    let (_, db) = served(&rieter, "/m/core/x86_64/core.db").await;
    assert_eq!(db, read(upstream.path("core", "x86_64", "core.db.tar.gz")));
    // What the new database dropped stays downloadable for the grace period.
    let (status, _) = served(&rieter, &format!("/m/core/x86_64/{}", file_name(&c))).await;
    assert_eq!(status, 200);
    let names: Vec<String> = rieter
        .get_ok("/api/v1/packages?distro=m&repo=core&per_page=50")
        .await
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "mir-a 1.1-1",
            "mir-b 1.0-1",
            "mir-d 1.0-1",
            "mir-shared 1.0-1"
        ]
    );
    pacman.ok(&["-Syu", "--noconfirm"]).unwrap();
    assert_eq!(pacman.ok(&["-Q", "mir-a"]).unwrap().trim(), "mir-a 1.1-1");

    // Nothing changed upstream: one request, for `lastupdate`.
    upstream.take_log();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    let log = upstream.take_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].path.ends_with("/lastupdate"), "{log:?}");

    // An upstream without `lastupdate`: after one sync that finds it gone, a no-change sync
    // is one conditional request for the database, answered 304.
    upstream.remove_lastupdate().unwrap();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    upstream.take_log();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    let log = upstream.take_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].path.ends_with("/core.db"), "{log:?}");
    assert!(log[0].conditional);
    assert_eq!(log[0].status, 304);

    // Deleting the mirror leaves a local repository that serves the same and takes uploads.
    let resp = rieter
        .client
        .delete(rieter.url(&format!("/api/v1/mirrors/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (_, still) = served(&rieter, "/m/core/x86_64/core.db").await;
    assert_eq!(still, db);
    let e = Build::new("mir-e", "1.0").build_one().unwrap();
    let upload = rieter.upload("m/core", &e).await.unwrap();
    assert_eq!(
        rieter.wait_final(&upload).await.unwrap()["status"],
        "published"
    );
    pacman.ok(&["-Sy"]).unwrap();
    let listed = pacman.ok(&["-Sl", "core"]).unwrap();
    for name in ["mir-a 1.1-1", "mir-b 1.0-1", "mir-d 1.0-1", "mir-e 1.0-1"] {
        assert!(listed.contains(name), "{name} in {listed}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_sync_changes_nothing_and_the_next_one_resumes() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let upstream = Upstream::start().await.unwrap();
    let a = Build::new("fail-a", "1.0").build_one().unwrap();
    upstream.add("extra", "x86_64", &[&a]).unwrap();
    upstream.set_lastupdate(1000).unwrap();
    let id = create_mirror(
        &rieter,
        json!({"distro": "m", "repo": "extra", "upstream": upstream.template(),
               "arches": ["x86_64"], "interval_secs": 3600,
               "max_concurrent_downloads": 2}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let sync = wait_sync(&rieter, id, &Value::Null).await.unwrap();
    assert_eq!(sync["status"], "succeeded", "{sync}");
    let (_, good_db) = served(&rieter, "/m/extra/x86_64/extra.db").await;

    // A file that is not what the database says: the sync fails, the old state stays.
    let e = Build::new("fail-e", "1.0")
        .padding(64 * 1024)
        .build_one()
        .unwrap();
    upstream.add("extra", "x86_64", &[&e]).unwrap();
    upstream.set_lastupdate(2000).unwrap();
    let upstream_e = upstream.path("extra", "x86_64", &file_name(&e));
    let mut corrupted = read(e.clone());
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0xff;
    std::fs::write(&upstream_e, &corrupted).unwrap();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "failed", "{sync}");
    let error = sync["error"].as_str().unwrap();
    assert!(error.contains("SHA-256"), "{error}");
    assert!(error.contains(&file_name(&e)), "{error}");
    assert_eq!(served(&rieter, "/m/extra/x86_64/extra.db").await.1, good_db);
    let (status, _) = served(&rieter, &format!("/m/extra/x86_64/{}", file_name(&e))).await;
    assert_eq!(status, 404);
    let listed = rieter
        .get_ok("/api/v1/packages?distro=m&repo=extra")
        .await
        .unwrap();
    assert_eq!(listed["total"], 1, "{listed}");

    // Fixed upstream, and the connection is cut halfway through the file: the download
    // resumes where it stopped.
    std::fs::copy(&e, &upstream_e).unwrap();
    upstream.cut_once(&file_name(&e));
    upstream.take_log();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    let log = upstream.take_log();
    let fetches: Vec<_> = log
        .iter()
        .filter(|l| l.path.ends_with(&file_name(&e)))
        .collect();
    assert_eq!(fetches.len(), 2, "{log:?}");
    assert!(fetches[0].range.is_none());
    assert!(
        fetches[1]
            .range
            .as_deref()
            .is_some_and(|r| r.starts_with("bytes=") && r != "bytes=0-"),
        "{fetches:?}"
    );
    assert_eq!(fetches[1].status, 206);
    let (status, bytes) = served(&rieter, &format!("/m/extra/x86_64/{}", file_name(&e))).await;
    assert_eq!((status, bytes), (200, read(e.clone())));
    let (_, db_with_e) = served(&rieter, "/m/extra/x86_64/extra.db").await;

    // An upstream older than what is served is refused.
    upstream.set_lastupdate(1500).unwrap();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "failed", "{sync}");
    assert!(sync["error"].as_str().unwrap().contains("older"), "{sync}");

    // The upstream goes away mid-sync: failed, and the previous state is served.
    let f = Build::new("fail-f", "1.0").build_one().unwrap();
    upstream.add("extra", "x86_64", &[&f]).unwrap();
    upstream.set_lastupdate(3000).unwrap();
    upstream.vanish_on_package();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "failed", "{sync}");
    assert!(upstream.is_gone());
    assert_eq!(
        served(&rieter, "/m/extra/x86_64/extra.db").await.1,
        db_with_e
    );
    let pacman = Pacman::new(&[("extra", &rieter.url("/m/extra/$arch"))]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    let listed = pacman.ok(&["-Sl", "extra"]).unwrap();
    assert!(listed.contains("fail-e 1.0-1"), "{listed}");
    assert!(!listed.contains("fail-f"), "{listed}");
    let m = mirror(&rieter, id).await;
    assert!(!m["last_success_at"].is_null());
    assert_eq!(m["last_sync"]["status"], "failed");

    // The web UI: the repository page says it is a mirror whose last sync failed; the reason
    // and "Sync now" are for admins, on that page and on the mirrors page.
    let mut visitor = Browser::new(&rieter);
    let page = visitor.get("/m/extra").await;
    let html = page.assert_html("a mirror's repository page", StatusCode::OK);
    assert!(html.contains("A mirror"), "{html}");
    assert!(html.contains("The last sync failed"), "{html}");
    assert!(!html.contains("Sync now"), "{html}");
    let mut admin = Browser::new(&rieter);
    admin.sign_in(API_KEY).await;
    let page = admin.get("/m/extra").await;
    let html = page.assert_html("a mirror's repository page, for an admin", StatusCode::OK);
    assert!(
        html.contains("Sync now") && html.contains("error sending request"),
        "{html}"
    );
    let page = admin.get("/admin/mirrors").await;
    let html = page
        .assert_html("the mirrors page", StatusCode::OK)
        .to_owned();
    assert!(
        html.contains("m/extra") && html.contains("failed"),
        "{html}"
    );
    let csrf = field_value(&html, "csrf").unwrap();
    let before = m["last_sync"]["started_at"].clone();
    let page = admin
        .post(&format!("/admin/mirrors/{id}/sync"), &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let sync = wait_sync(&rieter, id, &before).await.unwrap();
    assert_eq!(
        sync["status"], "failed",
        "the upstream is still gone: {sync}"
    );
    // Without the form's token, nothing is queued.
    let page = admin.post(&format!("/admin/mirrors/{id}/sync"), &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_upstream_is_verified_and_its_signatures_served() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let upstream = Upstream::start().await.unwrap();
    let packager = Packager::new("Upstream Packager <up@example.org>").unwrap();
    // The package and its signature, side by side, as a packager hands them to repo-add.
    let staging = tempfile::tempdir().unwrap();
    let built = Build::new("signed-a", "1.0").build_one().unwrap();
    let package = staging.path().join(file_name(&built));
    std::fs::copy(&built, &package).unwrap();
    let package_sig = packager.sign(&package).unwrap();
    std::fs::write(
        staging.path().join(format!("{}.sig", file_name(&built))),
        &package_sig,
    )
    .unwrap();
    upstream.add("core", "x86_64", &[&package]).unwrap();
    upstream
        .sign_databases("core", "x86_64", |f| packager.sign(f))
        .unwrap();

    let id = create_mirror(
        &rieter,
        json!({"distro": "s", "repo": "core", "upstream": upstream.template(),
               "arches": ["x86_64"], "interval_secs": 3600,
               "verify_signatures": packager.public_key().unwrap()}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let sync = wait_sync(&rieter, id, &Value::Null).await.unwrap();
    assert_eq!(sync["status"], "succeeded", "{sync}");

    // The upstream's own signatures are served beside its databases and packages.
    let (status, db_sig) = served(&rieter, "/s/core/x86_64/core.db.sig").await;
    assert_eq!(status, 200);
    assert_eq!(db_sig, read(upstream.path("core", "x86_64", "core.db.sig")));
    let (status, sig) = served(
        &rieter,
        &format!("/s/core/x86_64/{}.sig", file_name(&built)),
    )
    .await;
    assert_eq!((status, sig), (200, package_sig));

    // So pacman, trusting the upstream's key alone, requires and accepts them.
    let pacman = Pacman::with_sig_level(
        &[("core", &rieter.url("/s/core/$arch"))],
        "Required DatabaseRequired",
    )
    .unwrap();
    pacman
        .trust(&packager.public_key().unwrap(), &packager.fingerprint)
        .unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman.ok(&["-S", "--noconfirm", "signed-a"]).unwrap();

    // A mirror that trusts another key refuses the same upstream, and serves nothing.
    let stranger = Packager::new("Someone Else <else@example.org>").unwrap();
    let id = create_mirror(
        &rieter,
        json!({"distro": "s2", "repo": "core", "upstream": upstream.template(),
               "arches": ["x86_64"], "interval_secs": 3600,
               "verify_signatures": stranger.public_key().unwrap()}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let sync = wait_sync(&rieter, id, &Value::Null).await.unwrap();
    assert_eq!(sync["status"], "failed", "{sync}");
    assert!(
        sync["error"].as_str().unwrap().contains("signature"),
        "{sync}"
    );
    let (status, _) = served(&rieter, "/s2/core/x86_64/core.db").await;
    assert_eq!(status, 404);
    // A keyring that is not one is refused when the mirror is created.
    let resp = rieter
        .client
        .post(rieter.url("/api/v1/mirrors"))
        .bearer_auth(API_KEY)
        .json(
            &json!({"distro": "s", "repo": "third", "upstream": upstream.template(),
                      "arches": ["x86_64"], "interval_secs": 3600,
                      "verify_signatures": "not a key"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_mirrors_exist_and_sync_on_their_schedule() {
    let upstream = Upstream::start().await.unwrap();
    // Incompressible, and synced at 2 KiB/s: the first sync takes seconds, and a sweep runs
    // while it does.
    let a = Build::new("decl-a", "1.0")
        .padding(8 * 1024)
        .build_one()
        .unwrap();
    upstream.add("core", "x86_64", &[&a]).unwrap();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("rieter.toml");
    std::fs::write(
        &config,
        format!(
            "[[mirrors]]\ndistro = \"decl\"\nrepo = \"core\"\nupstream = \"{}\"\n\
             arches = [\"x86_64\"]\ninterval_secs = 3600\nmax_concurrent_downloads = 2\n\
             bandwidth_limit_bytes_per_sec = 2048\n",
            upstream.template()
        ),
    )
    .unwrap();
    let rieter = Rieter::start(Options {
        env: vec![("RIETER_CONFIG".into(), config.display().to_string())],
        ..Options::default()
    })
    .await
    .unwrap();
    // Declared by the workers as they start.
    let deadline = Instant::now() + Duration::from_secs(30);
    let list = loop {
        let (status, list) = rieter
            .get_json("/api/v1/mirrors", Auth::Bearer(API_KEY))
            .await
            .unwrap();
        assert_eq!(status, 200);
        if list["total"] != 0 || Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(list["total"], 1, "{list}");
    let declared = &list["items"][0];
    assert_eq!(declared["declared"], true);
    assert_eq!(declared["max_concurrent_downloads"], 2);
    let id = declared["id"].as_i64().unwrap();
    let first = wait_sync(&rieter, id, &Value::Null).await.unwrap();
    assert_eq!(first["status"], "succeeded", "{first}");
    let m = mirror(&rieter, id).await;
    let next: chrono::DateTime<chrono::Utc> = m["next_sync_at"].as_str().unwrap().parse().unwrap();
    let started: chrono::DateTime<chrono::Utc> =
        first["started_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((next - started).num_seconds(), 3600, "{m}");
    // The bandwidth limit held it: over 8 KiB at 2 KiB/s (a lower bound, never flaky).
    let finished: chrono::DateTime<chrono::Utc> =
        first["finished_at"].as_str().unwrap().parse().unwrap();
    assert!(
        first["downloaded_bytes"].as_i64().unwrap() > 8 * 1024,
        "{first}"
    );
    assert!((finished - started).num_milliseconds() >= 3500, "{first}");

    // The schedule is the database's: nothing more runs before the interval (the sweep runs
    // every 2 s here, and it ran while the first sync did)...
    let pool = rieter.db.pool().await.unwrap();
    let syncs = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from mirror_syncs where mirror_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(syncs().await, 1);
    // ...and once a sync is due, the sweep queues it, once.
    let b = Build::new("decl-b", "1.0").build_one().unwrap();
    upstream.add("core", "x86_64", &[&b]).unwrap();
    sqlx::query("update mirrors set next_sync_at = now() where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let second = wait_sync(&rieter, id, &first["started_at"]).await.unwrap();
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(second["packages"], 2);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(syncs().await, 2);

    // Changed through the API: fields left out keep their value, null lifts the limit.
    let patch = |body: Value| {
        rieter
            .client
            .patch(rieter.url(&format!("/api/v1/mirrors/{id}")))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
    };
    let resp = patch(json!({"interval_secs": 600, "bandwidth_limit_bytes_per_sec": null}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let changed: Value = resp.json().await.unwrap();
    assert_eq!(changed["interval_secs"], 600);
    assert!(
        changed["bandwidth_limit_bytes_per_sec"].is_null(),
        "{changed}"
    );
    assert_eq!(changed["max_concurrent_downloads"], 2);
    assert_eq!(changed["upstream"], upstream.template());
    let resp = patch(json!({"interval_secs": 5})).await.unwrap();
    assert_eq!(resp.status(), 400);
    let resp = patch(json!({"arches": ["any"]})).await.unwrap();
    assert_eq!(resp.status(), 400);
    let resp = rieter
        .client
        .patch(rieter.url("/api/v1/mirrors/999999"))
        .bearer_auth(API_KEY)
        .json(&json!({"interval_secs": 600}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_architecture_serves_its_upstream_and_any_packages_are_shared() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let upstream = Upstream::start().await.unwrap();
    let x = Build::new("multi-x", "1.0").build_one().unwrap();
    let a = Build::new("multi-a", "1.0")
        .arch("aarch64")
        .build_one()
        .unwrap();
    let both = Build::new("multi-both", "1.0")
        .arch("any")
        .build_one()
        .unwrap();
    upstream.add("core", "x86_64", &[&x, &both]).unwrap();
    upstream.add("core", "aarch64", &[&a, &both]).unwrap();
    upstream.set_lastupdate(1000).unwrap();
    let id = create_mirror(
        &rieter,
        json!({"distro": "multi", "repo": "core", "upstream": upstream.template(),
               "arches": ["x86_64", "aarch64"], "interval_secs": 3600}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let sync = wait_sync(&rieter, id, &Value::Null).await.unwrap();
    assert_eq!(sync["status"], "succeeded", "{sync}");
    assert_eq!(sync["packages"], 3);
    // The `any` package once, though both databases list it.
    assert_eq!(
        sync["downloaded_bytes"].as_i64().unwrap(),
        size(&x) + size(&a) + size(&both)
    );
    for arch in ["x86_64", "aarch64"] {
        let (_, db) = served(&rieter, &format!("/multi/core/{arch}/core.db")).await;
        assert_eq!(
            db,
            read(upstream.path("core", arch, "core.db.tar.gz")),
            "{arch}"
        );
        let (status, _) =
            served(&rieter, &format!("/multi/core/{arch}/{}", file_name(&both))).await;
        assert_eq!(status, 200, "{arch}");
    }
    let (status, _) = served(&rieter, &format!("/multi/core/x86_64/{}", file_name(&a))).await;
    assert_eq!(status, 404);

    // Dropped by one architecture only, the `any` package stays for the other.
    upstream
        .remove("core", "aarch64", &["multi-both"], &[])
        .unwrap();
    upstream.set_lastupdate(2000).unwrap();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    assert_eq!(sync["packages"], 3, "{sync}");
    let pacman = Pacman::new(&[("core", &rieter.url("/multi/core/$arch"))]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman
        .ok(&["-S", "--noconfirm", "multi-both", "multi-x"])
        .unwrap();
    // Dropped by both, it leaves the catalogue.
    upstream
        .remove("core", "x86_64", &["multi-both"], &[])
        .unwrap();
    upstream.set_lastupdate(3000).unwrap();
    let sync = sync_now(&rieter, id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    assert_eq!(sync["packages"], 2, "{sync}");
}
