//! One package's entries as ready-made gzip members, so an archive can be assembled by
//! concatenation without recompressing the other packages.

use std::io::{self, Write};

use flate2::{Compression, GzBuilder};

use super::{DbEntry, render_desc, render_files};

/// One package's part of the two databases, each a complete gzip member holding tar entries
/// without an end-of-archive marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMembers {
    /// `{name}-{version}/` and `{name}-{version}/desc`, for `{repo}.db`.
    pub db: Vec<u8>,
    /// The same plus `{name}-{version}/files`, for `{repo}.files`.
    pub files: Vec<u8>,
}

/// Renders one package's database members. The output depends only on the input (every
/// timestamp is the package's build date, owners are root), so re-rendering a package gives
/// the same bytes.
///
/// Fails with [`io::ErrorKind::InvalidInput`] if the name or version could not be an entry
/// directory (empty, or holding `/`, NUL or a line break).
pub fn render_members(entry: &DbEntry<'_>, files: &[String]) -> io::Result<EntryMembers> {
    check_path_part("name", entry.name)?;
    check_path_part("version", entry.version)?;
    let dir = entry.dir_name();
    let mtime = u64::try_from(entry.build_date).unwrap_or(0);
    let desc = render_desc(entry);

    let mut db = TarEntries::new(mtime);
    db.dir(&dir)?;
    db.file(&format!("{dir}/desc"), desc.as_bytes())?;
    let mut with_files = db.clone();
    with_files.file(&format!("{dir}/files"), render_files(files).as_bytes())?;

    Ok(EntryMembers {
        db: gzip_member(&db.bytes)?,
        files: gzip_member(&with_files.bytes)?,
    })
}

fn check_path_part(what: &str, value: &str) -> io::Result<()> {
    if value.is_empty() || value.contains(['/', '\0', '\n', '\r']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("package {what} `{value}` cannot name a database entry"),
        ));
    }
    Ok(())
}

/// Tar entries without the end-of-archive marker. `tar::Builder` always writes that marker when
/// it finishes, so entries are appended through a builder and the marker is cut off again.
#[derive(Clone)]
struct TarEntries {
    bytes: Vec<u8>,
    mtime: u64,
}

const END_OF_ARCHIVE: usize = 1024;

impl TarEntries {
    fn new(mtime: u64) -> Self {
        Self {
            bytes: Vec::new(),
            mtime,
        }
    }

    fn dir(&mut self, path: &str) -> io::Result<()> {
        let mut header = self.header(tar::EntryType::Directory, 0o755, 0);
        self.append(&mut header, &format!("{path}/"), &[][..])
    }

    fn file(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        let mut header = self.header(tar::EntryType::Regular, 0o644, data.len() as u64);
        self.append(&mut header, path, data)
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        // ustar like bsdtar's default format; tar falls back to a GNU long-name entry for
        // paths ustar cannot hold (package names may be 255 characters long).
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header
    }

    fn append(&mut self, header: &mut tar::Header, path: &str, data: &[u8]) -> io::Result<()> {
        let start = self.bytes.len();
        let mut builder = tar::Builder::new(&mut self.bytes);
        builder.append_data(header, path, data)?;
        builder.into_inner()?;
        let end = self.bytes.len() - END_OF_ARCHIVE;
        debug_assert!(end >= start && self.bytes[end..].iter().all(|&b| b == 0));
        self.bytes.truncate(end);
        Ok(())
    }
}

/// One complete gzip member with a fixed header (no name, zero mtime), so equal input gives
/// equal bytes. Members are compressed once per upload and served many times, hence `best`.
pub(super) fn gzip_member(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = GzBuilder::new().write(Vec::new(), Compression::best());
    encoder.write_all(data)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn entry<'a>(name: &'a str, version: &'a str) -> DbEntry<'a> {
        DbEntry {
            filename: "x.pkg.tar.zst",
            name,
            base: None,
            version,
            description: Some("test"),
            groups: &[],
            csize: 1,
            isize: 2,
            md5: "00",
            sha256: "11",
            pgpsig: None,
            url: None,
            licenses: &[],
            arch: "any",
            build_date: 1_700_000_000,
            packager: None,
            replaces: &[],
            conflicts: &[],
            provides: &[],
            depends: &[],
            optdepends: &[],
            makedepends: &[],
            checkdepends: &[],
        }
    }

    /// Decodes exactly one gzip member and lists the tar entries in it.
    fn entries_of(member: &[u8]) -> Vec<(String, tar::EntryType, u32, u64, Vec<u8>)> {
        let mut decoder = flate2::read::GzDecoder::new(member);
        let mut tar_bytes = Vec::new();
        decoder.read_to_end(&mut tar_bytes).unwrap();
        assert_eq!(tar_bytes.len() % 512, 0);
        assert!(
            tar_bytes[tar_bytes.len() - 512..].iter().any(|&b| b != 0),
            "a member must not end in an end-of-archive block"
        );
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_str().unwrap().to_owned(),
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    data,
                )
            })
            .collect()
    }

    #[test]
    fn members_hold_the_entry_directory_and_its_files() {
        let files = vec!["usr/".to_owned(), "usr/bin/x".to_owned()];
        let e = entry("foo", "1:2.0-1");
        let members = render_members(&e, &files).unwrap();

        let db = entries_of(&members.db);
        let desc = render_desc(&e).into_bytes();
        let t = 1_700_000_000;
        let dir = (
            "foo-1:2.0-1/".to_owned(),
            tar::EntryType::Directory,
            0o755,
            t,
            vec![],
        );
        let desc_entry = (
            "foo-1:2.0-1/desc".to_owned(),
            tar::EntryType::Regular,
            0o644,
            t,
            desc,
        );
        assert_eq!(db, [dir.clone(), desc_entry.clone()]);

        let with_files = entries_of(&members.files);
        let files_entry = (
            "foo-1:2.0-1/files".to_owned(),
            tar::EntryType::Regular,
            0o644,
            t,
            b"%FILES%\nusr/\nusr/bin/x\n".to_vec(),
        );
        assert_eq!(with_files, [dir, desc_entry, files_entry]);
    }

    #[test]
    fn rendering_is_deterministic() {
        let files = vec!["a".to_owned()];
        let first = render_members(&entry("foo", "1.0-1"), &files).unwrap();
        let again = render_members(&entry("foo", "1.0-1"), &files).unwrap();
        assert_eq!(first, again);
        let other = render_members(&entry("foo", "1.0-2"), &files).unwrap();
        assert_ne!(first.db, other.db);
    }

    #[test]
    fn long_names_keep_their_full_path() {
        let name = "n".repeat(255);
        let members = render_members(&entry(&name, "1.0-1"), &[]).unwrap();
        let paths: Vec<String> = entries_of(&members.files)
            .into_iter()
            .map(|e| e.0)
            .collect();
        let dir = format!("{name}-1.0-1");
        assert_eq!(
            paths,
            [
                format!("{dir}/"),
                format!("{dir}/desc"),
                format!("{dir}/files")
            ]
        );
    }

    #[test]
    fn refuses_names_that_are_not_one_path_segment() {
        for (name, version) in [
            ("", "1-1"),
            ("a/b", "1-1"),
            ("a", ""),
            ("a", "1/../2-1"),
            ("a\nb", "1-1"),
        ] {
            let err = render_members(&entry(name, version), &[]).unwrap_err();
            assert_eq!(
                err.kind(),
                io::ErrorKind::InvalidInput,
                "{name:?} {version:?}"
            );
        }
    }
}
