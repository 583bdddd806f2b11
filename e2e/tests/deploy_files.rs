//! The container deployment: the compose file (and its secrets variant) is one `docker compose`
//! accepts, with health checks and stop grace periods that fit the binaries' own; the
//! Dockerfile caches dependencies and runs unprivileged; `.dockerignore` keeps the build
//! context to what the build needs.

use std::path::Path;
use std::process::Command;

use serde_yaml::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// `docker-compose config` of the given files, parsed, with `env` as the only RIETER_* variable.
fn compose_config(files: &[&str], env: &[(&str, &str)]) -> Result<Value, String> {
    let mut cmd = Command::new("docker-compose");
    cmd.args(["--project-directory", ROOT]);
    for file in files {
        cmd.args(["-f", file]);
    }
    cmd.arg("config").current_dir(ROOT);
    for (name, _) in std::env::vars() {
        if name.starts_with("RIETER_")
            || name == "POSTGRES_PASSWORD"
            || name == "MINIO_ROOT_PASSWORD"
        {
            cmd.env_remove(name);
        }
    }
    let out = cmd
        .envs(env.iter().copied())
        .output()
        .expect("docker-compose is required (Debian package docker-compose)");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_yaml::from_slice(&out.stdout).expect("compose config prints YAML"))
}

fn service<'a>(config: &'a Value, name: &str) -> &'a Value {
    &config["services"][name]
}

/// Compose prints durations as `40s`, `1m`, `1m10s`.
fn seconds(duration: &Value) -> u64 {
    let text = duration.as_str().expect("a duration");
    let (minutes, rest) = text.split_once('m').unwrap_or(("0", text));
    let secs = rest.trim_end_matches('s');
    minutes.parse::<u64>().unwrap() * 60
        + if secs.is_empty() {
            0
        } else {
            secs.parse().unwrap()
        }
}

fn env_value<'a>(service: &'a Value, name: &str) -> &'a Value {
    &service["environment"][name]
}

#[test]
fn docker_compose_accepts_the_compose_file() {
    let key = "compose-check-key-0123456789abcdef0123456789abcdef";
    let config = compose_config(&["docker-compose.yml"], &[("RIETER_API_KEY", key)])
        .unwrap_or_else(|e| panic!("{e}"));
    let api = service(&config, "api");
    let worker = service(&config, "worker");
    assert_eq!(api["build"]["dockerfile"], "deploy/Dockerfile");
    assert_eq!(api["ports"][0], "127.0.0.1:8000:8000/tcp");
    assert_eq!(worker["deploy"]["replicas"], 2);
    assert_eq!(env_value(api, "RIETER_API_KEY"), key);

    // The api is checked by its own subcommand, and the workers wait for it to be healthy.
    assert_eq!(
        api["healthcheck"]["test"],
        serde_yaml::from_str::<Value>("[CMD, rieter-api, healthcheck]").unwrap()
    );
    assert_eq!(worker["depends_on"]["api"]["condition"], "service_healthy");
    assert_eq!(
        worker["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );

    // Docker sends SIGKILL after stop_grace_period: it must outlast each binary's own grace.
    for (name, svc) in [("api", api), ("worker", worker)] {
        let grace: u64 = env_value(svc, "RIETER_SHUTDOWN_GRACE_SECS")
            .as_u64()
            .or_else(|| {
                env_value(svc, "RIETER_SHUTDOWN_GRACE_SECS")
                    .as_str()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{name} sets RIETER_SHUTDOWN_GRACE_SECS"));
        let stop = seconds(&svc["stop_grace_period"]);
        assert!(
            stop > grace,
            "{name}: stop_grace_period {stop}s does not outlast its shutdown grace {grace}s"
        );
    }

    // Without a key in the shell the container gets none (the api then refuses to start),
    // rather than an empty string.
    let config = compose_config(&["docker-compose.yml"], &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(env_value(service(&config, "api"), "RIETER_API_KEY").is_null());
}

#[test]
fn the_object_store_variant_points_both_binaries_at_the_bucket() {
    let config = compose_config(
        &["docker-compose.yml", "deploy/compose.s3.yml"],
        &[
            ("MINIO_ROOT_PASSWORD", "s3-secret"),
            ("RIETER_API_KEY", "k"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for name in ["api", "worker"] {
        let svc = service(&config, name);
        assert_eq!(
            env_value(svc, "RIETER_STORAGE"),
            "s3://rieter/blobs",
            "{name}"
        );
        assert_eq!(
            env_value(svc, "AWS_ENDPOINT_URL"),
            "http://minio:9000",
            "{name}"
        );
        assert_eq!(
            env_value(svc, "AWS_SECRET_ACCESS_KEY"),
            "s3-secret",
            "{name}"
        );
        assert_eq!(
            svc["depends_on"]["minio-bucket"]["condition"], "service_completed_successfully",
            "{name}"
        );
        // The rest of the main file's environment stays.
        assert!(env_value(svc, "RIETER_DATABASE_URL").is_string(), "{name}");
    }
    assert_eq!(
        service(&config, "minio")["environment"]["MINIO_ROOT_PASSWORD"],
        "s3-secret"
    );
    // Without the password the variant refuses to render rather than run with an empty one.
    let refused = compose_config(&["docker-compose.yml", "deploy/compose.s3.yml"], &[]);
    assert!(refused.is_err());
}

#[test]
fn the_secrets_variant_reads_secrets_from_files_only() {
    let config = compose_config(&["docker-compose.yml", "deploy/compose.secrets.yml"], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let text = serde_yaml::to_string(&config).unwrap();
    assert!(
        !text.contains("rieter:rieter@"),
        "a password left in the environment:\n{text}"
    );
    let api = service(&config, "api");
    let worker = service(&config, "worker");
    let postgres = service(&config, "postgres");
    let expect = [
        (api, "RIETER_API_KEY", "rieter_api_key"),
        (api, "RIETER_DATABASE_URL", "rieter_database_url"),
        (worker, "RIETER_DATABASE_URL", "rieter_database_url"),
        (postgres, "POSTGRES_PASSWORD", "postgres_password"),
    ];
    for (svc, variable, secret) in expect {
        assert!(
            env_value(svc, variable).is_null(),
            "{variable} is still set"
        );
        assert_eq!(
            env_value(svc, &format!("{variable}_FILE")).as_str(),
            Some(format!("/run/secrets/{secret}").as_str())
        );
        let mounted = svc["secrets"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|s| s["source"] == secret);
        assert!(mounted, "{secret} is not mounted for {variable}_FILE");
        let file = config["secrets"][secret]["file"].as_str().unwrap();
        assert!(
            Path::new(file).starts_with(Path::new(ROOT).canonicalize().unwrap()),
            "{file} lies outside the project directory"
        );
    }
}

#[test]
fn the_dockerfile_caches_dependencies_and_runs_unprivileged() {
    let dockerfile = std::fs::read_to_string(format!("{ROOT}/deploy/Dockerfile")).unwrap();
    let lines: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("the Dockerfile has no line starting {needle:?}"))
    };
    // Dependencies are built from the recipe before the sources are copied into that stage,
    // so a source change does not invalidate them.
    let build_stage = position("FROM chef AS build");
    let cook = position("RUN cargo chef cook");
    let sources = build_stage
        + lines[build_stage..]
            .iter()
            .position(|l| *l == "COPY . .")
            .unwrap();
    let compile = position("RUN cargo build --release --locked");
    assert!(build_stage < cook && cook < sources && sources < compile);
    assert!(lines[build_stage..compile].contains(&"ENV SQLX_OFFLINE=true"));
    // The runtime stage drops root.
    let runtime = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    let user = lines[runtime..]
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "{user}"
    );
}

/// The build context Docker would send for a tree holding `paths`, computed from the real
/// `.dockerignore` by docker-compose's own implementation of its rules (the Python `docker`
/// package it runs on).
fn docker_build_context(paths: &[&str]) -> Vec<String> {
    let tree = tempfile::tempdir().unwrap();
    std::fs::copy(
        format!("{ROOT}/.dockerignore"),
        tree.path().join(".dockerignore"),
    )
    .unwrap();
    for path in paths {
        let path = tree.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
    }
    let compose = which("docker-compose");
    let shebang = std::fs::read_to_string(&compose).unwrap();
    let python = shebang
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("#!")
        .trim();
    let script = "from docker.utils.build import exclude_paths\n\
        patterns = [l.strip() for l in open('.dockerignore') if l.strip() and not l.startswith('#')]\n\
        print('\\n'.join(sorted(exclude_paths('.', patterns))))";
    let out = Command::new(python)
        .args(["-c", script])
        .current_dir(tree.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn which(program: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

#[test]
fn the_build_context_holds_the_sources_and_nothing_local() {
    let needed = [
        "Cargo.toml",
        "Cargo.lock",
        ".sqlx/query-0123.json",
        "migrations/20250101000000_init.sql",
        "shared/src/lib.rs",
        "api/src/main.rs",
        "worker/src/main.rs",
        "deploy/Dockerfile",
    ];
    // Build outputs, history, local data and local secrets: large, or not to be shipped.
    let unwanted = [
        ".git/HEAD",
        "target/debug/rieter-api",
        "shared/target/debug/x",
        "data/blobs/0193",
        "data/upload.part",
        "secrets/api-key",
        "rieter.toml",
        ".env",
    ];
    let context = docker_build_context(&[&needed[..], &unwanted[..]].concat());
    for path in needed {
        assert!(
            context.iter().any(|p| p == path),
            "the build context lacks {path}"
        );
    }
    for path in unwanted {
        assert!(
            !context.iter().any(|p| p == path),
            "the build context holds {path}"
        );
    }
}
