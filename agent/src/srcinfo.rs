//! What the agent needs of a `.SRCINFO` (`makepkg --printsrcinfo`, run in the sandbox after
//! `pkgver()`): every package's name and full version, what they need to build and run, and
//! what they provide. Arch-specific fields count for the architecture built. The input is
//! hostile and bounded by the caller (1 MiB); unknown keys are ignored, as makepkg does.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SrcInfo {
    pub pkgbase: String,
    /// `epoch:pkgver-pkgrel`, the epoch left out when there is none.
    pub version: String,
    pub pkgnames: Vec<String>,
    pub depends: Vec<String>,
    pub provides: Vec<String>,
    /// Some source is downloaded (a URL or a VCS repository), not a file beside the PKGBUILD.
    pub remote_sources: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SrcInfoError {
    #[error(".SRCINFO is not text")]
    NotText,
    #[error(".SRCINFO has no {0}")]
    Missing(&'static str),
}

/// Reads `text` for a build for `arch`.
pub fn parse(text: &[u8], arch: &str) -> Result<SrcInfo, SrcInfoError> {
    let text = std::str::from_utf8(text).map_err(|_| SrcInfoError::NotText)?;
    let mut info = SrcInfo::default();
    let (mut pkgver, mut pkgrel, mut epoch) = (None, None, None);
    let dep_keys = ["depends", "makedepends", "checkdepends"];
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once(" = ") else {
            continue;
        };
        let value = value.trim();
        // `depends_x86_64` counts for x86_64 builds only.
        let own_arch = format!("_{arch}");
        let key = match key.strip_suffix(own_arch.as_str()) {
            Some(base) => base,
            None if dep_keys
                .iter()
                .chain(&["provides", "source"])
                .any(|k| key.starts_with(&format!("{k}_"))) =>
            {
                continue;
            }
            None => key,
        };
        match key {
            "pkgbase" => info.pkgbase = value.to_owned(),
            "pkgname" => info.pkgnames.push(value.to_owned()),
            "pkgver" => pkgver = Some(value.to_owned()),
            "pkgrel" => pkgrel = Some(value.to_owned()),
            "epoch" => epoch = Some(value.to_owned()),
            "provides" => info.provides.push(value.to_owned()),
            "source" => info.remote_sources |= value.contains("://"),
            k if dep_keys.contains(&k) => info.depends.push(value.to_owned()),
            _ => {}
        }
    }
    if info.pkgnames.is_empty() {
        return Err(SrcInfoError::Missing("pkgname"));
    }
    let pkgver = pkgver.ok_or(SrcInfoError::Missing("pkgver"))?;
    let pkgrel = pkgrel.ok_or(SrcInfoError::Missing("pkgrel"))?;
    info.version = match epoch.filter(|e| !e.is_empty() && e != "0") {
        Some(epoch) => format!("{epoch}:{pkgver}-{pkgrel}"),
        None => format!("{pkgver}-{pkgrel}"),
    };
    for list in [&mut info.pkgnames, &mut info.depends, &mut info.provides] {
        list.sort();
        list.dedup();
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPLIT: &str = "pkgbase = tools
\tpkgdesc = Tools
\tpkgver = 2.1
\tpkgrel = 3
\tepoch = 1
\tarch = x86_64
\tarch = aarch64
\tmakedepends = cmake>=3
\tdepends = glibc
\tdepends_aarch64 = libarm
\tdepends_x86_64 = libx86

pkgname = tools
\tprovides = tools-bin=2.1

pkgname = tools-libs
\tdepends = zlib
";

    #[test]
    fn split_packages_share_the_version_and_pool_their_relations() {
        let info = parse(SPLIT.as_bytes(), "x86_64").unwrap();
        assert_eq!(info.pkgbase, "tools");
        assert_eq!(info.version, "1:2.1-3");
        assert_eq!(info.pkgnames, ["tools", "tools-libs"]);
        assert_eq!(info.depends, ["cmake>=3", "glibc", "libx86", "zlib"]);
        assert_eq!(info.provides, ["tools-bin=2.1"]);
        assert!(!info.remote_sources);
        let remote = format!("{SPLIT}\tsource_x86_64 = tools.tar.gz::https://example.org/t.tgz\n");
        assert!(parse(remote.as_bytes(), "x86_64").unwrap().remote_sources);
        assert!(!parse(remote.as_bytes(), "aarch64").unwrap().remote_sources);
    }

    #[test]
    fn no_epoch_and_broken_input() {
        let info = parse(
            b"pkgbase = a\n\tpkgver = 1\n\tpkgrel = 1\npkgname = a\n",
            "x86_64",
        );
        assert_eq!(info.unwrap().version, "1-1");
        assert_eq!(
            parse(b"pkgbase = a\n\tpkgver = 1\n", "x86_64"),
            Err(SrcInfoError::Missing("pkgname"))
        );
        assert_eq!(parse(&[0xff, 0xfe], "x86_64"), Err(SrcInfoError::NotText));
    }
}
