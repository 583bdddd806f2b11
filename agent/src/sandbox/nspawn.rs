//! The `nspawn` backend, for Arch hosts: makepkg in a `systemd-nspawn` container booted from
//! an Arch root (`RIETER_AGENT_CHROOT`, made by `mkarchroot` or `pacstrap` with
//! `base-devel`), in an ephemeral snapshot of it, as `nobody`, with only the work directory
//! bound and a private network unless the step downloads sources. Its dependencies come
//! from the root's repositories (add the target repository to its pacman.conf to build
//! against your own packages). makechrootpkg does the same with more ceremony; nspawn is
//! called directly so that the agent keeps the process to kill.

use std::path::PathBuf;

use tokio::process::Command;

use super::{BUILD_UID, Sandbox, Step, makepkg_env};

const INSIDE: &str = "/build";

pub struct Nspawn {
    pub root: PathBuf,
}

impl Sandbox for Nspawn {
    fn command(&self, step: &Step) -> Command {
        let mut cmd = Command::new("systemd-nspawn");
        cmd.args(["--quiet", "--ephemeral", "--register=no", "--keep-unit"])
            .arg("--directory")
            .arg(&self.root)
            .arg(format!("--bind={}:{INSIDE}", step.work.display()))
            .arg(format!("--user={BUILD_UID}"))
            .arg(format!("--chdir={INSIDE}/src"))
            .arg(format!("--machine={}", step.name));
        if !step.network {
            cmd.arg("--private-network");
        }
        for (key, value) in makepkg_env(INSIDE) {
            cmd.arg(format!("--setenv={key}={value}"));
        }
        cmd.arg("makepkg").args(&step.args);
        cmd.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        cmd
    }
}
