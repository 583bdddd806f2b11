//! A `read` key is what a pacman.conf holds for a private distribution: it downloads (with the
//! key as the Basic password of its `Server` URL) and reads the listings of what it may read,
//! and can do nothing else. A key scoped to one repository sees only that repository; a key
//! for another distribution sees the private one as if it did not exist.

use reqwest::StatusCode;
use rieter_e2e::api::Auth;
use rieter_e2e::pacman::Pacman;
use rieter_e2e::{Build, Options, Rieter, build_many};
use serde_json::{Value, json};

async fn secret_of(rieter: &Rieter, name: &str, scopes: Value) -> String {
    rieter.create_key(name, scopes).await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A problem document with this status.
async fn assert_problem(resp: reqwest::Response, status: StatusCode, what: &str) {
    assert_eq!(resp.status(), status, "{what}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16(), "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn read_keys_download_and_list_only_what_they_may_read() {
    let rieter = Rieter::start(Options {
        env: vec![("RIETER_PRIVATE_DISTROS".into(), "internal, vault".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let files = build_many(&[
        Build::new("rk-main", "1.0"),
        Build::new("rk-testing", "1.0"),
        Build::new("rk-open", "1.0"),
        Build::new("rk-extra", "1.0"),
    ])
    .unwrap();
    let main_upload = rieter.upload("internal/main", &files[0]).await.unwrap();
    let testing_upload = rieter.upload("internal/testing", &files[1]).await.unwrap();
    let open_upload = rieter.upload("open/main", &files[2]).await.unwrap();
    for id in [&main_upload, &testing_upload, &open_upload] {
        assert_eq!(rieter.wait_final(id).await.unwrap()["status"], "published");
    }
    let testing_id = rieter
        .get_json(
            "/api/v1/packages?name=rk-testing",
            Auth::Bearer(rieter_e2e::API_KEY),
        )
        .await
        .unwrap()
        .1["items"][0]["id"]
        .as_i64()
        .unwrap();

    let reader = secret_of(
        &rieter,
        "reader",
        json!([{"permission": "read", "distro": "internal"}]),
    )
    .await;
    let main_reader = secret_of(
        &rieter,
        "main reader",
        json!([{"permission": "read", "distro": "internal", "repo": "main"}]),
    )
    .await;
    let vault_reader = secret_of(
        &rieter,
        "vault reader",
        json!([{"permission": "read", "distro": "vault"}]),
    )
    .await;
    let total = |body: &Value| body["total"].as_i64().unwrap();

    // The scope is listed as given.
    let (_, keys) = rieter
        .get_json("/api/v1/keys", Auth::Bearer(rieter_e2e::API_KEY))
        .await
        .unwrap();
    let listed = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "main reader")
        .unwrap();
    assert_eq!(
        listed["scopes"],
        json!([{"permission": "read", "distro": "internal", "repo": "main"}])
    );

    // pacman with the key as the Basic password of its Server URL (any user name).
    let server = |key: &str, repo: &str| {
        rieter
            .url(&format!("/internal/{repo}/$arch"))
            .replace("http://", &format!("http://reader:{key}@"))
    };
    let pacman = Pacman::new(&[
        ("main", &server(&reader, "main")),
        ("testing", &server(&reader, "testing")),
    ])
    .unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman.ok(&["-S", "rk-main", "rk-testing"]).unwrap();
    assert!(pacman.root().join("usr/share/rk-main/README").is_file());
    assert!(pacman.root().join("usr/share/rk-testing/README").is_file());

    // Without the key, or with a key for another distribution, pacman gets nothing.
    let anonymous_url = rieter.url("/internal/main/$arch");
    for url in [anonymous_url, server(&vault_reader, "main")] {
        let locked_out = Pacman::new(&[("main", &url)]).unwrap();
        let out = locked_out.run(&["-Sy"]).unwrap();
        assert!(!out.status.success(), "pacman synced {url}");
    }

    // A repository-scoped key: its repository, not the others.
    let pacman = Pacman::new(&[("main", &server(&main_reader, "main"))]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman.ok(&["-S", "rk-main"]).unwrap();
    let locked_out = Pacman::new(&[("testing", &server(&main_reader, "testing"))]).unwrap();
    assert!(!locked_out.run(&["-Sy"]).unwrap().status.success());

    // The JSON API: a distribution reader sees all of it.
    for auth in [Auth::Bearer(&reader), Auth::Basic(&reader)] {
        let (_, packages) = rieter
            .get_json("/api/v1/packages?distro=internal", auth)
            .await
            .unwrap();
        assert_eq!(total(&packages), 2, "{auth:?}");
        let (_, uploads) = rieter.get_json("/api/v1/uploads", auth).await.unwrap();
        assert_eq!(total(&uploads), 3, "{auth:?}");
        let (_, repos) = rieter
            .get_json("/api/v1/distros/internal/repos", auth)
            .await
            .unwrap();
        assert_eq!(total(&repos), 2, "{auth:?}");
    }

    // A repository reader sees its repository and nothing of the others.
    let auth = Auth::Bearer(&main_reader);
    let (_, packages) = rieter
        .get_json("/api/v1/packages?distro=internal", auth)
        .await
        .unwrap();
    assert_eq!(total(&packages), 1, "{packages}");
    assert_eq!(packages["items"][0]["name"], "rk-main");
    let (_, packages) = rieter.get_json("/api/v1/packages", auth).await.unwrap();
    assert_eq!(total(&packages), 2, "rk-main and rk-open: {packages}");
    let (_, uploads) = rieter.get_json("/api/v1/uploads", auth).await.unwrap();
    assert_eq!(total(&uploads), 2, "{uploads}");
    let (_, distro) = rieter
        .get_json("/api/v1/distros/internal", auth)
        .await
        .unwrap();
    assert_eq!(
        (&distro["repo_count"], &distro["package_count"]),
        (&json!(1), &json!(1)),
        "{distro}"
    );
    let (_, repos) = rieter
        .get_json("/api/v1/distros/internal/repos", auth)
        .await
        .unwrap();
    assert_eq!(total(&repos), 1);
    assert_eq!(repos["items"][0]["name"], "main");
    for path in [
        "/api/v1/distros/internal/repos/main".to_owned(),
        format!("/api/v1/uploads/{main_upload}"),
        "/internal/main/x86_64/main.db".to_owned(),
    ] {
        let resp = auth
            .apply(rieter.client.get(rieter.url(&path)))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "GET {path}");
    }
    // The other repository answers as a repository that does not exist.
    for (path, missing) in [
        (
            "/api/v1/distros/internal/repos/testing".to_owned(),
            "/api/v1/distros/internal/repos/nope".to_owned(),
        ),
        (
            "/internal/testing/x86_64/testing.db".to_owned(),
            "/internal/nope/x86_64/nope.db".to_owned(),
        ),
        (
            format!("/api/v1/packages/{testing_id}"),
            "/api/v1/packages/999999999".to_owned(),
        ),
        (
            format!("/api/v1/uploads/{testing_upload}"),
            "/api/v1/uploads/01900000-0000-7000-8000-000000000000".to_owned(),
        ),
    ] {
        let (status, body) = rieter.get_json(&path, auth).await.unwrap();
        let (missing_status, missing_body) = rieter.get_json(&missing, auth).await.unwrap();
        assert_eq!(status, 404, "GET {path}: {body}");
        assert_eq!(status, missing_status, "{path} vs {missing}");
        assert_eq!(body["title"], missing_body["title"]);
    }

    // A reader of another distribution sees nothing of this one.
    let auth = Auth::Bearer(&vault_reader);
    let (_, distros) = rieter.get_json("/api/v1/distros", auth).await.unwrap();
    assert_eq!(total(&distros), 1, "{distros}");
    let (_, uploads) = rieter.get_json("/api/v1/uploads", auth).await.unwrap();
    assert_eq!(total(&uploads), 1);
    for path in ["/api/v1/distros/internal", "/internal/main/x86_64/main.db"] {
        let (status, _) = rieter.get_json(path, auth).await.unwrap();
        assert_eq!(status, 404, "GET {path}");
    }

    // Reading is all a read key does: no uploads, removals or keys, even where it may read.
    for key in [&reader, &main_reader] {
        for auth in [Auth::Bearer(key), Auth::Basic(key)] {
            let (status, body) = rieter
                .upload_as("internal/main", &files[3], auth)
                .await
                .unwrap();
            assert_eq!(status, 403, "{auth:?} upload: {body}");
            assert_eq!(body["status"], 403, "{body}");
            for path in [
                "/internal/main/x86_64/rk-main",
                "/internal/main/x86_64",
                "/internal/main",
                "/internal",
            ] {
                let resp = auth
                    .apply(rieter.client.delete(rieter.url(path)))
                    .send()
                    .await
                    .unwrap();
                assert_problem(
                    resp,
                    StatusCode::FORBIDDEN,
                    &format!("{auth:?} DELETE {path}"),
                )
                .await;
            }
            let resp = auth
                .apply(rieter.client.post(rieter.url("/api/v1/keys")))
                .json(&json!({"name": "escalate", "scopes": [{"permission": "admin"}]}))
                .send()
                .await
                .unwrap();
            assert_problem(resp, StatusCode::FORBIDDEN, "creating a key").await;
        }
    }
    // Nothing was uploaded or removed.
    let (_, packages) = rieter
        .get_json("/api/v1/packages?distro=internal", Auth::Bearer(&reader))
        .await
        .unwrap();
    assert_eq!(total(&packages), 2);
    let (_, uploads) = rieter
        .get_json("/api/v1/uploads", Auth::Bearer(&reader))
        .await
        .unwrap();
    assert_eq!(total(&uploads), 3);

    // A read scope needs a distribution.
    let resp = rieter
        .client
        .post(rieter.url("/api/v1/keys"))
        .bearer_auth(rieter_e2e::API_KEY)
        .json(&json!({"name": "bad", "scopes": [{"permission": "read"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}
