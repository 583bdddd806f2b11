//! The `docker` and `podman` backends: makepkg in a throwaway container of an Arch image
//! (`RIETER_AGENT_IMAGE`, default `archlinux:base-devel`), as `nobody`, with only the work
//! directory mounted, a read-only root and no network unless the step downloads sources.
//! Stopped with `docker kill`, since the engine, not the client, runs the container.

use tokio::process::Command;

use super::{BUILD_UID, Sandbox, Step, makepkg_env};

const INSIDE: &str = "/build";

pub struct Container {
    pub engine: &'static str,
    pub image: String,
}

impl Sandbox for Container {
    fn command(&self, step: &Step) -> Command {
        let mut cmd = Command::new(self.engine);
        cmd.args(["run", "--rm", "--name", &step.name])
            .args(["--user", &format!("{BUILD_UID}:{BUILD_UID}")])
            .args(["--read-only", "--tmpfs", "/tmp:exec", "--cap-drop", "ALL"])
            .args(["--security-opt", "no-new-privileges"])
            .args(["--network", if step.network { "bridge" } else { "none" }])
            .arg("--volume")
            .arg(format!("{}:{INSIDE}", step.work.display()))
            .args(["--workdir", &format!("{INSIDE}/src")]);
        for (key, value) in makepkg_env(INSIDE) {
            cmd.arg("--env").arg(format!("{key}={value}"));
        }
        cmd.arg(&self.image).arg("makepkg").args(&step.args);
        cmd.env_remove("RIETER_AGENT_KEY");
        cmd
    }

    fn stop(&self, step: &Step) -> Option<Command> {
        let mut cmd = Command::new(self.engine);
        cmd.args(["kill", &step.name]);
        Some(cmd)
    }
}
