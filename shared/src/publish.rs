//! Writing one repository architecture's published tree: the package files pacman downloads
//! (hard links to their blobs) and the `{repo}.db` / `{repo}.files` archives naming them.
//!
//! Order matters for readers: package files are linked first, archives are written under
//! temporary names, synced and renamed into place last, so a database never names a file that
//! is not there and nobody ever reads half an archive.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::names::RepoName;
use crate::repo_db;

/// A package as the database will list it.
pub struct PublishedPackage<'a> {
    pub id: i64,
    pub filename: &'a str,
    pub blob: PathBuf,
    pub db_member: &'a [u8],
    pub files_member: &'a [u8],
}

/// What a build found besides the files it wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Packages whose blob is gone (removed or replaced after the snapshot was taken). Nothing
    /// was published when this is not empty.
    pub missing: Vec<i64>,
    /// Files in the directory the new database no longer names.
    pub stale: Vec<String>,
}

/// The names of a repository's database files, as repo-add writes them.
pub struct DbFileNames {
    pub db: String,
    pub db_link: String,
    pub files: String,
    pub files_link: String,
}

impl DbFileNames {
    pub fn new(repo: &RepoName) -> Self {
        Self {
            db: format!("{repo}.db.tar.gz"),
            db_link: format!("{repo}.db"),
            files: format!("{repo}.files.tar.gz"),
            files_link: format!("{repo}.files"),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        [&self.db, &self.db_link, &self.files, &self.files_link]
            .iter()
            .any(|n| *n == name)
    }
}

/// Writes a tree as its packages arrive (so a build can write while it still reads the
/// catalogue): each package's file is linked and its entries appended to temporary archives;
/// [`TreeWriter::finish`] puts the archives in place. Dropped unfinished, it removes its
/// temporary files and the live databases stay as they were. Blocking: use it on a blocking
/// thread.
pub struct TreeWriter {
    dir: PathBuf,
    names: DbFileNames,
    db: TempArchive,
    files: TempArchive,
    named: HashSet<String>,
    missing: Vec<i64>,
    /// The files already in the directory, by name, with their inode numbers.
    existing: HashMap<String, u64>,
}

impl TreeWriter {
    pub fn create(dir: &Path, repo: &RepoName) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let names = DbFileNames::new(repo);
        let mut existing = HashMap::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if let Ok(name) = entry.file_name().into_string() {
                existing.insert(name, entry.ino());
            }
        }
        Ok(Self {
            existing,
            db: TempArchive::create(dir, &names.db)?,
            files: TempArchive::create(dir, &names.files)?,
            dir: dir.to_owned(),
            names,
            named: HashSet::new(),
            missing: Vec::new(),
        })
    }

    /// Links the package's file and appends its entries.
    pub fn add(&mut self, package: &PublishedPackage<'_>) -> io::Result<()> {
        let existing = self.existing.get(package.filename).copied();
        if !link_package(&self.dir, package, existing)? {
            self.missing.push(package.id);
            return Ok(());
        }
        self.named.insert(package.filename.to_owned());
        if self.missing.is_empty() {
            self.db.out.write_all(package.db_member)?;
            self.files.out.write_all(package.files_member)?;
        }
        Ok(())
    }

    /// Completes the archives and renames them into place, unless a package's file was
    /// missing: then nothing is published and the report lists the missing packages.
    pub fn finish(mut self) -> io::Result<BuildReport> {
        let mut report = BuildReport::default();
        if !self.missing.is_empty() {
            report.missing = std::mem::take(&mut self.missing);
            return Ok(report);
        }
        // Both archives are completed and synced at once: the syncs dominate and overlap.
        let (dir, names) = (&self.dir, &self.names);
        let (db, files) = (&mut self.db, &mut self.files);
        std::thread::scope(|scope| {
            let db = scope.spawn(|| db.commit(dir, &names.db));
            let files = files.commit(dir, &names.files);
            db.join().expect("archive writer panicked").and(files)
        })?;
        ensure_symlink(dir, &names.db_link, &names.db)?;
        ensure_symlink(dir, &names.files_link, &names.files)?;
        File::open(dir)?.sync_all()?;

        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with('.') && !names.contains(name) && !self.named.contains(name) {
                report.stale.push(name.to_owned());
            }
        }
        report.stale.sort();
        Ok(report)
    }
}

impl Drop for TreeWriter {
    fn drop(&mut self) {
        for archive in [&self.db, &self.files] {
            if !archive.committed {
                let _ = fs::remove_file(&archive.path);
            }
        }
    }
}

/// An archive being written under a temporary name next to its final one.
struct TempArchive {
    path: PathBuf,
    out: BufWriter<File>,
    committed: bool,
}

impl TempArchive {
    fn create(dir: &Path, name: &str) -> io::Result<Self> {
        let path = dir.join(format!(".{name}.{}", Uuid::new_v4()));
        let file = File::create(&path)?;
        Ok(Self {
            path,
            out: BufWriter::with_capacity(1 << 20, file),
            committed: false,
        })
    }

    /// Ends the archive, syncs it and renames it to `name`.
    fn commit(&mut self, dir: &Path, name: &str) -> io::Result<()> {
        repo_db::end_archive(&mut self.out)?;
        let file = self.out.get_ref();
        newer_than_predecessor(file, &dir.join(name))?;
        file.sync_all()?;
        fs::rename(&self.path, dir.join(name))?;
        self.committed = true;
        Ok(())
    }
}

/// Makes `dir/filename` the package's blob (a hard link, so the served file outlives the
/// blob). Returns false when neither exists.
/// `existing` is the inode of the file of that name in `dir`, if there is one (read from the
/// directory listing, so a rebuild does not `stat` every served file).
fn link_package(
    dir: &Path,
    package: &PublishedPackage<'_>,
    existing: Option<u64>,
) -> io::Result<bool> {
    let target = dir.join(package.filename);
    let blob = match fs::metadata(&package.blob) {
        Ok(meta) => meta,
        // The served copy is the package itself; without a blob it is still the right file
        // as long as it is there.
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(target.exists()),
        Err(err) => return Err(err),
    };
    // Hard links share the inode; the blob and the tree are on one file system, or no link
    // could have been made. (Where a listing's inode numbers differ from `stat`'s, as on some
    // overlay file systems, the package is merely linked again.)
    if existing == Some(blob.ino()) {
        return Ok(true);
    }
    let temp = dir.join(format!(".link-{}", Uuid::new_v4()));
    match fs::hard_link(&package.blob, &temp) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(target.exists()),
        Err(err) => return Err(err),
    }
    // rename replaces an older file of the same name (an overwritten package) atomically.
    fs::rename(&temp, &target).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })?;
    Ok(true)
}

/// Gives a new version of a file a modification time at least one whole second after the
/// version it replaces. `Last-Modified` has one-second resolution and pacman decides with
/// `If-Modified-Since` alone, so two databases published within one second would otherwise
/// look identical to a client holding the first: it would be told 304 and keep a stale one.
fn newer_than_predecessor(file: &File, predecessor: &Path) -> io::Result<()> {
    use std::time::{Duration, UNIX_EPOCH};
    let Ok(previous) = fs::metadata(predecessor).and_then(|m| m.modified()) else {
        return Ok(());
    };
    let whole_secs =
        |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let previous = whole_secs(previous);
    if whole_secs(file.metadata()?.modified()?) <= previous {
        file.set_modified(UNIX_EPOCH + Duration::from_secs(previous + 1))?;
    }
    Ok(())
}

fn ensure_symlink(dir: &Path, link: &str, target: &str) -> io::Result<()> {
    let path = dir.join(link);
    if fs::read_link(&path).is_ok_and(|t| t == Path::new(target)) {
        return Ok(());
    }
    let temp = dir.join(format!(".{link}.{}", Uuid::new_v4()));
    std::os::unix::fs::symlink(target, &temp)?;
    fs::rename(&temp, &path)
}

/// Whether a build that died half-way left temporary files in `dir`.
pub fn has_leftovers(dir: &Path) -> io::Result<bool> {
    for entry in fs::read_dir(dir)? {
        if entry?
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with('.'))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Deletes temporary files a build that died half-way left behind.
pub fn remove_leftovers(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with('.'))
        {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(tag: u8) -> Vec<u8> {
        // Not a real entry; the writer only concatenates members.
        vec![tag; 4]
    }

    /// Writes the tree of `packages` in one go.
    fn build(
        dir: &Path,
        repo: &RepoName,
        packages: &[PublishedPackage<'_>],
    ) -> io::Result<BuildReport> {
        let mut tree = TreeWriter::create(dir, repo)?;
        for package in packages {
            tree.add(package)?;
        }
        tree.finish()
    }

    #[test]
    fn links_packages_writes_archives_and_reports_stale_files() {
        let root = tempfile::tempdir().unwrap();
        let blobs = root.path().join("blobs");
        let dir = root.path().join("repo/x86_64");
        fs::create_dir_all(&blobs).unwrap();
        fs::write(blobs.join("a"), b"package a").unwrap();
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("old-1-1-x86_64.pkg.tar.zst"), b"old").unwrap();
        let (m1, m2) = (member(1), member(2));
        let packages = [PublishedPackage {
            id: 1,
            filename: "a-1-1-x86_64.pkg.tar.zst",
            blob: blobs.join("a"),
            db_member: &m1,
            files_member: &m2,
        }];
        let repo = RepoName::parse("core").unwrap();
        let report = build(&dir, &repo, &packages).unwrap();
        assert_eq!(report.missing, Vec::<i64>::new());
        assert_eq!(report.stale, ["old-1-1-x86_64.pkg.tar.zst"]);
        let served = dir.join("a-1-1-x86_64.pkg.tar.zst");
        assert_eq!(fs::read(&served).unwrap(), b"package a");
        assert_eq!(
            fs::metadata(&served).unwrap().ino(),
            fs::metadata(blobs.join("a")).unwrap().ino()
        );
        assert_eq!(
            fs::read_link(dir.join("core.db")).unwrap(),
            Path::new("core.db.tar.gz")
        );
        let db = fs::read(dir.join("core.db")).unwrap();
        assert!(db.starts_with(&m1));
        let files = fs::read(dir.join("core.files")).unwrap();
        assert!(files.starts_with(&m2));
        // No temporary files remain.
        assert_eq!(remove_leftovers(&dir).unwrap(), 0);
        // Rebuilding is stable and keeps the link, and the new database is a whole second
        // newer than the one it replaces, however quickly it follows.
        let first = fs::metadata(dir.join("core.db.tar.gz"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(build(&dir, &repo, &packages).unwrap(), report);
        let second = fs::metadata(dir.join("core.db.tar.gz"))
            .unwrap()
            .modified()
            .unwrap();
        let secs =
            |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert!(secs(second) > secs(first), "{first:?} then {second:?}");
    }

    #[test]
    fn a_package_file_replaced_under_the_same_name_is_linked_again() {
        let root = tempfile::tempdir().unwrap();
        let blobs = root.path().join("blobs");
        let dir = root.path().join("repo/x86_64");
        fs::create_dir_all(&blobs).unwrap();
        fs::write(blobs.join("first"), b"first build").unwrap();
        fs::write(blobs.join("second"), b"second build").unwrap();
        let m = member(1);
        let repo = RepoName::parse("core").unwrap();
        let package = |blob: &str| PublishedPackage {
            id: 1,
            filename: "a-1-1-x86_64.pkg.tar.zst",
            blob: blobs.join(blob),
            db_member: &m,
            files_member: &m,
        };
        build(&dir, &repo, &[package("first")]).unwrap();
        build(&dir, &repo, &[package("second")]).unwrap();
        let served = dir.join("a-1-1-x86_64.pkg.tar.zst");
        assert_eq!(fs::read(&served).unwrap(), b"second build");
        // And an unchanged rebuild keeps the link it has.
        build(&dir, &repo, &[package("second")]).unwrap();
        assert_eq!(
            fs::metadata(&served).unwrap().ino(),
            fs::metadata(blobs.join("second")).unwrap().ino()
        );
    }

    #[test]
    fn a_missing_blob_publishes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("repo/x86_64");
        let m = member(1);
        let packages = [PublishedPackage {
            id: 7,
            filename: "gone-1-1-x86_64.pkg.tar.zst",
            blob: root.path().join("no-such-blob"),
            db_member: &m,
            files_member: &m,
        }];
        let report = build(&dir, &RepoName::parse("core").unwrap(), &packages).unwrap();
        assert_eq!(report.missing, [7]);
        assert!(!dir.join("core.db.tar.gz").exists());
    }
}
