//! Fixture packages and database rendering shared by the repository database tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use md5::Md5;
use rieter::package::{self, Limits, ParsedPackage};
use rieter::repo_db::{self, DbEntry, EntryMembers};
use rieter_testkit::{Build, Ext, Pkg};
use sha2::{Digest, Sha256};

/// Packages covering what `desc` and `files` can hold: every list field, an epoch, a split
/// build, an `any` package, several compressions, odd file names, empty directories, a package
/// with nothing optional and a name long enough to need a GNU long-name tar entry.
pub fn fixture_packages() -> Vec<PathBuf> {
    let rich = Build {
        url: Some("https://example.org/rich".into()),
        makedepends: vec!["gcc".into(), "make>=4".into()],
        checkdepends: vec!["python-pytest".into()],
        ..Build::new("rich", "2.4.1")
    }
    .epoch("3")
    .pkgrel("2")
    .ext(Ext::Xz)
    .with_pkg(|p| Pkg {
        depends: vec!["glibc".into(), "bash>=5.0".into(), "zlib<2".into()],
        optdepends: vec!["python: for the helper script".into(), "perl".into()],
        provides: vec!["richer=2.4.1".into(), "librich.so=1-64".into()],
        conflicts: vec!["poor".into(), "rich-git".into()],
        replaces: vec!["rich-old".into()],
        groups: vec!["rieter-test".into(), "rieter-extra".into()],
        licenses: vec!["MIT".into(), "custom:Rieter".into()],
        backup: vec!["etc/rich.conf".into()],
        dirs: vec!["var/lib/rich".into(), "var/cache/rich/empty".into()],
        ..p.file("etc/rich.conf", "setting=1\n")
            .file("usr/bin/rich", "#!/bin/sh\necho rich\n")
            .file("usr/share/rich/with space.txt", "x")
            .file("usr/share/rich/café ünïcode.txt", "y")
            .file("usr/share/rich/Zed", "upper case sorts first")
            .file("usr/lib/rich/.hidden", "nested dot files are listed")
    });
    let split = Build::new("splitbase", "1.0")
        .with_pkg(|p| Pkg {
            name: "split-bin".into(),
            depends: vec!["split-doc=1.0-1".into()],
            ..p
        })
        .split(
            Pkg::new("split-doc")
                .arch("any")
                .desc("Documentation of split"),
        );
    let minimal = Build::new("minimal", "0.1").desc("").ext(Ext::Gz);
    let long_name = format!("long-{}", "n".repeat(150));
    let long = Build::new(&long_name, "1.0").arch("any");

    [rich, split, minimal, long]
        .iter()
        .flat_map(|build| build.build().expect("building fixture packages"))
        .collect()
}

/// A package file as Rieter sees it after an upload.
pub struct Uploaded {
    pub parsed: ParsedPackage,
    pub filename: String,
    pub csize: i64,
    pub md5: String,
    pub sha256: String,
}

impl Uploaded {
    pub fn read(path: &Path) -> Self {
        let parsed = package::parse_file(path, &Limits::default()).expect("parsing the package");
        let bytes = std::fs::read(path).unwrap();
        Self {
            filename: path.file_name().unwrap().to_str().unwrap().to_owned(),
            parsed,
            csize: bytes.len() as i64,
            md5: hex::encode(Md5::digest(&bytes)),
            sha256: hex::encode(Sha256::digest(&bytes)),
        }
    }

    pub fn entry(&self) -> DbEntry<'_> {
        DbEntry::new(
            &self.parsed.info,
            &self.filename,
            self.csize,
            &self.md5,
            &self.sha256,
        )
    }

    pub fn members(&self) -> EntryMembers {
        repo_db::render_members(&self.entry(), &self.parsed.files).expect("rendering members")
    }
}

/// Writes `{stem}.db.tar.gz` and `{stem}.files.tar.gz` for `packages` into `dir`, returning
/// their paths.
pub fn write_databases(dir: &Path, stem: &str, packages: &[Uploaded]) -> (PathBuf, PathBuf) {
    let members: Vec<EntryMembers> = packages.iter().map(Uploaded::members).collect();
    let db = dir.join(format!("{stem}.db.tar.gz"));
    let files = dir.join(format!("{stem}.files.tar.gz"));
    let file = std::fs::File::create(&db).unwrap();
    repo_db::write_archive(file, members.iter().map(|m| &m.db)).unwrap();
    let file = std::fs::File::create(&files).unwrap();
    repo_db::write_archive(file, members.iter().map(|m| &m.files)).unwrap();
    (db, files)
}

/// `repo-add` of `packages` into `db`. Runs in a UTF-8 locale, as repo-add does on any
/// ordinary system: in the C locale, bsdtar lists `café` as `caf\303\251` and repo-add writes
/// that escaped text into `files`.
#[allow(dead_code, reason = "not every test binary runs repo-add")]
pub fn repo_add(db: &Path, packages: &[PathBuf]) {
    let out = Command::new("repo-add")
        .arg("--quiet")
        .arg(db)
        .args(packages)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("running repo-add");
    assert!(
        out.status.success(),
        "repo-add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies the fixtures into `dir/pkgs`, as repo-add names entries after the path it is given.
#[allow(dead_code, reason = "not every test binary runs repo-add")]
pub fn copy_packages(dir: &Path) -> Vec<PathBuf> {
    let pkgs = dir.join("pkgs");
    std::fs::create_dir(&pkgs).unwrap();
    fixture_packages()
        .iter()
        .map(|source| {
            let copy = pkgs.join(source.file_name().unwrap());
            std::fs::copy(source, &copy).unwrap();
            copy
        })
        .collect()
}
