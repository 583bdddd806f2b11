//! Files around the code that state facts: rust-version is a minimum every dependency accepts,
//! LICENSE is the licence Cargo.toml names, and the documented pacman.conf snippets work.

use std::process::Command;

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// "1.94", "1.94.0" → (1, 94, 0).
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap());
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// The first Rust release that knows an edition.
fn edition_minimum(edition: &str) -> (u64, u64, u64) {
    match edition {
        "2015" => (1, 0, 0),
        "2018" => (1, 31, 0),
        "2021" => (1, 56, 0),
        "2024" => (1, 85, 0),
        other => panic!("unknown edition {other}"),
    }
}

fn host_triple() -> String {
    let out = Command::new("rustc").arg("-vV").output().expect("rustc");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .unwrap()
}

/// `cargo metadata` of the workspace as built here: no network, the locked versions, and only
/// the packages this platform compiles (others need not even be downloaded).
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .args(["--filter-platform", &host_triple()])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn rust_version_is_the_minimum_every_dependency_accepts() {
    let metadata = metadata();
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    let packages = metadata["packages"].as_array().unwrap();
    let (ours, others): (Vec<&Value>, Vec<&Value>) = packages
        .iter()
        .partition(|p| members.contains(&p["id"].as_str().unwrap()));

    // Every member states it (inherited from [workspace.package]), or cargo enforces nothing.
    let declared: Vec<&str> = ours
        .iter()
        .map(|p| p["rust_version"].as_str().unwrap_or("none"))
        .collect();
    let msrv = declared[0];
    assert!(
        declared.iter().all(|v| *v == msrv && *v != "none"),
        "members' rust-version: {declared:?}"
    );
    let msrv = version(msrv);

    let mut too_new: Vec<String> = Vec::new();
    for package in ours.iter().chain(&others) {
        let mut needs = edition_minimum(package["edition"].as_str().unwrap());
        if let Some(declared) = package["rust_version"].as_str() {
            needs = needs.max(version(declared));
        }
        if needs > msrv {
            too_new.push(format!(
                "{} {} needs {needs:?}",
                package["name"], package["version"]
            ));
        }
    }
    assert!(
        too_new.is_empty(),
        "rust-version {msrv:?} is below: {too_new:#?}"
    );
    // Language features we use need at least: edition 2024 (1.85), let chains (1.88). Newer
    // standard library items are caught by clippy's incompatible_msrv, which reads it too.
    assert!(msrv >= (1, 88, 0), "let chains need 1.88");

    // The container builds with a toolchain at least that new.
    let dockerfile = std::fs::read_to_string(format!("{ROOT}/deploy/Dockerfile")).unwrap();
    let image = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("FROM rust:"))
        .expect("the Dockerfile builds FROM rust:<version>");
    let tag = image.split(['-', ' ']).next().unwrap();
    assert!(
        version(tag) >= msrv,
        "the Dockerfile's rust:{tag} is below rust-version"
    );
}

#[test]
fn the_license_file_is_the_one_cargo_names() {
    let manifest = std::fs::read_to_string(format!("{ROOT}/Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"AGPL-3.0-or-later\""));
    let license = std::fs::read_to_string(format!("{ROOT}/LICENSE")).unwrap();
    let lines: Vec<&str> = license.lines().map(str::trim).collect();
    assert_eq!(lines[0], "GNU AFFERO GENERAL PUBLIC LICENSE");
    assert_eq!(lines[1], "Version 3, 19 November 2007");
    // The whole text, not a notice: its last section and the how-to-apply appendix.
    assert!(
        license
            .contains("  13. Remote Network Interaction; Use with the GNU General Public License.")
    );
    assert!(license.contains("END OF TERMS AND CONDITIONS"));
    assert_eq!(lines.len(), 661, "the FSF's plain-text form has 661 lines");
}

/// pacman's own repositories, past and present: a section of the same name in pacman.conf
/// would shadow or be shadowed by Arch's.
const ARCH_REPOSITORIES: [&str; 16] = [
    "core",
    "extra",
    "multilib",
    "core-testing",
    "extra-testing",
    "multilib-testing",
    "core-staging",
    "extra-staging",
    "multilib-staging",
    "gnome-unstable",
    "kde-unstable",
    "testing",
    "staging",
    "community",
    "community-testing",
    "community-staging",
];

#[test]
fn documented_pacman_repositories_are_reachable_and_clash_with_none_of_arch() {
    let mut documents = vec![format!("{ROOT}/README.md")];
    for entry in std::fs::read_dir(format!("{ROOT}/docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            documents.push(path.to_str().unwrap().to_owned());
        }
    }
    let mut snippets = 0;
    for document in documents {
        let text = std::fs::read_to_string(&document).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
                continue;
            };
            if section == "options" {
                continue;
            }
            let Some(server) = lines[i + 1..]
                .iter()
                .take_while(|l| !l.starts_with('[') && !l.starts_with("```"))
                .find_map(|l| l.strip_prefix("Server = "))
            else {
                continue;
            };
            snippets += 1;
            assert!(
                !ARCH_REPOSITORIES.contains(&section),
                "{document}: [{section}] is one of Arch's own repositories"
            );
            // pacman fetches {Server}/{section}.db, and Rieter serves a repository's database
            // as /{distro}/{repo}/{arch}/{repo}.db: the section must be the repository.
            let repo = server
                .strip_suffix("/$arch")
                .and_then(|s| s.rsplit('/').next())
                .unwrap_or_else(|| panic!("{document}: Server = {server} does not end in /$arch"));
            assert_eq!(
                section, repo,
                "{document}: [{section}] serves from repository {repo}"
            );
        }
    }
    assert!(snippets >= 2, "found {snippets} pacman.conf snippets");
}
