//! The baselines of the mirror scenario: `wget --mirror` over HTTP from the same upstream
//! server Rieter syncs from, and `rsync` from an rsync daemon serving the same tree (how Arch
//! Linux's mirrors sync). Each runs under `/usr/bin/time` for its peak resident memory.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

const TIME: &str = "/usr/bin/time";

/// One run of a baseline command.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub seconds: f64,
    /// The largest resident set of the command and the children it waited for (`ru_maxrss`).
    pub peak_rss: u64,
}

/// Runs `program args` under `/usr/bin/time -f %M`, off the async runtime (the upstream
/// server the command talks to runs on it), and fails unless it exits successfully.
pub async fn timed(program: &str, args: Vec<String>) -> anyhow::Result<Run> {
    let program = program.to_owned();
    tokio::task::spawn_blocking(move || {
        let out = tempfile::NamedTempFile::new()?;
        let started = Instant::now();
        let output = Command::new(TIME)
            .args(["-f", "%M", "-o"])
            .arg(out.path())
            .arg(&program)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {program} under {TIME}"))?;
        let seconds = started.elapsed().as_secs_f64();
        ensure!(
            output.status.success(),
            "{program} {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let kib: u64 = std::fs::read_to_string(out.path())?
            .lines()
            .last()
            .context("no output from /usr/bin/time")?
            .trim()
            .parse()
            .context("/usr/bin/time's %M")?;
        Ok(Run {
            seconds,
            peak_rss: kib * 1024,
        })
    })
    .await?
}

/// `wget --mirror` of everything `listing` links to under its directory, into `dest`.
/// Robots are off: the upstream has no `robots.txt`, and asking for it is not mirroring.
pub async fn wget_mirror(listing: &str, dest: &Path) -> anyhow::Result<Run> {
    timed(
        "wget",
        vec![
            "--mirror".to_owned(),
            "--no-parent".to_owned(),
            "--no-host-directories".to_owned(),
            "-e".to_owned(),
            "robots=off".to_owned(),
            "-q".to_owned(),
            "-P".to_owned(),
            dest.display().to_string(),
            listing.to_owned(),
        ],
    )
    .await
}

/// An HTML page linking to every file of `dir`, as a web server's directory index does: the
/// upstream server lists no directories, and `wget --mirror` finds files by following links.
pub fn write_listing(dir: &Path, name: &str) -> anyhow::Result<Vec<String>> {
    let mut files: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<anyhow::Result<_>>()?;
    files.sort();
    let links: String = files
        .iter()
        .map(|f| format!("<a href=\"{f}\">{f}</a><br>\n"))
        .collect();
    std::fs::write(
        dir.join(name),
        format!("<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n"),
    )?;
    Ok(files)
}

/// Moves the listing's modification time 10 s later. A web server's directory index has no
/// `Last-Modified`, so `wget --mirror` run again fetches it and checks every file it links to;
/// a static page it has would be answered 304, and wget would check nothing else.
pub fn refresh_listing(path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::options().write(true).open(path)?;
    let modified = file.metadata()?.modified()?;
    file.set_modified(modified + Duration::from_secs(10))?;
    Ok(())
}

/// Checks that `dest` holds each of `files` with the size it has in `source`.
pub fn check_copy(source: &Path, dest: &Path, files: &[String]) -> anyhow::Result<()> {
    for file in files {
        let want = std::fs::metadata(source.join(file))?.len();
        let got = std::fs::metadata(dest.join(file))
            .with_context(|| format!("{file} was not fetched into {}", dest.display()))?
            .len();
        ensure!(got == want, "{file}: {got} bytes fetched, {want} upstream");
    }
    Ok(())
}

/// An rsync daemon serving `root` as the module `upstream` on a loopback port; stopped when
/// dropped.
pub struct RsyncDaemon {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub url: String,
}

impl RsyncDaemon {
    pub async fn start(root: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("rieter-bench-rsyncd-")
            .tempdir()?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let conf = dir.path().join("rsyncd.conf");
        // As root, the daemon would switch to `nobody`, who cannot read the temporary tree.
        let as_root = std::fs::metadata("/proc/self")?.uid() == 0;
        let user = if as_root {
            "uid = root\ngid = root\n"
        } else {
            ""
        };
        std::fs::write(
            &conf,
            format!(
                "use chroot = no\n{user}pid file = {pid}\n\
                 [upstream]\npath = {root}\nread only = yes\n",
                pid = dir.path().join("rsyncd.pid").display(),
                root = root.display()
            ),
        )?;
        let log = dir.path().join("rsyncd.log");
        let child = Command::new("rsync")
            .args(["--daemon", "--no-detach", "--address=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--config={}", conf.display()))
            .arg(format!("--log-file={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(
                dir.path().join("stderr.log"),
            )?))
            .spawn()
            .context("starting rsync --daemon")?;
        let mut daemon = Self {
            child: Some(child),
            dir,
            url: format!("rsync://127.0.0.1:{port}/upstream"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            let exited = daemon
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                bail!(
                    "rsync --daemon did not listen on 127.0.0.1:{port} ({exited:?}): {}",
                    daemon.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(daemon)
    }

    /// `rsync -a` of the module's `path` (a directory, with its trailing slash) into `dest`.
    pub async fn pull(&self, path: &str, dest: &Path) -> anyhow::Result<Run> {
        timed(
            "rsync",
            vec![
                "-a".to_owned(),
                format!("{}/{path}", self.url),
                dest.display().to_string(),
            ],
        )
        .await
        .with_context(|| self.logs())
    }

    fn logs(&self) -> String {
        ["stderr.log", "rsyncd.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for RsyncDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A fresh directory for a baseline's copy.
pub fn dest(parent: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
