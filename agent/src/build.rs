//! One build, from claim to finish: fetch the target, read its `.SRCINFO` after `pkgver()`,
//! let the server decide (build, skip, or wait for a dependency), build in the sandbox,
//! upload the packages, finish. The lease is extended alongside; a cancel, a lost lease or
//! the deadline stops the sandbox at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::client::{CallError, Claim, Client, PlanKind, ReportedPackage};
use crate::fetch;
use crate::log_sink::LogSink;
use crate::sandbox::{self, Halt, RunError, Sandbox, Step};
use crate::srcinfo;

/// What a build needs of the agent.
pub struct BuildContext {
    pub client: Client,
    pub sandbox: Box<dyn Sandbox>,
    pub data_dir: PathBuf,
    /// Signs each package before its upload (`RIETER_AGENT_SIGNING_KEY`).
    pub signing_key: Option<rieter::signing::ServerKey>,
    /// Told when the agent shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// How a build ended, as far as the agent goes.
#[derive(Debug)]
enum Ended {
    Built(usize),
    /// The server ended it (skipped) or queued it again (it waits for a dependency).
    Decided(&'static str),
}

#[derive(Debug, thiserror::Error)]
enum BuildError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// Runs the build `claim` to its end and reports it.
pub async fn run(ctx: &BuildContext, claim: Claim) {
    let id = claim.build.id;
    let lease = claim.lease_id;
    tracing::info!(attempt = claim.build.attempts, "build started");

    let (halt_tx, halt_rx) = watch::channel(None);
    let keeper = tokio::spawn(keep_lease(
        ctx.client.clone(),
        id,
        lease,
        Duration::from_secs(claim.extend_every_secs.max(1)),
        halt_tx.clone(),
        ctx.shutdown.clone(),
    ));
    let (log, log_task) = LogSink::start(ctx.client.clone(), id, lease, claim.build.log_bytes);
    let work = ctx
        .data_dir
        .join("builds")
        .join(format!("{id}-{}", claim.build.attempts));
    let deadline = Instant::now() + Duration::from_secs(claim.target.timeout_secs);

    let result = steps(ctx, &claim, &work, &log, halt_rx, deadline).await;
    let finish = match &result {
        Ok(Ended::Built(n)) => {
            log.note(&format!("published {n} package(s)"));
            Some(("succeeded", None))
        }
        Ok(Ended::Decided(why)) => {
            tracing::info!(why, "the server took the build back");
            None
        }
        Err(BuildError::Run(RunError::Halted(Halt::Cancelled))) => {
            log.note("cancelled");
            Some(("cancelled", Some("cancelled while it ran".to_owned())))
        }
        // Another agent may hold the build now, or will once the lease ends.
        Err(BuildError::Run(RunError::Halted(_))) => None,
        Err(BuildError::Call(CallError::Conflict(_))) => None,
        Err(BuildError::Run(RunError::TimedOut)) => {
            let why = format!("timed out after {} s", claim.target.timeout_secs);
            log.note(&why);
            Some(("failed", Some(why)))
        }
        Err(err) => {
            log.note(&format!("failed: {err}"));
            Some(("failed", Some(err.to_string())))
        }
    };
    log.close();
    let _ = tokio::time::timeout(Duration::from_secs(30), log_task).await;
    if let Some((outcome, error)) = finish
        && let Err(err) = ctx
            .client
            .finish(id, lease, outcome, error.as_deref())
            .await
    {
        tracing::warn!(error = %err, "could not finish the build; its lease will end");
    }
    keeper.abort();
    match &result {
        Ok(ended) => tracing::info!(?ended, "build ended"),
        Err(err) => tracing::info!(error = %err, "build ended"),
    }
    if let Err(err) = std::fs::remove_dir_all(&work) {
        tracing::warn!(error = %err, "could not remove the build's work directory");
    }
}

async fn steps(
    ctx: &BuildContext,
    claim: &Claim,
    work: &Path,
    log: &LogSink,
    mut halt: watch::Receiver<Option<Halt>>,
    deadline: Instant,
) -> Result<Ended, BuildError> {
    let (id, lease, arch) = (claim.build.id, claim.lease_id, claim.build.arch.as_str());
    log.note(&format!(
        "build {id} of {} for {arch}, published to {}/{} (attempt {}{})",
        claim.target.name,
        claim.target.distro,
        claim.target.repo,
        claim.build.attempts,
        if claim.build.force { ", forced" } else { "" }
    ));
    prepare(work)?;
    let src = work.join("src");
    fetch::fetch(&claim.target, work, &src, log, deadline).await?;
    open_to_builder(work).await?;

    let sandbox = ctx.sandbox.as_ref();
    let step = |args: &[&str], network: bool| Step {
        work: work.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        network,
        name: format!("rieter-build-{id}"),
    };
    let mut run = async |args: &[&str], network: bool, capture: bool| {
        sandbox::run(
            sandbox,
            &step(args, network),
            log,
            capture,
            &mut halt,
            deadline,
        )
        .await
    };

    let first = run(&["--printsrcinfo"], false, true).await?;
    let first = srcinfo::parse(&first, arch).context("reading the PKGBUILD's .SRCINFO")?;
    if first.remote_sources {
        log.note("downloading sources (with network)");
        run(&makepkg("--verifysource"), true, false).await?;
    }
    log.note("preparing sources and running pkgver() (without network)");
    run(&makepkg("--nobuild"), false, false).await?;
    let info = run(&["--printsrcinfo"], false, true).await?;
    let info = srcinfo::parse(&info, arch).context("reading the PKGBUILD's .SRCINFO")?;
    log.note(&format!(
        "{} {} makes {}",
        info.pkgbase,
        info.version,
        info.pkgnames.join(", ")
    ));

    let packages: Vec<ReportedPackage> = info
        .pkgnames
        .iter()
        .map(|name| ReportedPackage {
            name: name.clone(),
            version: info.version.clone(),
        })
        .collect();
    log.flush(Duration::from_secs(10)).await;
    let plan = ctx
        .client
        .report(id, lease, &packages, &info.depends, &info.provides)
        .await?;
    match plan.plan {
        PlanKind::Skip => {
            tracing::info!(build.id = id, "every version is published: skipped");
            return Ok(Ended::Decided("skipped"));
        }
        PlanKind::Wait => {
            tracing::info!(build.id = id, waits_for = ?plan.waits_for, "waits for a dependency");
            return Ok(Ended::Decided("waits for a dependency"));
        }
        PlanKind::Build => {}
    }

    log.note("building (without network)");
    run(&makepkg("--noextract"), false, false).await?;
    let built = packages_in(&work.join("out"), arch)?;
    if built.is_empty() {
        return Err(anyhow::anyhow!("makepkg made no package").into());
    }
    for file in &built {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let signature = match &ctx.signing_key {
            Some(key) => Some(sign(key, file).await?),
            None => None,
        };
        log.note(&format!(
            "uploading {name}{}",
            if signature.is_some() { " (signed)" } else { "" }
        ));
        ctx.client
            .upload(id, lease, file, signature)
            .await
            .map_err(|e| match e {
                CallError::Refused { detail, .. } => {
                    anyhow::anyhow!("the server refused {name}: {detail}").into()
                }
                other => BuildError::Call(other),
            })?;
    }
    Ok(Ended::Built(built.len()))
}

/// makepkg's arguments for a step: dependencies are not checked (`--syncdeps` is the build
/// root's business), a VCS source is not updated after the download step (`--holdver`), and
/// nothing asks or draws progress.
fn makepkg(step: &'static str) -> [&'static str; 5] {
    [
        step,
        "--nodeps",
        "--holdver",
        "--noconfirm",
        "--noprogressbar",
    ]
}

/// A detached signature of `file`, made outside the sandbox.
async fn sign(key: &rieter::signing::ServerKey, file: &Path) -> anyhow::Result<Vec<u8>> {
    let key = key.clone();
    let file = file.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let data = std::fs::File::open(&file)?;
        Ok(key.sign(std::io::BufReader::new(data))?.into_bytes())
    })
    .await?
    .context("signing a package")
}

/// A fresh work directory with what makepkg writes to.
fn prepare(work: &Path) -> anyhow::Result<()> {
    if work.exists() {
        std::fs::remove_dir_all(work)?;
    }
    for dir in ["out", "sources", "build", "logs"] {
        std::fs::create_dir_all(work.join(dir))?;
    }
    Ok(())
}

/// Gives the work directory to the build user (when the agent runs as root, as the unshare
/// and nspawn backends need).
async fn open_to_builder(work: &Path) -> anyhow::Result<()> {
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let owner = format!("{0}:{0}", sandbox::BUILD_UID);
    let status = tokio::process::Command::new("chown")
        .args(["-R", "-h", &owner])
        .arg(work)
        .status()
        .await?;
    anyhow::ensure!(
        status.success(),
        "could not hand the work directory to the build user"
    );
    Ok(())
}

/// The package files makepkg left in `out`, refusing ones for another architecture (the
/// host's makepkg builds for its own).
fn packages_in(out: &Path, arch: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !name.contains(".pkg.tar") || name.ends_with(".sig") {
            continue;
        }
        let stem = &name[..name.find(".pkg.tar").expect("contains")];
        anyhow::ensure!(
            stem.ends_with(&format!("-{arch}")) || stem.ends_with("-any"),
            "makepkg built {name}, not a package for {arch}: this agent's makepkg.conf builds for another architecture"
        );
        found.push(path);
    }
    found.sort();
    Ok(found)
}

/// Extends the lease every `every` until aborted: a cancel or a lost lease halts the build;
/// so does the agent shutting down.
async fn keep_lease(
    client: Client,
    id: i64,
    lease: uuid::Uuid,
    every: Duration,
    halt: watch::Sender<Option<Halt>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => {
                let _ = halt.send(Some(Halt::Shutdown));
                return;
            }
        }
        match client.extend(id, lease).await {
            Ok(true) => {
                if halt.borrow().is_none() {
                    tracing::info!(build.id = id, "cancelled on the server: stopping");
                    let _ = halt.send(Some(Halt::Cancelled));
                }
            }
            Ok(false) => {}
            Err(CallError::Conflict(_)) => {
                tracing::warn!(build.id = id, "the lease ended: stopping");
                let _ = halt.send(Some(Halt::LeaseLost));
                return;
            }
            Err(err) => tracing::warn!(build.id = id, error = %err, "could not extend the lease"),
        }
    }
}
