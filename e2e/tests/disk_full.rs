//! Reliability (4): the data directory fills up. Uploads fail cleanly (507), rebuilds wait,
//! the served databases stay intact, and service resumes once space is freed.
//!
//! Needs root to mount a size-limited tmpfs as the data directory. Without root it fails,
//! unless RIETER_SKIP_ROOT_TESTS=1 says to skip it (`scripts/test` sets that for non-root runs
//! and says so).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rieter_e2e::invariants::parse_db;
use rieter_e2e::pacman::Pacman;
use rieter_e2e::{API_KEY, Build, Options, Rieter};

struct Tmpfs {
    _dir: tempfile::TempDir,
    mount: PathBuf,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rieter-tmpfs-")
            .tempdir()
            .unwrap();
        let mount = dir.path().to_owned();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs failed");
        Self { _dir: dir, mount }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Fills the filesystem of `dir` until at most `leave` bytes are free.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    let filler = dir.join("filler");
    let free = free_bytes(dir);
    let size = free.saturating_sub(leave);
    let status = Command::new("fallocate")
        .arg("-l")
        .arg(size.to_string())
        .arg(&filler)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        // tmpfs without fallocate: write zeros until the disk is as full as asked.
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", filler.display()))
            .arg(format!("count={}", size / 65536))
            .status();
    }
    filler
}

fn free_bytes(dir: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn served_db(rieter: &Rieter) -> Vec<(String, String)> {
    let resp = rieter
        .client
        .get(rieter.url("/full/core/x86_64/core.db"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    parse_db(&resp.bytes().await.unwrap())
        .expect("the served database is intact")
        .into_iter()
        .map(|e| (e.name, e.version))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_fails_uploads_cleanly_and_service_resumes() {
    if !is_root() {
        assert!(
            std::env::var_os("RIETER_SKIP_ROOT_TESTS").is_some(),
            "this test mounts a tmpfs and needs root; set RIETER_SKIP_ROOT_TESTS=1 to skip it"
        );
        eprintln!("skipped: not root");
        return;
    }
    let tmpfs = Tmpfs::mount("48m");
    let data = tmpfs.mount.join("data");
    std::fs::create_dir(&data).unwrap();
    let mut rieter = Rieter::start(Options {
        data_dir: Some(data.clone()),
        ..Options::default()
    })
    .await
    .unwrap();

    let small = Build::new("full-small", "1.0").build_one().unwrap();
    let big = Build::new("full-big", "1.0")
        .padding(4 << 20)
        .build_one()
        .unwrap();
    let later = Build::new("full-later", "1.0").build_one().unwrap();
    let id = rieter.upload("full/core", &small).await.unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    let before = served_db(&rieter).await;

    // 1. No room for an upload: 507 with a problem body, nothing recorded or left behind.
    let filler = fill(&tmpfs.mount, 1 << 20);
    let resp = rieter
        .client
        .post(rieter.url("/full/core"))
        .bearer_auth(API_KEY)
        .body(std::fs::read(&big).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 507);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = resp.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("no space"),
        "{problem}"
    );
    assert_eq!(rieter.partial_uploads(), 0);
    assert_eq!(served_db(&rieter).await, before);

    // 2. An accepted upload whose database cannot be written: the rebuild waits, the old
    //    database keeps being served, pacman keeps working.
    std::fs::remove_file(&filler).unwrap();
    rieter.kill_worker(0);
    rieter.kill_worker(1);
    let id = rieter.upload("full/core", &later).await.unwrap();
    let filler = fill(&tmpfs.mount, 0);
    rieter.start_worker(0).unwrap();
    rieter.start_worker(1).unwrap();
    rieter
        .wait_for(&id, &["parsed"], Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        served_db(&rieter).await,
        before,
        "the served database changed on a full disk"
    );
    assert_eq!(rieter.upload_status(&id).await.unwrap()["status"], "parsed");
    let pacman = Pacman::new(&[("core", &rieter.url("/full/core/$arch"))]).unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    assert!(pacman.ok(&["-Sl", "core"]).unwrap().contains("full-small"));
    let waiting = rieter.log_lines("transient failure").len();

    // 3. Space comes back: the rebuild goes through and uploads are accepted again.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    let id = rieter.upload("full/core", &big).await.unwrap();
    assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    rieter
        .wait_quiescent(Duration::from_secs(60))
        .await
        .unwrap();
    let report = rieter.check_invariants().await.unwrap();
    println!(
        "disk full: 1 upload refused with 507, 1 rebuild retried {waiting} time(s) while the \
         disk was full, then {} published; {} rebuild(s)",
        report.published, report.rebuilds
    );
    assert_eq!(report.packages_served, 3);
    rieter.stop();
}
