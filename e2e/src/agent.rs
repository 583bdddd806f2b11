//! A `rieter-agent` process for tests, and a git repository of PKGBUILDs served on loopback
//! for it to build: by `git daemon` (git's smart protocol, which shallow clones need), and
//! its files by a static HTTP server (for `url` targets).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, ensure};

use crate::binaries;
use crate::upstream::Upstream;

/// A running agent; killed when dropped.
pub struct Agent {
    child: Child,
    log: PathBuf,
    /// Its data directory (`RIETER_DATA_DIR`).
    pub data_dir: tempfile::TempDir,
}

impl Agent {
    /// Starts an agent named `name` for `server`, building x86_64, with `env` on top (the key
    /// in `RIETER_AGENT_KEY`, or a config file; `RIETER_DATA_DIR` replaces its own).
    pub fn start(server: &str, name: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let data_dir = tempfile::Builder::new().prefix("rieter-agent-").tempdir()?;
        let log = data_dir.path().join("agent.log");
        let out = std::fs::File::create(&log)?;
        let child = Command::new(binaries().join("rieter-agent"))
            .env("RIETER_SERVER_URL", server)
            .env("RIETER_AGENT_NAME", name)
            .env("RIETER_AGENT_ARCHES", "x86_64")
            .env("RIETER_AGENT_POLL_SECS", "1")
            .env("RIETER_DATA_DIR", data_dir.path())
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting rieter-agent")?;
        Ok(Self {
            child,
            log,
            data_dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the agent gets no chance to tell the server anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A git repository of PKGBUILDs (one directory each), served on loopback.
pub struct PkgbuildRepo {
    server: Upstream,
    work: tempfile::TempDir,
    daemon: Child,
    port: u16,
}

impl PkgbuildRepo {
    pub async fn start() -> anyhow::Result<Self> {
        let server = Upstream::start().await?;
        let work = tempfile::tempdir()?;
        git(work.path(), &["init", "--quiet", "--initial-branch=main"])?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let daemon = Command::new("git")
            .arg("daemon")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .args(["--export-all", "--reuseaddr", "--informative-errors"])
            .arg(format!("--base-path={}", server.root().display()))
            .arg(server.root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting git daemon")?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            ensure!(
                std::time::Instant::now() < deadline,
                "git daemon did not listen"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Ok(Self {
            server,
            work,
            daemon,
            port,
        })
    }

    /// Writes `dir/PKGBUILD` and commits it (replacing what was there).
    pub fn commit(&self, dir: &str, pkgbuild: &str) -> anyhow::Result<()> {
        let path = self.work.path().join(dir);
        std::fs::create_dir_all(&path)?;
        std::fs::write(path.join("PKGBUILD"), pkgbuild)?;
        git(self.work.path(), &["add", "-A"])?;
        git(
            self.work.path(),
            &["commit", "--quiet", "--allow-empty", "-m", dir],
        )?;
        self.publish()
    }

    /// Writes a file of the working tree and commits it.
    pub fn commit_file(&self, path: &str, contents: &str) -> anyhow::Result<()> {
        let file = self.work.path().join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, contents)?;
        git(self.work.path(), &["add", "-A"])?;
        git(self.work.path(), &["commit", "--quiet", "-m", path])?;
        self.publish()
    }

    /// The URL to clone.
    pub fn url(&self) -> String {
        format!("git://127.0.0.1:{}/pkgbuilds.git", self.port)
    }

    /// A raw file of the working tree, by URL (for `url` targets).
    pub fn file_url(&self, path: &str) -> String {
        format!("{}/tree/{path}", self.server.base_url)
    }

    fn publish(&self) -> anyhow::Result<()> {
        let bare = self.server.root().join("pkgbuilds.git");
        let _ = std::fs::remove_dir_all(&bare);
        let tree = self.server.root().join("tree");
        let _ = std::fs::remove_dir_all(&tree);
        git(
            self.server.root(),
            &[
                "clone",
                "--quiet",
                "--bare",
                &self.work.path().display().to_string(),
                "pkgbuilds.git",
            ],
        )?;
        copy_tree(self.work.path(), &tree)
    }
}

impl Drop for PkgbuildRepo {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Rieter Tests",
            "-c",
            "user.email=tests@rieter.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .context("running git")?;
    ensure!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    let status = Command::new("cp").arg("-r").arg(from).arg(to).status()?;
    ensure!(status.success(), "copying {}", from.display());
    let _ = std::fs::remove_dir_all(to.join(".git"));
    Ok(())
}

/// Processes whose command line contains `needle`, by pid.
pub fn processes_with(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(pid);
            }
        }
    }
    found
}
