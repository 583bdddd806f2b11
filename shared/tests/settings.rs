//! Loading configuration as both binaries do: the example file, one namespace for both, strict
//! about unknown keys, values from files, text kept as text.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use rieter::settings::{ApiConfig, SettingsError, WorkerConfig, load_from, namespace};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/rieter.example.toml");
const GOOD_KEY: &str = "0123456789abcdef0123456789abcdef";

fn env(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    vars.iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect()
}

/// A config file with `text` in a fresh directory, and the directory.
fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rieter.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn api(vars: &[(&str, &str)]) -> Result<ApiConfig, SettingsError> {
    load_from::<ApiConfig>(env(vars)).and_then(|c| c.validate().map(|()| c))
}

fn worker(vars: &[(&str, &str)]) -> Result<WorkerConfig, SettingsError> {
    load_from::<WorkerConfig>(env(vars)).and_then(|c| c.validate().map(|()| c))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_example_file_loads_in_both_binaries_and_its_placeholder_key_is_refused() {
    let config = [("RIETER_CONFIG", EXAMPLE)];
    let worker = worker(&config).unwrap();
    assert_eq!(worker.shutdown_grace_secs, 30);
    assert_eq!(worker.max_parse_cpu_secs, 120);

    let refused = api(&config).unwrap_err().to_string();
    assert!(
        refused.contains("RIETER_API_KEY") && refused.contains("placeholder"),
        "{refused}"
    );
    let api = api(&[("RIETER_CONFIG", EXAMPLE), ("RIETER_API_KEY", GOOD_KEY)]).unwrap();
    assert_eq!(api.api_key.expose(), GOOD_KEY);
    assert_eq!(api.bind.to_string(), "127.0.0.1:8000");

    // It documents every key (the optional ones commented out).
    let text = std::fs::read_to_string(EXAMPLE).unwrap();
    for key in namespace::known_keys() {
        let documented = text.lines().any(|l| {
            l.trim_start_matches(['#', ' '])
                .starts_with(&format!("{key} ="))
        });
        assert!(documented, "{key} is not in {EXAMPLE}");
    }
}

#[test]
fn admin_keys_shorter_than_32_characters_are_refused() {
    let short = "0123456789abcdef0123456789abcde"; // 31
    let err = api(&[
        ("RIETER_DATABASE_URL", "postgres://x/y"),
        ("RIETER_API_KEY", short),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("RIETER_API_KEY") && err.contains("32 characters"),
        "{err}"
    );
}

#[test]
fn one_namespace_serves_both_binaries_and_a_key_neither_knows_is_an_error() {
    let base = [
        ("RIETER_DATABASE_URL", "postgres://x/y"),
        ("RIETER_API_KEY", GOOD_KEY),
    ];
    // Each binary accepts the other's keys.
    let mut vars = base.to_vec();
    vars.extend([
        ("RIETER_BIND", "0.0.0.0:9000"),
        ("RIETER_PARSE_CONCURRENCY", "3"),
    ]);
    assert_eq!(api(&vars).unwrap().bind.port(), 9000);
    assert_eq!(worker(&vars).unwrap().parse_concurrency(), 3);
    // Variables that are not configuration keys are left alone.
    vars.extend([
        ("RIETER_TEST_DATABASE_URL", "postgres://elsewhere/"),
        ("RIETER_URL", "https://repo.example.org"),
    ]);
    api(&vars).unwrap();

    // A typo, in the environment or in the file, names itself and the key it resembles.
    let mut typo = base.to_vec();
    typo.push(("RIETER_QUIET_PERIOD_SEC", "1"));
    let err = worker(&typo).unwrap_err().to_string();
    assert!(
        err.contains("RIETER_QUIET_PERIOD_SEC") && err.contains("`quiet_period_secs`"),
        "{err}"
    );
    let (_dir, file) = config_file("database_url = \"postgres://x/y\"\nbindd = \"1.2.3.4:5\"\n");
    let err = api(&[("RIETER_CONFIG", path(&file)), ("RIETER_API_KEY", GOOD_KEY)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`bindd`") && err.contains("rieter.toml") && err.contains("`bind`"),
        "{err}"
    );
    let (_dir, file) = config_file("no_such_thing = 1\n");
    let err = worker(&[("RIETER_CONFIG", path(&file))])
        .unwrap_err()
        .to_string();
    assert!(err.contains("`no_such_thing`"), "{err}");
}

#[test]
fn text_that_looks_like_a_number_stays_text() {
    let digits = "0123456789012345678901234567890123456789"; // more than any integer holds
    let vars = [
        ("RIETER_DATABASE_URL", "postgres://x/y"),
        ("RIETER_API_KEY", digits),
        ("RIETER_WORKER_NAME", "007"),
        ("RIETER_PRIVATE_DISTROS", "internal,0x1f"),
    ];
    let api = api(&vars).unwrap();
    assert_eq!(api.api_key.expose(), digits);
    assert_eq!(api.private_distros, ["internal", "0x1f"]);
    assert_eq!(worker(&vars).unwrap().worker_name.as_deref(), Some("007"));
    // ... while numbers and booleans are still parsed where the field is one.
    let worker = worker(&[
        ("RIETER_DATABASE_URL", "postgres://x/y"),
        ("RIETER_QUIET_PERIOD_SECS", "0.25"),
        ("RIETER_AUTO_MIGRATE", "false"),
    ])
    .unwrap();
    assert_eq!(worker.quiet_period_secs, 0.25);
    assert!(!worker.auto_migrate);
}

#[test]
fn secrets_can_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("api_key");
    let url = dir.path().join("database_url");
    std::fs::write(&key, format!("{GOOD_KEY}\n")).unwrap();
    std::fs::write(&url, "postgres://rieter:s3cret@db/rieter").unwrap();
    let config = api(&[
        ("RIETER_API_KEY_FILE", path(&key)),
        ("RIETER_DATABASE_URL_FILE", path(&url)),
    ])
    .unwrap();
    assert_eq!(config.api_key.expose(), GOOD_KEY);
    assert_eq!(
        config.database_url.expose(),
        "postgres://rieter:s3cret@db/rieter"
    );

    let both = api(&[
        ("RIETER_API_KEY_FILE", path(&key)),
        ("RIETER_API_KEY", GOOD_KEY),
        ("RIETER_DATABASE_URL", "postgres://x/y"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        both.contains("RIETER_API_KEY") && both.contains("set one of them"),
        "{both}"
    );
    let missing = dir.path().join("nope");
    let err = api(&[
        ("RIETER_API_KEY_FILE", path(&missing)),
        ("RIETER_DATABASE_URL", "postgres://x/y"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("RIETER_API_KEY_FILE") && err.contains("nope"),
        "{err}"
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let err = api(&[
        ("RIETER_API_KEY_FILE", path(&empty)),
        ("RIETER_DATABASE_URL", "postgres://x/y"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn s3_settings_are_keys_of_both_binaries_and_the_secret_is_never_printed() {
    let (dir, file) = config_file(
        "storage = \"s3://packages/prod\"\n\
         s3_endpoint = \"http://127.0.0.1:9000\"\n\
         s3_allow_http = true\n\
         s3_region = \"file-region\"\n",
    );
    let secret = dir.path().join("s3_secret");
    std::fs::write(&secret, "s3-very-secret\n").unwrap();
    let vars = [
        ("RIETER_CONFIG", path(&file)),
        ("RIETER_DATABASE_URL", "postgres://x/y"),
        ("RIETER_API_KEY", GOOD_KEY),
        // The environment wins over the file, as for every key.
        ("RIETER_S3_REGION", "eu-central-1"),
        ("RIETER_S3_ACCESS_KEY_ID", "rieter-key-id"),
        ("RIETER_S3_SECRET_ACCESS_KEY_FILE", path(&secret)),
        ("RIETER_S3_VIRTUAL_HOSTED_STYLE", "false"),
    ];
    let both = (worker(&vars).unwrap(), api(&vars).unwrap());
    for (s3, printed) in [
        (both.0.s3_options(), format!("{:?}", both.0)),
        (both.1.s3_options(), format!("{:?}", both.1)),
    ] {
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region.as_deref(), Some("eu-central-1"));
        assert_eq!(s3.access_key_id.as_deref(), Some("rieter-key-id"));
        assert_eq!(
            s3.secret_access_key.as_ref().map(|s| s.expose().as_str()),
            Some("s3-very-secret")
        );
        assert_eq!(s3.allow_http, Some(true));
        assert_eq!(s3.virtual_hosted_style, Some(false));
        let options = format!("{s3:?}");
        for text in [printed, options] {
            assert!(!text.contains("s3-very-secret"), "{text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
    }
    // Unset keys are unset (the AWS_* variables decide), and a wrong value names its key.
    let bare = worker(&[("RIETER_DATABASE_URL", "postgres://x/y")]).unwrap();
    assert!(bare.s3_options().endpoint.is_none() && bare.s3_options().allow_http.is_none());
    let err = worker(&[
        ("RIETER_DATABASE_URL", "postgres://x/y"),
        ("RIETER_S3_ALLOW_HTTP", "sometimes"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("RIETER_S3_ALLOW_HTTP"), "{err}");
}

#[test]
fn mirrors_are_declared_in_the_file_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    // No extension: the file is TOML all the same.
    let file = dir.path().join("config");
    std::fs::write(
        &file,
        "database_url = \"postgres://x\"\n\
         [[mirrors]]\n\
         distro = \"arch\"\nrepo = \"core\"\n\
         upstream = \"https://mirror.example/$repo/os/$arch\"\n\
         arches = [\"x86_64\", \"aarch64\"]\ninterval_secs = 600\n",
    )
    .unwrap();
    let config = worker(&[("RIETER_CONFIG", path(&file))]).unwrap();
    let declared = config.declared_mirrors().unwrap();
    assert_eq!(declared.len(), 1);
    assert_eq!(declared[0].repo.as_str(), "core");
    assert_eq!(declared[0].spec.arches.len(), 2);
    assert_eq!(declared[0].spec.interval.as_secs(), 600);

    std::fs::write(
        &file,
        "database_url = \"postgres://x\"\n\
         [[mirrors]]\n\
         distro = \"arch\"\nrepo = \"core\"\nupstream = \"ftp://host/$repo\"\n\
         arches = [\"x86_64\"]\ninterval_secs = 600\n",
    )
    .unwrap();
    let refused = worker(&[("RIETER_CONFIG", path(&file))])
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("mirrors") && refused.contains("arch/core") && refused.contains("ftp"),
        "{refused}"
    );
}
