//! Signatures as pacman checks them: packages built with makepkg and signed with a throwaway
//! gpg packager key are uploaded with their signatures; the server signs its databases with
//! a key it generates; a real pacman with `SigLevel = Required DatabaseRequired` and a
//! keyring made with pacman-key syncs and installs, and refuses what it should: a database
//! whose signature is missing or does not match, a package signed by a key it does not
//! trust, with a bad signature, or with none.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use rieter_e2e::api::Auth;
use rieter_e2e::gpg::Packager;
use rieter_e2e::pacman::Pacman;
use rieter_e2e::{API_KEY, Build, Options, Rieter, build_many};
use serde_json::{Value, json};

const KEK: &str = "e2e-key-encryption-key-0123456789abcdef";

fn options() -> Options {
    Options {
        env: vec![("RIETER_KEY_ENCRYPTION_KEY".into(), KEK.into())],
        ..Options::default()
    }
}

async fn bytes(rieter: &Rieter, path: &str) -> (u16, Vec<u8>) {
    let resp = rieter.client.get(rieter.url(path)).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.bytes().await.unwrap().to_vec())
}

/// Uploads as a form and waits for the upload's final state.
async fn publish(rieter: &Rieter, target: &str, file: &Path, sig: Option<Vec<u8>>) -> Value {
    let resp = rieter
        .upload_form(&format!("/{target}"), file, sig)
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    rieter
        .wait_final(body["id"].as_str().unwrap())
        .await
        .unwrap()
}

fn file_name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

/// The `%PGPSIG%` of `name`'s entry in a database archive.
fn pgpsig(db: &[u8], name: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    std::fs::write(&path, db).unwrap();
    let out = std::process::Command::new("bsdtar")
        .arg("-xOf")
        .arg(&path)
        .arg("--include")
        .arg(format!("{name}-*/desc"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let desc = String::from_utf8(out.stdout).unwrap();
    let mut lines = desc.lines();
    lines.find(|l| *l == "%PGPSIG%")?;
    lines.next().map(str::to_owned)
}

async fn admin(
    rieter: &Rieter,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = rieter
        .client
        .request(method, rieter.url(path))
        .bearer_auth(API_KEY);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn pacman_installs_from_signed_repositories_and_refuses_what_does_not_verify() {
    let rieter = Rieter::start(options()).await.unwrap();
    let files = build_many(&[
        Build::new("sig-tool", "1.0"),
        Build::new("sig-other", "1.0"),
        Build::new("sig-unsigned", "1.0"),
        Build::new("sig-stranger", "1.0"),
        Build::new("sig-forged", "1.0"),
        Build::new("sig-served", "1.0"),
    ])
    .unwrap();
    let [tool, other, unsigned, stranger, forged, served] = &files[..] else {
        unreachable!()
    };
    let packager = Packager::new("E2E Packager <packager@e2e.test>").unwrap();
    let outsider = Packager::new("E2E Outsider <outsider@e2e.test>").unwrap();

    // The distribution trusts the packager's key.
    let resp = rieter
        .client
        .put(rieter.url("/api/v1/distros/signed/packager-keys"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/pgp-keys")
        .body(packager.public_key().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let listed: Value = resp.json().await.unwrap();
    assert_eq!(
        listed["items"][0]["fingerprint"],
        packager.fingerprint.as_str(),
        "{listed}"
    );

    // The server generates its key; the public key is served for pacman-key.
    let (status, key) = admin(
        &rieter,
        reqwest::Method::POST,
        "/api/v1/distros/signed/signing-key",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let fingerprint = key["fingerprint"].as_str().unwrap().to_owned();
    let public_key = key["public_key"].as_str().unwrap().to_owned();
    assert!(public_key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    let resp = rieter
        .client
        .get(rieter.url("/signed/key"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pgp-keys");
    assert_eq!(resp.text().await.unwrap(), public_key);
    let (status, again) = admin(
        &rieter,
        reqwest::Method::POST,
        "/api/v1/distros/signed/signing-key",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 409, "a second key replaces nothing: {again}");

    // Signed by the packager: published, signature kept byte for byte.
    let tool_sig = packager.sign(tool).unwrap();
    let other_sig = packager.sign(other).unwrap();
    for (file, sig) in [(tool, &tool_sig), (other, &other_sig)] {
        let upload = publish(&rieter, "signed/main", file, Some(sig.clone())).await;
        assert_eq!(upload["status"], "published", "{upload}");
    }
    // Unsigned, signed by a key the distribution does not trust, or a signature of another
    // file: failed with the reason, nothing published.
    let upload = publish(&rieter, "signed/main", unsigned, None).await;
    assert_eq!(upload["status"], "failed");
    assert!(
        upload["error"].as_str().unwrap().contains("no signature"),
        "{upload}"
    );
    let upload = publish(
        &rieter,
        "signed/main",
        stranger,
        Some(outsider.sign(stranger).unwrap()),
    )
    .await;
    assert_eq!(upload["status"], "failed");
    assert!(
        upload["error"]
            .as_str()
            .unwrap()
            .contains("not one of the distribution's packager keys"),
        "{upload}"
    );
    let upload = publish(&rieter, "signed/main", forged, Some(tool_sig.clone())).await;
    assert_eq!(upload["status"], "failed");
    assert!(
        upload["error"].as_str().unwrap().contains("does not match"),
        "{upload}"
    );

    // What is served: the package signature as uploaded, the same bytes in %PGPSIG%, and a
    // signature beside each name of each database.
    let base = "/signed/main/x86_64";
    let (status, sig) = bytes(&rieter, &format!("{base}/{}.sig", file_name(tool))).await;
    assert_eq!((status, &sig), (200, &tool_sig));
    // The package page says it is signed and links the signature beside the file.
    let (status, page) = bytes(&rieter, "/packages/signed/main/x86_64/sig-tool").await;
    assert_eq!(status, 200);
    let page = String::from_utf8(page).unwrap();
    let sig_link = format!("{base}/{}.sig", file_name(tool));
    assert!(
        page.contains(&format!("<a href=\"{sig_link}\">signature</a>")),
        "{page}"
    );
    assert!(page.contains("<dt>Signature</dt><dd>an OpenPGP signature"));
    let (_, db) = bytes(&rieter, &format!("{base}/main.db")).await;
    assert_eq!(
        pgpsig(&db, "sig-tool").unwrap(),
        base64::engine::general_purpose::STANDARD.encode(&tool_sig)
    );
    for name in [
        "main.db",
        "main.db.tar.gz",
        "main.files",
        "main.files.tar.gz",
    ] {
        let (status, sig) = bytes(&rieter, &format!("{base}/{name}.sig")).await;
        assert_eq!(status, 200, "{name}.sig");
        assert!(
            sig.len() < 16384 && sig[0] & 0x80 != 0,
            "{name}.sig is a binary signature"
        );
    }
    let (_, db_sig) = bytes(&rieter, &format!("{base}/main.db.sig")).await;
    let (_, tgz_sig) = bytes(&rieter, &format!("{base}/main.db.tar.gz.sig")).await;
    assert_eq!(
        db_sig, tgz_sig,
        "both names of the database have one signature"
    );
    assert_eq!(
        bytes(&rieter, &format!("{base}/{}.sig", file_name(unsigned)))
            .await
            .0,
        404
    );

    // pacman trusting the server and the packager: syncs, installs, lists files.
    let server = rieter.url("/signed/main/$arch");
    let pacman = Pacman::with_sig_level(&[("main", &server)], "Required DatabaseRequired").unwrap();
    pacman.trust(&public_key, &fingerprint).unwrap();
    pacman
        .trust(&packager.public_key().unwrap(), &packager.fingerprint)
        .unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman.ok(&["-S", "sig-tool", "sig-other"]).unwrap();
    let installed = pacman.ok(&["-Q"]).unwrap();
    assert!(installed.contains("sig-tool 1.0-1") && installed.contains("sig-other 1.0-1"));
    pacman.ok(&["-Fy"]).unwrap();

    // A pacman that does not trust the server's key refuses the database.
    let untrusting =
        Pacman::with_sig_level(&[("main", &server)], "Required DatabaseRequired").unwrap();
    untrusting
        .trust(&packager.public_key().unwrap(), &packager.fingerprint)
        .unwrap();
    let out = untrusting.run(&["-Sy"]).unwrap();
    assert!(
        !out.status.success(),
        "a database signed by an unknown key was accepted"
    );

    // A copy of the repository with a tampered database, or without its signature: refused.
    let mirror = tempfile::tempdir().unwrap();
    for name in ["main.db", "main.db.sig"] {
        std::fs::write(
            mirror.path().join(name),
            bytes(&rieter, &format!("{base}/{name}")).await.1,
        )
        .unwrap();
    }
    let tampered = mirror.path().join("main.db");
    let mut db = std::fs::read(&tampered).unwrap();
    let last = db.len() - 1;
    db[last] ^= 0xff;
    std::fs::write(&tampered, db).unwrap();
    let copy = format!("file://{}", mirror.path().display());
    let fresh = || {
        let p = Pacman::with_sig_level(&[("main", &copy)], "Required DatabaseRequired").unwrap();
        p.trust(&public_key, &fingerprint).unwrap();
        p
    };
    let out = fresh().run(&["-Sy"]).unwrap();
    assert!(!out.status.success(), "a tampered database was accepted");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid"),
        "{out:?}"
    );
    std::fs::write(
        &tampered,
        bytes(&rieter, &format!("{base}/main.db")).await.1,
    )
    .unwrap();
    std::fs::remove_file(mirror.path().join("main.db.sig")).unwrap();
    let out = fresh().run(&["-Sy"]).unwrap();
    assert!(
        !out.status.success(),
        "a database without its signature was accepted"
    );

    // A distribution without packager keys keeps any well-formed signature, and pacman
    // judges it: untrusted key, a signature of other bytes, and none at all are refused.
    for (file, sig) in [
        (stranger, Some(outsider.sign(stranger).unwrap())),
        (forged, Some(packager.sign(tool).unwrap())),
        (unsigned, None),
    ] {
        let upload = publish(&rieter, "lax/main", file, sig).await;
        assert_eq!(upload["status"], "published", "{upload}");
    }
    let (status, lax_key) = admin(
        &rieter,
        reqwest::Method::POST,
        "/api/v1/distros/lax/signing-key",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201);
    rieter
        .wait_quiescent(std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let lax = rieter.url("/lax/main/$arch");
    let pacman = Pacman::with_sig_level(&[("main", &lax)], "Required DatabaseRequired").unwrap();
    pacman
        .trust(
            lax_key["public_key"].as_str().unwrap(),
            lax_key["fingerprint"].as_str().unwrap(),
        )
        .unwrap();
    pacman
        .trust(&packager.public_key().unwrap(), &packager.fingerprint)
        .unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    for name in ["sig-stranger", "sig-forged", "sig-unsigned"] {
        let out = pacman.run(&["-S", name]).unwrap();
        assert!(!out.status.success(), "{name} was installed: {out:?}");
    }

    // With `sign_packages`, the server signs what arrives unsigned, and pacman installs it.
    let (status, settings) = admin(
        &rieter,
        reqwest::Method::PUT,
        "/api/v1/distros/lax/repos/served/settings",
        Some(json!({"sign_packages": true})),
    )
    .await;
    assert_eq!((status, &settings), (200, &json!({"sign_packages": true})));
    let upload = publish(&rieter, "lax/served", served, None).await;
    assert_eq!(upload["status"], "published", "{upload}");
    let (status, _) = bytes(
        &rieter,
        &format!("/lax/served/x86_64/{}.sig", file_name(served)),
    )
    .await;
    assert_eq!(status, 200);
    let served_url = rieter.url("/lax/served/$arch");
    let pacman =
        Pacman::with_sig_level(&[("served", &served_url)], "Required DatabaseRequired").unwrap();
    pacman
        .trust(
            lax_key["public_key"].as_str().unwrap(),
            lax_key["fingerprint"].as_str().unwrap(),
        )
        .unwrap();
    pacman.ok(&["-Sy"]).unwrap();
    pacman.ok(&["-S", "sig-served"]).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_signatures_and_keys_are_refused_with_reasons() {
    let rieter = Rieter::start(options()).await.unwrap();
    let file: PathBuf = Build::new("sig-refused", "1.0").build_one().unwrap();
    let packager = Packager::new("E2E Packager <packager@e2e.test>").unwrap();
    let refused = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        (
            status,
            body["detail"].as_str().unwrap_or_default().to_owned(),
        )
    };

    let cases: [(Vec<u8>, &str); 3] = [
        (packager.sign_armored(&file).unwrap(), "armored"),
        (vec![0x88; 16385], "larger than 16384"),
        (
            b"\x89not a signature at all".to_vec(),
            "not an OpenPGP signature",
        ),
    ];
    for (sig, reason) in cases {
        let (status, detail) = refused(
            rieter
                .upload_form("/sigs/main", &file, Some(sig))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{reason}: {detail}");
        assert!(detail.contains(reason), "{reason}: {detail}");
    }
    // A form without the package, or with a part of another name.
    let form = reqwest::multipart::Form::new().text("signature", "x");
    let resp = rieter
        .client
        .post(rieter.url("/sigs/main"))
        .bearer_auth(API_KEY)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, detail) = refused(resp).await;
    assert_eq!(status, 400);
    let form = reqwest::multipart::Form::new().text("pkg", "x");
    let resp = rieter
        .client
        .post(rieter.url("/sigs/main"))
        .bearer_auth(API_KEY)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, other) = refused(resp).await;
    assert_eq!(status, 400);
    assert!(other.contains("unexpected form part `pkg`"), "{other}");
    assert!(!detail.is_empty());
    // Nothing was recorded.
    let (_, uploads) = rieter
        .get_json("/api/v1/uploads", Auth::Bearer(API_KEY))
        .await
        .unwrap();
    assert_eq!(uploads["total"], 0, "{uploads}");

    // Keys: a secret key where public ones belong, garbage, a public key to import.
    let resp = rieter
        .client
        .put(rieter.url("/api/v1/distros/sigs/packager-keys"))
        .bearer_auth(API_KEY)
        .body("not a key")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (status, body) = admin(
        &rieter,
        reqwest::Method::POST,
        "/api/v1/distros/sigs/signing-key",
        Some(json!({"import": packager.public_key().unwrap()})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("no secret key"),
        "{body}"
    );
    // Changing keys needs an admin key; reading them does not.
    let resp = rieter
        .client
        .post(rieter.url("/api/v1/distros/sigs/signing-key"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (status, _) = admin(
        &rieter,
        reqwest::Method::DELETE,
        "/api/v1/distros/sigs/signing-key",
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(bytes(&rieter, "/sigs/key").await.0, 404);

    // Without a key encryption key, no signing key can be made.
    let plain = Rieter::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await
    .unwrap();
    let (status, body) = admin(
        &plain,
        reqwest::Method::POST,
        "/api/v1/distros/sigs/signing-key",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("key encryption key"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_repository_never_publishes_an_unsigned_database() {
    let rieter = Rieter::start(options()).await.unwrap();
    let files =
        build_many(&[Build::new("held-one", "1.0"), Build::new("held-two", "1.0")]).unwrap();
    let (status, _) = admin(
        &rieter,
        reqwest::Method::POST,
        "/api/v1/distros/held/signing-key",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201);
    let upload = publish(&rieter, "held/main", &files[0], None).await;
    assert_eq!(upload["status"], "published");
    let base = "/held/main/x86_64";
    let (_, signed_db) = bytes(&rieter, &format!("{base}/main.db")).await;
    let (_, signed_sig) = bytes(&rieter, &format!("{base}/main.db.sig")).await;

    // The key goes: the next change is held, the signed database and its signature stay.
    let (status, _) = admin(
        &rieter,
        reqwest::Method::DELETE,
        "/api/v1/distros/held/signing-key",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let resp = rieter
        .upload_form("/held/main", &files[1], None)
        .await
        .unwrap();
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let parsed = rieter
        .wait_for(
            &id,
            &["parsed", "published", "failed"],
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(parsed["status"], "parsed", "held: parsed, not published");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        bytes(&rieter, &format!("{base}/main.db")).await.1,
        signed_db
    );
    assert_eq!(
        bytes(&rieter, &format!("{base}/main.db.sig")).await.1,
        signed_sig
    );
    assert!(!rieter.log_lines("has served signed databases").is_empty());

    // A new key: published, signed by it.
    let (status, _) = admin(
        &rieter,
        reqwest::Method::POST,
        "/api/v1/distros/held/signing-key",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201);
    let published = rieter.wait_final(&id).await.unwrap();
    assert_eq!(published["status"], "published");
    assert_ne!(
        bytes(&rieter, &format!("{base}/main.db.sig")).await.1,
        signed_sig
    );
}
