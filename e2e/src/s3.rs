//! A real S3-compatible server for the tests: `s3s-fs` (the s3s project's file-system backed
//! S3 service), installed by `scripts/lib.sh` from crates.io. Objects are files under its root
//! directory (`<root>/<bucket>/<key>`), which lets tests look at what the store holds.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub const BUCKET: &str = "rieter";
pub const PREFIX: &str = "e2e";
const ACCESS_KEY: &str = "rieter-e2e-access";
const SECRET_KEY: &str = "rieter-e2e-secret-0123456789";

/// A running s3s-fs with one bucket, stopped when dropped.
pub struct S3Server {
    child: Child,
    root: tempfile::TempDir,
    pub endpoint: String,
}

/// Where the `s3s-fs` binary is: on PATH, or where `cargo install` puts it.
fn binary() -> PathBuf {
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("s3s-fs"))
            .find(|p| p.is_file())
    }) {
        return found;
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    cargo_home.join("bin/s3s-fs")
}

impl S3Server {
    pub async fn start() -> anyhow::Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("rieter-e2e-s3-")
            .tempdir()?;
        std::fs::create_dir(root.path().join(BUCKET))?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::fs::File::create(root.path().join("s3s-fs.log"))?;
        let child = Command::new(binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting s3s-fs (scripts/lib.sh installs it: cargo install s3s-fs)")?;
        let server = Self {
            child,
            root,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("s3s-fs did not listen within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }

    /// The environment that points a Rieter process at this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("RIETER_STORAGE", format!("s3://{BUCKET}/{PREFIX}")),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The `s3_*` settings that reach this server.
    pub fn options(&self) -> rieter::blobs::S3Options {
        rieter::blobs::S3Options {
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(rieter::settings::Secret::new(SECRET_KEY.into())),
            allow_http: Some(true),
            virtual_hosted_style: None,
        }
    }

    /// The same as a config file's `storage` and `s3_*` keys, for a process given no `AWS_*`
    /// variable.
    pub fn config_toml(&self) -> String {
        format!(
            "storage = \"s3://{BUCKET}/{PREFIX}\"\n\
             s3_endpoint = \"{}\"\n\
             s3_region = \"us-east-1\"\n\
             s3_access_key_id = \"{ACCESS_KEY}\"\n\
             s3_secret_access_key = \"{SECRET_KEY}\"\n\
             s3_allow_http = true\n",
            self.endpoint
        )
    }

    /// The directory holding the store's `sha256/` tree.
    pub fn blob_root(&self) -> PathBuf {
        self.root.path().join(BUCKET).join(PREFIX)
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The store's staged uploads (`incoming/` under the prefix) and the parts of multipart
    /// uploads not completed or aborted (s3s-fs keeps them as `.upload-*` and `.upload_id-*`
    /// files in its root).
    pub fn staging_debris(&self) -> Vec<String> {
        let staged = std::fs::read_dir(self.blob_root().join("incoming"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| format!("incoming/{}", e.file_name().to_string_lossy()));
        let parts = std::fs::read_dir(self.root.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".upload"));
        staged.chain(parts).collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
