//! Our databases against the ones real `repo-add` writes for the same package files: after
//! unpacking both with bsdtar, every entry must be present in both and byte-identical.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{Uploaded, copy_packages, repo_add, write_databases};

/// What an unpacked tree holds: relative path to `None` for a directory or the file's bytes.
type Tree = BTreeMap<String, Option<Vec<u8>>>;

fn unpack(archive: &Path, into: &Path) -> Tree {
    std::fs::create_dir_all(into).unwrap();
    let out = Command::new("bsdtar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(into)
        .output()
        .expect("running bsdtar");
    assert!(
        out.status.success(),
        "bsdtar could not unpack {}: {}",
        archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut tree = Tree::new();
    walk(into, into, &mut tree);
    tree
}

fn walk(root: &Path, dir: &Path, tree: &mut Tree) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let relative = path
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if path.is_dir() {
            tree.insert(relative, None);
            walk(root, &path, tree);
        } else {
            tree.insert(relative, Some(std::fs::read(&path).unwrap()));
        }
    }
}

fn assert_same_tree(ours: &Tree, theirs: &Tree, what: &str) {
    let our_paths: Vec<_> = ours.keys().collect();
    let their_paths: Vec<_> = theirs.keys().collect();
    assert_eq!(our_paths, their_paths, "{what}: entry paths differ");
    for (path, their_content) in theirs {
        let our_content = &ours[path];
        assert_eq!(
            our_content.as_deref().map(String::from_utf8_lossy),
            their_content.as_deref().map(String::from_utf8_lossy),
            "{what}: {path} differs"
        );
    }
}

#[test]
fn databases_match_repo_add_entry_for_entry() {
    let dir = tempfile::tempdir().unwrap();
    let packages = copy_packages(dir.path());
    repo_add(&dir.path().join("theirs.db.tar.gz"), &packages);

    let uploaded: Vec<Uploaded> = packages.iter().map(|p| Uploaded::read(p)).collect();
    let (our_db, our_files) = write_databases(dir.path(), "ours", &uploaded);

    let theirs = unpack(
        &dir.path().join("theirs.db.tar.gz"),
        &dir.path().join("x/theirs-db"),
    );
    let ours = unpack(&our_db, &dir.path().join("x/ours-db"));
    assert_eq!(
        theirs.values().filter(|v| v.is_none()).count(),
        packages.len(),
        "one directory per package"
    );
    assert_same_tree(&ours, &theirs, "db");

    let theirs = unpack(
        &dir.path().join("theirs.files.tar.gz"),
        &dir.path().join("x/theirs-files"),
    );
    let ours = unpack(&our_files, &dir.path().join("x/ours-files"));
    assert_eq!(
        theirs.len(),
        packages.len() * 3,
        "dir, desc and files per package"
    );
    assert_same_tree(&ours, &theirs, "files");

    // The interesting parts made it through, so the comparison above compared something.
    let rich = uploaded
        .iter()
        .find(|u| u.parsed.info.name.as_str() == "rich")
        .unwrap();
    let desc = &ours["rich-3:2.4.1-2/desc"].clone().unwrap();
    let desc = String::from_utf8_lossy(desc);
    assert!(desc.contains("%VERSION%\n3:2.4.1-2\n\n"), "{desc}");
    assert!(
        desc.contains("%OPTDEPENDS%\npython: for the helper script\nperl\n\n"),
        "{desc}"
    );
    assert!(
        desc.contains(&format!("%SHA256SUM%\n{}\n\n", rich.sha256)),
        "{desc}"
    );
    let files = String::from_utf8(ours["rich-3:2.4.1-2/files"].clone().unwrap()).unwrap();
    assert!(
        files.contains("\nusr/share/rich/with space.txt\n"),
        "{files}"
    );
    assert!(
        files.contains("\nusr/share/rich/café ünïcode.txt\n"),
        "{files}"
    );
    assert!(files.contains("\nvar/cache/rich/empty/\n"), "{files}");
    let minimal = String::from_utf8(ours["minimal-0.1-1/desc"].clone().unwrap()).unwrap();
    assert!(!minimal.contains("%DESC%"), "{minimal}");
}

#[test]
fn an_empty_database_unpacks_to_nothing_like_repo_adds() {
    let dir = tempfile::tempdir().unwrap();
    let packages = copy_packages(dir.path());
    // repo-add only writes an empty database when the last package is removed.
    let theirs_db = dir.path().join("theirs.db.tar.gz");
    repo_add(&theirs_db, &packages[..1]);
    let name = Uploaded::read(&packages[0]).parsed.info.name.to_string();
    let out = Command::new("repo-remove")
        .arg("--quiet")
        .arg(&theirs_db)
        .arg(&name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (our_db, our_files) = write_databases(dir.path(), "ours", &[]);
    for (ours, theirs, what) in [
        (our_db, theirs_db, "db"),
        (our_files, dir.path().join("theirs.files.tar.gz"), "files"),
    ] {
        let theirs = unpack(&theirs, &dir.path().join(format!("x/theirs-{what}")));
        assert!(theirs.is_empty());
        assert_same_tree(
            &unpack(&ours, &dir.path().join(format!("x/ours-{what}"))),
            &theirs,
            what,
        );
    }
}
