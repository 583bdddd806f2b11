//! Upload → queue → parse → catalogue, through the real binaries (one api, two workers).

use std::io::Write;
use std::path::Path;
use std::process::Command;

use rieter_e2e::{API_KEY, Build, Ext, Options, Pkg, Rieter};
use serde_json::Value;
use sqlx::Row;

/// `key = value` pairs of the package's `.PKGINFO`, as bsdtar extracts it.
fn pkginfo(path: &Path) -> Vec<(String, String)> {
    let out = Command::new("bsdtar")
        .arg("-xOf")
        .arg(path)
        .arg(".PKGINFO")
        .output()
        .expect("bsdtar");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn values(info: &[(String, String)], key: &str) -> Vec<String> {
    info.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

fn one(info: &[(String, String)], key: &str) -> String {
    values(info, key).pop().unwrap_or_default()
}

/// Every package kind the issue names: each compression, an epoch, `any`, a split package.
fn fixtures() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for (i, ext) in Ext::ALL.into_iter().enumerate() {
        let build = Build::new(&format!("e2e-comp-{i}"), "1.0")
            .ext(ext)
            .with_pkg(|p| Pkg {
                depends: vec!["glibc".into(), "zlib>=1.2".into()],
                optdepends: vec!["python: scripting support".into()],
                provides: vec![format!("e2e-virtual-{i}=1.0")],
                licenses: vec!["MIT".into(), "Apache-2.0".into()],
                groups: vec!["e2e".into()],
                ..p
            });
        files.push(build.build_one().unwrap());
    }
    files.push(
        Build::new("e2e-epoch", "2.1")
            .epoch("3")
            .pkgrel("2")
            .build_one()
            .unwrap(),
    );
    files.push(
        Build::new("e2e-noarch", "0.5")
            .arch("any")
            .build_one()
            .unwrap(),
    );
    files.extend(
        Build::new("e2e-split", "4.0")
            .with_pkg(|p| Pkg {
                name: "e2e-split-bin".into(),
                ..p
            })
            .split(Pkg::new("e2e-split-data").arch("any"))
            .build()
            .unwrap(),
    );
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_of_every_kind_are_catalogued_with_their_exact_metadata() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let files = fixtures();
    let mut ids = Vec::new();
    for file in &files {
        ids.push(rieter.upload("e2e/main", file).await.unwrap());
    }
    let pool = rieter.db.pool().await.unwrap();
    for (file, id) in files.iter().zip(&ids) {
        let upload = rieter
            .wait_for(
                id,
                &["published", "failed"],
                std::time::Duration::from_secs(120),
            )
            .await
            .unwrap();
        assert_ne!(upload["status"], "failed", "{}: {upload}", file.display());
        assert_eq!(upload["error"], Value::Null);
        let info = pkginfo(file);
        let pkg = &upload["package"];
        assert_eq!(pkg["name"], one(&info, "pkgname"), "{upload}");
        assert_eq!(pkg["version"], one(&info, "pkgver"), "{upload}");
        assert_eq!(pkg["arch"], one(&info, "arch"), "{upload}");
        assert_eq!(pkg["distro"], "e2e");
        assert_eq!(pkg["repo"], "main");

        let row = sqlx::query(
            "select p.*, f.paths from packages p join package_files f on f.package_id = p.id
             where p.upload_id = $1::uuid",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        let text = |c: &str| row.get::<Option<String>, _>(c).unwrap_or_default();
        let list = |c: &str| row.get::<Vec<String>, _>(c);
        assert_eq!(text("name"), one(&info, "pkgname"));
        assert_eq!(text("base"), one(&info, "pkgbase"));
        assert_eq!(text("version"), one(&info, "pkgver"));
        assert_eq!(text("description"), one(&info, "pkgdesc"));
        assert_eq!(text("packager"), one(&info, "packager"));
        assert_eq!(
            row.get::<i64, _>("build_date").to_string(),
            one(&info, "builddate")
        );
        assert_eq!(
            row.get::<i64, _>("installed_size").to_string(),
            one(&info, "size")
        );
        assert_eq!(list("depends"), values(&info, "depend"));
        assert_eq!(list("optdepends"), values(&info, "optdepend"));
        assert_eq!(list("provides"), values(&info, "provides"));
        assert_eq!(list("licenses"), values(&info, "license"));
        assert_eq!(list("groups"), values(&info, "group"));
        assert_eq!(
            row.get::<i64, _>("compressed_size") as u64,
            std::fs::metadata(file).unwrap().len()
        );
        assert_eq!(
            text("filename"),
            file.file_name().unwrap().to_str().unwrap()
        );
        let sha256 = Command::new("sha256sum").arg(file).output().unwrap().stdout;
        assert_eq!(text("sha256"), String::from_utf8(sha256).unwrap()[..64]);
        assert!(!list("paths").is_empty());
    }
}

async fn catalogue_counts(pool: &sqlx::PgPool) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "select (select count(*) from distros), (select count(*) from repos),
                (select count(*) from packages), (select count(*) from repo_arches)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// A zstd-compressed archive whose `.PKGINFO` unpacks to 1 GiB, built without holding it.
fn pkginfo_bomb() -> Vec<u8> {
    let size: u64 = 1 << 30;
    let mut encoder = zstd::Encoder::new(Vec::new(), 3).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_path(".PKGINFO").unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    encoder.write_all(header.as_bytes()).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..(size >> 20) {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.write_all(&[0u8; 1024]).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_packages_fail_with_reasons_and_change_nothing() {
    let mut rieter = Rieter::start(Options::default()).await.unwrap();
    let pool = rieter.db.pool().await.unwrap();
    // Something in the catalogue first, so "unchanged" is not trivially "empty".
    let good = Build::new("e2e-good", "1.0").build_one().unwrap();
    let id = rieter.upload("e2e/main", &good).await.unwrap();
    rieter
        .wait_for(&id, &["published"], std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let before = catalogue_counts(&pool).await;

    let real = std::fs::read(&good).unwrap();
    let random: Vec<u8> = (0..65536u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let bomb = pkginfo_bomb();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("random bytes", random, "not a package"),
        (
            "truncated archive",
            real[..real.len() / 2].to_vec(),
            "corrupt or truncated",
        ),
        (
            "no .PKGINFO",
            zstd(&tar_with(&[("usr/bin/x", b"x")])),
            "no .PKGINFO",
        ),
        (
            ".PKGINFO without pkgver",
            zstd(&tar_with(&[(".PKGINFO", b"pkgname = x\narch = x86_64\n")])),
            "no `pkgver` field",
        ),
        (
            "name containing /",
            zstd(&tar_with(&[(
                ".PKGINFO",
                b"pkgname = a/b\npkgver = 1-1\narch = x86_64\n",
            )])),
            "package name `a/b`",
        ),
        ("1 GiB .PKGINFO", bomb, ".PKGINFO is larger than the limit"),
    ];
    for (what, body, reason) in cases {
        let resp = rieter.upload_bytes("/e2e/main", body).await.unwrap();
        assert_eq!(resp.status(), 202, "{what}");
        let upload: Value = resp.json().await.unwrap();
        let done = rieter
            .wait_final(upload["id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(done["status"], "failed", "{what}: {done}");
        let error = done["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(reason),
            "{what}: error {error:?} lacks {reason:?}"
        );
        assert_eq!(done["package"], Value::Null, "{what}");
    }
    assert_eq!(
        catalogue_counts(&pool).await,
        before,
        "the catalogue changed"
    );
    // Failed uploads leave no blob behind (the sweep collects them): only the good package's
    // remains, and the databases' archives.
    let pool = rieter.db.pool().await.unwrap();
    let archives: i64 = sqlx::query_scalar(
        "select count(distinct digest) from published_files where filename like '%.tar.gz'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    rieter.wait_blob_count(1 + archives as usize).await.unwrap();
    // Nothing crashed.
    assert!(rieter.all_alive(), "a process died:\n{}", rieter.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn version_rules_decide_what_becomes_current() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let pool = rieter.db.pool().await.unwrap();
    let current = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, String>("select version from packages where name = 'e2e-ver'")
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    let wait = |id: String| {
        let rieter = &rieter;
        async move {
            rieter
                .wait_for(
                    &id,
                    &["published", "failed"],
                    std::time::Duration::from_secs(60),
                )
                .await
                .unwrap()
        }
    };
    let v1 = Build::new("e2e-ver", "1.0").build_one().unwrap();
    let v2 = Build::new("e2e-ver", "2.0").build_one().unwrap();
    let v2_other = Build::new("e2e-ver", "2.0")
        .desc("different content")
        .build_one()
        .unwrap();

    let first = wait(rieter.upload("e2e/main", &v1).await.unwrap()).await;
    assert_ne!(first["status"], "failed");
    let newer = wait(rieter.upload("e2e/main", &v2).await.unwrap()).await;
    assert_ne!(newer["status"], "failed", "{newer}");
    assert_eq!(current(pool.clone()).await, ["2.0-1"]);

    let older = wait(rieter.upload("e2e/main", &v1).await.unwrap()).await;
    assert_eq!(older["status"], "failed");
    assert!(
        older["error"]
            .as_str()
            .unwrap()
            .contains("older than the current e2e-ver 2.0-1"),
        "{older}"
    );

    let same = wait(rieter.upload("e2e/main", &v2).await.unwrap()).await;
    assert_ne!(
        same["status"], "failed",
        "identical re-upload is a no-op success: {same}"
    );
    assert_eq!(same["package"]["id"], newer["package"]["id"]);

    let clash = wait(rieter.upload("e2e/main", &v2_other).await.unwrap()).await;
    assert_eq!(clash["status"], "failed");
    assert!(
        clash["error"].as_str().unwrap().contains("overwrite=true"),
        "{clash}"
    );
    assert_eq!(current(pool.clone()).await, ["2.0-1"]);

    let resp = rieter
        .upload_bytes(
            "/e2e/main?overwrite=true",
            std::fs::read(&v2_other).unwrap(),
        )
        .await
        .unwrap();
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(wait(id).await["status"], "failed");
    let sha: String = sqlx::query_scalar("select sha256 from packages where name = 'e2e-ver'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let expected = Command::new("sha256sum")
        .arg(&v2_other)
        .output()
        .unwrap()
        .stdout;
    assert_eq!(sha, String::from_utf8(expected).unwrap()[..64]);

    let resp = rieter
        .upload_bytes(
            "/e2e/main?allow_downgrade=true",
            std::fs::read(&v1).unwrap(),
        )
        .await
        .unwrap();
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(wait(id).await["status"], "failed");
    assert_eq!(current(pool.clone()).await, ["1.0-1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_with_problem_documents() {
    let rieter = Rieter::start(Options {
        workers: 0,
        max_upload_bytes: 1000,
        ..Options::default()
    })
    .await
    .unwrap();
    let pkg = std::fs::read(
        Build::new("e2e-req", "1.0")
            .padding(4096)
            .build_one()
            .unwrap(),
    )
    .unwrap();
    let post = |path: &str| rieter.client.post(rieter.url(path));
    let check = |resp: reqwest::Response, status: u16| async move {
        assert_eq!(resp.status(), status);
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status"], status);
        assert!(body["title"].is_string() && body["type"].is_string());
        body["detail"].as_str().unwrap().to_owned()
    };

    let detail = check(
        post("/e2e/main").body(pkg.clone()).send().await.unwrap(),
        401,
    )
    .await;
    assert!(detail.contains("API key"), "{detail}");
    let wrong = post("/e2e/main")
        .bearer_auth("not-the-key")
        .body(pkg.clone());
    check(wrong.send().await.unwrap(), 401).await;
    let empty = post("/e2e/main")
        .header("X-Api-Key", API_KEY)
        .body(Vec::new());
    let detail = check(empty.send().await.unwrap(), 400).await;
    assert!(detail.contains("empty"), "{detail}");
    let big = post("/e2e/main").bearer_auth(API_KEY).body(pkg.clone());
    let detail = check(big.send().await.unwrap(), 413).await;
    assert!(detail.contains("1000 bytes"), "{detail}");
    // Names that would shadow routes (now or planned) or Vieter clients' requests.
    for (target, expected) in [
        (
            "/api/main",
            "`api` is reserved and cannot be used as a distribution name",
        ),
        (
            "/search/main",
            "`search` is reserved and cannot be used as a distribution name",
        ),
        (
            "/e2e/publish",
            "`publish` is reserved and cannot be used as a repository name",
        ),
        (
            "/e2e/Key",
            "`Key` is reserved and cannot be used as a repository name",
        ),
    ] {
        let reserved = post(target).bearer_auth(API_KEY).body(b"x".to_vec());
        let detail = check(reserved.send().await.unwrap(), 400).await;
        assert_eq!(detail, expected, "{target}");
    }
    let dots = post("/e2e/..hidden")
        .bearer_auth(API_KEY)
        .body(b"x".to_vec());
    check(dots.send().await.unwrap(), 400).await;
    let basic = post("/e2e/main")
        .basic_auth("_", Some(API_KEY))
        .body(Vec::new());
    check(basic.send().await.unwrap(), 400).await;
    let unknown = rieter
        .client
        .get(rieter.url("/api/v1/uploads/00000000-0000-0000-0000-000000000000"));
    check(unknown.send().await.unwrap(), 404).await;

    let pool = rieter.db.pool().await.unwrap();
    let uploads: i64 = sqlx::query_scalar("select count(*) from uploads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(uploads, 0, "refused requests recorded uploads");
    assert_eq!(rieter.blob_files().len(), 0, "refused requests left blobs");
    assert_eq!(
        rieter.partial_uploads(),
        0,
        "refused requests left partial uploads"
    );
}
