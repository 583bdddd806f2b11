//! The `unshare` backend: the host's makepkg in new mount, PID, IPC, UTS (and, without
//! network, network) namespaces, as `nobody` through `setpriv`, with the root file system
//! read-only, private `/tmp` and `/run` (which hides the host's sockets), the agent's data
//! directory hidden, and only the build's work directory writable. The PID namespace dies
//! with its first process: killing `unshare` (which kills its child) ends every process the
//! build started. `setpriv --pdeathsig` makes that happen when the agent itself dies.
//! Runs as root; on a host without Arch's repositories, builds use `--nodeps`.

use std::path::PathBuf;

use tokio::process::Command;

use super::{BUILD_UID, Sandbox, Step, makepkg_env};

/// Where the work directory appears inside the sandbox.
const INSIDE: &str = "/run/build";

pub struct Unshare {
    /// Host paths the build must not see: the agent's data directory (other builds) and
    /// its config file (its key).
    pub hidden: Vec<PathBuf>,
}

/// Run by root inside the new namespaces: `$1` is the work directory, `$2...` the paths to
/// hide (directories under an empty tmpfs, files under `/dev/null`); then makepkg's
/// environment and arguments after `--`. The shell stays the namespace's first process,
/// as root: it keeps the parent-death signal `unshare --kill-child` gives it (a process
/// that changes its uid loses it), so the build dies with `unshare`.
const SETUP: &str = r#"set -eu
work="$1"; shift
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mkdir /run/build
mount --bind "$work" /run/build
while [ "$1" != "--" ]; do
    if [ -d "$1" ]; then mount -t tmpfs -o mode=700,size=64k tmpfs "$1";
    elif [ -e "$1" ]; then mount --bind /dev/null "$1"; fi
    shift
done
shift
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -o remount,bind,ro /
cd /run/build/src
setpriv --reuid=UID --regid=UID --clear-groups --no-new-privs --reset-env -- env "$@"
"#;

impl Sandbox for Unshare {
    fn command(&self, step: &Step) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--", "unshare"])
            .args([
                "--mount",
                "--pid",
                "--fork",
                "--kill-child=SIGKILL",
                "--mount-proc",
            ])
            .args(["--ipc", "--uts", "--propagation", "private"]);
        if !step.network {
            cmd.arg("--net");
        }
        let setup = SETUP.replace("UID", &BUILD_UID.to_string());
        cmd.args(["--", "/bin/sh", "-c", &setup, "sh"])
            .arg(&step.work)
            .args(&self.hidden)
            .arg("--");
        for (key, value) in makepkg_env(INSIDE) {
            cmd.arg(format!("{key}={value}"));
        }
        cmd.arg("makepkg").args(&step.args);
        // Nothing of the agent's environment (its key) reaches the sandbox's first process.
        cmd.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_hides_the_data_directory_and_drops_the_network_when_asked() {
        let sandbox = Unshare {
            hidden: vec![PathBuf::from("/var/lib/rieter-agent")],
        };
        let mut step = Step {
            work: PathBuf::from("/var/lib/rieter-agent/builds/7"),
            args: vec!["--nodeps".into()],
            network: false,
            name: "rieter-build-7".into(),
        };
        let args = |cmd: &Command| -> Vec<String> {
            cmd.as_std()
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let offline = args(&sandbox.command(&step));
        assert!(offline.contains(&"--net".to_owned()));
        assert!(offline.contains(&"/var/lib/rieter-agent".to_owned()));
        assert!(offline.contains(&"PKGDEST=/run/build/out".to_owned()));
        assert_eq!(offline.last().unwrap(), "--nodeps");
        step.network = true;
        assert!(!args(&sandbox.command(&step)).contains(&"--net".to_owned()));
        let cmd = sandbox.command(&step);
        let set: Vec<_> = cmd
            .as_std()
            .get_envs()
            .filter(|(_, v)| v.is_some())
            .collect();
        assert_eq!(
            set.len(),
            1,
            "only PATH is set; the rest is cleared: {set:?}"
        );
    }
}
