//! A private distribution (`RIETER_PRIVATE_DISTROS`) is invisible without a key with access to
//! it: listings leave it out; paths naming it answer 401 without a key (the challenge pacman
//! needs before it sends the key of `Server = https://_:KEY@host/...`) and 404 to a key without
//! access; its packages and uploads asked for by id are 404. Admin keys and keys scoped to it
//! see everything.

use rieter_e2e::api::Auth;
use rieter_e2e::pacman::Pacman;
use rieter_e2e::{API_KEY, Build, Options, Rieter, build_many};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn private_distributions_need_a_key_with_access() {
    let rieter = Rieter::start(Options {
        env: vec![("RIETER_PRIVATE_DISTROS".into(), "hidden, vault".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let files = build_many(&[
        Build::new("priv-secret", "1.0"),
        Build::new("priv-open", "1.0"),
    ])
    .unwrap();
    let secret_upload = rieter.upload("hidden/main", &files[0]).await.unwrap();
    let open_upload = rieter.upload("open/main", &files[1]).await.unwrap();
    for id in [&secret_upload, &open_upload] {
        assert_eq!(rieter.wait_final(id).await.unwrap()["status"], "published");
    }
    let secret_file = files[0].file_name().unwrap().to_str().unwrap();
    let secret_id = rieter
        .get_json("/api/v1/packages?name=priv-secret", Auth::Bearer(API_KEY))
        .await
        .unwrap()
        .1["items"][0]["id"]
        .as_i64()
        .unwrap();

    let insider = rieter
        .create_key(
            "insider",
            json!([{"permission": "publish", "distro": "hidden", "repo": "main"}]),
        )
        .await
        .unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let outsider = rieter
        .create_key(
            "outsider",
            json!([{"permission": "publish", "distro": "open"}]),
        )
        .await
        .unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    let direct = [
        "/api/v1/distros/hidden".to_owned(),
        "/api/v1/distros/hidden/repos".to_owned(),
        "/api/v1/distros/hidden/repos/main".to_owned(),
        format!("/api/v1/packages/{secret_id}"),
        format!("/api/v1/packages/{secret_id}/files"),
        format!("/api/v1/uploads/{secret_upload}"),
        "/hidden/main/x86_64/main.db".to_owned(),
        format!("/hidden/main/x86_64/{secret_file}"),
    ];
    let total = |body: &Value| body["total"].as_i64().unwrap();

    // Without access: listings leave it out, direct reads are 404.
    for auth in [Auth::None, Auth::Bearer(&outsider), Auth::Basic(&outsider)] {
        let (_, distros) = rieter.get_json("/api/v1/distros", auth).await.unwrap();
        assert_eq!(
            distros["items"],
            json!([{"name": "open", "created_at": distros["items"][0]["created_at"], "repo_count": 1, "package_count": 1}]),
            "{auth:?}"
        );
        let (_, packages) = rieter.get_json("/api/v1/packages", auth).await.unwrap();
        assert_eq!(total(&packages), 1, "{auth:?}: {packages}");
        let (_, packages) = rieter
            .get_json("/api/v1/packages?distro=hidden", auth)
            .await
            .unwrap();
        assert_eq!(total(&packages), 0, "{auth:?}");
        let (_, uploads) = rieter.get_json("/api/v1/uploads", auth).await.unwrap();
        assert_eq!(total(&uploads), 1, "{auth:?}");
        for path in &direct {
            // Without a key, a path naming the distribution asks for one; anything else is 404.
            let named = !path.contains("/packages/") && !path.contains("/uploads/");
            let expected = if matches!(auth, Auth::None) && named {
                401
            } else {
                404
            };
            let resp = auth
                .apply(rieter.client.get(rieter.url(path)))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), expected, "{auth:?} GET {path}");
            if expected == 401 {
                let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
                assert!(challenge.contains("Basic"), "{challenge}");
            }
            if path.starts_with("/hidden/") {
                let resp = auth
                    .apply(rieter.client.head(rieter.url(path)))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), expected, "{auth:?} HEAD {path}");
            }
        }
    }
    // The answers are the same whether or not the named thing exists.
    for (path, missing) in [
        ("/api/v1/distros/hidden", "/api/v1/distros/vault"),
        ("/hidden/main/x86_64/main.db", "/vault/main/x86_64/main.db"),
        ("/hidden/main/x86_64/main.db", "/hidden/nope/x86_64/main.db"),
    ] {
        for auth in [Auth::None, Auth::Bearer(&outsider)] {
            let (a, body_a) = rieter.get_json(path, auth).await.unwrap();
            let (b, body_b) = rieter.get_json(missing, auth).await.unwrap();
            assert_eq!(a, b, "{auth:?} {path} vs {missing}");
            assert_eq!(body_a["title"], body_b["title"]);
        }
    }
    let (_, missing) = rieter
        .get_json("/api/v1/distros/vault", Auth::Bearer(&outsider))
        .await
        .unwrap();
    let (_, hidden) = rieter
        .get_json("/api/v1/distros/hidden", Auth::Bearer(&outsider))
        .await
        .unwrap();
    assert_eq!(
        missing["detail"].as_str().unwrap().replace("vault", "X"),
        hidden["detail"].as_str().unwrap().replace("hidden", "X")
    );

    // A wrong key is refused outright, even on public data.
    for path in ["/api/v1/packages", "/open/main/x86_64/main.db", &direct[6]] {
        let resp = rieter
            .client
            .get(rieter.url(path))
            .basic_auth("_", Some("rieter_deadbeef-not-a-key"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{path}");
    }

    // With access: the admin key, or any key scoped to the distribution, in any of the forms.
    for auth in [
        Auth::Bearer(API_KEY),
        Auth::Basic(API_KEY),
        Auth::Bearer(&insider),
        Auth::Header(&insider),
        Auth::Basic(&insider),
    ] {
        let (_, distros) = rieter.get_json("/api/v1/distros", auth).await.unwrap();
        assert_eq!(total(&distros), 2, "{auth:?}");
        let (_, packages) = rieter
            .get_json("/api/v1/packages?distro=hidden", auth)
            .await
            .unwrap();
        assert_eq!(total(&packages), 1, "{auth:?}");
        let (_, uploads) = rieter.get_json("/api/v1/uploads", auth).await.unwrap();
        assert_eq!(total(&uploads), 2, "{auth:?}");
        for path in &direct {
            let resp = auth
                .apply(rieter.client.get(rieter.url(path)))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{auth:?} GET {path}");
        }
    }

    // pacman itself, with the key as the Basic password in its Server URL.
    let server = |key: &str| {
        rieter
            .url("/hidden/main/$arch")
            .replace("http://", &format!("http://_:{key}@"))
    };
    let pacman = Pacman::new(&[("main", &server(&insider))]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman.ok(&["-S", "priv-secret"]).unwrap();
    assert!(pacman.root().join("usr/share/priv-secret/README").is_file());
    let locked_out = Pacman::new(&[("main", &server(&outsider))]).unwrap();
    let out = locked_out.run(&["-Sy"]).unwrap();
    assert!(
        !out.status.success(),
        "pacman synced a private repository with the wrong key"
    );

    // Public distributions stay readable by everyone.
    for path in ["/open/main/x86_64/main.db", "/api/v1/distros/open"] {
        let resp = rieter.client.get(rieter.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
}
