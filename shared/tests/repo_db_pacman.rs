//! Real pacman reading databases written as concatenated gzip members: it syncs them, lists,
//! queries and installs from them into a throwaway root.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use common::{Uploaded, fixture_packages, write_databases};
use tempfile::TempDir;

const REPO: &str = "testrepo";

/// A pacman whose configuration, root, databases, cache and log all live in one temp dir,
/// syncing from a `file://` repository in that dir.
struct Pacman {
    dir: TempDir,
    config: PathBuf,
}

impl Pacman {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = |p: &str| dir.path().join(p);
        for sub in ["repo", "root", "db", "cache", "gnupg", "hooks"] {
            std::fs::create_dir(path(sub)).unwrap();
        }
        let config = path("pacman.conf");
        std::fs::write(
            &config,
            format!(
                "[options]\n\
                 RootDir = {root}\n\
                 DBPath = {db}\n\
                 CacheDir = {cache}\n\
                 LogFile = {log}\n\
                 GPGDir = {gnupg}\n\
                 HookDir = {hooks}\n\
                 Architecture = x86_64\n\
                 SigLevel = Never\n\
                 LocalFileSigLevel = Never\n\
                 DisableDownloadTimeout\n\
                 \n\
                 [{REPO}]\n\
                 Server = file://{repo}\n",
                root = path("root").display(),
                db = path("db").display(),
                cache = path("cache").display(),
                log = path("pacman.log").display(),
                gnupg = path("gnupg").display(),
                hooks = path("hooks").display(),
                repo = path("repo").display(),
            ),
        )
        .unwrap();
        Self { dir, config }
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Publishes the packages and our databases for them the way a repository serves them.
    fn publish(&self, packages: &[PathBuf]) -> Vec<Uploaded> {
        let uploaded: Vec<Uploaded> = packages
            .iter()
            .map(|source| {
                let published = self.repo().join(source.file_name().unwrap());
                std::fs::copy(source, &published).unwrap();
                Uploaded::read(&published)
            })
            .collect();
        let (db, files) = write_databases(&self.repo(), REPO, &uploaded);
        std::fs::copy(&db, self.repo().join(format!("{REPO}.db"))).unwrap();
        std::fs::copy(&files, self.repo().join(format!("{REPO}.files"))).unwrap();
        uploaded
    }

    /// Runs pacman and returns its standard output, failing the test if pacman fails.
    /// Syncing and installing need root; elsewhere fakeroot stands in, which is enough because
    /// no scriptlet or hook runs.
    fn run(&self, args: &[&str]) -> String {
        let mut cmd = if is_root() {
            Command::new("pacman")
        } else {
            let mut cmd = Command::new("fakeroot");
            cmd.arg("pacman");
            cmd
        };
        let out = cmd
            .arg("--config")
            .arg(&self.config)
            .args(["--noconfirm", "--color", "never"])
            .args(args)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("running pacman");
        check(&out, args);
        String::from_utf8(out.stdout).unwrap()
    }
}

fn check(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "pacman {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The value of a `pacman -Si` field, with continuation lines joined by newlines.
fn info_field(info: &str, field: &str) -> String {
    let mut lines = info.lines().skip_while(|l| !l.starts_with(field));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {field} in:\n{info}"));
    let mut value = vec![first.split_once(" : ").unwrap().1.trim_end()];
    value.extend(lines.take_while(|l| l.starts_with("  ")).map(|l| l.trim()));
    value.join("\n")
}

fn find<'a>(uploaded: &'a [Uploaded], name: &str) -> &'a Uploaded {
    uploaded
        .iter()
        .find(|u| u.parsed.info.name.as_str() == name)
        .unwrap()
}

#[test]
fn pacman_syncs_lists_queries_and_installs_from_our_databases() {
    let pacman = Pacman::new();
    let uploaded = pacman.publish(&fixture_packages());
    assert!(
        uploaded.len() >= 2,
        "the databases must hold several members"
    );

    pacman.run(&["-Sy"]);
    let synced = std::fs::read(pacman.dir.path().join(format!("db/sync/{REPO}.db"))).unwrap();
    assert!(
        synced.starts_with(&uploaded[0].members().db),
        "pacman synced our file"
    );

    let listed: BTreeSet<String> = pacman
        .run(&["-Sl", REPO])
        .lines()
        .map(str::to_owned)
        .collect();
    let expected: BTreeSet<String> = uploaded
        .iter()
        .map(|u| format!("{REPO} {} {}", u.parsed.info.name, u.parsed.info.version))
        .collect();
    assert_eq!(listed, expected);

    let info = pacman.run(&["-Si", "rich"]);
    assert_eq!(info_field(&info, "Repository"), REPO);
    assert_eq!(info_field(&info, "Version"), "3:2.4.1-2");
    assert_eq!(info_field(&info, "Depends On"), "glibc  bash>=5.0  zlib<2");
    assert_eq!(
        info_field(&info, "Optional Deps"),
        "python: for the helper script\nperl"
    );
    assert_eq!(
        info_field(&info, "Provides"),
        "richer=2.4.1  librich.so=1-64"
    );
    assert_eq!(info_field(&info, "Conflicts With"), "poor  rich-git");
    assert_eq!(info_field(&info, "Replaces"), "rich-old");
    assert_eq!(info_field(&info, "Groups"), "rieter-test  rieter-extra");
    assert_eq!(info_field(&info, "Licenses"), "MIT  custom:Rieter");
    assert_eq!(info_field(&info, "URL"), "https://example.org/rich");
    let info = pacman.run(&["-Si", "split-bin"]);
    assert_eq!(info_field(&info, "Depends On"), "split-doc=1.0-1");

    pacman.run(&["-Fy"]);
    for package in &uploaded {
        let name = package.parsed.info.name.as_str();
        let listed: Vec<String> = pacman
            .run(&["-Fl", name])
            .lines()
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = package
            .parsed
            .files
            .iter()
            .map(|f| format!("{name} {f}"))
            .collect();
        assert_eq!(listed, expected, "files of {name}");
    }

    // Installing downloads every package file and checks it against our sizes and checksums.
    let names: Vec<&str> = uploaded
        .iter()
        .map(|u| u.parsed.info.name.as_str())
        .collect();
    let mut args = vec![
        "-S",
        "--noprogressbar",
        "--nodeps",
        "--nodeps",
        "--noscriptlet",
    ];
    args.extend(&names);
    pacman.run(&args);
    let root = pacman.root();
    assert!(root.join("usr/bin/rich").is_file());
    assert!(root.join("usr/share/rich/with space.txt").is_file());
    assert!(root.join("usr/share/rich/café ünïcode.txt").is_file());
    assert!(root.join("var/cache/rich/empty").is_dir());
    assert!(root.join("usr/share/split-doc/README").is_file());
    let installed: BTreeSet<String> = pacman.run(&["-Q"]).lines().map(str::to_owned).collect();
    let expected: BTreeSet<String> = uploaded
        .iter()
        .map(|u| format!("{} {}", u.parsed.info.name, u.parsed.info.version))
        .collect();
    assert_eq!(installed, expected);
    let rich = find(&uploaded, "rich");
    assert!(
        std::fs::read_dir(pacman.dir.path().join("cache"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_str() == Some(rich.filename.as_str())),
        "the package was fetched through the database's FILENAME"
    );
}

#[test]
fn pacman_accepts_an_empty_database() {
    let pacman = Pacman::new();
    pacman.publish(&[]);
    pacman.run(&["-Sy"]);
    assert_eq!(pacman.run(&["-Sl", REPO]), "");
    pacman.run(&["-Fy"]);
    assert_eq!(pacman.run(&["-Fl"]), "");
}
