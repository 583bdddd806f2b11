//! Writing one repository architecture's database archives, `{repo}.db.tar.gz` and
//! `{repo}.files.tar.gz`, as its packages arrive (so a build writes while it still reads the
//! catalogue), into scratch files hashed as they are written: each becomes a blob, and the
//! manifest switch publishes them with the package files they name.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::blobs::Digest;
use crate::names::{FileName, RepoName};
use crate::repo_db;

/// The names of a repository's database files, as repo-add writes them: the archives and the
/// short names pacman asks for, which serve the same blobs.
pub struct DbFileNames {
    pub db: FileName,
    pub db_link: FileName,
    pub files: FileName,
    pub files_link: FileName,
}

impl DbFileNames {
    pub fn new(repo: &RepoName) -> Self {
        Self {
            db: FileName::database(repo, ".db.tar.gz"),
            db_link: FileName::database(repo, ".db"),
            files: FileName::database(repo, ".files.tar.gz"),
            files_link: FileName::database(repo, ".files"),
        }
    }

    pub fn contains(&self, name: &FileName) -> bool {
        [&self.db, &self.db_link, &self.files, &self.files_link].contains(&name)
    }
}

/// A finished archive: a complete, synced scratch file and its digest. Dropping it removes
/// the scratch file (the blob store keeps its own copy or link).
#[derive(Debug)]
pub struct Archive {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
}

impl Drop for Archive {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Both archives of a database.
#[derive(Debug)]
pub struct Archives {
    pub db: Archive,
    pub files: Archive,
}

/// Writes the two archives entry by entry. Blocking: use it on a blocking thread. Dropped
/// unfinished, it removes its scratch files.
pub struct ArchiveWriter {
    db: TempArchive,
    files: TempArchive,
}

impl ArchiveWriter {
    /// Starts both archives in `dir` (a scratch directory of this process).
    pub fn create(dir: &Path) -> io::Result<Self> {
        Ok(Self {
            db: TempArchive::create(dir, "db")?,
            files: TempArchive::create(dir, "files")?,
        })
    }

    /// Appends one package's pre-rendered entries.
    pub fn add(&mut self, db_member: &[u8], files_member: &[u8]) -> io::Result<()> {
        self.db.out.write_all(db_member)?;
        self.files.out.write_all(files_member)
    }

    /// Completes and syncs both archives (at once: the syncs dominate and overlap).
    pub fn finish(self) -> io::Result<Archives> {
        let Self { db, files } = self;
        std::thread::scope(|scope| {
            let db = scope.spawn(|| db.finish());
            let files = files.finish();
            let db = db.join().expect("archive writer panicked");
            Ok(Archives {
                db: db?,
                files: files?,
            })
        })
    }
}

/// A file that hashes and counts what is written to it.
struct HashingFile {
    file: File,
    sha256: Sha256,
    size: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// An archive being written to a scratch file.
struct TempArchive {
    path: PathBuf,
    out: BufWriter<HashingFile>,
    done: bool,
}

impl TempArchive {
    fn create(dir: &Path, kind: &str) -> io::Result<Self> {
        let path = dir.join(format!("{kind}-{}.tar.gz.building", Uuid::new_v4()));
        let file = File::create(&path)?;
        Ok(Self {
            path,
            out: BufWriter::with_capacity(
                1 << 20,
                HashingFile {
                    file,
                    sha256: Sha256::new(),
                    size: 0,
                },
            ),
            done: false,
        })
    }

    fn finish(mut self) -> io::Result<Archive> {
        repo_db::end_archive(&mut self.out)?;
        self.out.flush()?;
        let hashing = self.out.get_mut();
        hashing.file.sync_all()?;
        let sha256 = std::mem::take(&mut hashing.sha256);
        let size = hashing.size;
        self.done = true;
        Ok(Archive {
            path: std::mem::take(&mut self.path),
            digest: Digest::from_hasher(sha256),
            size,
        })
    }
}

impl Drop for TempArchive {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_hashed_archives_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ArchiveWriter::create(dir.path()).unwrap();
        // Not real entries; the writer only concatenates members.
        writer.add(&[1; 4], &[2; 4]).unwrap();
        let archives = writer.finish().unwrap();
        let db = std::fs::read(&archives.db.path).unwrap();
        assert!(db.starts_with(&[1; 4]));
        assert_eq!(archives.db.size, db.len() as u64);
        assert_eq!(archives.db.digest, Digest::of(&db));
        let files = std::fs::read(&archives.files.path).unwrap();
        assert!(files.starts_with(&[2; 4]));
        assert_eq!(archives.files.digest, Digest::of(&files));
        drop(archives);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // An unfinished writer leaves nothing either.
        drop(ArchiveWriter::create(dir.path()).unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
