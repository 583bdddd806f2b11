//! Hostile uploads through the real binaries: every bomb fails with a reason after one
//! attempt, and the worker's resident memory stays within 128 MiB of its idle figure.

use std::time::Duration;

use rieter_e2e::{Options, Rieter, procs};
use rieter_testkit::bombs;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const MAX_ABOVE_IDLE: u64 = 128 * MIB;

#[tokio::test(flavor = "multi_thread")]
async fn bombs_fail_with_a_reason_and_the_worker_stays_small() {
    let rieter = Rieter::start(Options {
        workers: 1,
        env: vec![
            ("RIETER_PARSE_CONCURRENCY".to_owned(), "1".to_owned()),
            // The expanding bombs would take minutes to reach the size limit; a short CPU
            // budget keeps the test quick (the default is 120 s).
            ("RIETER_MAX_PARSE_CPU_SECS".to_owned(), "3".to_owned()),
        ],
        ..Options::default()
    })
    .await
    .unwrap();
    let worker = rieter.worker_pid(0).expect("the worker runs");
    // Let the worker connect and poll before taking its idle figure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = procs::rss(worker).unwrap();

    let cases = [
        (
            "tar long-name header claiming 16 GiB (zstd)",
            bombs::long_name(16 * GIB),
            "GNU long name header of 17179869184 bytes",
        ),
        (
            "PAX header claiming 4 GiB (zstd)",
            bombs::pax(4 * GIB),
            "PAX header of 4294967296 bytes",
        ),
        (
            "xz with a 1.5 GiB dictionary and 1.5 GiB of output",
            bombs::xz(3 * GIB / 2, 768),
            "limit of 96 MiB of memory",
        ),
        (
            "zstd frame with a 2 GiB window and 2 GiB of output",
            bombs::zstd_window(2 * GIB),
            "limit of 96 MiB of memory",
        ),
        (
            "xz expanding to 16 GiB",
            bombs::xz(8 * MIB, 8192),
            "limit of 3 s of CPU time",
        ),
        (
            "bzip2 expanding to 16 GiB",
            bombs::bzip2(2048),
            "limit of 3 s of CPU time",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (label, bomb, reason)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bomb-{i}.pkg.tar"));
        std::fs::write(&path, &bomb).unwrap();
        procs::reset_peak(worker).unwrap();
        let id = rieter.upload("hostile/bombs", &path).await.unwrap();
        let upload = rieter.wait_final(&id).await.unwrap();
        let peak = procs::status_bytes(worker, "VmHWM").unwrap();
        let above = peak.saturating_sub(idle);
        let error = upload["error"].as_str().unwrap_or_default();
        eprintln!(
            "{label}: {} KiB upload, worker peak {:.1} MiB above idle ({:.1} MiB); {error}",
            bomb.len() >> 10,
            above as f64 / MIB as f64,
            idle as f64 / MIB as f64,
        );
        assert_eq!(upload["status"], "failed", "{label}: {upload}");
        assert!(error.contains(reason), "{label}: {error}");
        assert!(
            above <= MAX_ABOVE_IDLE,
            "{label}: the worker's peak was {above} bytes above idle"
        );
    }

    let attempts: Vec<i32> = sqlx::query_scalar(
        "select attempts from apalis.jobs where job_type = 'rieter.parse_upload'",
    )
    .fetch_all(&rieter.db.pool().await.unwrap())
    .await
    .unwrap();
    assert_eq!(attempts, [1; 6], "each parse job ran once");
}
