//! Where makepkg runs: a sandbox that holds no secret (the agent, outside it, talks to the
//! server), runs as an unprivileged user, has no network unless a step needs to download
//! sources, and is killed as a whole on cancel or timeout. One trait, several backends:
//! `unshare` (namespaces and `setpriv` on the host's own makepkg: works anywhere, the tests'
//! backend), `nspawn` (a `systemd-nspawn` container of an Arch root) and `docker`/`podman`
//! (an Arch image).

mod container;
mod nspawn;
mod run;
mod unshare;

use std::path::{Path, PathBuf};

use tokio::process::Command;

pub use run::{Halt, RunError, run};

/// The uid and gid builds run as inside every sandbox (`nobody`).
pub const BUILD_UID: u32 = 65534;

/// One makepkg run.
#[derive(Debug, Clone)]
pub struct Step {
    /// The build's work directory on the host: `src/` holds the PKGBUILD, `out/` receives
    /// the packages. It is the only place the step may write to (besides a private `/tmp`).
    pub work: PathBuf,
    /// makepkg's arguments.
    pub args: Vec<String>,
    /// Whether the step may reach the network (only to download sources).
    pub network: bool,
    /// A name for the step's container, where the backend has one.
    pub name: String,
}

/// A way to run makepkg in isolation.
pub trait Sandbox: Send + Sync {
    /// The command running `step`; its standard output and error are the step's log.
    fn command(&self, step: &Step) -> Command;

    /// A command to run to stop a step, for backends whose command is only a client of
    /// the process that runs it (a container engine). Killing the command is enough
    /// otherwise.
    fn stop(&self, _step: &Step) -> Option<Command> {
        None
    }
}

/// The backends, as configured (`RIETER_AGENT_SANDBOX`).
#[derive(Debug, Clone)]
pub enum Backend {
    Unshare,
    Nspawn { root: PathBuf },
    Docker { image: String },
    Podman { image: String },
}

impl Backend {
    pub fn parse(
        name: &str,
        image: Option<String>,
        chroot: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let image = || {
            image
                .clone()
                .unwrap_or_else(|| "archlinux:base-devel".to_owned())
        };
        Ok(match name {
            "unshare" => Self::Unshare,
            "docker" => Self::Docker { image: image() },
            "podman" => Self::Podman { image: image() },
            "nspawn" => Self::Nspawn {
                root: chroot.ok_or_else(|| {
                    anyhow::anyhow!(
                        "the nspawn sandbox needs RIETER_AGENT_CHROOT: an Arch root with \
                         base-devel (mkarchroot or pacstrap makes one)"
                    )
                })?,
            },
            other => anyhow::bail!(
                "RIETER_AGENT_SANDBOX is unshare, nspawn, docker or podman, not {other:?}"
            ),
        })
    }

    /// The sandbox, hiding the agent's data directory and its secrets' files (its config,
    /// its signing key) from builds.
    pub fn sandbox(&self, data_dir: &Path, secret_files: &[&Path]) -> Box<dyn Sandbox> {
        match self {
            Self::Unshare => Box::new(unshare::Unshare {
                hidden: std::iter::once(data_dir)
                    .chain(secret_files.iter().copied())
                    .map(Path::to_owned)
                    .collect(),
            }),
            Self::Nspawn { root } => Box::new(nspawn::Nspawn { root: root.clone() }),
            Self::Docker { image } => Box::new(container::Container {
                engine: "docker",
                image: image.clone(),
            }),
            Self::Podman { image } => Box::new(container::Container {
                engine: "podman",
                image: image.clone(),
            }),
        }
    }
}

/// makepkg's environment inside the sandbox, with the work directory at `work`: every path
/// it writes to is in there.
fn makepkg_env(work: &str) -> Vec<(String, String)> {
    [
        ("HOME", work.to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ("LANG", "C.UTF-8".to_owned()),
        ("PKGDEST", format!("{work}/out")),
        ("SRCDEST", format!("{work}/sources")),
        ("BUILDDIR", format!("{work}/build")),
        ("LOGDEST", format!("{work}/logs")),
        ("SRCPKGDEST", format!("{work}/out")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
