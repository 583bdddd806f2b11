//! The web UI's signed-in half, on the real binaries and a real Postgres: signing in with an
//! API key (a wrong key is refused without detail), the session cookie's attributes, CSRF
//! tokens on every form (a missing or wrong one is a 403 and changes nothing), creating a key
//! (its secret shown once) and revoking it (the key stops working in the JSON API and its
//! sessions end), removing a package from its page (gone from the API and, after the rebuild,
//! from the repository database), private distributions visible only to a session that may
//! read them, and the uploads page (a failed upload's reason; reloading only while something
//! is in flight).

use std::time::Duration;

use reqwest::StatusCode;
use rieter_e2e::api::Auth;
use rieter_e2e::html::{Browser, Page, field_value};
use rieter_e2e::{API_KEY, Build, Options, Rieter, build_many};

const REFRESH: &str = "<meta http-equiv=\"refresh\" content=\"5\">";

/// Text as the templates escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Checks a `Set-Cookie` line: the name, `HttpOnly`, `SameSite=Lax`, and `Secure` exactly when
/// the server is behind TLS.
fn assert_cookie_attributes(line: &str, secure: bool) {
    let attributes: Vec<&str> = line.split(';').map(str::trim).skip(1).collect();
    assert!(attributes.contains(&"HttpOnly"), "{line}");
    assert!(attributes.contains(&"SameSite=Lax"), "{line}");
    assert_eq!(attributes.contains(&"Secure"), secure, "{line}");
}

/// The packages named `name` in `distro/repo`, as the JSON API lists them to the admin key.
async fn api_count(rieter: &Rieter, distro: &str, repo: &str, name: &str) -> i64 {
    let (status, body) = rieter
        .get_json(
            &format!("/api/v1/packages?distro={distro}&repo={repo}&name={name}"),
            Auth::Bearer(API_KEY),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body["total"].as_i64().unwrap()
}

async fn key_total(rieter: &Rieter) -> i64 {
    let (status, body) = rieter
        .get_json("/api/v1/keys", Auth::Bearer(API_KEY))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body["total"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_managing_keys_removing_and_following_uploads() {
    let mut rieter = Rieter::start(Options {
        env: vec![("RIETER_PRIVATE_DISTROS".into(), "vault".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let files = build_many(&[
        Build::new("adm-kept", "1.0"),
        Build::new("adm-gone", "1.0"),
        Build::new("adm-secret", "1.0"),
    ])
    .unwrap();
    for (file, target) in files.iter().zip(["arch/main", "arch/main", "vault/main"]) {
        let id = rieter.upload(target, file).await.unwrap();
        assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    }
    let broken = rieter
        .upload_body("arch/main", b"this is not a package".to_vec())
        .await
        .unwrap();
    let broken = rieter.wait_final(&broken).await.unwrap();
    assert_eq!(broken["status"], "failed");
    let reason = broken["error"].as_str().unwrap().to_owned();

    // A visitor: a sign-in link, no admin pages, no private distribution anywhere.
    let mut visitor = Browser::new(&rieter);
    let home = visitor.get("/").await;
    let home = home.assert_html("/", StatusCode::OK);
    assert!(home.contains("href=\"/login\">Sign in</a>") && home.contains("href=\"/uploads\""));
    assert!(
        !home.contains("vault") && !home.contains("Sign out"),
        "{home}"
    );
    for hidden in ["/vault/main", "/packages/vault/main/x86_64/adm-secret"] {
        visitor
            .get(hidden)
            .await
            .assert_html(hidden, StatusCode::NOT_FOUND);
    }
    let search = visitor.get("/search?q=adm-").await;
    assert!(!search.body.contains("adm-secret") && search.body.contains(">adm-kept</a>"));
    let admin = visitor.get("/admin").await;
    assert_eq!(admin.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.location(), Some("/login"));
    let uploads = visitor.get("/uploads").await;
    let uploads = uploads.assert_html("/uploads", StatusCode::OK);
    assert!(
        !uploads.contains("vault/main"),
        "private uploads are hidden"
    );

    // Signing in: the form is paired with its browser; a wrong key is refused without detail.
    let mut admin = Browser::new(&rieter);
    let form = admin.get("/login").await;
    form.assert_html("/login", StatusCode::OK);
    assert!(form.body.contains("<label for=\"login-key\">"));
    assert_cookie_attributes(form.set_cookie("rieter_login").unwrap(), false);
    let login = field_value(&form.body, "login").unwrap();
    let wrong = admin
        .post(
            "/login",
            &[("login", &login), ("key", "rieter_0123456789-wrong")],
        )
        .await;
    let wrong_body = wrong.assert_html("wrong key", StatusCode::OK);
    assert!(
        wrong_body.contains("That key was not accepted."),
        "{wrong_body}"
    );
    assert!(wrong.set_cookie("rieter_session").is_none());
    assert!(!admin.cookies.contains_key("rieter_session"));
    let mut stranger = Browser::new(&rieter);
    let unpaired = stranger
        .post("/login", &[("login", &login), ("key", API_KEY)])
        .await;
    unpaired.assert_html("sign-in without its cookie", StatusCode::FORBIDDEN);
    assert!(unpaired.set_cookie("rieter_session").is_none());

    let signed = admin.sign_in(API_KEY).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(signed.location(), Some("/admin"));
    let session_cookie = signed.set_cookie("rieter_session").unwrap();
    assert_cookie_attributes(session_cookie, false);
    assert!(session_cookie.contains("Path=/;"), "{session_cookie}");
    let overview = admin.get("/admin").await;
    let overview = overview.assert_html("/admin", StatusCode::OK);
    assert!(overview.contains("Signed in as the configured admin key"));
    assert!(overview.contains("href=\"/admin/keys\""));
    assert!(overview.contains(">Sign out</button>") && !overview.contains(">Sign in</a>"));

    // The admin sees the private distribution everywhere.
    assert!(admin.get("/").await.body.contains("href=\"/vault/main\""));
    admin
        .get("/packages/vault/main/x86_64/adm-secret")
        .await
        .assert_html("private package, signed in", StatusCode::OK);
    assert!(admin.get("/uploads").await.body.contains("vault/main"));

    // Forms without this session's CSRF token: 403, nothing changes.
    let keys_page = admin.get("/admin/keys").await;
    let keys_body = keys_page
        .assert_html("/admin/keys", StatusCode::OK)
        .to_owned();
    let csrf = field_value(&keys_body, "csrf").unwrap();
    assert_eq!(csrf.len(), 64);
    let new_key = [
        ("name", "ui reader"),
        ("permission", "read"),
        ("distro", "vault"),
    ];
    let without = admin.post("/admin/keys", &new_key).await;
    let without_body = without.assert_html("no CSRF token", StatusCode::FORBIDDEN);
    assert!(without_body.contains("Form not accepted"));
    let zeros = "0".repeat(64);
    let mut forged = vec![("csrf", zeros.as_str())];
    forged.extend(new_key);
    admin
        .post("/admin/keys", &forged)
        .await
        .assert_html("wrong CSRF token", StatusCode::FORBIDDEN);
    let mut anonymous_form = vec![("csrf", csrf.as_str())];
    anonymous_form.extend(new_key);
    visitor
        .post("/admin/keys", &anonymous_form)
        .await
        .assert_html("a CSRF token without the session", StatusCode::FORBIDDEN);
    assert_eq!(key_total(&rieter).await, 0, "no key was created");

    // Creating a key: its secret once.
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend(new_key);
    let created = admin.post("/admin/keys", &form).await;
    let created_body = created
        .assert_html("key created", StatusCode::OK)
        .to_owned();
    assert_eq!(created.headers["cache-control"], "no-store");
    let secret = created_body
        .split("<code class=\"secret\" id=\"new-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the secret is shown")
        .to_owned();
    assert!(secret.starts_with("rieter_"), "{secret}");
    assert_eq!(key_total(&rieter).await, 1);
    let listed = admin.get("/admin/keys").await;
    assert!(
        listed.body.contains("ui reader") && listed.body.contains("read every repository of vault")
    );
    assert!(
        !listed.body.contains(&secret),
        "the secret is shown only once"
    );
    let bad = admin
        .post(
            "/admin/keys",
            &[("csrf", &csrf), ("name", "bad"), ("permission", "publish")],
        )
        .await;
    let bad_body = bad.assert_html("a scope without distribution", StatusCode::BAD_REQUEST);
    assert!(bad_body.contains("needs a distribution"), "{bad_body}");
    assert_eq!(key_total(&rieter).await, 1);

    // Signed in with the read key: the private distribution, nothing to manage or remove.
    let (status, _) = rieter
        .get_json("/api/v1/packages?distro=vault", Auth::Bearer(&secret))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let mut reader = Browser::new(&rieter);
    assert_eq!(reader.sign_in(&secret).await.status, StatusCode::SEE_OTHER);
    let reader_home = reader.get("/").await;
    assert!(
        reader_home.body.contains("href=\"/vault/main\""),
        "{}",
        reader_home.body
    );
    reader
        .get("/vault/main")
        .await
        .assert_html("/vault/main, read key", StatusCode::OK);
    let secret_page = reader.get("/packages/vault/main/x86_64/adm-secret").await;
    let secret_page = secret_page.assert_html("private package, read key", StatusCode::OK);
    assert!(
        !secret_page.contains("/admin/remove/"),
        "a read key may not remove"
    );
    assert!(
        reader
            .get("/search?q=adm-secret")
            .await
            .body
            .contains(">adm-secret</a>")
    );
    assert!(reader.get("/uploads").await.body.contains("vault/main"));
    let reader_admin = reader.get("/admin").await;
    let reader_admin = reader_admin.assert_html("/admin, read key", StatusCode::OK);
    assert!(reader_admin.contains("read every repository of vault"));
    assert!(!reader_admin.contains("href=\"/admin/keys\""));
    reader
        .get("/admin/keys")
        .await
        .assert_html("/admin/keys, read key", StatusCode::FORBIDDEN);
    let reader_csrf = field_value(&reader_home.body, "csrf").unwrap();
    let mut reader_form = vec![("csrf", reader_csrf.as_str())];
    reader_form.extend(new_key);
    reader
        .post("/admin/keys", &reader_form)
        .await
        .assert_html("creating a key with a read key", StatusCode::FORBIDDEN);
    assert_eq!(key_total(&rieter).await, 1);

    // Revoking it: the key stops working and its session ends.
    let revoke = listed
        .body
        .split("action=\"/admin/keys/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(|rest| format!("/admin/keys/{rest}"))
        .expect("a revoke form");
    admin
        .post(&revoke, &[])
        .await
        .assert_html("revoking without a CSRF token", StatusCode::FORBIDDEN);
    assert_eq!(key_total(&rieter).await, 1);
    let revoked = admin.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(revoked.location(), Some("/admin/keys"));
    assert_eq!(key_total(&rieter).await, 0);
    let (status, _) = rieter
        .get_json("/api/v1/packages?distro=vault", Auth::Bearer(&secret))
        .await
        .unwrap();
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the revoked key is refused"
    );
    let ended = reader.get("/admin").await;
    assert_eq!(
        ended.status,
        StatusCode::SEE_OTHER,
        "the revoked key's session ended"
    );
    assert_eq!(ended.location(), Some("/login"));
    let after = reader.get("/").await;
    assert!(!after.body.contains("vault") && after.body.contains(">Sign in</a>"));
    reader
        .get("/vault/main")
        .await
        .assert_html("/vault/main after revocation", StatusCode::NOT_FOUND);

    // Removing a package from its page.
    let gone_page = admin.get("/packages/arch/main/x86_64/adm-gone").await;
    let gone_page = gone_page
        .assert_html("package page, admin", StatusCode::OK)
        .to_owned();
    let remove = "/admin/remove/arch/main/x86_64/adm-gone";
    assert!(
        gone_page.contains(&format!("action=\"{remove}\"")),
        "{gone_page}"
    );
    assert!(
        !visitor
            .get("/packages/arch/main/x86_64/adm-gone")
            .await
            .body
            .contains("/admin/remove/"),
        "no remove button for visitors"
    );
    visitor
        .post(remove, &[("csrf", &csrf)])
        .await
        .assert_html("removing without a session", StatusCode::FORBIDDEN);
    admin
        .post(remove, &[("csrf", "x")])
        .await
        .assert_html("removing with a wrong CSRF token", StatusCode::FORBIDDEN);
    assert_eq!(api_count(&rieter, "arch", "main", "adm-gone").await, 1);
    let removed = admin.post(remove, &[("csrf", &csrf)]).await;
    let removed_body = removed.assert_html("removed", StatusCode::OK);
    assert!(removed_body.contains("adm-gone removed"), "{removed_body}");
    assert_eq!(api_count(&rieter, "arch", "main", "adm-gone").await, 0);
    assert_eq!(api_count(&rieter, "arch", "main", "adm-kept").await, 1);
    rieter
        .wait_quiescent(Duration::from_secs(60))
        .await
        .unwrap();
    let served = rieter.served_db("/arch/main/x86_64/main.db").await.unwrap();
    let names: Vec<String> = served.into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["adm-kept"], "the rebuilt database");
    // The kept counts follow: the repository's at once, the live database's at its publish.
    let (status, repo) = rieter
        .get_json("/api/v1/distros/arch/repos/main", Auth::Bearer(API_KEY))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{repo}");
    assert_eq!(repo["package_count"], 1, "{repo}");
    assert_eq!(repo["arches"][0]["package_count"], 1, "{repo}");
    let repo_page = admin.get("/arch/main").await;
    let repo_page = repo_page.assert_html("/arch/main", StatusCode::OK);
    assert!(repo_page.contains("<p>1 package.</p>"), "{repo_page}");
    admin
        .get("/packages/arch/main/x86_64/adm-gone")
        .await
        .assert_html("removed package page", StatusCode::NOT_FOUND);

    // The uploads page: the failed upload and its reason; no reloading once all are final.
    let uploads = admin.get("/uploads").await;
    let uploads = uploads.assert_html("/uploads", StatusCode::OK).to_owned();
    assert!(uploads.contains("<td>failed</td>"), "{uploads}");
    assert!(
        uploads.contains(&escaped(&reason)),
        "the reason {reason:?}:\n{uploads}"
    );
    assert!(uploads.contains("<dt>Failed</dt><dd>1</dd>"), "{uploads}");
    assert!(uploads.contains("adm-kept 1.0-1 (x86_64)"));
    assert!(
        uploads.contains("<code>adm-kept-1.0-1-x86_64.pkg.tar.zst</code>"),
        "{uploads}"
    );
    assert!(!uploads.contains(REFRESH), "nothing in flight");
    // With no worker running, an upload stays queued and the page reloads itself.
    for worker in 0..rieter.worker_count() {
        rieter.terminate_worker(worker);
    }
    let late = build_many(&[Build::new("adm-late", "1.0")]).unwrap();
    let queued = rieter.upload("arch/main", &late[0]).await.unwrap();
    assert_eq!(
        rieter.upload_status(&queued).await.unwrap()["status"],
        "queued"
    );
    let waiting = admin.get("/uploads").await;
    let waiting = waiting.assert_html("/uploads, queued", StatusCode::OK);
    assert!(waiting.contains(REFRESH), "{waiting}");
    assert!(waiting.contains("<dt>Queued</dt><dd>1</dd>"), "{waiting}");
    let home = admin.get("/").await;
    assert!(
        !home.body.contains(REFRESH),
        "only the uploads page reloads"
    );

    // Signing out ends the session on the server too.
    let cookie = admin.cookies["rieter_session"].clone();
    let out = admin.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.set_cookie("rieter_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    let mut replay = Browser::new(&rieter);
    replay.cookies.insert("rieter_session".into(), cookie);
    assert_eq!(replay.get("/admin").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_are_secure_behind_tls() {
    let rieter = Rieter::start(Options {
        workers: 0,
        env: vec![("RIETER_BEHIND_TLS".into(), "true".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let mut browser = Browser::new(&rieter);
    let form: Page = browser.get("/login").await;
    assert_cookie_attributes(form.set_cookie("rieter_login").unwrap(), true);
    let signed = browser.sign_in(API_KEY).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_cookie_attributes(signed.set_cookie("rieter_session").unwrap(), true);
}
