//! Hostile packages against the parser: each limit refuses its bomb with a reason, cheaply,
//! and ordinary packages near the limits still parse.

use std::io::Write;
use std::time::Duration;

use rieter::package::{self, Limits, PackageError, ParsedPackage};
use rieter_testkit::bombs;

const GIB: u64 = 1 << 30;

const GOOD_PKGINFO: &[u8] =
    b"pkgname = ok\npkgver = 1.0-1\narch = x86_64\nsize = 1\nbuilddate = 1\n";

fn parse(bytes: &[u8], limits: &Limits) -> Result<ParsedPackage, PackageError> {
    package::parse(bytes, limits)
}

/// A tar archive of the given headers (with their data) and the closing zero blocks.
fn tar_of(parts: &[(tar::Header, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (header, data) in parts {
        let mut header = header.clone();
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn header(kind: tar::EntryType, path: &str, size: usize) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_path(path).unwrap();
    header.set_entry_type(kind);
    header.set_size(size as u64);
    header.set_mode(0o644);
    header
}

fn file(path: &str, data: &[u8]) -> tar::Header {
    header(tar::EntryType::Regular, path, data.len())
}

/// A PAX record, `"<length> <key>=<value>\n"`, where the length counts the whole record.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}").into_bytes()
}

#[test]
fn header_extensions_over_the_limit_are_refused_before_they_are_read() {
    // Without the bound, the tar crate would read 16 GiB into memory for the first.
    for (bomb, kind) in [
        (bombs::long_name(16 * GIB), "GNU long name"),
        (bombs::pax(4 * GIB), "PAX"),
    ] {
        let err = parse(&bomb, &Limits::default()).unwrap_err();
        let PackageError::HeaderExtensionTooLarge { kind: found, .. } = err else {
            panic!("{kind}: {err}");
        };
        assert_eq!(found, kind);
        assert!(err.to_string().contains("limited to 65536 bytes"), "{err}");
    }
    let tight = Limits {
        max_header_extension_bytes: 100,
        ..Limits::default()
    };
    for kind in [
        tar::EntryType::GNULongLink,
        tar::EntryType::XGlobalHeader,
        tar::EntryType::XHeader,
    ] {
        let archive = tar_of(&[
            (header(kind, "ext", 512), &[b'a'; 512]),
            (file(".PKGINFO", GOOD_PKGINFO), GOOD_PKGINFO),
        ]);
        assert!(
            matches!(
                parse(&archive, &tight),
                Err(PackageError::HeaderExtensionTooLarge { size: 512, .. })
            ),
            "{kind:?}"
        );
        assert!(parse(&archive, &Limits::default()).is_ok(), "{kind:?}");
    }
}

#[test]
fn long_names_and_pax_paths_name_the_next_entry_like_bsdtar() {
    let long = format!("usr/share/{}/file", "d".repeat(150));
    let pax_path = format!("usr/lib/{}", "p".repeat(120));
    let mut pax = pax_record("path", &pax_path);
    pax.extend(pax_record("size", "1"));
    let name = format!("{long}\0");
    let archive = tar_of(&[
        (file(".PKGINFO", GOOD_PKGINFO), GOOD_PKGINFO),
        (
            header(tar::EntryType::GNULongName, "././@LongLink", name.len()),
            name.as_bytes(),
        ),
        (file("truncated-name", b"x"), b"x"),
        (
            header(tar::EntryType::XHeader, "PaxHeader/x", pax.len()),
            &pax,
        ),
        (file("ustar-name", b"y"), b"y"),
        (
            header(tar::EntryType::XGlobalHeader, "pax_global_header", 0),
            b"",
        ),
        (file("usr/bin/plain", b"z"), b"z"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("names.pkg.tar");
    std::fs::write(&path, &archive).unwrap();
    let out = std::process::Command::new("bsdtar")
        .args(["--exclude=^.*", "-tf"])
        .arg(&path)
        .output()
        .unwrap();
    let mut listed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    listed.sort();

    let parsed = parse(&archive, &Limits::default()).unwrap();
    assert_eq!(parsed.files, listed);
    assert_eq!(parsed.files, ["usr/bin/plain".to_owned(), pax_path, long]);
}

#[test]
fn a_pax_size_that_disagrees_with_the_header_is_refused() {
    let pax = pax_record("size", "4096");
    let archive = tar_of(&[
        (
            header(tar::EntryType::XHeader, "PaxHeader/x", pax.len()),
            &pax,
        ),
        (file(".PKGINFO", GOOD_PKGINFO), GOOD_PKGINFO),
    ]);
    let err = parse(&archive, &Limits::default()).unwrap_err();
    assert!(matches!(err, PackageError::Corrupt(_)), "{err}");
    assert!(
        err.to_string()
            .contains("PAX header gives an entry 4096 bytes"),
        "{err}"
    );
}

#[test]
fn decoders_are_refused_more_memory_than_the_limit() {
    let xz = bombs::xz(3 * GIB / 2, 2);
    let zstd = bombs::zstd_window(64 << 20);
    for bomb in [xz, zstd] {
        let err = parse(&bomb, &Limits::default()).unwrap_err();
        assert!(matches!(err, PackageError::DecoderMemory { .. }), "{err}");
        assert!(err.to_string().contains("limit of 96 MiB"), "{err}");
    }
    // Below the limit, the same construction is only a large empty archive.
    let err = parse(&bombs::xz(8 << 20, 2), &Limits::default()).unwrap_err();
    assert!(matches!(err, PackageError::MissingPkgInfo), "{err}");
}

#[test]
fn the_strongest_settings_of_xz_and_makepkg_zstd_stay_within_the_memory_limit() {
    let tar = tar_of(&[(file(".PKGINFO", GOOD_PKGINFO), GOOD_PKGINFO)]);
    // xz -9: a 64 MiB dictionary, declared whatever the input's size.
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 9);
    xz.write_all(&tar).unwrap();
    let xz = xz.finish().unwrap();
    let block_header_dict_byte = 16;
    assert_eq!(xz[block_header_dict_byte], bombs::lzma2_dict_byte(64 << 20));
    // zstd --ultra -20 on a pipe, as Arch's makepkg.conf has it: a 64 MiB window.
    let mut zstd = zstd::Encoder::new(Vec::new(), 20).unwrap();
    zstd.window_log(26).unwrap();
    zstd.write_all(&tar).unwrap();
    let zstd = zstd.finish().unwrap();
    let (descriptor, window) = (zstd[4], zstd[5]);
    assert_eq!(
        descriptor & 0x20,
        0,
        "not a single segment: the window is declared"
    );
    assert_eq!(10 + (window >> 3), 26);
    for archive in [xz, zstd] {
        let parsed = parse(&archive, &Limits::default()).unwrap();
        assert_eq!(parsed.info.name.as_str(), "ok");
    }
}

#[test]
fn a_parse_is_stopped_after_its_cpu_time() {
    // 16 GiB of zeros: the size limit would take minutes of decompressing to trip.
    let limits = Limits {
        max_parse_cpu: Duration::from_millis(300),
        ..Limits::default()
    };
    for bomb in [bombs::bzip2(2048), bombs::xz(8 << 20, 8192)] {
        let err = parse(&bomb, &limits).unwrap_err();
        assert!(matches!(err, PackageError::TooSlow { .. }), "{err}");
        assert!(err.to_string().contains("0.3 s of CPU time"), "{err}");
    }
}

fn with_pkginfo(pkginfo: &str) -> Vec<u8> {
    tar_of(&[(file(".PKGINFO", pkginfo.as_bytes()), pkginfo.as_bytes())])
}

#[test]
fn names_and_versions_must_fit_a_file_name() {
    let long_pkgver = format!(
        "pkgname = ok\npkgver = {}-1\narch = x86_64\n",
        "1".repeat(300)
    );
    let err = parse(&with_pkginfo(&long_pkgver), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            PackageError::FieldTooLong {
                field: "pkgver",
                len: 300,
                max: 128
            }
        ),
        "{err}"
    );
    let long_pkgrel = format!(
        "pkgname = ok\npkgver = 1.0-{}\narch = x86_64\n",
        "1".repeat(17)
    );
    let err = parse(&with_pkginfo(&long_pkgrel), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            PackageError::FieldTooLong {
                field: "pkgrel",
                ..
            }
        ),
        "{err}"
    );
    // Each part within its limit, the whole too long for a file name with `.sig`.
    let name = "n".repeat(130);
    let too_long = format!(
        "pkgname = {name}\npkgver = {}-1\narch = x86_64\n",
        "1".repeat(110)
    );
    let err = parse(&with_pkginfo(&too_long), &Limits::default()).unwrap_err();
    assert!(
        matches!(err, PackageError::FileNameTooLong { len: 258 }),
        "{err}"
    );
    let fits = format!(
        "pkgname = {name}\npkgver = {}-1\narch = x86_64\n",
        "1".repeat(103)
    );
    let parsed = parse(&with_pkginfo(&fits), &Limits::default()).unwrap();
    assert_eq!(parsed.filename().len() + ".sig".len(), 255);
}

#[test]
fn control_characters_in_values_and_file_names_are_refused() {
    let nul = "pkgname = ok\npkgver = 1.0-1\narch = x86_64\npkgdesc = a\0b\n";
    let err = parse(&with_pkginfo(nul), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            PackageError::PkgInfoControlCharacter { line: 4, code: 0 }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        ".PKGINFO line 4 holds the control character U+0000"
    );

    for name in ["usr/bin/a\nb", "usr/bin/a\rb", "usr/bin/a\u{1b}b"] {
        let mut long_name = name.as_bytes().to_vec();
        long_name.push(0);
        let archive = tar_of(&[
            (file(".PKGINFO", GOOD_PKGINFO), GOOD_PKGINFO),
            (
                header(
                    tar::EntryType::GNULongName,
                    "././@LongLink",
                    long_name.len(),
                ),
                &long_name,
            ),
            (file("x", b""), b""),
        ]);
        let err = parse(&archive, &Limits::default()).unwrap_err();
        assert!(
            matches!(err, PackageError::FileNameControlCharacter { .. }),
            "{name:?}: {err}"
        );
        assert!(!err.to_string().contains(['\n', '\r', '\u{1b}']), "{err}");
    }
    // A NUL inside a long name (rather than closing it) is refused too.
    let archive = tar_of(&[
        (file(".PKGINFO", GOOD_PKGINFO), GOOD_PKGINFO),
        (
            header(tar::EntryType::GNULongName, "././@LongLink", 8),
            b"usr/a\0b\0",
        ),
        (file("x", b""), b""),
    ]);
    assert!(matches!(
        parse(&archive, &Limits::default()),
        Err(PackageError::FileNameControlCharacter { code: 0, .. })
    ));
}
