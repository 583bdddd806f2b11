//! API keys: admins create, list and delete them; scoped keys may publish or remove only
//! where their scopes say (403 elsewhere); unknown and deleted keys are 401.

use rieter_e2e::api::Auth;
use rieter_e2e::{API_KEY, Build, Options, Rieter, build_many};
use serde_json::{Value, json};

fn secret_of(key: &Value) -> String {
    key["secret"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_manage_keys_and_secrets_are_shown_once() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let created = rieter
        .create_key(
            "ci",
            json!([{"permission": "publish", "distro": "k", "repo": "main"}]),
        )
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let secret = secret_of(&created);
    assert!(
        secret.starts_with("rieter_") && secret.len() == 7 + 64,
        "{created}"
    );
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(
        created["scopes"],
        json!([{"permission": "publish", "distro": "k", "repo": "main"}])
    );

    let (status, list) = rieter
        .get_json("/api/v1/keys", Auth::Bearer(API_KEY))
        .await
        .unwrap();
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][0]["prefix"], created["prefix"]);
    assert!(list["items"][0].get("secret").is_none(), "{list}");
    assert!(!list.to_string().contains(&secret));
    let (status, one) = rieter
        .get_json(&format!("/api/v1/keys/{id}"), Auth::Bearer(API_KEY))
        .await
        .unwrap();
    assert_eq!(status, 200, "{one}");
    assert_eq!(one, list["items"][0]);

    // Only admins manage keys: no key is 401, a scoped key 403.
    let (status, body) = rieter.get_json("/api/v1/keys", Auth::None).await.unwrap();
    assert_eq!(status, 401, "{body}");
    let (status, body) = rieter
        .get_json("/api/v1/keys", Auth::Header(&secret))
        .await
        .unwrap();
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["status"], 403);
    let resp = rieter
        .client
        .post(rieter.url("/api/v1/keys"))
        .bearer_auth(&secret)
        .json(&json!({"name": "escalate", "scopes": [{"permission": "admin"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // A key with the admin scope manages keys too.
    let admin = rieter
        .create_key("second admin", json!([{"permission": "admin"}]))
        .await
        .unwrap();
    let (status, list) = rieter
        .get_json("/api/v1/keys", Auth::Basic(&secret_of(&admin)))
        .await
        .unwrap();
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["id"], admin["id"], "newest first");

    // Inconsistent scopes are refused.
    for scopes in [
        json!([]),
        json!([{"permission": "admin", "distro": "k"}]),
        json!([{"permission": "publish"}]),
        json!([{"permission": "remove", "repo": "main"}]),
        json!([{"permission": "write", "distro": "k"}]),
        json!([{"permission": "read"}]),
        json!([{"permission": "publish", "distro": "../etc"}]),
    ] {
        let resp = rieter
            .client
            .post(rieter.url("/api/v1/keys"))
            .bearer_auth(API_KEY)
            .json(&json!({"name": "bad", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 400, "{scopes}: {body}");
    }

    // Deleting a key stops it at once; deleting it again is 404.
    let delete = format!("/api/v1/keys/{id}");
    assert_eq!(
        rieter
            .delete_as(&delete, Auth::Header(&secret))
            .await
            .unwrap(),
        403
    );
    assert_eq!(
        rieter
            .delete_as(&delete, Auth::Bearer(API_KEY))
            .await
            .unwrap(),
        204
    );
    let (status, _) = rieter
        .get_json("/api/v1/keys", Auth::Header(&secret))
        .await
        .unwrap();
    assert_eq!(status, 401, "a deleted key is unknown");
    assert_eq!(
        rieter
            .delete_as(&delete, Auth::Bearer(API_KEY))
            .await
            .unwrap(),
        404
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scopes_decide_who_may_publish_and_remove() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let files = build_many(&[
        Build::new("scope-a", "1.0"),
        Build::new("scope-b", "1.0"),
        Build::new("scope-c", "1.0"),
    ])
    .unwrap();
    let key = |scopes: Value| {
        let rieter = &rieter;
        async move { secret_of(&rieter.create_key("scoped", scopes).await.unwrap()) }
    };
    let distro_publisher = key(json!([{"permission": "publish", "distro": "k"}])).await;
    let repo_publisher =
        key(json!([{"permission": "publish", "distro": "k", "repo": "main"}])).await;
    let repo_remover = key(json!([{"permission": "remove", "distro": "k", "repo": "main"}])).await;
    let distro_remover = key(json!([{"permission": "remove", "distro": "k"}])).await;

    let upload = |target: &'static str, file: usize, auth: Auth<'static>| {
        let (rieter, file) = (&rieter, files[file].clone());
        async move {
            let (status, body) = rieter.upload_as(target, &file, auth).await.unwrap();
            if status == 202 {
                rieter
                    .wait_final(body["id"].as_str().unwrap())
                    .await
                    .unwrap();
            }
            (status, body)
        }
    };
    // Leak the secrets for 'static auth values; they live for the test anyway.
    let leak = |s: &String| -> &'static str { Box::leak(s.clone().into_boxed_str()) };
    let (dp, rp, rr, dr) = (
        leak(&distro_publisher),
        leak(&repo_publisher),
        leak(&repo_remover),
        leak(&distro_remover),
    );

    // Publishing.
    assert_eq!(upload("k/main", 0, Auth::None).await.0, 401);
    assert_eq!(
        upload("k/main", 0, Auth::Bearer("rieter_0000000000"))
            .await
            .0,
        401
    );
    assert_eq!(
        upload("k/main", 0, Auth::Bearer("not-a-key-at-all-xyz"))
            .await
            .0,
        401
    );
    let (status, body) = upload("k/main", 0, Auth::Bearer(dp)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(upload("k/extra", 1, Auth::Header(dp)).await.0, 202);
    assert_eq!(upload("other/main", 1, Auth::Bearer(dp)).await.0, 403);
    assert_eq!(upload("k/main", 2, Auth::Basic(rp)).await.0, 202);
    let (status, body) = upload("k/extra", 2, Auth::Bearer(rp)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["status"], 403);
    assert_eq!(
        upload("k/main", 2, Auth::Bearer(rr)).await.0,
        403,
        "remove is not publish"
    );
    assert_eq!(upload("k/main", 2, Auth::Bearer(API_KEY)).await.0, 202);

    // Removing.
    let remove = |path: &'static str, auth: Auth<'static>| rieter.delete_as(path, auth);
    assert_eq!(
        remove("/k/main/x86_64/scope-a", Auth::None).await.unwrap(),
        401
    );
    assert_eq!(
        remove("/k/main/x86_64/scope-a", Auth::Bearer(dp))
            .await
            .unwrap(),
        403
    );
    assert_eq!(
        remove("/k/main/x86_64/scope-a", Auth::Bearer(rp))
            .await
            .unwrap(),
        403
    );
    assert_eq!(
        remove("/k/extra/x86_64/scope-b", Auth::Bearer(rr))
            .await
            .unwrap(),
        403
    );
    assert_eq!(
        remove("/k/main/x86_64/scope-a", Auth::Bearer(rr))
            .await
            .unwrap(),
        202
    );
    assert_eq!(
        remove("/k", Auth::Bearer(rr)).await.unwrap(),
        403,
        "repo scope, whole distro"
    );
    assert_eq!(remove("/k/main", Auth::Bearer(rr)).await.unwrap(), 204);
    assert_eq!(
        remove("/k/extra/x86_64/scope-b", Auth::Bearer(dr))
            .await
            .unwrap(),
        202
    );
    assert_eq!(remove("/k", Auth::Bearer(dr)).await.unwrap(), 204);
    assert_eq!(rieter.get_ok("/api/v1/distros").await.unwrap()["total"], 0);
}
