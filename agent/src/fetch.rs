//! Fetching a target into a build's work directory, outside the sandbox and without the
//! agent's key: a git repository (shallow, at its branch) with the PKGBUILD in `path`, or
//! one PKGBUILD by URL (at most 1 MiB). Both are bounded by the build's deadline.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use futures::StreamExt;
use tokio::process::Command;
use tokio::time::Instant;

use crate::client::Target;
use crate::log_sink::LogSink;

const MAX_PKGBUILD: usize = 1 << 20;

/// Puts the target's PKGBUILD directory at `src` (which must not exist).
pub async fn fetch(
    target: &Target,
    work: &Path,
    src: &Path,
    log: &LogSink,
    deadline: Instant,
) -> anyhow::Result<()> {
    match target.kind.as_str() {
        "git" => clone(target, work, src, log, deadline).await,
        "url" => download(&target.url, src, log, deadline).await,
        other => bail!("unknown target kind {other:?}"),
    }
}

async fn clone(
    target: &Target,
    work: &Path,
    src: &Path,
    log: &LogSink,
    deadline: Instant,
) -> anyhow::Result<()> {
    let checkout = work.join("checkout");
    log.note(&format!(
        "cloning {} ({})",
        target.url,
        target.branch.as_deref().unwrap_or("default branch")
    ));
    let mut git = Command::new("git");
    git.args([
        "clone",
        "--depth",
        "1",
        "--single-branch",
        "--no-tags",
        "--quiet",
    ]);
    if let Some(branch) = &target.branch {
        git.args(["--branch", branch]);
    }
    git.arg("--").arg(&target.url).arg(&checkout);
    git.env_remove("RIETER_AGENT_KEY")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout_at(deadline, git.output())
        .await
        .context("the build ran out of time while cloning")?
        .context("running git")?;
    log.write(&output.stderr);
    ensure!(
        output.status.success(),
        "git clone failed ({})",
        output.status
    );

    // The PKGBUILD's directory must be inside the checkout, symbolic links resolved.
    let root = std::fs::canonicalize(&checkout)?;
    let dir = std::fs::canonicalize(checkout.join(target.path.as_deref().unwrap_or(".")))
        .with_context(|| {
            format!(
                "the repository has no {}",
                target.path.as_deref().unwrap_or(".")
            )
        })?;
    ensure!(
        dir.starts_with(&root),
        "the target's path leads out of the repository"
    );
    ensure!(
        dir.join("PKGBUILD").is_file(),
        "there is no PKGBUILD in {}",
        target.path.as_deref().unwrap_or("the repository's root")
    );
    let status = Command::new("cp")
        .arg("-a")
        .arg(&dir)
        .arg(src)
        .status()
        .await?;
    ensure!(status.success(), "copying the PKGBUILD's directory");
    let _ = std::fs::remove_dir_all(src.join(".git"));
    Ok(())
}

async fn download(url: &str, src: &Path, log: &LogSink, deadline: Instant) -> anyhow::Result<()> {
    log.note(&format!("downloading {url}"));
    // A client of its own: the agent's key is for its server, not for where PKGBUILDs are.
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?;
    let fetch = async {
        let resp = http.get(url).send().await?.error_for_status()?;
        let mut body = resp.bytes_stream();
        let mut pkgbuild = Vec::new();
        while let Some(part) = body.next().await {
            pkgbuild.extend_from_slice(&part?);
            ensure!(
                pkgbuild.len() <= MAX_PKGBUILD,
                "the PKGBUILD is larger than 1 MiB"
            );
        }
        anyhow::Ok(pkgbuild)
    };
    let pkgbuild = tokio::time::timeout_at(deadline, fetch)
        .await
        .context("the build ran out of time while downloading")??;
    std::fs::create_dir(src)?;
    std::fs::write(src.join("PKGBUILD"), pkgbuild)?;
    Ok(())
}
