//! The compose file is one `docker compose` accepts, with the documented shape.

use std::process::Command;

#[test]
fn docker_compose_accepts_the_compose_file() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new("docker-compose")
        .args([
            "--project-directory",
            root,
            "-f",
            "docker-compose.yml",
            "config",
        ])
        .current_dir(root)
        .env(
            "RIETER_API_KEY",
            "compose-check-key-0123456789abcdef0123456789",
        )
        .output()
        .expect("docker-compose is required (Debian package docker-compose)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "postgres:",
        "api:",
        "worker:",
        "replicas: 2",
        "dockerfile: deploy/Dockerfile",
        "127.0.0.1",
    ] {
        assert!(
            text.contains(needle),
            "compose config lacks {needle:?}:\n{text}"
        );
    }
    // Without the admin key compose must refuse to start anything.
    let out = Command::new("docker-compose")
        .args(["-f", "docker-compose.yml", "config"])
        .current_dir(root)
        .env_remove("RIETER_API_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
}
