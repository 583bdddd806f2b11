//! The web UI in real headless Chromium (Debian's `chromium`, driven by playwright-core from
//! `e2e/browser/`): a visitor searches, opens a package and follows a dependency, and does not
//! see a private distribution; an administrator signs in, creates and revokes a key, sees the
//! private distribution, signs out; a phone-width page in dark mode. The steps are in
//! `e2e/browser/ui.mjs`; its screenshots land in `target/tmp/browser-screenshots/`.
//! `scripts/lib.sh` (`ensure_browser`) installs Chromium and playwright-core.

use std::path::Path;
use std::process::Command;

use rieter_e2e::{API_KEY, Build, Options, Pkg, Rieter, build_many};

#[tokio::test(flavor = "multi_thread")]
async fn a_visitor_and_an_administrator_use_the_ui_in_chromium() {
    let rieter = Rieter::start(Options {
        env: vec![("RIETER_PRIVATE_DISTROS".into(), "vault".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let lib = Build::new("br-lib", "1.0").with_pkg(|p| Pkg {
        provides: vec!["libbr.so=1-64".into()],
        ..p
    });
    let app = Build::new("br-app", "2.0").with_pkg(|p| Pkg {
        depends: vec!["libbr.so=1-64".into()],
        ..p
    });
    let extras = Build::new("br-app-extras", "1.0");
    let secret = Build::new("br-secret", "1.0");
    let files = build_many(&[lib, app, extras, secret]).unwrap();
    for (file, target) in files
        .iter()
        .zip(["pub/main", "pub/main", "pub/main", "vault/main"])
    {
        let id = rieter.upload(target, file).await.unwrap();
        assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    }

    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `. scripts/lib.sh; ensure_browser`"
    );
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    let script = browser_dir.join("ui.mjs");
    let base = rieter.url("");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("RIETER_URL", base.trim_end_matches('/'))
            .env("RIETER_ADMIN_KEY", API_KEY)
            .env("SCREENSHOTS", &screenshots)
            .env("CHROMIUM", "/usr/bin/chromium")
            .output()
            .expect("running node (Node.js 20 or later)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser suite failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("browser suite passed"), "{stdout}");
    let shots =
        std::fs::read_dir(Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
            })
            .count();
    assert!(shots >= 10, "{shots} screenshots: {stdout}");
}
