//! How jobs fail: a package that cannot be published is taken out instead of stalling its
//! repository, a fault that is not transient ends a job after one attempt, an upload that keeps
//! killing the worker is given up, and internal error text never reaches the uploads list.

use std::time::{Duration, Instant};

use rieter_e2e::invariants::parse_db;
use rieter_e2e::{Build, Options, Rieter, slow_package};
use sqlx::PgPool;

/// The generic reason of an upload failed by a fault of the server's.
fn internal_reason(id: &str) -> String {
    format!(
        "internal error while processing the upload; the server log has the details \
         (upload id {id})"
    )
}

/// The parse job of an upload once apalis has recorded how it ended: its status and attempts.
/// apalis records the end just after the job function returns, so an upload can be final a
/// moment before its job is.
async fn parse_job(pool: &PgPool, upload_id: &str) -> (String, i32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, attempts): (String, i32) = sqlx::query_as(
            "select status, attempts from apalis.jobs
             where id = (select job_id from uploads where id = $1::uuid)",
        )
        .bind(upload_id)
        .fetch_one(pool)
        .await
        .unwrap();
        let in_flight = ["Pending", "Queued", "Running"].contains(&status.as_str());
        if !in_flight || Instant::now() > deadline {
            return (status, attempts);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn packages_that_cannot_be_published_are_taken_out_and_the_rest_publishes() {
    let rieter = Rieter::start(Options {
        quiet_period_secs: 0.3,
        ..Options::default()
    })
    .await
    .unwrap();
    let pool = rieter.db.pool().await.unwrap();
    let mut ids = Vec::new();
    for name in ["e2e-keep", "e2e-lost"] {
        let file = Build::new(name, "1.0").build_one().unwrap();
        let id = rieter.upload("e2e/main", &file).await.unwrap();
        rieter
            .wait_for(&id, &["published"], Duration::from_secs(60))
            .await
            .unwrap();
        ids.push(id);
    }
    let lost = &ids[1];

    // A package whose file is gone from the blob store before any database listed it (a
    // store restored from an older backup): set up directly, as not yet published.
    std::fs::remove_file(rieter.upload_blob(lost).await.unwrap()).unwrap();
    sqlx::query("update uploads set status = 'parsed' where id = $1::uuid")
        .bind(lost)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("delete from published_files where filename like 'e2e-lost-%'")
        .execute(&pool)
        .await
        .unwrap();

    // The next upload rebuilds the repository: it is published, without the two.
    let late = Build::new("e2e-late", "1.0").build_one().unwrap();
    let id = rieter.upload("e2e/main", &late).await.unwrap();
    rieter
        .wait_for(&id, &["published"], Duration::from_secs(60))
        .await
        .unwrap();
    rieter
        .wait_quiescent(Duration::from_secs(60))
        .await
        .unwrap();

    let served = rieter
        .client
        .get(rieter.url("/e2e/main/x86_64/main.db"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let names: Vec<String> = parse_db(&served)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["e2e-keep", "e2e-late"]);
    let upload = rieter.upload_status(lost).await.unwrap();
    assert_eq!(upload["status"], "failed", "{upload}");
    assert_eq!(
        upload["error"], "could not be published: the package file is missing from storage",
        "{upload}"
    );
    let history: Vec<(String, Option<String>)> = sqlx::query_as(
        "select name, detail from package_events where action = 'removed' order by name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(
        history[0]
            .1
            .as_deref()
            .unwrap()
            .contains("missing from storage")
    );
    // Every regeneration job ended after one attempt; none is left to retry. apalis records a
    // job's end just after the job has committed its work, so wait for the records to settle.
    let settle = Instant::now() + Duration::from_secs(30);
    let (unfinished, retried) = loop {
        let (in_flight, unfinished, retried): (i64, i64, i64) = sqlx::query_as(
            "select count(*) filter (where status in ('Pending', 'Queued', 'Running')),
                    count(*) filter (where status <> 'Done'),
                    count(*) filter (where attempts > 1)
             from apalis.jobs where job_type = 'rieter.regenerate'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if in_flight == 0 || Instant::now() > settle {
            break (unfinished, retried);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((unfinished, retried), (0, 0), "{}", rieter.logs());
    rieter.check_invariants().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_internal_fault_fails_the_upload_after_one_attempt_with_a_generic_reason() {
    let mut rieter = Rieter::start(Options {
        workers: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    rieter.terminate_worker(0);
    let pool = rieter.db.pool().await.unwrap();
    let file = Build::new("e2e-loop", "1.0").build_one().unwrap();
    let id = rieter.upload("e2e/main", &file).await.unwrap();
    // The stored blob becomes unreadable for a reason that is the server's and not transient:
    // a symbolic link to itself (ELOOP).
    let blob = rieter.upload_blob(&id).await.unwrap();
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&blob, &blob).unwrap();

    rieter.start_worker(0).unwrap();
    let upload = rieter.wait_final(&id).await.unwrap();
    assert_eq!(upload["status"], "failed");
    assert_eq!(upload["error"], internal_reason(&id).as_str(), "{upload}");
    let listed = rieter.get_ok("/api/v1/uploads").await.unwrap();
    assert!(
        !listed.to_string().contains("os error"),
        "internal text in the uploads list: {listed}"
    );
    assert_eq!(parse_job(&pool, &id).await, ("Killed".to_owned(), 1));
    // The real error is in the log, once, with the upload's id.
    let logged = rieter.log_lines("parse job failed");
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].contains(&id) && logged[0].contains("symbolic links"),
        "{logged:?}"
    );
    // The failed upload's blob is collected.
    rieter.wait_blob_count(0).await.unwrap();
    assert!(blob.symlink_metadata().is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_fails_an_upload_whose_job_gave_up_without_its_error_text() {
    let mut rieter = Rieter::start(Options {
        workers: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    rieter.terminate_worker(0);
    let pool = rieter.db.pool().await.unwrap();
    let file = Build::new("e2e-gaveup", "1.0").build_one().unwrap();
    let id = rieter.upload("e2e/main", &file).await.unwrap();
    // Its job ran out of attempts with an error that is for operators only.
    sqlx::query(
        "update apalis.jobs set status = 'Failed', attempts = max_attempts, done_at = now(),
                last_result = '{\"Err\": \"connecting to 10.0.0.5: password authentication failed\"}'
         where id = (select job_id from uploads where id = $1::uuid)",
    )
    .bind(&id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("update uploads set updated_at = now() - interval '5 minutes' where id = $1::uuid")
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();

    rieter.start_worker(0).unwrap();
    let upload = rieter.wait_final(&id).await.unwrap();
    assert_eq!(upload["status"], "failed");
    assert_eq!(upload["error"], internal_reason(&id).as_str(), "{upload}");
    let logged = rieter.log_lines("failing upload whose job gave up");
    assert!(
        logged
            .iter()
            .any(|l| l.contains("password authentication failed")),
        "{logged:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_that_keeps_killing_the_worker_is_given_up_after_three_starts() {
    let mut rieter = Rieter::start(Options {
        workers: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    let pool = rieter.db.pool().await.unwrap();
    let id = rieter
        .upload_body("e2e/main", slow_package(2 << 30))
        .await
        .unwrap();

    // Kill the worker (SIGKILL, as the OOM killer does) whenever it starts parsing the upload.
    let started_since = |since: f64| {
        let pool = pool.clone();
        let id = id.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(90);
            loop {
                let (status, fresh): (String, bool) = sqlx::query_as(
                    "select status::text, extract(epoch from updated_at)::float8 > $2
                     from uploads where id = $1::uuid",
                )
                .bind(&id)
                .bind(since)
                .fetch_one(&pool)
                .await
                .unwrap();
                if status != "queued" && (status != "processing" || fresh) {
                    return status;
                }
                assert!(Instant::now() < deadline, "never delivered again");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    let db_now = || async {
        sqlx::query_scalar::<_, f64>("select extract(epoch from clock_timestamp())::float8")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let mut kills = 0;
    let mut since = 0.0;
    let status = loop {
        let status = started_since(since).await;
        if status != "processing" {
            break status;
        }
        assert!(kills < 3, "parsing started a fourth time");
        rieter.kill_worker(0);
        kills += 1;
        since = db_now().await;
        rieter.start_worker(0).unwrap();
    };
    assert_eq!(kills, 3);
    assert_eq!(status, "failed");
    let upload = rieter.upload_status(&id).await.unwrap();
    assert_eq!(
        upload["error"],
        "parsing this package started 3 times and never finished (it stops the worker); \
         it is not tried again"
    );
    rieter.wait_blob_count(0).await.unwrap();
    assert!(rieter.all_alive());
}

/// Three packages in `bo/main`, written straight into the database, their files never stored.
const LOST_REPOSITORY: &str = "
insert into distros (name) values ('bo');
insert into repos (distro_id, name) select id, 'main' from distros where name = 'bo';
insert into repo_arches (repo_id, arch) select id, 'x86_64' from repos;
insert into blobs (digest, size)
  select encode(sha256(i::text::bytea), 'hex'), 500 from generate_series(1, 3) i;
insert into uploads (id, distro, repo, status, size, sha256, md5, created_at)
  select md5(i::text)::uuid, 'bo', 'main', 'parsed', 1000,
         encode(sha256(i::text::bytea), 'hex'), md5(i::text), now()
  from generate_series(1, 3) i;
insert into packages (repo_id, upload_id, arch, name, version, description, build_date,
                      installed_size, compressed_size, filename, sha256, md5, db_member,
                      files_member)
  select (select id from repos), md5(i::text)::uuid, 'x86_64', 'lost-' || i, '1.0-1', 'lost',
         1700000000, 1000, 500, 'lost-' || i || '-1.0-1-x86_64.pkg.tar.zst',
         encode(sha256(i::text::bytea), 'hex'), md5(i::text), '\\x00', '\\x00'
  from generate_series(1, 3) i;
";

/// `regen_failures` and seconds until `regen_retry_at` of the one repository architecture.
async fn regen_backoff(pool: &PgPool) -> (i32, f64) {
    sqlx::query_as(
        "select regen_failures,
                coalesce(extract(epoch from regen_retry_at - now())::float8, 0)
         from repo_arches",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn wait_failures(rieter: &Rieter, pool: &PgPool, failures: i32) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (seen, retry_in) = regen_backoff(pool).await;
        if seen >= failures {
            assert_eq!(seen, failures, "a failure too many");
            return retry_in;
        }
        assert!(
            Instant::now() < deadline,
            "no failed rebuild {failures}:\n{}",
            rieter.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_that_fails_for_good_is_tried_again_after_a_growing_pause() {
    let rieter = Rieter::start(Options {
        workers: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    let pool = rieter.db.pool().await.unwrap();
    // A repository whose packages' files are all missing from storage, never published: every
    // rebuild of it can only fail ("the files of 3 of the 3 packages are missing").
    sqlx::raw_sql(LOST_REPOSITORY).execute(&pool).await.unwrap();

    // The sweep (every 2 s here) queues the rebuild; it fails and pauses for 10 s.
    let retry_in = wait_failures(&rieter, &pool, 1).await;
    assert!((5.0..=10.5).contains(&retry_in), "retry in {retry_in} s");
    // Three sweeps later: still one attempt.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(regen_backoff(&pool).await.0, 1);
    assert_eq!(rieter.log_lines("regeneration failed").len(), 1);
    // After the pause, one more attempt, and a pause twice as long.
    let retry_in = wait_failures(&rieter, &pool, 2).await;
    assert!((15.0..=20.5).contains(&retry_in), "retry in {retry_in} s");
    assert_eq!(rieter.log_lines("regeneration failed").len(), 2);
}
