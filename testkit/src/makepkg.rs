//! Real package files for tests, built by `makepkg` from generated PKGBUILDs.
//!
//! Builds are cached under `target/rieter-fixtures/<hash of the PKGBUILD>`, so a fixture costs a
//! makepkg run once per checkout. makepkg refuses to run as root; as root, builds run as the
//! unprivileged `rieter-builder` user (created on first use).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, bail, ensure};
use sha2::{Digest, Sha256};

/// The compression makepkg applies (its `PKGEXT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ext {
    Zst,
    Xz,
    Gz,
    Bz2,
    Tar,
}

impl Ext {
    pub const ALL: [Ext; 5] = [Ext::Zst, Ext::Xz, Ext::Gz, Ext::Bz2, Ext::Tar];

    pub fn pkgext(self) -> &'static str {
        match self {
            Ext::Zst => ".pkg.tar.zst",
            Ext::Xz => ".pkg.tar.xz",
            Ext::Gz => ".pkg.tar.gz",
            Ext::Bz2 => ".pkg.tar.bz2",
            Ext::Tar => ".pkg.tar",
        }
    }
}

/// One package of a PKGBUILD. The first one names the build; further ones make it a split
/// package (they share pkgbase, pkgver, pkgrel and epoch).
#[derive(Debug, Clone, Default)]
pub struct Pkg {
    pub name: String,
    pub arch: Option<String>,
    pub desc: Option<String>,
    pub depends: Vec<String>,
    pub optdepends: Vec<String>,
    pub provides: Vec<String>,
    pub conflicts: Vec<String>,
    pub replaces: Vec<String>,
    pub groups: Vec<String>,
    pub licenses: Vec<String>,
    pub backup: Vec<String>,
    /// Files to install, as (path relative to the root, contents).
    pub files: Vec<(String, String)>,
    /// Empty directories to create.
    pub dirs: Vec<String>,
}

impl Pkg {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            files: vec![(format!("usr/share/{name}/README"), format!("{name}\n"))],
            ..Self::default()
        }
    }

    pub fn arch(mut self, arch: &str) -> Self {
        self.arch = Some(arch.to_owned());
        self
    }

    pub fn desc(mut self, desc: &str) -> Self {
        self.desc = Some(desc.to_owned());
        self
    }

    pub fn depends(mut self, deps: &[&str]) -> Self {
        self.depends = deps.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn file(mut self, path: &str, contents: &str) -> Self {
        self.files.push((path.to_owned(), contents.to_owned()));
        self
    }
}

/// A PKGBUILD to build.
#[derive(Debug, Clone)]
pub struct Build {
    pub pkgbase: String,
    pub pkgver: String,
    pub pkgrel: String,
    pub epoch: Option<String>,
    /// Default architecture of the packages (`x86_64` unless set).
    pub arch: String,
    pub desc: String,
    pub url: Option<String>,
    pub makedepends: Vec<String>,
    pub checkdepends: Vec<String>,
    pub ext: Ext,
    /// Bytes of incompressible data added to the first package, to make large packages.
    pub padding_bytes: usize,
    pub packages: Vec<Pkg>,
}

impl Build {
    /// A single small package `name-pkgver-1` for x86_64, compressed with zstd.
    pub fn new(name: &str, pkgver: &str) -> Self {
        Self {
            pkgbase: name.to_owned(),
            pkgver: pkgver.to_owned(),
            pkgrel: "1".to_owned(),
            epoch: None,
            arch: "x86_64".to_owned(),
            desc: format!("Rieter test package {name}"),
            url: None,
            makedepends: Vec::new(),
            checkdepends: Vec::new(),
            ext: Ext::Zst,
            padding_bytes: 0,
            packages: vec![Pkg::new(name)],
        }
    }

    pub fn pkgrel(mut self, pkgrel: &str) -> Self {
        self.pkgrel = pkgrel.to_owned();
        self
    }

    pub fn epoch(mut self, epoch: &str) -> Self {
        self.epoch = Some(epoch.to_owned());
        self
    }

    pub fn arch(mut self, arch: &str) -> Self {
        self.arch = arch.to_owned();
        self
    }

    pub fn ext(mut self, ext: Ext) -> Self {
        self.ext = ext;
        self
    }

    pub fn desc(mut self, desc: &str) -> Self {
        self.desc = desc.to_owned();
        self
    }

    pub fn padding(mut self, bytes: usize) -> Self {
        self.padding_bytes = bytes;
        self
    }

    /// Edits the first (or only) package.
    pub fn with_pkg(mut self, edit: impl FnOnce(Pkg) -> Pkg) -> Self {
        let first = self.packages.remove(0);
        self.packages.insert(0, edit(first));
        self
    }

    /// Adds a further package, making this a split package.
    pub fn split(mut self, pkg: Pkg) -> Self {
        self.packages.push(pkg);
        self
    }

    /// The full version as written in `.PKGINFO`.
    pub fn version(&self) -> String {
        match &self.epoch {
            Some(epoch) => format!("{epoch}:{}-{}", self.pkgver, self.pkgrel),
            None => format!("{}-{}", self.pkgver, self.pkgrel),
        }
    }

    pub fn pkgbuild(&self) -> String {
        let mut out = String::new();
        let names: Vec<_> = self.packages.iter().map(|p| quote(&p.name)).collect();
        let _ = writeln!(out, "pkgbase={}", quote(&self.pkgbase));
        let _ = writeln!(out, "pkgname=({})", names.join(" "));
        let _ = writeln!(out, "pkgver={}", quote(&self.pkgver));
        let _ = writeln!(out, "pkgrel={}", quote(&self.pkgrel));
        if let Some(epoch) = &self.epoch {
            let _ = writeln!(out, "epoch={}", quote(epoch));
        }
        let _ = writeln!(out, "pkgdesc={}", quote(&self.desc));
        let _ = writeln!(out, "arch=({})", quote(&self.arch));
        if let Some(url) = &self.url {
            let _ = writeln!(out, "url={}", quote(url));
        }
        let _ = writeln!(out, "license=('custom')");
        write_array(&mut out, "makedepends", &self.makedepends);
        write_array(&mut out, "checkdepends", &self.checkdepends);
        let _ = writeln!(out, "options=('!strip' '!zipman' 'emptydirs')");
        for (i, pkg) in self.packages.iter().enumerate() {
            let _ = writeln!(out, "package_{}() {{", pkg.name);
            if let Some(arch) = &pkg.arch {
                let _ = writeln!(out, "  arch=({})", quote(arch));
            }
            if let Some(desc) = &pkg.desc {
                let _ = writeln!(out, "  pkgdesc={}", quote(desc));
            }
            write_array(&mut out, "  depends", &pkg.depends);
            write_array(&mut out, "  optdepends", &pkg.optdepends);
            write_array(&mut out, "  provides", &pkg.provides);
            write_array(&mut out, "  conflicts", &pkg.conflicts);
            write_array(&mut out, "  replaces", &pkg.replaces);
            write_array(&mut out, "  groups", &pkg.groups);
            write_array(&mut out, "  license", &pkg.licenses);
            write_array(&mut out, "  backup", &pkg.backup);
            for dir in &pkg.dirs {
                let _ = writeln!(out, "  mkdir -p \"$pkgdir\"/{}", quote(dir));
            }
            for (path, contents) in &pkg.files {
                let parent = Path::new(path)
                    .parent()
                    .and_then(Path::to_str)
                    .unwrap_or("");
                if !parent.is_empty() {
                    let _ = writeln!(out, "  mkdir -p \"$pkgdir\"/{}", quote(parent));
                }
                let _ = writeln!(
                    out,
                    "  printf '%s' {} > \"$pkgdir\"/{}",
                    quote(contents),
                    quote(path)
                );
            }
            if i == 0 && self.padding_bytes > 0 {
                let _ = writeln!(out, "  mkdir -p \"$pkgdir/usr/share/padding\"");
                let _ = writeln!(
                    out,
                    "  head -c {} /dev/urandom > \"$pkgdir/usr/share/padding/blob\"",
                    self.padding_bytes
                );
            }
            let _ = writeln!(out, "}}");
        }
        out
    }

    /// Builds the packages (or returns them from the cache), in `packages` order.
    pub fn build(&self) -> anyhow::Result<Vec<PathBuf>> {
        let pkgbuild = self.pkgbuild();
        let key = {
            let mut hasher = Sha256::new();
            hasher.update(pkgbuild.as_bytes());
            hasher.update(self.ext.pkgext().as_bytes());
            hex::encode(&hasher.finalize()[..12])
        };
        let cache = fixture_root().join(&key);
        let names: Vec<String> = self
            .packages
            .iter()
            .map(|p| {
                let arch = p.arch.as_deref().unwrap_or(&self.arch);
                format!("{}-{}-{arch}{}", p.name, self.version(), self.ext.pkgext())
            })
            .collect();
        let expected: Vec<PathBuf> = names.iter().map(|n| cache.join(n)).collect();
        if expected.iter().all(|p| p.is_file()) {
            return Ok(expected);
        }

        // makepkg runs as an unprivileged user when we are root, so it works in a world-writable
        // directory under the system temp dir; the results are then copied into the cache.
        let work = tempfile::Builder::new()
            .prefix("rieter-makepkg-")
            .tempdir()?;
        let out = work.path().join("out");
        std::fs::create_dir(&out)?;
        std::fs::write(work.path().join("PKGBUILD"), &pkgbuild)?;
        make_world_writable(work.path())?;
        make_world_writable(&out)?;
        run_makepkg(work.path(), &out, self.ext, &self.arch)?;
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(fixture_root())?;
        for name in &names {
            let built = out.join(name);
            ensure!(built.is_file(), "makepkg did not produce {name}");
            std::fs::copy(&built, staging.path().join(name))?;
        }
        // Publish the whole directory at once so concurrent tests never see half a build.
        match std::fs::rename(staging.path(), &cache) {
            Ok(()) => {}
            Err(_) if expected.iter().all(|p| p.is_file()) => {}
            Err(err) => return Err(err).context("storing the built fixture"),
        }
        Ok(expected)
    }

    /// Builds several PKGBUILDs, as many at a time as there are CPUs (makepkg spends its time
    /// in single-threaded shell work). Results are in `builds` order.
    pub fn build_all(builds: &[Build]) -> anyhow::Result<Vec<Vec<PathBuf>>> {
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<anyhow::Result<Vec<PathBuf>>>>> =
            builds.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..parallel.min(builds.len()) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(build) = builds.get(i) else { break };
                        *results[i].lock().expect("result slot") = Some(build.build());
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .expect("result slot")
                    .expect("every build ran")
            })
            .collect()
    }

    /// `count` small packages `{prefix}-0000`, `{prefix}-0001`, ... of version `pkgver`, as
    /// split-package builds of at most 25 packages each (so they build in parallel). Build them
    /// with [`Build::build_all`] or [`build_many`].
    pub fn many(prefix: &str, count: usize, pkgver: &str) -> Vec<Self> {
        const PER_BUILD: usize = 25;
        (0..count)
            .step_by(PER_BUILD)
            .map(|first| {
                let mut build = Self::new(&format!("{prefix}-{first:04}"), pkgver);
                build.pkgbase = format!("{prefix}-base-{first:04}");
                build.packages = (first..count.min(first + PER_BUILD))
                    .map(|i| Pkg::new(&format!("{prefix}-{i:04}")))
                    .collect();
                build
            })
            .collect()
    }

    /// Builds and returns the only package of a non-split build.
    pub fn build_one(&self) -> anyhow::Result<PathBuf> {
        let mut files = self.build()?;
        ensure!(files.len() == 1, "build_one on a split package");
        Ok(files.remove(0))
    }
}

fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn write_array(out: &mut String, name: &str, values: &[String]) {
    if !values.is_empty() {
        let values: Vec<_> = values.iter().map(|v| quote(v)).collect();
        let _ = writeln!(out, "{name}=({})", values.join(" "));
    }
}

/// Where built fixtures are cached: `$RIETER_FIXTURE_DIR`, else the user's cache directory
/// (`$XDG_CACHE_HOME` or `~/.cache`)`/rieter-fixtures`, so clean checkouts on one machine
/// share them; entries are keyed by the hash of their PKGBUILD.
pub fn fixture_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let cache_home = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
        let root = std::env::var_os("RIETER_FIXTURE_DIR")
            .map(PathBuf::from)
            .or_else(|| cache_home.map(|c| c.join("rieter-fixtures")))
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/rieter-fixtures")
            });
        std::fs::create_dir_all(&root).expect("creating the fixture directory");
        root
    })
    .clone()
}

/// Builds every package of `builds` (see [`Build::many`]), flattened in order.
pub fn build_many(builds: &[Build]) -> anyhow::Result<Vec<PathBuf>> {
    Ok(Build::build_all(builds)?.into_iter().flatten().collect())
}

const BUILD_USER: &str = "rieter-builder";

fn run_makepkg(dir: &Path, out: &Path, ext: Ext, arch: &str) -> anyhow::Result<()> {
    // makepkg takes the architecture it builds for from makepkg.conf's CARCH; build for other
    // architectures with a copy that says so.
    let system = std::fs::read_to_string("/etc/makepkg.conf").unwrap_or_default();
    let carch = if arch == "any" { "x86_64" } else { arch };
    let conf: String = system
        .lines()
        .map(|l| {
            if l.starts_with("CARCH=") {
                format!("CARCH=\"{carch}\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let conf_path = dir.join("makepkg.conf");
    std::fs::write(&conf_path, conf)?;
    let mut cmd = if is_root() {
        ensure_build_user()?;
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", BUILD_USER, "--", "makepkg"]);
        cmd
    } else {
        Command::new("makepkg")
    };
    cmd.args(["--nodeps", "--noconfirm", "--noprogressbar", "-f"])
        .current_dir(dir)
        .env("MAKEPKG_CONF", &conf_path)
        .env("LIBRARY", makepkg_library()?)
        .env("PKGEXT", ext.pkgext())
        .env("PKGDEST", out)
        .env("SRCDEST", dir)
        .env("BUILDDIR", dir)
        .env("LOGDEST", dir)
        .env("PACKAGER", "Rieter Tests <tests@rieter.invalid>")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("HOME", dir);
    let output = cmd
        .output()
        .context("running makepkg (install the `makepkg` and `pacman-package-manager` packages)")?;
    if !output.status.success() {
        bail!(
            "makepkg failed in {}:\n{}\n{}",
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// makepkg's function library without its PKGBUILD lint scripts.
///
/// Linting a PKGBUILD costs makepkg about 1.2 s of shell per package (hundreds of `grep`
/// processes per package function), ten times the cost of building one of our tiny packages.
/// Our PKGBUILDs are generated, and packaging itself (fakeroot, .PKGINFO, .BUILDINFO, .MTREE,
/// compression) is untouched, so the packages are exactly what makepkg produces.
fn makepkg_library() -> anyhow::Result<PathBuf> {
    static LIBRARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    LIBRARY
        .get_or_init(|| {
            let copy = || -> anyhow::Result<PathBuf> {
                let system = Path::new("/usr/share/makepkg");
                ensure!(
                    system.is_dir(),
                    "makepkg's library {} is missing",
                    system.display()
                );
                // One copy per installed makepkg, shared by test processes; built aside and
                // renamed into place so concurrent processes never see half of it.
                let stamp = std::fs::metadata("/usr/bin/makepkg")?
                    .modified()?
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_secs();
                let target = std::env::temp_dir().join(format!("rieter-makepkg-lib-{stamp}"));
                if target.is_dir() {
                    return Ok(target);
                }
                let staging = tempfile::Builder::new()
                    .prefix("rieter-makepkg-lib-")
                    .tempdir()?;
                let copy = staging.path().join("lib");
                let status = Command::new("cp")
                    .arg("-r")
                    .arg(system)
                    .arg(&copy)
                    .status()?;
                ensure!(status.success(), "copying makepkg's library");
                for entry in std::fs::read_dir(copy.join("lint_pkgbuild"))? {
                    std::fs::remove_file(entry?.path())?;
                }
                let status = Command::new("chmod")
                    .arg("-R")
                    .arg("a+rX")
                    .arg(&copy)
                    .status()?;
                ensure!(
                    status.success(),
                    "opening makepkg's library to the build user"
                );
                if std::fs::rename(&copy, &target).is_err() && !target.is_dir() {
                    anyhow::bail!("could not place makepkg's library at {}", target.display());
                }
                Ok(target)
            };
            copy().map_err(|e| e.to_string())
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn ensure_build_user() -> anyhow::Result<()> {
    static CREATED: OnceLock<Result<(), String>> = OnceLock::new();
    CREATED
        .get_or_init(|| {
            let exists = Command::new("id")
                .arg(BUILD_USER)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if exists {
                return Ok(());
            }
            let status = Command::new("useradd")
                .args([
                    "--system",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                ])
                .arg(BUILD_USER)
                .status()
                .map_err(|e| e.to_string())?;
            // Another test process may have created it meanwhile.
            if status.success()
                || Command::new("id")
                    .arg(BUILD_USER)
                    .status()
                    .is_ok_and(|s| s.success())
            {
                Ok(())
            } else {
                Err(format!("useradd {BUILD_USER} failed"))
            }
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

fn make_world_writable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))
}
