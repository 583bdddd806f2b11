//! Postgres over TLS: with `sslmode=require` in the database URL, every connection the api and
//! the workers (job queue included) open is encrypted, as Postgres itself reports in
//! `pg_stat_ssl`. The local test server has `ssl = on` with Debian's snakeoil certificate.

use std::time::Duration;

use rieter_e2e::{Build, Options, Rieter};

/// The connections of processes that named themselves `app`: (all, encrypted).
async fn connections(rieter: &Rieter, app: &str) -> (i64, i64) {
    let pool = rieter.db.pool().await.unwrap();
    sqlx::query_as(
        "select count(*), count(*) filter (where s.ssl)
         from pg_stat_activity a join pg_stat_ssl s using (pid)
         where a.application_name = $1 and a.datname = current_database()",
    )
    .bind(app)
    .fetch_one(&pool)
    .await
    .unwrap()
}

async fn publish_one(rieter: &Rieter, name: &str) {
    let file = Build::new(name, "1.0").build_one().unwrap();
    let id = rieter.upload("tls/main", &file).await.unwrap();
    rieter
        .wait_for(&id, &["published"], Duration::from_secs(60))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_connection_is_encrypted_under_sslmode_require() {
    let rieter = Rieter::start(Options {
        workers: 1,
        db_url_params: Some("sslmode=require&application_name=rieter-tls".into()),
        ..Options::default()
    })
    .await
    .unwrap();
    publish_one(&rieter, "tls-one").await;
    let (all, encrypted) = connections(&rieter, "rieter-tls").await;
    assert!(all >= 3, "only {all} connections seen");
    assert_eq!(encrypted, all, "{}", rieter.logs());
    println!("postgres tls: {encrypted} of {all} connections of api and worker encrypted");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_check_sees_unencrypted_connections_when_tls_is_off() {
    let rieter = Rieter::start(Options {
        workers: 1,
        db_url_params: Some("sslmode=disable&application_name=rieter-plain".into()),
        ..Options::default()
    })
    .await
    .unwrap();
    publish_one(&rieter, "plain-one").await;
    let (all, encrypted) = connections(&rieter, "rieter-plain").await;
    assert!(all >= 3, "only {all} connections seen");
    assert_eq!(encrypted, 0);
}
