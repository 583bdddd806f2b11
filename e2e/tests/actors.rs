//! Every upload and removal records the key behind it (`uploaded_by` on uploads, the actor
//! columns of the package history, the record of removals): a key as its id, name and prefix,
//! the configured admin key as `config`. The name and prefix outlive the key, and the record of
//! removals outlives what was removed.

use rieter_e2e::api::Auth;
use rieter_e2e::{API_KEY, Build, Options, Rieter, build_many};
use serde_json::{Value, json};

type Recorded = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The actor of the latest history entry of `name` with `action`.
async fn history_actor(pool: &sqlx::PgPool, name: &str, action: &str) -> Recorded {
    sqlx::query_as(
        "select actor_kind, actor_key_id::text, actor_name, actor_prefix from package_events
         where name = $1 and action = $2 order by id desc limit 1",
    )
    .bind(name)
    .bind(action)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn key_actor(key: &Value) -> Value {
    json!({"kind": "key", "id": key["id"], "name": key["name"], "prefix": key["prefix"]})
}

fn recorded_key(key: &Value, with_id: bool) -> Recorded {
    (
        Some("key".to_owned()),
        with_id.then(|| key["id"].as_str().unwrap().to_owned()),
        Some(key["name"].as_str().unwrap().to_owned()),
        Some(key["prefix"].as_str().unwrap().to_owned()),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_and_removals_record_their_key() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let pool = rieter.db.pool().await.unwrap();
    let files = build_many(&[
        Build::new("act-by-key", "1.0"),
        Build::new("act-by-config", "1.0"),
    ])
    .unwrap();
    let publisher = rieter
        .create_key(
            "ci for main",
            json!([{"permission": "publish", "distro": "dist", "repo": "main"}]),
        )
        .await
        .unwrap();
    let remover = rieter
        .create_key(
            "cleaner",
            json!([{"permission": "remove", "distro": "dist"}]),
        )
        .await
        .unwrap();
    let config =
        json!({"kind": "config", "id": null, "name": "configured admin key", "prefix": null});

    // An upload by a scoped key names it, from the first answer on.
    let (status, accepted) = rieter
        .upload_as(
            "dist/main",
            &files[0],
            Auth::Bearer(publisher["secret"].as_str().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["uploaded_by"], key_actor(&publisher));
    let by_key = accepted["id"].as_str().unwrap().to_owned();
    // An upload by the configured admin key.
    let by_config = rieter.upload("dist/main", &files[1]).await.unwrap();
    for id in [&by_key, &by_config] {
        assert_eq!(rieter.wait_final(id).await.unwrap()["status"], "published");
    }
    let upload = rieter.upload_status(&by_key).await.unwrap();
    assert_eq!(upload["uploaded_by"], key_actor(&publisher), "{upload}");
    let upload = rieter.upload_status(&by_config).await.unwrap();
    assert_eq!(upload["uploaded_by"], config, "{upload}");
    let list = rieter.get_ok("/api/v1/uploads").await.unwrap();
    let listed = |id: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id)
            .unwrap()["uploaded_by"]
            .clone()
    };
    assert_eq!(listed(&by_key), key_actor(&publisher));
    assert_eq!(listed(&by_config), config);

    // The history's additions carry the uploader, taken from the upload by the worker.
    assert_eq!(
        history_actor(&pool, "act-by-key", "added").await,
        recorded_key(&publisher, true)
    );
    assert_eq!(
        history_actor(&pool, "act-by-config", "added").await,
        (
            Some("config".to_owned()),
            None,
            Some("configured admin key".to_owned()),
            None
        )
    );

    // Removals carry the remover.
    let status = rieter
        .delete_as(
            "/dist/main/x86_64/act-by-key",
            Auth::Bearer(remover["secret"].as_str().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(status, 202);
    assert_eq!(
        history_actor(&pool, "act-by-key", "removed").await,
        recorded_key(&remover, true)
    );
    let status = rieter
        .delete_as("/dist/main/x86_64/act-by-config", Auth::Bearer(API_KEY))
        .await
        .unwrap();
    assert_eq!(status, 202);
    assert_eq!(
        history_actor(&pool, "act-by-config", "removed").await.0,
        Some("config".to_owned())
    );

    // Revoking the keys keeps who they were.
    for key in [&publisher, &remover] {
        let status = rieter
            .delete_as(
                &format!("/api/v1/keys/{}", key["id"].as_str().unwrap()),
                Auth::Bearer(API_KEY),
            )
            .await
            .unwrap();
        assert_eq!(status, 204);
    }
    assert_eq!(
        history_actor(&pool, "act-by-key", "removed").await,
        recorded_key(&remover, false)
    );
    assert_eq!(
        history_actor(&pool, "act-by-key", "added").await,
        recorded_key(&publisher, false)
    );
    let upload = rieter.upload_status(&by_key).await.unwrap();
    assert_eq!(
        upload["uploaded_by"],
        json!({"kind": "key", "id": null, "name": "ci for main", "prefix": publisher["prefix"]}),
        "{upload}"
    );

    // Removing a whole repository takes its package history along; the record of removals
    // keeps who removed what, also after the key is revoked.
    let janitor = rieter
        .create_key(
            "janitor",
            json!([{"permission": "remove", "distro": "dist"}]),
        )
        .await
        .unwrap();
    let status = rieter
        .delete_as(
            "/dist/main",
            Auth::Bearer(janitor["secret"].as_str().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(status, 204);
    let gone: i64 = sqlx::query_scalar("select count(*) from package_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(gone, 0);
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        i32,
        String,
        Option<String>,
        String,
    );
    let removals = || async {
        sqlx::query_as::<_, Row>(
            "select distro, repo, arch, name, packages, actor_kind, actor_key_id::text, actor_name
             from removals order by id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let some = |s: &str| Some(s.to_owned());
    let expected = |janitor_id: Option<String>| -> Vec<Row> {
        vec![
            (
                "dist".into(),
                some("main"),
                some("x86_64"),
                some("act-by-key"),
                1,
                "key".into(),
                None,
                "cleaner".into(),
            ),
            (
                "dist".into(),
                some("main"),
                some("x86_64"),
                some("act-by-config"),
                1,
                "config".into(),
                None,
                "configured admin key".into(),
            ),
            (
                "dist".into(),
                some("main"),
                None,
                None,
                0,
                "key".into(),
                janitor_id,
                "janitor".into(),
            ),
        ]
    };
    assert_eq!(
        removals().await,
        expected(janitor["id"].as_str().map(str::to_owned))
    );
    let status = rieter
        .delete_as(
            &format!("/api/v1/keys/{}", janitor["id"].as_str().unwrap()),
            Auth::Bearer(API_KEY),
        )
        .await
        .unwrap();
    assert_eq!(status, 204);
    assert_eq!(removals().await, expected(None));
}
