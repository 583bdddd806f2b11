//! Python tools the tests drive (a client generated from `openapi.yaml`, schemathesis), each
//! in a virtual environment made once under the target directory with pip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, ensure};

/// The virtual environment `name` with `packages` installed; made on first use, and again when
/// its packages or its location changed.
/// Returns its directory; executables are in `bin/`.
pub fn venv(name: &str, packages: &[&str]) -> anyhow::Result<PathBuf> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = crate::binaries()
        .parent()
        .context("target directory")?
        .join("rieter-venvs")
        .join(name);
    // The marker names the location too: a virtual environment's scripts hold absolute
    // paths, so one whose target directory was moved must be made again.
    let marker = dir.join("rieter-installed");
    let wanted = format!("{}\n{}", dir.display(), packages.join("\n"));
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return Ok(dir);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&dir))
        .context("python3 -m venv (install python3 and python3-venv)")?;
    run(Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(packages))
    .with_context(|| format!("pip install {packages:?}"))?;
    std::fs::write(&marker, wanted)?;
    Ok(dir)
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The repository's root (where `openapi.yaml` is).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}
