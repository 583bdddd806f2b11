//! nginx as the serving baseline: started on a free loopback port with a config written into a
//! temporary directory, serving a directory under the same URL paths Rieter uses, and stopped
//! when dropped (also when the scenario fails half-way). The mirror scenario also runs it as
//! the upstream, with an access log of the requests it served.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const NGINX: &str = "/usr/sbin/nginx";

/// A running nginx master (with `daemon off;`, so it is our child) and its temp directory.
pub struct Nginx {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub base_url: String,
    /// Lines of the access log already returned by [`Nginx::take_log`].
    log_seen: AtomicUsize,
}

/// A request as nginx's access log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub path: String,
    pub status: u16,
    /// It carried `If-None-Match` or `If-Modified-Since`.
    pub conditional: bool,
}

/// What the access log records, `|`-separated (no field holds a `|`); a missing header is `-`.
const LOG_FORMAT: &str = "$uri|$status|$http_if_none_match|$http_if_modified_since";

impl Nginx {
    /// Starts nginx serving `root` at `/`: `GET /a/b` answers the file `root/a/b`.
    pub async fn start(root: &Path) -> anyhow::Result<Self> {
        Self::start_with(root, false).await
    }

    /// [`Nginx::start`], recording every request in an access log ([`Nginx::take_log`]).
    pub async fn start_logged(root: &Path) -> anyhow::Result<Self> {
        Self::start_with(root, true).await
    }

    async fn start_with(root: &Path, access_log: bool) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("rieter-bench-nginx-")
            .tempdir()?;
        let port = free_port()?;
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(dir.path(), root, port, access_log))?;
        let error_log = dir.path().join("error.log");
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&error_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(
                dir.path().join("stderr.log"),
            )?))
            .spawn()
            .with_context(|| format!("starting {NGINX}"))?;
        let mut nginx = Self {
            child: Some(child),
            dir,
            base_url: format!("http://127.0.0.1:{port}"),
            log_seen: AtomicUsize::new(0),
        };
        nginx.wait_listening(port).await?;
        Ok(nginx)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn wait_listening(&mut self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                bail!(
                    "nginx did not start listening on 127.0.0.1:{port} ({exited:?}):\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The requests served since the last call (nginx writes each as it completes).
    pub fn take_log(&self) -> anyhow::Result<Vec<Logged>> {
        let text = std::fs::read_to_string(self.dir.path().join("access.log"))
            .context("nginx's access log")?;
        let lines: Vec<&str> = text.lines().collect();
        let seen = self.log_seen.swap(lines.len(), Ordering::Relaxed);
        lines[seen.min(lines.len())..]
            .iter()
            .map(|line| {
                let fields: Vec<&str> = line.split('|').collect();
                let [path, status, etag, modified] = fields[..] else {
                    bail!("an access log line not in the expected format: {line}");
                };
                Ok(Logged {
                    path: path.to_owned(),
                    status: status.parse()?,
                    conditional: etag != "-" || modified != "-",
                })
            })
            .collect()
    }

    fn logs(&self) -> String {
        ["stderr.log", "error.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Fast shutdown (SIGTERM to the master stops its workers too), bounded; then SIGKILL.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("nginx did not exit within 10 s of SIGTERM; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A plain static-file configuration as a distribution mirror would run it: sendfile, no access
/// log (unless asked for), one worker per core. `user root;` lets the workers read the
/// root-owned temporary data directory. Keep-alive connections are not cut after nginx's
/// default 1,000 requests, since Rieter does not cut them either: the figures compare serving,
/// not reconnecting.
fn config(dir: &Path, root: &Path, port: u16, access_log: bool) -> String {
    let access_log = if access_log {
        format!(
            "log_format requests '{LOG_FORMAT}';\n    access_log {}/access.log requests;",
            dir.display()
        )
    } else {
        "access_log off;".to_owned()
    };
    let dir = dir.display();
    let root = root.display();
    format!(
        "daemon off;
user root;
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    {access_log}
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ root {root}; }}
    }}
}}
"
    )
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
