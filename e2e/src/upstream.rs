//! An upstream pacman repository for mirror tests: a directory tree built with the real
//! `repo-add`, served on loopback by a static file server (Range, ETag, Last-Modified, as a
//! real mirror's web server). Every request is logged; faults can be injected: a connection
//! cut halfway through a file, and the whole server going away.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use anyhow::{Context, ensure};
use futures::StreamExt;
use poem::endpoint::StaticFilesEndpoint;
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Route, Server};

/// A request as the upstream saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub path: String,
    pub range: Option<String>,
    pub conditional: bool,
    pub status: u16,
}

#[derive(Default)]
struct Faults {
    /// File names whose next full (non-Range) download is cut after half the bytes.
    cut_once: Vec<String>,
    /// Once a package file (`.pkg.tar.*`) is asked for, the server goes away.
    vanish_on_package: bool,
}

struct Shared {
    log: Mutex<Vec<Logged>>,
    faults: Mutex<Faults>,
    stop: tokio::sync::Notify,
}

/// A running upstream.
pub struct Upstream {
    root: tempfile::TempDir,
    pub base_url: String,
    shared: Arc<Shared>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Upstream {
    /// Starts serving an empty tree.
    pub async fn start() -> anyhow::Result<Self> {
        let root = tempfile::tempdir()?;
        let shared = Arc::new(Shared {
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            stop: tokio::sync::Notify::new(),
        });
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("the upstream's address")?;
        let files = StaticFilesEndpoint::new(root.path()).prefer_utf8(false);
        let app = Route::new().nest("/", files).around({
            let shared = Arc::clone(&shared);
            move |ep, req| {
                let shared = Arc::clone(&shared);
                async move { Ok(serve(ep, req, &shared).await) }
            }
        });
        let stopper = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    app,
                    async move { stopper.stop.notified().await },
                    Some(std::time::Duration::from_millis(100)),
                )
                .await;
        });
        Ok(Self {
            root,
            base_url: format!("http://{addr}"),
            shared,
            server: Some(server),
        })
    }

    /// The URL template a mirror of this upstream is configured with.
    pub fn template(&self) -> String {
        format!("{}/$repo/os/$arch", self.base_url)
    }

    /// The directory of `repo` and `arch`.
    pub fn dir(&self, repo: &str, arch: &str) -> PathBuf {
        self.root.path().join(repo).join("os").join(arch)
    }

    /// Copies `packages` into `repo/os/arch` and adds them to its databases with `repo-add`.
    pub fn add(&self, repo: &str, arch: &str, packages: &[&Path]) -> anyhow::Result<()> {
        let dir = self.dir(repo, arch);
        std::fs::create_dir_all(&dir)?;
        let mut copied = Vec::new();
        for package in packages {
            let name = package.file_name().context("a package file name")?;
            let target = dir.join(name);
            std::fs::copy(package, &target)?;
            // A signature beside the package goes with it: repo-add puts it in `%PGPSIG%`.
            let mut sig_name = name.to_owned();
            sig_name.push(".sig");
            let sig = package.with_file_name(&sig_name);
            if sig.exists() {
                std::fs::copy(&sig, dir.join(&sig_name))?;
            }
            copied.push(target);
        }
        let db = dir.join(format!("{repo}.db.tar.gz"));
        let out = Command::new("repo-add")
            .arg("--quiet")
            .arg("--nocolor")
            .arg(&db)
            .args(&copied)
            .output()
            .context("running repo-add")?;
        ensure!(
            out.status.success(),
            "repo-add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// Removes packages by name from `repo/os/arch`'s databases (and their files, as `files`).
    pub fn remove(
        &self,
        repo: &str,
        arch: &str,
        names: &[&str],
        files: &[&str],
    ) -> anyhow::Result<()> {
        let dir = self.dir(repo, arch);
        let out = Command::new("repo-remove")
            .arg("--quiet")
            .arg("--nocolor")
            .arg(dir.join(format!("{repo}.db.tar.gz")))
            .args(names)
            .output()
            .context("running repo-remove")?;
        ensure!(
            out.status.success(),
            "repo-remove failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for file in files {
            std::fs::remove_file(dir.join(file))?;
        }
        Ok(())
    }

    /// Signs `repo/os/arch`'s databases with `sign` (detached, binary), under each of their
    /// names, as `repo-add --sign` does.
    pub fn sign_databases(
        &self,
        repo: &str,
        arch: &str,
        sign: impl Fn(&Path) -> anyhow::Result<Vec<u8>>,
    ) -> anyhow::Result<()> {
        let dir = self.dir(repo, arch);
        for (archive, link) in [("db.tar.gz", "db"), ("files.tar.gz", "files")] {
            let signature = sign(&dir.join(format!("{repo}.{archive}")))?;
            std::fs::write(dir.join(format!("{repo}.{archive}.sig")), &signature)?;
            std::fs::write(dir.join(format!("{repo}.{link}.sig")), &signature)?;
        }
        Ok(())
    }

    /// Writes the tree's `lastupdate`, as Arch's mirrors have it.
    pub fn set_lastupdate(&self, seconds: i64) -> anyhow::Result<()> {
        std::fs::write(self.root.path().join("lastupdate"), format!("{seconds}\n"))?;
        Ok(())
    }

    pub fn remove_lastupdate(&self) -> anyhow::Result<()> {
        std::fs::remove_file(self.root.path().join("lastupdate"))?;
        Ok(())
    }

    /// A file's path in the tree.
    pub fn path(&self, repo: &str, arch: &str, file: &str) -> PathBuf {
        self.dir(repo, arch).join(file)
    }

    /// The requests served so far, and forgets them.
    pub fn take_log(&self) -> Vec<Logged> {
        std::mem::take(&mut *self.shared.log.lock().unwrap())
    }

    /// The next full download of `file` is cut halfway.
    pub fn cut_once(&self, file: &str) {
        self.shared
            .faults
            .lock()
            .unwrap()
            .cut_once
            .push(file.to_owned());
    }

    /// The server goes away at the first request for a package file.
    pub fn vanish_on_package(&self) {
        self.shared.faults.lock().unwrap().vanish_on_package = true;
    }

    /// Whether the server has gone away.
    pub fn is_gone(&self) -> bool {
        self.server.as_ref().is_none_or(|s| s.is_finished())
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.shared.stop.notify_one();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

async fn serve<E: Endpoint>(ep: Arc<E>, req: Request, shared: &Shared) -> Response {
    let path = req.uri().path().to_owned();
    let file = path.rsplit('/').next().unwrap_or_default().to_owned();
    let range = req
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let conditional = req.headers().contains_key("if-none-match")
        || req.headers().contains_key("if-modified-since");
    let is_package = file.contains(".pkg.tar.");
    let (vanish, cut) = {
        let mut faults = shared.faults.lock().unwrap();
        let vanish = faults.vanish_on_package && is_package;
        let cut = range.is_none()
            && match faults.cut_once.iter().position(|f| *f == file) {
                Some(i) => {
                    faults.cut_once.remove(i);
                    true
                }
                None => false,
            };
        (vanish, cut)
    };
    if vanish {
        shared.stop.notify_one();
        log(shared, &path, range, conditional, 503);
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let response = match ep.call(req).await {
        Ok(response) => response.into_response(),
        Err(err) => err.into_response(),
    };
    log(
        shared,
        &path,
        range,
        conditional,
        response.status().as_u16(),
    );
    if !cut || response.status() != StatusCode::OK {
        return response;
    }
    // Half the bytes, then the connection fails: the client sees a short body.
    let (parts, body) = response.into_parts();
    let bytes = body.into_bytes().await.unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    // The pause lets the half reach the client before the connection fails.
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(half)])
        .chain(futures::stream::once(async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            Err(std::io::Error::other("cut by the test"))
        }))
        .boxed();
    Response::from_parts(parts, Body::from_bytes_stream(stream))
}

fn log(shared: &Shared, path: &str, range: Option<String>, conditional: bool, status: u16) {
    shared.log.lock().unwrap().push(Logged {
        path: path.to_owned(),
        range,
        conditional,
        status,
    });
}
