//! The package parser against real makepkg-built packages, with bsdtar as the oracle.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use rieter::package::{self, Compression, Limits, PackageError};
use rieter_testkit::{Build, Ext, Pkg};

/// What `repo-add` lists for a package: `bsdtar --exclude='^.*' -tf pkg | LC_ALL=C sort -u`.
fn bsdtar_file_list(path: &Path) -> Vec<String> {
    let out = Command::new("bsdtar")
        .args(["--exclude=^.*", "-tf"])
        .arg(path)
        .output()
        .expect("running bsdtar");
    assert!(out.status.success(), "bsdtar failed on {}", path.display());
    let mut files: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    files.sort();
    files.dedup();
    files
}

fn bsdtar_pkginfo(path: &Path) -> String {
    let out = Command::new("bsdtar")
        .args(["-xOf"])
        .arg(path)
        .arg(".PKGINFO")
        .output()
        .expect("running bsdtar");
    String::from_utf8(out.stdout).unwrap()
}

fn pkginfo_values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once(" = "))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
        .collect()
}

fn rich_build(ext: Ext) -> Build {
    Build::new("rich", "2.4.1")
        .epoch("3")
        .pkgrel("2")
        .ext(ext)
        .with_pkg(|p| Pkg {
            depends: vec!["glibc".into(), "bash>=5.0".into()],
            optdepends: vec!["python: for the helper script".into()],
            provides: vec!["richer=2.4.1".into()],
            conflicts: vec!["poor".into()],
            replaces: vec!["rich-old".into()],
            groups: vec!["rieter-test".into()],
            licenses: vec!["MIT".into(), "custom:Rieter".into()],
            backup: vec!["etc/rich.conf".into()],
            dirs: vec!["var/lib/rich".into()],
            ..p.file("etc/rich.conf", "setting=1\n")
                .file("usr/bin/rich", "#!/bin/sh\necho rich\n")
                .file("usr/share/rich/with space.txt", "x")
                .file("usr/share/rich/Zed", "upper case sorts first")
                .file("usr/lib/rich/.hidden", "nested dot files are listed")
                // Longer than a ustar name: bsdtar writes it in a PAX header.
                .file(&format!("usr/share/rich/{}", "long-name-".repeat(12)), "x")
        })
}

#[test]
fn parses_every_compression_like_bsdtar() {
    for ext in Ext::ALL {
        let path = rich_build(ext).build_one().unwrap();
        let parsed = package::parse_file(&path, &Limits::default())
            .unwrap_or_else(|e| panic!("{ext:?}: {e}"));
        let expected_compression = match ext {
            Ext::Zst => Compression::Zstd,
            Ext::Xz => Compression::Xz,
            Ext::Gz => Compression::Gzip,
            Ext::Bz2 => Compression::Bzip2,
            Ext::Tar => Compression::None,
        };
        assert_eq!(parsed.compression, expected_compression);
        assert_eq!(
            parsed.filename().as_str(),
            path.file_name().unwrap().to_str().unwrap()
        );
        assert_eq!(parsed.files, bsdtar_file_list(&path), "{ext:?}");
        assert!(parsed.files.contains(&"var/lib/rich/".to_owned()));
        assert!(parsed.files.contains(&"usr/lib/rich/.hidden".to_owned()));

        let text = bsdtar_pkginfo(&path);
        let info = &parsed.info;
        assert_eq!(
            vec![info.name.to_string()],
            pkginfo_values(&text, "pkgname")
        );
        assert_eq!(
            vec![info.version.to_string()],
            pkginfo_values(&text, "pkgver")
        );
        assert_eq!(info.version.as_str(), "3:2.4.1-2");
        assert_eq!(vec![info.arch.to_string()], pkginfo_values(&text, "arch"));
        assert_eq!(
            vec![info.description.clone().unwrap()],
            pkginfo_values(&text, "pkgdesc")
        );
        assert_eq!(
            vec![info.build_date.to_string()],
            pkginfo_values(&text, "builddate")
        );
        assert_eq!(
            vec![info.installed_size.to_string()],
            pkginfo_values(&text, "size")
        );
        assert_eq!(
            vec![info.packager.clone().unwrap()],
            pkginfo_values(&text, "packager")
        );
        assert_eq!(info.depends, pkginfo_values(&text, "depend"));
        assert_eq!(info.optdepends, pkginfo_values(&text, "optdepend"));
        assert_eq!(info.provides, pkginfo_values(&text, "provides"));
        assert_eq!(info.conflicts, pkginfo_values(&text, "conflict"));
        assert_eq!(info.replaces, pkginfo_values(&text, "replaces"));
        assert_eq!(info.groups, pkginfo_values(&text, "group"));
        assert_eq!(info.licenses, pkginfo_values(&text, "license"));
        assert_eq!(info.backup, pkginfo_values(&text, "backup"));
        assert_eq!(info.base.as_deref(), Some("rich"));
    }
}

#[test]
fn split_and_any_packages_parse_separately() {
    let files = Build::new("splitbase", "1.0")
        .with_pkg(|p| Pkg {
            name: "split-bin".into(),
            ..p
        })
        .split(Pkg::new("split-doc").arch("any"))
        .build()
        .unwrap();
    let bin = package::parse_file(&files[0], &Limits::default()).unwrap();
    let doc = package::parse_file(&files[1], &Limits::default()).unwrap();
    assert_eq!(bin.info.name.as_str(), "split-bin");
    assert_eq!(doc.info.name.as_str(), "split-doc");
    assert_eq!(doc.info.arch.as_str(), "any");
    assert_eq!(bin.info.base.as_deref(), Some("splitbase"));
    assert_eq!(doc.info.base.as_deref(), Some("splitbase"));
}

fn parse_bytes(bytes: &[u8], limits: &Limits) -> Result<package::ParsedPackage, PackageError> {
    package::parse(bytes, limits)
}

/// A tar archive holding the given (name, contents) entries, built with the tar crate.
fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn zstd_of(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

const GOOD_PKGINFO: &[u8] =
    b"pkgname = ok\npkgver = 1.0-1\narch = x86_64\nsize = 1\nbuilddate = 1\n";

#[test]
fn refuses_broken_inputs_with_reasons() {
    let limits = Limits::default();
    let real = Build::new("victim", "1.0").build_one().unwrap();
    let real = std::fs::read(real).unwrap();

    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert!(matches!(
        parse_bytes(&random, &limits),
        Err(PackageError::NotAnArchive)
    ));
    assert!(matches!(
        parse_bytes(b"", &limits),
        Err(PackageError::Empty)
    ));

    let truncated = &real[..real.len() / 2];
    let err = parse_bytes(truncated, &limits).unwrap_err();
    assert!(
        matches!(err, PackageError::Corrupt(_) | PackageError::MissingPkgInfo),
        "{err}"
    );

    let no_pkginfo = zstd_of(&tar_of(&[("usr/bin/x", b"x")]));
    assert!(matches!(
        parse_bytes(&no_pkginfo, &limits),
        Err(PackageError::MissingPkgInfo)
    ));

    let no_pkgver = zstd_of(&tar_of(&[(".PKGINFO", b"pkgname = ok\narch = x86_64\n")]));
    let err = parse_bytes(&no_pkgver, &limits).unwrap_err();
    assert!(matches!(err, PackageError::MissingField("pkgver")));
    assert_eq!(err.to_string(), ".PKGINFO has no `pkgver` field");

    let slash_name = zstd_of(&tar_of(&[(
        ".PKGINFO",
        b"pkgname = a/b\npkgver = 1.0-1\narch = x86_64\n",
    )]));
    let err = parse_bytes(&slash_name, &limits).unwrap_err();
    assert!(matches!(err, PackageError::InvalidName(_)), "{err}");
    assert!(err.to_string().contains("a/b"), "{err}");

    let two = zstd_of(&tar_of(&[
        (".PKGINFO", GOOD_PKGINFO),
        (".PKGINFO", GOOD_PKGINFO),
    ]));
    assert!(matches!(
        parse_bytes(&two, &limits),
        Err(PackageError::DuplicatePkgInfo)
    ));
}

#[test]
fn pkginfo_bomb_is_refused_without_unpacking_it() {
    // A .PKGINFO that decompresses to 1 GiB: a few hundred KiB of zstd.
    let size: u64 = 1 << 30;
    let mut encoder = zstd::Encoder::new(Vec::new(), 19).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_path(".PKGINFO").unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    encoder.write_all(header.as_bytes()).unwrap();
    let zeros = vec![b'a'; 1 << 20];
    for _ in 0..(size >> 20) {
        encoder.write_all(&zeros).unwrap();
    }
    encoder.write_all(&[0u8; 1024]).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(
        bomb.len() < 1 << 20,
        "the bomb itself is small: {}",
        bomb.len()
    );

    let err = parse_bytes(&bomb, &Limits::default()).unwrap_err();
    assert!(matches!(err, PackageError::PkgInfoTooLarge { .. }), "{err}");
}

#[test]
fn entry_and_size_limits_hold() {
    let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("usr/f{i}"), vec![b'x'])).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![(".PKGINFO", GOOD_PKGINFO)];
    entries.extend(many.iter().map(|(n, d)| (n.as_str(), d.as_slice())));
    let archive = zstd_of(&tar_of(&entries));

    let tight = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert!(matches!(
        parse_bytes(&archive, &tight),
        Err(PackageError::TooManyEntries { limit: 10 })
    ));
    let tight = Limits {
        max_file_list_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        parse_bytes(&archive, &tight),
        Err(PackageError::FileListTooLarge { limit: 100 })
    ));
    let tight = Limits {
        max_unpacked_bytes: 4096,
        ..Limits::default()
    };
    assert!(matches!(
        parse_bytes(&archive, &tight),
        Err(PackageError::TooLarge { limit: 4096 })
    ));
    let parsed = parse_bytes(&archive, &Limits::default()).unwrap();
    assert_eq!(parsed.files.len(), 50);
}
