//! A real `pacman` with its own root, database path, cache and configuration in a temporary
//! directory, pointed at a running Rieter.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, ensure};

pub struct Pacman {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Pacman {
    /// `repos` are (repository name, `Server` URL) pairs, in pacman.conf order. Signatures
    /// are not checked.
    pub fn new(repos: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::with_sig_level(repos, "Never")
    }

    /// As [`Pacman::new`], checking signatures as `sig_level` says (e.g. `Required
    /// DatabaseRequired`) against its own keyring ([`Pacman::trust`]).
    pub fn with_sig_level(repos: &[(&str, &str)], sig_level: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("rieter-pacman-")
            .tempdir()?;
        let root = dir.path();
        for sub in ["root", "db", "cache", "gnupg", "hooks"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        let mut conf = format!(
            "[options]\nRootDir = {0}/root\nDBPath = {0}/db\nCacheDir = {0}/cache\n\
             LogFile = {0}/pacman.log\nGPGDir = {0}/gnupg\nHookDir = {0}/hooks\n\
             Architecture = x86_64\nSigLevel = {1}\nLocalFileSigLevel = Never\n\
             DisableDownloadTimeout\n",
            root.display(),
            sig_level
        );
        for (name, server) in repos {
            conf.push_str(&format!("\n[{name}]\nServer = {server}\n"));
        }
        let config = root.join("pacman.conf");
        std::fs::write(&config, conf)?;
        Ok(Self { dir, config })
    }

    /// Adds an armored public key to this pacman's keyring and signs it locally, as a user
    /// does with `pacman-key --add` and `--lsign-key` (the keyring is made on first use).
    pub fn trust(&self, armored: &str, fingerprint: &str) -> anyhow::Result<()> {
        let gpgdir = self.dir.path().join("gnupg");
        if !gpgdir.join("pubring.gpg").exists() && !gpgdir.join("pubring.kbx").exists() {
            self.pacman_key(&["--init"])?;
        }
        let file = self.dir.path().join(format!("{fingerprint}.asc"));
        std::fs::write(&file, armored)?;
        self.pacman_key(&["--add", &file.display().to_string()])?;
        self.pacman_key(&["--lsign-key", fingerprint])?;
        Ok(())
    }

    fn pacman_key(&self, args: &[&str]) -> anyhow::Result<()> {
        let out = Command::new("pacman-key")
            .arg("--config")
            .arg(&self.config)
            .arg("--gpgdir")
            .arg(self.dir.path().join("gnupg"))
            .args(args)
            .output()
            .context("running pacman-key")?;
        ensure!(
            out.status.success(),
            "pacman-key {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs pacman with this configuration; as non-root it runs under fakeroot, since pacman
    /// refuses to modify its database otherwise.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let mut cmd = if is_root {
            Command::new("pacman")
        } else {
            let mut cmd = Command::new("fakeroot");
            cmd.arg("pacman");
            cmd
        };
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--noconfirm")
            .arg("--color")
            .arg("never")
            .args(args);
        cmd.output().context("running pacman")
    }

    /// Runs pacman and insists it succeeds; returns its standard output followed by its
    /// standard error (where `--debug` writes).
    pub fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.run(args)?;
        ensure!(
            out.status.success(),
            "pacman {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr))
    }
}
