//! `rieter publish DISTRO/REPO FILE...`: uploads each file (with its `.sig` under `--sig`),
//! optionally waits for the outcome on the server (`?wait=`), and prints one outcome a file.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use progenitor_client::ClientInfo;
use reqwest::StatusCode;
use serde::Serialize;
use tokio_util::io::ReaderStream;

use super::{Ctx, split_repo};
use crate::api::{Refusal, answer, answer_with_status};

/// Files from this size up get a progress bar (on a terminal).
const PROGRESS_FROM_BYTES: u64 = 1 << 20;

pub struct Publish<'a> {
    pub target: &'a str,
    pub files: &'a [std::path::PathBuf],
    pub sig: bool,
    pub wait: Option<u32>,
    pub allow_downgrade: bool,
    pub overwrite: bool,
}

/// What became of one file.
#[derive(Debug, Serialize)]
struct Outcome {
    file: String,
    /// `published`, `failed`, `accepted` (no --wait: queued on the server), `pending` (--wait
    /// ran out) or `error` (refused before it was stored, or not sent).
    outcome: &'static str,
    /// The upload, as the server described it.
    upload: Option<serde_json::Value>,
    /// Why it failed.
    error: Option<String>,
}

pub async fn run(ctx: &Ctx, args: Publish<'_>) -> anyhow::Result<ExitCode> {
    let (distro, repo) = split_repo(args.target)?;
    let mut outcomes = Vec::with_capacity(args.files.len());
    for path in args.files {
        let outcome = match send(ctx, &args, distro, repo, path).await {
            Ok((upload, status)) => Outcome {
                file: path.display().to_string(),
                outcome: match (status, args.wait) {
                    (StatusCode::CREATED, _) => "published",
                    (_, Some(_)) => "pending",
                    _ => "accepted",
                },
                upload: Some(upload),
                error: None,
            },
            Err(err) => match err.downcast::<Refusal>() {
                Ok(refusal) if refusal.status == StatusCode::UNPROCESSABLE_ENTITY => Outcome {
                    file: path.display().to_string(),
                    outcome: "failed",
                    upload: Some(failed_upload(ctx, refusal.body).await),
                    error: Some(refusal.detail),
                },
                Ok(refusal) => failure(path, refusal.to_string()),
                Err(err) => failure(path, format!("{err:#}")),
            },
        };
        if !ctx.out.json {
            print_outcome(&outcome, args.wait);
        }
        outcomes.push(outcome);
    }
    if ctx.out.json {
        ctx.out.json(&outcomes)?;
    }
    Ok(exit_code(&outcomes))
}

/// The failed upload a `422` names: read back, since the problem document's own `status` (422)
/// stands where the upload's would.
async fn failed_upload(ctx: &Ctx, problem: serde_json::Value) -> serde_json::Value {
    let id = problem
        .get("id")
        .and_then(|id| id.as_str())
        .and_then(|id| id.parse().ok());
    if let Some(id) = id
        && let Ok(upload) = answer(ctx.client.get_upload(&id).await).await
    {
        return serde_json::to_value(upload).unwrap_or(problem);
    }
    problem
}

fn failure(path: &Path, error: String) -> Outcome {
    Outcome {
        file: path.display().to_string(),
        outcome: "error",
        upload: None,
        error: Some(error),
    }
}

fn exit_code(outcomes: &[Outcome]) -> ExitCode {
    if outcomes
        .iter()
        .any(|o| matches!(o.outcome, "failed" | "error"))
    {
        ExitCode::from(1)
    } else if outcomes.iter().any(|o| o.outcome == "pending") {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_outcome(outcome: &Outcome, wait: Option<u32>) {
    let field = |name: &str| {
        outcome
            .upload
            .as_ref()
            .and_then(|u| u.get(name))
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_owned()
    };
    let package = outcome
        .upload
        .as_ref()
        .and_then(|u| u.get("package"))
        .and_then(|p| {
            Some(format!(
                "{} {} ({})",
                p.get("name")?.as_str()?,
                p.get("version")?.as_str()?,
                p.get("arch")?.as_str()?
            ))
        });
    let what = match outcome.outcome {
        "published" => format!("{} (upload {})", package.unwrap_or_default(), field("id")),
        "accepted" => format!(
            "upload {} is {}; `rieter status` follows it",
            field("id"),
            field("status")
        ),
        "pending" => format!(
            "upload {} still {} after {} s; `rieter status` follows it",
            field("id"),
            field("status"),
            wait.unwrap_or(0)
        ),
        "failed" => format!(
            "{} (upload {})",
            outcome.error.as_deref().unwrap_or(""),
            field("id")
        ),
        _ => outcome.error.clone().unwrap_or_default(),
    };
    println!("{:<9}  {}  {what}", outcome.outcome, outcome.file);
}

/// Uploads one file: the upload and the status it was answered with.
async fn send(
    ctx: &Ctx,
    args: &Publish<'_>,
    distro: &str,
    repo: &str,
    path: &Path,
) -> anyhow::Result<(serde_json::Value, StatusCode)> {
    let file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().await?.len();
    let bar = progress(ctx, path, size);
    let counted = bar.clone();
    let stream = ReaderStream::with_capacity(file, 256 * 1024)
        .inspect_ok(move |chunk| counted.inc(chunk.len() as u64));
    let body = reqwest::Body::wrap_stream(stream);
    let wait = args.wait.and_then(std::num::NonZeroU32::new);
    let flag = |on: bool| on.then_some(true);
    let result = if args.sig {
        send_form(ctx, args, distro, repo, path, body, size).await
    } else {
        let sent = ctx
            .client
            .upload_package(
                distro,
                repo,
                flag(args.allow_downgrade),
                flag(args.overwrite),
                wait,
                body,
            )
            .await;
        answer_with_status(sent)
            .await
            .map(|(upload, status)| (serde_json::to_value(upload).unwrap_or_default(), status))
    };
    bar.finish_and_clear();
    result
}

/// The upload as a form with the package and its signature (`FILE.sig`), which the generated
/// client does not send (it keeps the raw body of the two the document describes).
async fn send_form(
    ctx: &Ctx,
    args: &Publish<'_>,
    distro: &str,
    repo: &str,
    path: &Path,
    body: reqwest::Body,
    size: u64,
) -> anyhow::Result<(serde_json::Value, StatusCode)> {
    let sig_path = format!("{}.sig", path.display());
    let signature = tokio::fs::read(&sig_path)
        .await
        .with_context(|| format!("reading the signature {sig_path}"))?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let form = reqwest::multipart::Form::new()
        .part(
            "package",
            reqwest::multipart::Part::stream_with_length(body, size).file_name(name),
        )
        .part("signature", reqwest::multipart::Part::bytes(signature));
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(wait) = args.wait {
        query.push(("wait", wait.to_string()));
    }
    if args.allow_downgrade {
        query.push(("allow_downgrade", "true".into()));
    }
    if args.overwrite {
        query.push(("overwrite", "true".into()));
    }
    let url = format!("{}/{}/{}", ctx.client.baseurl(), distro, repo);
    let response = ctx
        .client
        .client()
        .post(url)
        .query(&query)
        .multipart(form)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("could not reach the server: {e}"))?;
    let status = response.status();
    let bytes = response.bytes().await?;
    if status.is_success() {
        Ok((
            serde_json::from_slice(&bytes).context("reading the server's answer")?,
            status,
        ))
    } else {
        Err(Refusal::read(status, &bytes).into())
    }
}

fn progress(ctx: &Ctx, path: &Path, size: u64) -> ProgressBar {
    if ctx.out.json || size < PROGRESS_FROM_BYTES {
        return ProgressBar::hidden();
    }
    // Drawn on stderr, and only when it is a terminal.
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
    );
    bar
}
