//! Downloading from an upstream: into a file, hashed as it arrives, bounded in size, resumed
//! with `Range` after a cut connection, retried with backoff when the fault may pass, paced to
//! a bandwidth limit, and conditional (`If-None-Match`, `If-Modified-Since`) when asked.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest13::{Client, StatusCode, Url, header};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::blobs::Digest;

/// Why a download failed. The messages are for the mirror's admin.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: the upstream answered {status}")]
    Status { url: String, status: StatusCode },
    #[error("{url}: larger than the {limit} bytes allowed")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: {got} bytes, where the upstream database says {expected}")]
    Size {
        url: String,
        expected: u64,
        got: u64,
    },
    #[error("{url}: its SHA-256 is {got}, where the upstream database says {expected}")]
    Digest {
        url: String,
        expected: Digest,
        got: Digest,
    },
    #[error("writing the download: {0}")]
    Io(#[from] std::io::Error),
}

impl FetchError {
    /// Whether trying again may succeed: a connection fault, a timeout, a server error, or
    /// the upstream being rate-limited.
    fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }
}

/// What a download is checked against.
#[derive(Debug, Clone)]
pub struct Expected {
    pub size: u64,
    pub digest: Digest,
}

/// Validators of a copy we have, for a conditional request.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The outcome of a download.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// 304: the copy we have is current.
    NotModified,
    /// 404 or 410: the upstream has no such file.
    Missing,
    /// The file is complete in the target path.
    Done {
        size: u64,
        digest: Digest,
        validators: Validators,
        /// Bytes that came over the network (less than `size` after a resume).
        transferred: u64,
    },
}

/// Shares a bandwidth limit between the downloads of one sync.
#[derive(Debug)]
pub struct Pacer {
    bytes_per_sec: u64,
    started: Instant,
    sent: AtomicU64,
}

impl Pacer {
    pub fn new(bytes_per_sec: u64) -> Self {
        Self {
            bytes_per_sec: bytes_per_sec.max(1),
            started: Instant::now(),
            sent: AtomicU64::new(0),
        }
    }

    /// Accounts for `n` bytes received and sleeps until the average rate is back under the
    /// limit.
    async fn pace(&self, n: u64) {
        let total = self.sent.fetch_add(n, Ordering::Relaxed) + n;
        let due = Duration::from_secs_f64(total as f64 / self.bytes_per_sec as f64);
        let elapsed = self.started.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        }
    }
}

/// Attempts per file for faults that may pass.
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// An HTTP client for upstreams.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: Client,
    pacer: Option<Arc<Pacer>>,
}

impl Fetcher {
    pub fn new(pacer: Option<Arc<Pacer>>) -> Result<Self, FetchError> {
        // TLS goes through rustls with ring, the provider sqlx and the object store use (one
        // already installed stays).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .user_agent(concat!("rieter/", env!("CARGO_PKG_VERSION"), " (mirror)"))
            .connect_timeout(Duration::from_secs(10))
            // Between two reads of the body: a stalled upstream is a cut connection.
            .read_timeout(Duration::from_secs(60))
            .redirect(reqwest13::redirect::Policy::limited(5))
            .build()
            .map_err(|e| FetchError::Transport {
                url: String::new(),
                reason: format!("building the HTTP client: {e}"),
            })?;
        Ok(Self { client, pacer })
    }

    /// Downloads `url` into `path`, at most `limit` bytes. With `expected`, a partial file
    /// left at `path` by an earlier attempt is resumed, and the result must match; with
    /// `validators`, the request is conditional. Faults that may pass are retried with
    /// backoff; others fail at once.
    pub async fn download(
        &self,
        url: &Url,
        path: &Path,
        limit: u64,
        expected: Option<&Expected>,
        validators: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.attempt(url, path, limit, expected, validators).await {
                Err(err) if err.is_transient() && attempt < ATTEMPTS => {
                    tracing::debug!(%url, attempt, error = %err, "download failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    attempt += 1;
                }
                Err(err @ (FetchError::Digest { .. } | FetchError::Size { .. })) => {
                    // Never resumed from: it is not the file the database names.
                    let _ = tokio::fs::remove_file(path).await;
                    return Err(err);
                }
                result => return result,
            }
        }
    }

    /// Fetches a small file into memory (`lastupdate`): `None` when the upstream has none.
    pub async fn small(&self, url: &Url, limit: usize) -> Result<Option<Vec<u8>>, FetchError> {
        let transport = |e: reqwest13::Error| transport(url, e);
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(transport)?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND | StatusCode::GONE | StatusCode::FORBIDDEN => return Ok(None),
            status => {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status,
                });
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit: limit as u64,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    async fn attempt(
        &self,
        url: &Url,
        path: &Path,
        limit: u64,
        expected: Option<&Expected>,
        validators: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        let transport = |e: reqwest13::Error| transport(url, e);
        // Resume only a file whose final size is known, and only from a part that fits it.
        let mut have = match expected {
            Some(expected) => match tokio::fs::metadata(path).await {
                Ok(meta) if meta.len() < expected.size => meta.len(),
                Ok(_) => {
                    tokio::fs::remove_file(path).await?;
                    0
                }
                Err(_) => 0,
            },
            None => 0,
        };
        let mut request = self.client.get(url.clone());
        if have > 0 {
            request = request.header(header::RANGE, format!("bytes={have}-"));
        }
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &v.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, modified);
            }
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        match status {
            StatusCode::NOT_MODIFIED if validators.is_some() => return Ok(Fetched::NotModified),
            StatusCode::NOT_FOUND | StatusCode::GONE => return Ok(Fetched::Missing),
            StatusCode::PARTIAL_CONTENT if have > 0 && starts_at(&response, have) => {}
            // A server that ignores the range sends the whole file again.
            StatusCode::OK => have = 0,
            status => {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status,
                });
            }
        }
        let header_text = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let got_validators = Validators {
            etag: header_text(header::ETAG),
            last_modified: header_text(header::LAST_MODIFIED),
        };
        let limit = expected.map_or(limit, |e| e.size.min(limit));
        let mut hasher = Sha256::new();
        let mut file = if have > 0 {
            // Hash what is there, then append.
            let mut file = tokio::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .open(path)
                .await?;
            let mut buffer = vec![0u8; 256 * 1024];
            let mut read = 0;
            while read < have {
                let n = file.read(&mut buffer).await?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                read += n as u64;
            }
            file
        } else {
            tokio::fs::File::create(path).await?
        };
        let mut size = have;
        let mut transferred = 0;
        let result: Result<(), FetchError> = async {
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                size += chunk.len() as u64;
                transferred += chunk.len() as u64;
                if size > limit {
                    return Err(match expected {
                        Some(e) => FetchError::Size {
                            url: url.to_string(),
                            expected: e.size,
                            got: size,
                        },
                        None => FetchError::TooLarge {
                            url: url.to_string(),
                            limit,
                        },
                    });
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await?;
                if let Some(pacer) = &self.pacer {
                    pacer.pace(chunk.len() as u64).await;
                }
            }
            Ok(())
        }
        .await;
        // What arrived is kept for a resume, even when the connection was cut.
        file.flush().await?;
        file.sync_all().await?;
        result?;
        let digest = Digest::from_hasher(hasher);
        if let Some(expected) = expected {
            if size != expected.size {
                return Err(FetchError::Size {
                    url: url.to_string(),
                    expected: expected.size,
                    got: size,
                });
            }
            if digest != expected.digest {
                return Err(FetchError::Digest {
                    url: url.to_string(),
                    expected: expected.digest.clone(),
                    got: digest,
                });
            }
        }
        Ok(Fetched::Done {
            size,
            digest,
            validators: got_validators,
            transferred,
        })
    }
}

/// Whether a 206 answer starts where the part we have ends.
fn starts_at(response: &reqwest13::Response, offset: u64) -> bool {
    response
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| v.split('-').next())
        .and_then(|start| start.parse::<u64>().ok())
        == Some(offset)
}

fn transport(url: &Url, err: reqwest13::Error) -> FetchError {
    // The chain of sources says what went wrong (refused, reset, timed out).
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    FetchError::Transport {
        url: url.to_string(),
        reason,
    }
}
