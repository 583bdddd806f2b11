//! The server's agent protocol, over HTTP with the agent's key: claim, extend, report, log,
//! upload, finish. The key is sent to the configured server only.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// How long one request may take (uploads excepted: they take as long as they take).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Claim {
    pub build: Build,
    pub target: Target,
    pub lease_id: Uuid,
    pub extend_every_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Build {
    pub id: i64,
    pub arch: String,
    pub force: bool,
    pub attempts: i32,
    /// How much log the build has from earlier claims: this claim's log continues there.
    #[serde(default)]
    pub log_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub branch: Option<String>,
    pub path: Option<String>,
    pub distro: String,
    pub repo: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportedPackage {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanKind {
    Build,
    Skip,
    Wait,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    pub plan: PlanKind,
    pub waits_for: Option<String>,
}

/// A call the server refused or could not answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The lease ended (or, for a log chunk, it did not start at the log's end).
    #[error("{0}")]
    Conflict(String),
    #[error("{status}: {detail}")]
    Refused { status: StatusCode, detail: String },
    #[error("the server could not be reached: {0}")]
    Unreachable(#[from] reqwest::Error),
}

impl CallError {
    /// Worth trying again: the server was unreachable or failed for a moment.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Refused { status, .. } => status.is_server_error(),
            Self::Conflict(_) => false,
        }
    }
}

impl Client {
    pub fn new(base: &str, key: &str) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("rieter-agent/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base.to_owned(),
            key: key.to_owned(),
        })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, CallError> {
        let resp = req.send().await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let detail = resp
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| status.to_string());
        Err(if status == StatusCode::CONFLICT {
            CallError::Conflict(detail)
        } else {
            CallError::Refused { status, detail }
        })
    }

    /// A build for one of `arches`, or none.
    pub async fn claim(
        &self,
        name: &str,
        arches: &[String],
        labels: &[String],
    ) -> Result<Option<Claim>, CallError> {
        let req = self
            .request(Method::POST, "/api/v1/agent/claim")
            .timeout(REQUEST_TIMEOUT)
            .json(&json!({"name": name, "arches": arches, "labels": labels}));
        let resp = self.send(req).await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        Ok(Some(resp.json().await?))
    }

    /// Extends the lease: whether the build was cancelled.
    pub async fn extend(&self, build: i64, lease: Uuid) -> Result<bool, CallError> {
        let req = self
            .request(
                Method::POST,
                &format!("/api/v1/agent/builds/{build}/extend"),
            )
            .timeout(REQUEST_TIMEOUT)
            .json(&json!({"lease_id": lease}));
        let answer: serde_json::Value = self.send(req).await?.json().await?;
        Ok(answer["cancel"].as_bool().unwrap_or(false))
    }

    pub async fn report(
        &self,
        build: i64,
        lease: Uuid,
        packages: &[ReportedPackage],
        depends: &[String],
        provides: &[String],
    ) -> Result<Plan, CallError> {
        let req = self
            .request(
                Method::POST,
                &format!("/api/v1/agent/builds/{build}/report"),
            )
            .timeout(REQUEST_TIMEOUT)
            .json(&json!({
                "lease_id": lease, "packages": packages,
                "depends": depends, "provides": provides,
            }));
        Ok(self.send(req).await?.json().await?)
    }

    /// Appends `chunk` at `offset` of the build's log: the log's length after it.
    pub async fn append_log(
        &self,
        build: i64,
        lease: Uuid,
        offset: u64,
        chunk: Bytes,
    ) -> Result<u64, CallError> {
        let req = self
            .request(Method::POST, &format!("/api/v1/agent/builds/{build}/log"))
            .timeout(REQUEST_TIMEOUT)
            .query(&[
                ("lease_id", lease.to_string()),
                ("offset", offset.to_string()),
            ])
            .header("content-type", "application/octet-stream")
            .body(chunk);
        let answer: serde_json::Value = self.send(req).await?.json().await?;
        Ok(answer["log_bytes"].as_u64().unwrap_or(offset))
    }

    /// Uploads a package the build made (with its detached signature, as a form), and
    /// waits (up to 5 minutes) until it is published or failed: `Err` with the reason when
    /// it failed.
    pub async fn upload(
        &self,
        build: i64,
        lease: Uuid,
        file: &Path,
        signature: Option<Vec<u8>>,
    ) -> Result<(), CallError> {
        let opened = tokio::fs::File::open(file).await;
        let body = opened.map_err(|e| CallError::Refused {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            detail: format!("opening {}: {e}", file.display()),
        })?;
        let len = body.metadata().await.map(|m| m.len()).unwrap_or(0);
        let stream = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(body));
        let req = self
            .request(
                Method::POST,
                &format!("/api/v1/agent/builds/{build}/packages"),
            )
            .query(&[("lease_id", lease.to_string()), ("wait", "300".to_owned())]);
        let req = match signature {
            None => req
                .header("content-type", "application/octet-stream")
                .header("content-length", len)
                .body(stream),
            Some(signature) => {
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "package".to_owned());
                let form = reqwest::multipart::Form::new()
                    .part(
                        "package",
                        reqwest::multipart::Part::stream_with_length(stream, len)
                            .file_name(name.clone()),
                    )
                    .part(
                        "signature",
                        reqwest::multipart::Part::bytes(signature).file_name(format!("{name}.sig")),
                    );
                req.multipart(form)
            }
        };
        match self.send(req).await {
            Ok(resp) if resp.status() == StatusCode::ACCEPTED => Err(CallError::Refused {
                status: StatusCode::ACCEPTED,
                detail: "the package was not published within 5 minutes".into(),
            }),
            Ok(_) => Ok(()),
            Err(err) => Err(err),
        }
    }

    pub async fn finish(
        &self,
        build: i64,
        lease: Uuid,
        outcome: &str,
        error: Option<&str>,
    ) -> Result<(), CallError> {
        let req = self
            .request(
                Method::POST,
                &format!("/api/v1/agent/builds/{build}/finish"),
            )
            .timeout(REQUEST_TIMEOUT)
            .json(&json!({"lease_id": lease, "outcome": outcome, "error": error}));
        self.send(req).await?;
        Ok(())
    }
}
