//! Reading sync databases someone else wrote: what real `repo-add` writes for the fixture
//! packages (gzip and zstd, `.db` and `.files`) reads back as the packages themselves say, and
//! hostile databases are refused with a reason, within their bounds.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::{Uploaded, copy_packages, repo_add, write_databases};
use rieter::package::PackageError;
use rieter::repo_db::{ReadError, ReadLimits, SyncEntry, read_database, read_database_with};

fn read(path: &Path) -> Vec<SyncEntry> {
    let file = std::fs::File::open(path).unwrap();
    read_database(file, &ReadLimits::default())
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Each entry against the package file it describes.
fn assert_describes(entries: &[SyncEntry], uploaded: &[Uploaded], with_files: bool) {
    assert_eq!(entries.len(), uploaded.len());
    for up in uploaded {
        let entry = entries
            .iter()
            .find(|e| e.info.name == up.parsed.info.name)
            .unwrap_or_else(|| panic!("{} is missing", up.parsed.info.name));
        // A database has no `backup`; everything else of `.PKGINFO` is in `desc`.
        let mut info = up.parsed.info.clone();
        info.backup.clear();
        info.xdata.clear();
        assert_eq!(entry.info, info, "{}", up.filename);
        assert_eq!(entry.filename.as_str(), up.filename);
        assert_eq!(entry.compressed_size, up.csize);
        assert_eq!(entry.sha256.as_str(), up.sha256);
        assert_eq!(entry.md5.as_deref(), Some(up.md5.as_str()));
        assert_eq!(entry.pgpsig, None);
        if with_files {
            assert_eq!(
                entry.files.as_ref(),
                Some(&up.parsed.files),
                "{}",
                up.filename
            );
        } else {
            assert_eq!(entry.files, None);
        }
    }
}

#[test]
fn repo_add_databases_read_back_as_their_packages() {
    let dir = tempfile::tempdir().unwrap();
    let packages = copy_packages(dir.path());
    let uploaded: Vec<Uploaded> = packages.iter().map(|p| Uploaded::read(p)).collect();
    let rich = uploaded
        .iter()
        .find(|u| u.parsed.info.name.as_str() == "rich")
        .unwrap();
    assert!(rich.parsed.info.optdepends.len() == 2 && rich.parsed.info.groups.len() == 2);

    // repo-add compresses by the name's suffix.
    for suffix in ["tar.gz", "tar.zst", "tar.xz"] {
        let db = dir.path().join(format!("up.db.{suffix}"));
        repo_add(&db, &packages);
        assert_describes(&read(&db), &uploaded, false);
        let files = dir.path().join(format!("up.files.{suffix}"));
        assert_describes(&read(&files), &uploaded, true);
    }

    // Only the file lists asked for are read; every package is still listed.
    let files = dir.path().join("up.files.tar.gz");
    let only = |dir: &str| dir.starts_with("rich-");
    let entries = read_database_with(
        std::fs::File::open(&files).unwrap(),
        &ReadLimits::default(),
        &only,
    )
    .unwrap();
    assert_eq!(entries.len(), uploaded.len());
    for entry in &entries {
        let up = uploaded
            .iter()
            .find(|u| u.parsed.info.name == entry.info.name)
            .unwrap();
        if entry.info.name.as_str() == "rich" {
            assert_eq!(entry.files.as_ref(), Some(&up.parsed.files));
        } else {
            assert_eq!(entry.files, None, "{}", entry.filename);
        }
    }

    // Our own databases read back the same way.
    let (db, files) = write_databases(dir.path(), "ours", &uploaded);
    assert_describes(&read(&db), &uploaded, false);
    assert_describes(&read(&files), &uploaded, true);
}

/// A gzipped tar archive of `(path, content)` members.
fn archive(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, content) in members {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // `set_path` refuses `..`; a hostile archive does not ask.
        header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        tar.append(&header, *content).unwrap();
    }
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn desc(name: &str, version: &str, filename: &str) -> String {
    format!(
        "%FILENAME%\n{filename}\n\n%NAME%\n{name}\n\n%VERSION%\n{version}\n\n%CSIZE%\n10\n\n\
         %ISIZE%\n20\n\n%SHA256SUM%\n{SHA}\n\n%ARCH%\nx86_64\n\n%BUILDDATE%\n1700000000\n\n\
         %DEPENDS%\nglibc\n\n%XFUTURE%\nignored\n\n"
    )
}

fn refused(bytes: &[u8], limits: &ReadLimits) -> ReadError {
    match read_database(bytes, limits) {
        Ok(entries) => panic!("accepted: {entries:?}"),
        Err(err) => err,
    }
}

#[test]
fn hostile_databases_are_refused_with_a_reason() {
    let limits = ReadLimits::default();
    let good = desc("a", "1.0-1", "a-1.0-1-x86_64.pkg.tar.zst");
    let entries = read_database(&archive(&[("a-1.0-1/desc", good.as_bytes())])[..], &limits)
        .expect("a minimal hand-written database");
    assert_eq!(entries[0].info.depends, ["glibc"]);
    assert_eq!(entries[0].md5, None);

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            archive(&[("../a-1.0-1/desc", good.as_bytes())]),
            "is not a package entry",
        ),
        (
            archive(&[("a-1.0-1/sub/desc", good.as_bytes())]),
            "is not a package entry",
        ),
        (
            archive(&[("a-1.0-1/desc", desc("a", "1.0-1", "a.db").as_bytes())]),
            "is not a package file name",
        ),
        (
            archive(&[(
                "a-1.0-1/desc",
                desc("a", "1.0-1", "../a-1.0-1-x86_64.pkg.tar.zst").as_bytes(),
            )]),
            "is not a package file name",
        ),
        (
            archive(&[("b-1.0-1/desc", good.as_bytes())]),
            "not its directory",
        ),
        (
            archive(&[("a-1.0-1/desc", good.replace(SHA, "not-a-digest").as_bytes())]),
            "is not a SHA-256 digest",
        ),
        (
            archive(&[(
                "a-1.0-1/desc",
                good.replace("%CSIZE%\n10", "%CSIZE%\n-1").as_bytes(),
            )]),
            "is not a size",
        ),
        (
            archive(&[(
                "a-1.0-1/desc",
                good.replace("%NAME%\na\n", "%NAME%\na\nb\n").as_bytes(),
            )]),
            "more than one value",
        ),
        (
            archive(&[("a-1.0-1/files", b"%FILES%\nusr/\n")]),
            "has no `desc`",
        ),
        (
            archive(&[
                ("a-1.0-1/desc", good.as_bytes()),
                (
                    "a-2.0-1/desc",
                    desc("a", "2.0-1", "a-2.0-1-x86_64.pkg.tar.zst").as_bytes(),
                ),
            ]),
            "is listed twice",
        ),
        (b"not a database at all".to_vec(), "not"),
    ];
    for (bytes, reason) in cases {
        let err = refused(&bytes, &limits);
        assert!(
            err.to_string().contains(reason),
            "{err} (expected {reason:?})"
        );
    }

    // The bounds.
    let tight = ReadLimits {
        max_packages: 1,
        max_desc_bytes: 64,
        ..ReadLimits::default()
    };
    let two = archive(&[
        ("a-1.0-1/desc", b"%NAME%\na\n"),
        ("b-1.0-1/desc", b"%NAME%\nb\n"),
    ]);
    assert!(matches!(
        refused(&two, &tight),
        ReadError::TooManyPackages { limit: 1 }
    ));
    assert!(matches!(
        refused(&archive(&[("a-1.0-1/desc", good.as_bytes())]), &tight),
        ReadError::MemberTooLarge { limit: 64, .. }
    ));
    // A gzip bomb: 64 MiB of zeros in a member, stopped at the unpacked bound.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&rieter_testkit::bombs::tar_header(
        tar::EntryType::Regular,
        "a-1.0-1/desc",
        64 << 20,
    ))
    .unwrap();
    gz.write_all(&vec![0u8; 64 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    let small = ReadLimits {
        max_unpacked_bytes: 1 << 20,
        max_desc_bytes: 128 << 20,
        ..ReadLimits::default()
    };
    assert!(
        matches!(
            refused(&bomb, &small),
            ReadError::Archive(PackageError::TooLarge { .. })
        ),
        "{}",
        refused(&bomb, &small)
    );
}

/// A real distribution's database, when one is given in `RIETER_REAL_SYNC_DB` (Arch's
/// `core.db`, say: CI has no network to fetch one): every package reads, and real pacman,
/// given the same file as a sync database, lists the same names and versions.
#[test]
fn a_real_database_reads_as_pacman_lists_it() {
    let Some(path) = std::env::var_os("RIETER_REAL_SYNC_DB") else {
        eprintln!("skipped: set RIETER_REAL_SYNC_DB to a real sync database (core.db)");
        return;
    };
    let entries = read(Path::new(&path));
    let dir = tempfile::tempdir().unwrap();
    let sync = dir.path().join("db/sync");
    std::fs::create_dir_all(&sync).unwrap();
    std::fs::copy(&path, sync.join("real.db")).unwrap();
    let conf = dir.path().join("pacman.conf");
    std::fs::write(
        &conf,
        "[options]\nArchitecture = auto\nSigLevel = Never\n[real]\nServer = file:///nonexistent\n",
    )
    .unwrap();
    // pacman's own reading of the same file, in the C locale.
    let pacman = |args: &[&str]| -> String {
        let out = Command::new("pacman")
            .arg("--config")
            .arg(&conf)
            .arg("--dbpath")
            .arg(dir.path().join("db"))
            .args(args)
            .env("LC_ALL", "C")
            .output()
            .expect("running pacman");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let mut theirs: Vec<String> = pacman(&["-Sl", "real"])
        .lines()
        .map(|line| {
            line.split(' ')
                .skip(1)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let mut ours: Vec<String> = entries
        .iter()
        .map(|e| format!("{} {}", e.info.name, e.info.version.as_str()))
        .collect();
    theirs.sort();
    ours.sort();
    assert!(
        ours.len() > 100,
        "a real repository: {} packages",
        ours.len()
    );
    assert_eq!(ours, theirs);
    assert!(
        entries.iter().all(|e| e.pgpsig.is_some()),
        "Arch signs every package"
    );

    // Relations, as `pacman -Si` prints them for every package of the database.
    let text = pacman(&["-Si"]);
    let field = |block: &str, key: &str| -> Vec<String> {
        let line = block
            .lines()
            .find(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with(':'))
            .unwrap_or_else(|| panic!("no {key} in {block}"));
        let value = line.split_once(':').unwrap().1.trim();
        if value == "None" {
            Vec::new()
        } else {
            value.split("  ").map(|v| v.trim().to_owned()).collect()
        }
    };
    let mut compared = 0;
    for block in text.split("\n\n").filter(|b| b.contains("Name")) {
        let name = field(block, "Name").join("");
        let entry = entries
            .iter()
            .find(|e| e.info.name.as_str() == name)
            .unwrap();
        assert_eq!(field(block, "Depends On"), entry.info.depends, "{name}");
        assert_eq!(field(block, "Provides"), entry.info.provides, "{name}");
        assert_eq!(
            field(block, "Conflicts With"),
            entry.info.conflicts,
            "{name}"
        );
        compared += 1;
    }
    assert_eq!(compared, entries.len());
}
