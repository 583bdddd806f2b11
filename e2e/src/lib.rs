//! End-to-end harness: runs the real `rieter-api` and `rieter-worker` binaries as separate
//! processes against a fresh Postgres database and data directory, and talks to them over HTTP
//! the way users do.

pub mod agent;
pub mod api;
pub mod gpg;
pub mod html;
pub mod invariants;
pub mod pacman;
pub mod procs;
pub mod python;
pub mod s3;
pub mod upstream;

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
pub use rieter_testkit::{Build, Ext, Pkg, PrivatePostgres, TestDatabase, build_many};
use serde_json::Value;

pub const API_KEY: &str = "e2e-admin-key-0123456789abcdef0123456789";

/// Knobs of a test deployment.
#[derive(Debug, Clone)]
pub struct Options {
    pub workers: usize,
    pub quiet_period_secs: f64,
    pub max_regen_delay_secs: f64,
    pub grace_period_secs: u64,
    pub max_upload_bytes: u64,
    /// Extra environment for every process, e.g. limits.
    pub env: Vec<(String, String)>,
    /// Create the database on this server instead of the shared local one (for tests that
    /// restart Postgres; see `PrivatePostgres`).
    pub admin_url: Option<String>,
    /// Use this (existing) directory as the data directory instead of a fresh temporary one.
    pub data_dir: Option<PathBuf>,
    /// Parameters appended to the processes' database URL, e.g. `sslmode=require`.
    pub db_url_params: Option<String>,
    /// Store blobs in a real S3 server (`s3::S3Server`) started for the deployment.
    pub s3: bool,
    /// Give every process a data directory of its own (`<data_dir>/<role>`), as on separate
    /// hosts: nothing is shared but Postgres and the blob store.
    pub private_data_dirs: bool,
    /// With `s3`: configure the processes through a config file's `storage` and `s3_*` keys
    /// rather than `RIETER_STORAGE` and the `AWS_*` variables.
    pub s3_config_file: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            workers: 2,
            quiet_period_secs: 0.5,
            max_regen_delay_secs: 30.0,
            grace_period_secs: 600,
            max_upload_bytes: 256 << 20,
            env: Vec::new(),
            admin_url: None,
            data_dir: None,
            db_url_params: None,
            s3: false,
            private_data_dirs: false,
            s3_config_file: false,
        }
    }
}

/// A running deployment: one api and some workers.
pub struct Rieter {
    pub db: TestDatabase,
    data_dir: PathBuf,
    _data_tmp: Option<tempfile::TempDir>,
    pub base_url: String,
    pub client: reqwest::Client,
    options: Options,
    port: u16,
    api: Option<Child>,
    workers: Vec<Option<Child>>,
    logs: tempfile::TempDir,
    starts: usize,
    /// More apis, on ports of their own (`start_another_api`).
    more_apis: Vec<Child>,
    /// Declared last: stopped after the processes using it.
    s3: Option<s3::S3Server>,
}

/// Builds the binaries (api, worker, CLI) once per process (a no-op when they are up to date), in the profile
/// this code was built with, and returns the directory holding them. Test executables live in
/// `target/<profile>/deps`, other executables (the benchmark harness) in `target/<profile>`.
pub fn binaries() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut args = vec![
            "build",
            "--quiet",
            "-p",
            "rieter-api",
            "-p",
            "rieter-worker",
            "-p",
            "rieter-cli",
            "-p",
            "rieter-agent",
            "--bins",
        ];
        if !cfg!(debug_assertions) {
            args.push("--release");
        }
        let mut command = Command::new(cargo);
        command.args(&args).current_dir(env!("CARGO_MANIFEST_DIR"));
        // Cargo gives a test process its package's variables, and some build scripts' inputs
        // include them (ring's reads CARGO_MANIFEST_DIR): inherited, they made this build redo
        // what the outer `cargo test` had just built, minutes of every run.
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            if [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
                || matches!(key, "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR")
            {
                command.env_remove(key);
            }
        }
        let status = command
            .status()
            .expect("running cargo build for the binaries");
        assert!(
            status.success(),
            "building rieter-api, rieter-worker and rieter failed"
        );
        let exe = std::env::current_exe().expect("executable path");
        let dir = exe.parent().expect("executable directory");
        if dir.file_name().is_some_and(|n| n == "deps") {
            dir.parent().expect("target directory").to_owned()
        } else {
            dir.to_owned()
        }
    })
}

/// Runs a binary with exactly `env` (plus PATH) until it exits, for start-up failure tests.
pub fn run_to_exit(binary: &str, env: &[(&str, &str)]) -> std::process::Output {
    run_args_to_exit(binary, &[], env)
}

/// [`run_to_exit`] with command-line arguments.
pub fn run_args_to_exit(binary: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(binaries().join(binary));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied());
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the binary");
    let pid = child.id();
    // A process that does not exit by itself within the bound is a failure of the test.
    let guard = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    });
    let output = child.wait_with_output().expect("waiting for the binary");
    drop(guard);
    output
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port")
}

impl Rieter {
    pub async fn start(options: Options) -> anyhow::Result<Self> {
        let db = match &options.admin_url {
            Some(url) => TestDatabase::create_on(url).await?,
            None => TestDatabase::create().await?,
        };
        Self::start_on(options, db).await
    }

    /// [`Rieter::start`] on a database the test prepared (e.g. with an older schema).
    pub async fn start_on(options: Options, db: TestDatabase) -> anyhow::Result<Self> {
        binaries();
        let (data_dir, data_tmp) = match &options.data_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix("rieter-e2e-data-")
                    .tempdir()?;
                (tmp.path().to_owned(), Some(tmp))
            }
        };
        let logs = tempfile::Builder::new()
            .prefix("rieter-e2e-logs-")
            .tempdir()?;
        let port = free_port();
        let s3 = if options.s3 {
            Some(s3::S3Server::start().await?)
        } else {
            None
        };
        let mut rieter = Self {
            db,
            data_dir,
            _data_tmp: data_tmp,
            base_url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?,
            options,
            port,
            api: None,
            workers: Vec::new(),
            logs,
            starts: 0,
            more_apis: Vec::new(),
            s3,
        };
        rieter.start_api()?;
        rieter.wait_healthy().await?;
        for _ in 0..rieter.options.workers {
            rieter.workers.push(None);
        }
        for i in 0..rieter.options.workers {
            rieter.start_worker(i)?;
        }
        Ok(rieter)
    }

    fn command(&mut self, binary: &str, role: &str) -> anyhow::Result<Command> {
        self.command_on(binary, role, self.port)
    }

    fn command_on(&mut self, binary: &str, role: &str, port: u16) -> anyhow::Result<Command> {
        self.starts += 1;
        let data_dir = if self.options.private_data_dirs {
            let own = self.data_dir.join(role);
            std::fs::create_dir_all(&own)?;
            own
        } else {
            self.data_dir.clone()
        };
        let storage_env = match &self.s3 {
            Some(s3) if self.options.s3_config_file => {
                let file = self.logs.path().join("rieter.toml");
                std::fs::write(&file, s3.config_toml())?;
                vec![("RIETER_CONFIG".to_owned(), file.display().to_string())]
            }
            Some(s3) => s3.env(),
            None => Vec::new(),
        };
        let log = File::create(
            self.logs
                .path()
                .join(format!("{:03}-{role}.log", self.starts)),
        )?;
        let mut cmd = Command::new(binaries().join(binary));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info,rieter=debug,rieter_worker=debug")
            .env("RIETER_DATABASE_URL", self.database_url())
            .env("RIETER_DATA_DIR", &data_dir)
            .env("RIETER_BIND", format!("127.0.0.1:{port}"))
            .env("RIETER_API_KEY", API_KEY)
            .env(
                "RIETER_MAX_UPLOAD_BYTES",
                self.options.max_upload_bytes.to_string(),
            )
            .env(
                "RIETER_QUIET_PERIOD_SECS",
                self.options.quiet_period_secs.to_string(),
            )
            .env(
                "RIETER_MAX_REGEN_DELAY_SECS",
                self.options.max_regen_delay_secs.to_string(),
            )
            .env(
                "RIETER_GRACE_PERIOD_SECS",
                self.options.grace_period_secs.to_string(),
            )
            .env("RIETER_HEARTBEAT_SECS", "2")
            .env("RIETER_SWEEP_INTERVAL_SECS", "2")
            .env("RIETER_PARSE_CONCURRENCY", "2")
            .env("RIETER_WORKER_NAME", format!("e2e-{role}-{}", self.starts))
            .envs(storage_env)
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        Ok(cmd)
    }

    /// The database URL the processes are given.
    fn database_url(&self) -> String {
        match &self.options.db_url_params {
            Some(params) => {
                let url = self.db.url();
                let join = if url.contains('?') { '&' } else { '?' };
                format!("{url}{join}{params}")
            }
            None => self.db.url().to_owned(),
        }
    }

    pub fn start_api(&mut self) -> anyhow::Result<()> {
        let child = self
            .command("rieter-api", "api")?
            .spawn()
            .context("starting rieter-api")?;
        self.api = Some(child);
        Ok(())
    }

    pub fn start_worker(&mut self, index: usize) -> anyhow::Result<()> {
        let child = self
            .command("rieter-worker", &format!("worker{index}"))?
            .spawn()
            .context("starting rieter-worker")?;
        self.workers[index] = Some(child);
        Ok(())
    }

    /// Starts one more api, on a port (and, with private data directories, a data directory)
    /// of its own; returns its base URL once it is healthy.
    pub async fn start_another_api(&mut self) -> anyhow::Result<String> {
        self.start_another_api_with(&[]).await
    }

    /// [`Self::start_another_api`], with `env` set for that process alone.
    pub async fn start_another_api_with(&mut self, env: &[(&str, &str)]) -> anyhow::Result<String> {
        let port = free_port();
        let role = format!("api{}", self.more_apis.len() + 2);
        let child = self
            .command_on("rieter-api", &role, port)?
            .envs(env.iter().copied())
            .spawn()
            .context("starting another rieter-api")?;
        self.more_apis.push(child);
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self
            .client
            .get(format!("{base}/api/v1/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            if Instant::now() > deadline {
                bail!(
                    "the other rieter-api did not become healthy:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(base)
    }

    /// The directory holding the blob store's `sha256/` tree: the data directory's `blobs`, or
    /// the S3 server's directory for the bucket and prefix.
    pub fn blob_root(&self) -> PathBuf {
        match &self.s3 {
            Some(s3) => s3.blob_root(),
            None => self.data_dir.join("blobs"),
        }
    }

    /// On S3: staged uploads and multipart uploads in progress or left behind
    /// ([`s3::S3Server::staging_debris`]); empty on the local backend.
    pub fn staging_debris(&self) -> Vec<String> {
        self.s3
            .as_ref()
            .map(s3::S3Server::staging_debris)
            .unwrap_or_default()
    }

    /// The data directories of the processes: one shared, or one per process.
    fn data_dirs(&self) -> Vec<PathBuf> {
        if !self.options.private_data_dirs {
            return vec![self.data_dir.clone()];
        }
        std::fs::read_dir(&self.data_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()
    }

    /// The api's process id, while it runs.
    pub fn api_pid(&self) -> Option<u32> {
        self.api.as_ref().map(Child::id)
    }

    /// A worker's process id, while it runs.
    pub fn worker_pid(&self, index: usize) -> Option<u32> {
        self.workers.get(index)?.as_ref().map(Child::id)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// Sends SIGTERM to the api and waits (bounded) for it to exit; returns its exit status.
    pub fn terminate_api(&mut self) -> Option<std::process::ExitStatus> {
        self.api.take().map(terminate)
    }

    /// Sends a signal (e.g. `TERM`) to the api without waiting.
    pub fn signal_api(&self, name: &str) {
        if let Some(child) = &self.api {
            signal(child, name);
        }
    }

    /// Waits up to `bound` for the api to exit; `None` if it is still running (then killed).
    pub fn wait_api_exit(&mut self, bound: Duration) -> Option<std::process::ExitStatus> {
        self.api.take().and_then(|child| wait_bounded(child, bound))
    }

    /// Sends SIGTERM to a worker and waits (bounded) for it to exit.
    pub fn terminate_worker(&mut self, index: usize) -> Option<std::process::ExitStatus> {
        self.workers[index].take().map(terminate)
    }

    /// Kills a worker with SIGKILL: no chance to finish or clean up.
    pub fn kill_worker(&mut self, index: usize) {
        if let Some(mut child) = self.workers[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn kill_api(&mut self) {
        if let Some(mut child) = self.api.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the api and every started worker are still running.
    pub fn all_alive(&mut self) -> bool {
        self.api
            .iter_mut()
            .chain(self.workers.iter_mut().flatten())
            .all(|child| matches!(child.try_wait(), Ok(None)))
    }

    pub async fn wait_healthy(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = self
                .client
                .get(self.url("/api/v1/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("rieter-api did not become healthy:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Uploads raw bytes with the admin key; returns the response as is.
    pub async fn upload_bytes(
        &self,
        target: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .client
            .post(self.url(target))
            .bearer_auth(API_KEY)
            .body(body)
            .send()
            .await?)
    }

    /// Uploads a package file as `multipart/form-data` (parts `package` and, if given,
    /// `signature`) with the admin key; returns the response as is.
    pub async fn upload_form(
        &self,
        target: &str,
        package: &Path,
        signature: Option<Vec<u8>>,
    ) -> anyhow::Result<reqwest::Response> {
        let name = package
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("package")
            .to_owned();
        let mut form = reqwest::multipart::Form::new().part(
            "package",
            reqwest::multipart::Part::bytes(std::fs::read(package)?).file_name(name.clone()),
        );
        if let Some(signature) = signature {
            form = form.part(
                "signature",
                reqwest::multipart::Part::bytes(signature).file_name(format!("{name}.sig")),
            );
        }
        Ok(self
            .client
            .post(self.url(target))
            .bearer_auth(API_KEY)
            .multipart(form)
            .send()
            .await?)
    }

    /// Uploads a package file to `/{distro}/{repo}` and returns the upload id (asserting 202).
    pub async fn upload(&self, distro_repo: &str, file: &Path) -> anyhow::Result<String> {
        self.upload_body(distro_repo, std::fs::read(file)?).await
    }

    /// [`Rieter::upload`] of a package held in memory.
    pub async fn upload_body(&self, distro_repo: &str, body: Vec<u8>) -> anyhow::Result<String> {
        let resp = self.upload_bytes(&format!("/{distro_repo}"), body).await?;
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = resp.json().await?;
        ensure!(status == 202, "upload answered {status}: {body}");
        let id = body["id"].as_str().context("upload id")?.to_owned();
        ensure!(
            location.as_deref() == Some(&format!("/api/v1/uploads/{id}")[..]),
            "Location header {location:?}"
        );
        Ok(id)
    }

    /// Uploads like a patient CI client: on a connection error or a 503 it waits and tries
    /// again, until accepted or `within` has passed. Returns the upload id and how many
    /// attempts were refused.
    pub async fn upload_retrying(
        &self,
        distro_repo: &str,
        file: &Path,
        within: Duration,
    ) -> anyhow::Result<(String, usize)> {
        let body = std::fs::read(file)?;
        let deadline = Instant::now() + within;
        let mut refused = 0;
        loop {
            match self
                .upload_bytes(&format!("/{distro_repo}"), body.clone())
                .await
            {
                Ok(resp) if resp.status() == 202 => {
                    let body: Value = resp.json().await?;
                    let id = body["id"].as_str().context("upload id")?.to_owned();
                    return Ok((id, refused));
                }
                Ok(resp) if resp.status() == 503 || resp.status() == 507 => {
                    ensure!(
                        resp.headers()
                            .get("content-type")
                            .is_some_and(|v| v == "application/problem+json"),
                        "a {} without a problem body",
                        resp.status()
                    );
                }
                Ok(resp) => bail!("upload answered {}: {}", resp.status(), resp.text().await?),
                Err(_) => {}
            }
            refused += 1;
            ensure!(
                Instant::now() < deadline,
                "upload of {} not accepted within {within:?}",
                file.display()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn upload_status(&self, id: &str) -> anyhow::Result<Value> {
        let resp = self
            .client
            .get(self.url(&format!("/api/v1/uploads/{id}")))
            // The admin key, so uploads to private distributions can be followed too.
            .bearer_auth(API_KEY)
            .send()
            .await?;
        ensure!(resp.status() == 200, "status of {id}: {}", resp.status());
        Ok(resp.json().await?)
    }

    /// Polls an upload until its status is one of `statuses`.
    pub async fn wait_for(
        &self,
        id: &str,
        statuses: &[&str],
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let upload = self.upload_status(id).await?;
            let status = upload["status"].as_str().unwrap_or_default();
            if statuses.contains(&status) {
                return Ok(upload);
            }
            if Instant::now() > deadline {
                bail!(
                    "upload {id} still {status} after {timeout:?}: {upload}\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for a final status (`published` or `failed`).
    pub async fn wait_final(&self, id: &str) -> anyhow::Result<Value> {
        self.wait_for(id, &["published", "failed"], Duration::from_secs(120))
            .await
    }

    /// Everything the processes logged so far, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut entries: Vec<_> = std::fs::read_dir(self.logs.path())
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(80).collect();
            out.push_str(&format!("==== {} (last 80 lines)\n", path.display()));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// The digests of the blobs in the blob store (`sha256/xx/<digest>` under
    /// [`Rieter::blob_root`]), sorted.
    pub fn blob_files(&self) -> Vec<String> {
        let mut digests: Vec<String> = std::fs::read_dir(self.blob_root().join("sha256"))
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|fanout| {
                std::fs::read_dir(fanout.path())
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        digests.sort();
        digests
    }

    /// The local blob file holding an upload's package.
    pub async fn upload_blob(&self, upload_id: &str) -> anyhow::Result<PathBuf> {
        let pool = self.db.pool().await?;
        let digest: String = sqlx::query_scalar("select sha256 from uploads where id = $1::uuid")
            .bind(upload_id)
            .fetch_one(&pool)
            .await?;
        Ok(self
            .blob_root()
            .join("sha256")
            .join(&digest[..2])
            .join(&digest))
    }

    /// Waits (through the sweeps' garbage collection) until the blob store holds exactly
    /// `count` blobs, and returns them.
    pub async fn wait_blob_count(&self, count: usize) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let blobs = self.blob_files();
            if blobs.len() == count {
                return Ok(blobs);
            }
            if Instant::now() > deadline {
                bail!("the blob store holds {} blobs, not {count}", blobs.len());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Upload bodies being received or left behind (`*.part` files under the data directory's
    /// `tmp/`).
    pub fn partial_uploads(&self) -> usize {
        fn count(dir: &Path) -> usize {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        count(&path)
                    } else {
                        usize::from(path.extension().is_some_and(|x| x == "part"))
                    }
                })
                .sum()
        }
        self.data_dirs()
            .iter()
            .map(|dir| count(&dir.join("tmp")))
            .sum()
    }

    /// Moves the modification time of everything directly under the data directory's `tmp/`
    /// `ago` into the past: what the scratch directory of a process that died looks like once
    /// that long has passed (live processes touch theirs every few seconds).
    pub fn age_scratch(&self, ago: Duration) -> anyhow::Result<()> {
        let then = std::time::SystemTime::now() - ago;
        for entry in std::fs::read_dir(self.data_dir.join("tmp"))? {
            File::open(entry?.path())?.set_times(std::fs::FileTimes::new().set_modified(then))?;
        }
        Ok(())
    }

    /// Log lines of all processes containing `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(self.logs.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            lines.extend(
                text.lines()
                    .filter(|l| l.contains(needle))
                    .map(str::to_owned),
            );
        }
        lines
    }

    /// Stops every process with SIGTERM and waits (bounded) for them to exit.
    pub fn stop(&mut self) {
        let mut children: Vec<Child> = self.workers.iter_mut().filter_map(Option::take).collect();
        children.extend(self.api.take());
        children.append(&mut self.more_apis);
        for child in &children {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for mut child in children {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(child: &Child, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status();
}

/// Waits for a child to exit, killing it after `bound`.
fn wait_bounded(mut child: Child, bound: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn terminate(child: Child) -> std::process::ExitStatus {
    signal(&child, "TERM");
    wait_bounded(child, Duration::from_secs(90))
        .expect("the process did not exit within 90 s of SIGTERM")
}

impl Drop for Rieter {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

/// A valid package (`e2e-slow`) whose parse takes a while: a gzip-compressed file of `size`
/// zero bytes, so a few MiB to upload and seconds of inflating (about 2 s per GiB).
pub fn slow_package(size: u64) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut append = |name: &str, size: u64, data: &mut dyn std::io::Read| {
        let mut header = tar::Header::new_gnu();
        header.set_path(name).unwrap();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        gz.write_all(header.as_bytes()).unwrap();
        let copied = std::io::copy(data, &mut gz).unwrap();
        let padding = (512 - copied % 512) % 512;
        gz.write_all(&vec![0; padding as usize]).unwrap();
    };
    let pkginfo = b"pkgname = e2e-slow\npkgver = 1.0-1\npkgdesc = slow to read\narch = x86_64\n\
                    builddate = 1700000000\nsize = 1\n";
    append(".PKGINFO", pkginfo.len() as u64, &mut &pkginfo[..]);
    append(
        "usr/share/e2e-slow/zeros",
        size,
        &mut std::io::repeat(0).take(size),
    );
    gz.write_all(&[0; 1024]).unwrap();
    gz.finish().unwrap()
}
