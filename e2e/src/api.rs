//! Talking to the JSON API the way a client does: GETs with or without a key, and keys.

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{API_KEY, Rieter};

/// How a request presents its key.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Header(&'a str),
    /// HTTP Basic with the key as password, as pacman sends `https://_:KEY@host/...`.
    Basic(&'a str),
}

impl Auth<'_> {
    pub fn apply(self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::None => request,
            Auth::Bearer(key) => request.bearer_auth(key),
            Auth::Header(key) => request.header("X-Api-Key", key),
            Auth::Basic(key) => request.basic_auth("_", Some(key)),
        }
    }
}

impl Rieter {
    /// `method path` with `auth` and a JSON body; the status and the JSON answer (`Null` when
    /// there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = auth.apply(self.client.request(method, self.url(path)));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let resp = request.send().await.expect("an answer");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("the body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path` with `auth`; the status and the JSON body (`Null` when there is none).
    pub async fn get_json(
        &self,
        path: &str,
        auth: Auth<'_>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let resp = auth.apply(self.client.get(self.url(path))).send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| format!("GET {path}: {text}"))?
        };
        Ok((status, body))
    }

    /// `GET path` anonymously, asserting 200.
    pub async fn get_ok(&self, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.get_json(path, Auth::None).await?;
        ensure!(status == 200, "GET {path}: {status} {body}");
        Ok(body)
    }

    /// Creates a key with `scopes` (`[{"permission": ..., "distro": ..., "repo": ...}]`) using
    /// the admin key; returns the created key (with `secret`).
    pub async fn create_key(&self, name: &str, scopes: Value) -> anyhow::Result<Value> {
        let resp = self
            .client
            .post(self.url("/api/v1/keys"))
            .bearer_auth(API_KEY)
            .json(&json!({ "name": name, "scopes": scopes }))
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        ensure!(status == 201, "creating a key: {status} {body}");
        Ok(body)
    }

    /// Uploads `file` to `/{distro_repo}` with `auth`; returns the status and body.
    pub async fn upload_as(
        &self,
        distro_repo: &str,
        file: &std::path::Path,
        auth: Auth<'_>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let request = self
            .client
            .post(self.url(&format!("/{distro_repo}")))
            .body(std::fs::read(file)?);
        let resp = auth.apply(request).send().await?;
        let status = resp.status();
        let body = resp.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// `DELETE path` with `auth`; returns the status.
    pub async fn delete_as(&self, path: &str, auth: Auth<'_>) -> anyhow::Result<StatusCode> {
        Ok(auth
            .apply(self.client.delete(self.url(path)))
            .send()
            .await?
            .status())
    }
}
