//! deploy/systemd: the units are ones systemd loads without a complaint, each binary has one,
//! they are hardened (systemd's own exposure score), and systemd gives each binary longer to
//! stop than the binary's own shutdown grace.

use std::path::Path;
use std::process::Command;

const UNITS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/systemd");
const UNIT_FILES: [(&str, &str); 3] = [
    ("rieter-api.service", "rieter-api"),
    ("rieter-worker@.service", "rieter-worker"),
    ("rieter-agent.service", "rieter-agent"),
];

/// systemd's exposure score a unit may reach, ×10. The agent runs as root with the
/// capabilities its sandbox needs (mount and PID namespaces, changing to `nobody`), so it
/// cannot be locked down as far as the servers.
fn exposure_threshold(unit: &str) -> u32 {
    if unit == "rieter-agent.service" {
        60
    } else {
        20
    }
}

fn systemd_analyze() -> bool {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        eprintln!("note: systemd-analyze is not installed (Debian package systemd); skipped");
    }
    found
}

/// The units as installed, with ExecStart pointing at the freshly built binaries (verify
/// checks that the command exists and is executable).
fn installed_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (unit, binary) in UNIT_FILES {
        let text = std::fs::read_to_string(Path::new(UNITS).join(unit)).unwrap();
        let installed = format!("/usr/local/bin/{binary}");
        assert!(text.contains(&format!("ExecStart={installed}\n")), "{unit}");
        let built = rieter_e2e::binaries().join(binary);
        std::fs::write(
            dir.path().join(unit),
            text.replace(&installed, built.to_str().unwrap()),
        )
        .unwrap();
    }
    dir
}

#[test]
fn systemd_accepts_the_units_without_warnings() {
    if !systemd_analyze() {
        return;
    }
    let dir = installed_copy();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(UNIT_FILES.map(|(unit, _)| format!("./{unit}")))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let complaints = String::from_utf8_lossy(&out.stderr);
    // verify exits 0 on unknown keys and bad values too, reporting them only as text.
    assert!(
        out.status.success() && complaints.trim().is_empty(),
        "{complaints}"
    );
}

#[test]
fn the_units_are_sandboxed() {
    if !systemd_analyze() {
        return;
    }
    let dir = installed_copy();
    for (unit, _) in UNIT_FILES {
        // systemd's exposure score, 0 (locked down) to 10 (unprotected); --threshold is ×10.
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(format!("--threshold={}", exposure_threshold(unit)))
            .arg(format!("./{unit}"))
            .current_dir(dir.path())
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{unit} is exposed above {}:\n{report}{}",
            exposure_threshold(unit) as f64 / 10.0,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The value of `key=` in a unit file (the first, for keys that appear once).
fn setting(unit: &str, key: &str) -> String {
    let text = std::fs::read_to_string(Path::new(UNITS).join(unit)).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("{unit} sets no {key}="))
}

#[test]
fn the_units_share_the_data_directory_and_outlast_the_shutdown_grace() {
    let (api, worker) = ("rieter-api.service", "rieter-worker@.service");
    for key in [
        "User",
        "StateDirectory",
        "ProtectSystem",
        "CapabilityBoundingSet",
    ] {
        assert_eq!(setting(api, key), setting(worker, key), "{key}=");
    }
    assert_eq!(setting(api, "ProtectSystem"), "strict");
    // Both binaries' default shutdown_grace_secs (api 30, worker 60), plus room to exit.
    for (unit, grace) in [(api, 30), (worker, 60)] {
        let stop: u64 = setting(unit, "TimeoutStopSec").parse().unwrap();
        assert!(
            stop > grace,
            "{unit}: TimeoutStopSec={stop} does not outlast {grace}s"
        );
    }
}
