//! A throwaway packager key in a GnuPG home of its own: what a packager signs packages with
//! (`gpg --detach-sign`, as makepkg --sign does).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, ensure};

pub struct Packager {
    home: tempfile::TempDir,
    pub fingerprint: String,
}

impl Packager {
    /// A new Ed25519 signing key for `user_id` (`Name <mail>`), without a passphrase.
    pub fn new(user_id: &str) -> anyhow::Result<Self> {
        let home = tempfile::Builder::new().prefix("rieter-gpg-").tempdir()?;
        let mut packager = Self {
            home,
            fingerprint: String::new(),
        };
        packager.gpg(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            user_id,
            "ed25519",
            "sign",
            "never",
        ])?;
        let listing = packager.gpg(&["--with-colons", "--list-keys"])?;
        let fingerprint = String::from_utf8(listing)?
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| f.len() == 40))
            .context("no fingerprint in gpg's listing")?
            .to_owned();
        packager.fingerprint = fingerprint;
        Ok(packager)
    }

    /// The armored public key (`gpg --armor --export`).
    pub fn public_key(&self) -> anyhow::Result<String> {
        Ok(String::from_utf8(self.gpg(&[
            "--armor",
            "--export",
            &self.fingerprint,
        ])?)?)
    }

    /// A detached binary signature of `file`.
    pub fn sign(&self, file: &Path) -> anyhow::Result<Vec<u8>> {
        self.gpg(&[
            "--detach-sign",
            "--output",
            "-",
            &file.display().to_string(),
        ])
    }

    /// The same signature, ASCII-armored (what pacman cannot use).
    pub fn sign_armored(&self, file: &Path) -> anyhow::Result<Vec<u8>> {
        self.gpg(&[
            "--armor",
            "--detach-sign",
            "--output",
            "-",
            &file.display().to_string(),
        ])
    }

    fn gpg(&self, args: &[&str]) -> anyhow::Result<Vec<u8>> {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--yes", "--pinentry-mode", "loopback"])
            .args(args)
            .output()
            .context("running gpg")?;
        ensure!(
            out.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(out.stdout)
    }
}

impl Drop for Packager {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}
