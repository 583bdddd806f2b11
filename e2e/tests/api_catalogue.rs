//! The read endpoints of the JSON API against real uploads: distributions, repositories,
//! packages (filters, sorting, detail, files) and uploads.

use std::path::PathBuf;

use rieter_e2e::api::Auth;
use rieter_e2e::{Build, Options, Pkg, Rieter, build_many};
use serde_json::Value;

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

struct Catalogue {
    rieter: Rieter,
    hello: PathBuf,
}

/// `cat/main` (x86_64, aarch64 and `any` packages) and `cat/extra`, plus `other/core`.
async fn catalogue() -> Catalogue {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let hello = Build::new("api-hello", "1.0")
        .with_pkg(|p| Pkg {
            depends: vec!["glibc".into()],
            optdepends: vec!["python: scripting support".into(), "zstd".into()],
            provides: vec!["hello-virtual=1.0".into()],
            conflicts: vec!["hello-old".into()],
            replaces: vec!["hello-ancient".into()],
            groups: vec!["api-group".into()],
            licenses: vec!["MIT".into()],
            ..p
        })
        .with_pkg(|p| p.file("usr/bin/api-hello", "#!/bin/sh\n"));
    let builds = vec![
        hello,
        Build::new("api_under", "1.0"),
        Build::new("apiXunder", "1.0"),
        Build::new("api-percent", "1.0").desc("100% natural"),
        Build::new("api-plain", "1.0").desc("100 natural"),
        Build::new("api-noarch", "1.0").arch("any"),
        Build::new("api-arm", "1.0").arch("aarch64"),
    ];
    let files = build_many(&builds).unwrap();
    let mut ids = Vec::new();
    for file in &files {
        ids.push(rieter.upload("cat/main", file).await.unwrap());
    }
    let extra = Build::new("api-extra", "2.0").build_one().unwrap();
    ids.push(rieter.upload("cat/extra", &extra).await.unwrap());
    let core = Build::new("api-core", "3.0").build_one().unwrap();
    ids.push(rieter.upload("other/core", &core).await.unwrap());
    for id in &ids {
        let upload = rieter.wait_final(id).await.unwrap();
        assert_eq!(upload["status"], "published", "{upload}");
    }
    Catalogue {
        rieter,
        hello: files[0].clone(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalogue_reads_back_through_every_endpoint() {
    let Catalogue { rieter, hello } = catalogue().await;

    // Distributions and repositories.
    let distros = rieter.get_ok("/api/v1/distros").await.unwrap();
    assert_eq!(distros["total"], 2, "{distros}");
    assert_eq!(names(&distros), ["cat", "other"]);
    assert_eq!(distros["items"][0]["repo_count"], 2);
    assert_eq!(distros["items"][0]["package_count"], 8);
    let cat = rieter.get_ok("/api/v1/distros/cat").await.unwrap();
    assert_eq!(cat["name"], "cat");
    let repos = rieter.get_ok("/api/v1/distros/cat/repos").await.unwrap();
    assert_eq!(names(&repos), ["extra", "main"]);
    assert_eq!(
        repos["items"][1]["arches"],
        serde_json::json!(["aarch64", "x86_64"])
    );
    let main = rieter
        .get_ok("/api/v1/distros/cat/repos/main")
        .await
        .unwrap();
    assert_eq!(main["package_count"], 7, "{main}");
    let arches = main["arches"].as_array().unwrap();
    assert_eq!(arches.len(), 2, "{main}");
    let (arm, x86) = (&arches[0], &arches[1]);
    assert_eq!(arm["arch"], "aarch64");
    // aarch64 lists api-arm and api-noarch; x86_64 everything else plus api-noarch.
    assert_eq!(arm["package_count"], 2, "{main}");
    assert_eq!(x86["package_count"], 6, "{main}");
    for arch in arches {
        assert!(arch["published_at"].is_string(), "{main}");
        assert!(arch["build_count"].as_i64().unwrap() >= 1, "{main}");
        assert_eq!(arch["pending"], false);
    }
    assert_eq!(x86["db_path"], "/cat/main/x86_64/main.db");

    // Names that do not exist, or could not, are 404 problems.
    for path in [
        "/api/v1/distros/nope",
        "/api/v1/distros/nope/repos",
        "/api/v1/distros/cat/repos/nope",
        "/api/v1/distros/..%2f/repos/x",
        "/api/v1/packages/999999",
        "/api/v1/packages/999999/files",
    ] {
        let (status, body) = rieter.get_json(path, Auth::None).await.unwrap();
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["status"], 404, "{path}: {body}");
    }

    // Filters.
    let list = |query: &'static str| {
        let rieter = &rieter;
        async move {
            rieter
                .get_ok(&format!("/api/v1/packages?{query}"))
                .await
                .unwrap()
        }
    };
    let all = list("").await;
    assert_eq!(all["total"], 9);
    assert_eq!(all["page"], 1);
    assert_eq!(all["per_page"], 50);
    let mut sorted = names(&all);
    sorted.sort();
    assert_eq!(names(&all), sorted, "sorted by name");
    assert_eq!(names(&list("distro=other").await), ["api-core"]);
    assert_eq!(names(&list("distro=cat&repo=extra").await), ["api-extra"]);
    assert_eq!(names(&list("repo=core").await), ["api-core"]);
    assert_eq!(names(&list("arch=aarch64").await), ["api-arm"]);
    assert_eq!(names(&list("arch=any").await), ["api-noarch"]);
    assert_eq!(names(&list("name=api-hello").await), ["api-hello"]);
    assert_eq!(list("name=api").await["total"], 0, "name is exact");
    assert_eq!(list("distro=nope").await["total"], 0);
    // `q`: substring of name or description, case-insensitive, wildcards literal.
    assert_eq!(names(&list("q=API-HEL").await), ["api-hello"]);
    assert_eq!(names(&list("q=api_u").await), ["api_under"]);
    assert_eq!(names(&list("q=100%25").await), ["api-percent"]);
    assert_eq!(names(&list("q=%25").await), ["api-percent"]);
    assert_eq!(list("q=_").await["total"], 1, "only api_under has a `_`");
    assert_eq!(list("q=%5C").await["total"], 0, "no backslash anywhere");
    assert_eq!(
        names(&list("q=natural").await),
        ["api-percent", "api-plain"]
    );

    // Sorting.
    let desc = list("order=desc").await;
    sorted.reverse();
    assert_eq!(names(&desc), sorted);
    let by_date = list("sort=build_date").await;
    let dates: Vec<&str> = by_date["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["build_date"].as_str().unwrap())
        .collect();
    let mut ordered = dates.clone();
    ordered.sort();
    assert_eq!(dates, ordered);
    let newest = list("sort=build_date&order=desc").await;
    assert_eq!(newest["items"][0]["build_date"], *dates.last().unwrap());
    let (status, body) = rieter
        .get_json("/api/v1/packages?sort=size", Auth::None)
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    // Text no catalogue entry can hold is refused or not found, never a server error.
    for (path, expected) in [
        ("/api/v1/packages?q=a%00b", 400),
        ("/api/v1/packages?name=%00", 400),
        ("/api/v1/distros/a%00b", 404),
        ("/api/v1/distros/cat/repos/a%00b", 404),
    ] {
        let (status, body) = rieter.get_json(path, Auth::None).await.unwrap();
        assert_eq!(status, expected, "{path}: {body}");
    }
    // A method a path does not serve is 405 with the methods it does.
    let resp = rieter
        .client
        .delete(rieter.url("/api/v1/packages"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, HEAD");

    // One package: every field and relation.
    let id = list("name=api-hello").await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let pkg = rieter
        .get_ok(&format!("/api/v1/packages/{id}"))
        .await
        .unwrap();
    let filename = hello.file_name().unwrap().to_str().unwrap();
    assert_eq!(pkg["name"], "api-hello");
    assert_eq!(pkg["base"], "api-hello");
    assert_eq!(pkg["version"], "1.0-1");
    assert_eq!(pkg["arch"], "x86_64");
    assert_eq!(pkg["distro"], "cat");
    assert_eq!(pkg["repo"], "main");
    assert_eq!(pkg["description"], "Rieter test package api-hello");
    assert_eq!(pkg["filename"], filename);
    assert_eq!(pkg["depends"], serde_json::json!(["glibc"]));
    assert_eq!(
        pkg["optdepends"],
        serde_json::json!([
            {"name": "python", "description": "scripting support"},
            {"name": "zstd", "description": null}
        ])
    );
    assert_eq!(pkg["provides"], serde_json::json!(["hello-virtual=1.0"]));
    assert_eq!(pkg["conflicts"], serde_json::json!(["hello-old"]));
    assert_eq!(pkg["replaces"], serde_json::json!(["hello-ancient"]));
    assert_eq!(pkg["groups"], serde_json::json!(["api-group"]));
    assert_eq!(pkg["licenses"], serde_json::json!(["MIT"]));
    let bytes = std::fs::read(&hello).unwrap();
    assert_eq!(pkg["compressed_size"], bytes.len() as i64);
    assert_eq!(pkg["sha256"].as_str().unwrap().len(), 64);
    assert!(pkg["installed_size"].as_i64().unwrap() > 0);
    assert!(pkg["packager"].is_string());
    assert!(pkg["build_date"].is_string());
    let url = format!("/cat/main/x86_64/{filename}");
    assert_eq!(pkg["downloads"], serde_json::json!([url]));
    let download = rieter.client.get(rieter.url(&url)).send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap(), bytes);

    // An `any` package downloads from every architecture of its repository.
    let noarch = list("name=api-noarch").await["items"][0].clone();
    let noarch = rieter
        .get_ok(&format!("/api/v1/packages/{}", noarch["id"]))
        .await
        .unwrap();
    let downloads = noarch["downloads"].as_array().unwrap();
    assert_eq!(downloads.len(), 2, "{noarch}");
    assert!(
        downloads[0]
            .as_str()
            .unwrap()
            .starts_with("/cat/main/aarch64/")
    );
    assert!(
        downloads[1]
            .as_str()
            .unwrap()
            .starts_with("/cat/main/x86_64/")
    );
    for url in downloads {
        let resp = rieter
            .client
            .head(rieter.url(url.as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{url}");
    }

    // Its file list, paginated.
    let files = rieter
        .get_ok(&format!("/api/v1/packages/{id}/files?per_page=2"))
        .await
        .unwrap();
    let all_files = rieter
        .get_ok(&format!("/api/v1/packages/{id}/files?per_page=200"))
        .await
        .unwrap();
    let total = all_files["total"].as_i64().unwrap();
    assert_eq!(all_files["items"].as_array().unwrap().len() as i64, total);
    assert!(
        all_files["items"]
            .as_array()
            .unwrap()
            .contains(&Value::from("usr/bin/api-hello")),
        "{all_files}"
    );
    assert_eq!(files["total"], total);
    assert_eq!(
        files["items"].as_array().unwrap()[..],
        all_files["items"].as_array().unwrap()[..2]
    );
    let second = rieter
        .get_ok(&format!("/api/v1/packages/{id}/files?per_page=2&page=2"))
        .await
        .unwrap();
    assert_eq!(
        second["items"].as_array().unwrap()[..],
        all_files["items"].as_array().unwrap()[2..4]
    );
    let past = rieter
        .get_ok(&format!(
            "/api/v1/packages/{id}/files?page=1000000&per_page=200"
        ))
        .await
        .unwrap();
    assert_eq!(past["items"], serde_json::json!([]));
    assert_eq!(past["total"], total);
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_list_newest_first_and_filter_by_status() {
    let rieter = Rieter::start(Options::default()).await.unwrap();
    let files =
        build_many(&[Build::new("api-up-a", "1.0"), Build::new("api-up-b", "1.0")]).unwrap();
    let first = rieter.upload("up/main", &files[0]).await.unwrap();
    let second = rieter.upload("up/main", &files[1]).await.unwrap();
    let broken = rieter
        .upload_bytes("/up/main", b"not a package".to_vec())
        .await
        .unwrap();
    assert_eq!(broken.status(), 202);
    let broken: Value = broken.json().await.unwrap();
    let broken = broken["id"].as_str().unwrap().to_owned();
    for id in [&first, &second, &broken] {
        rieter.wait_final(id).await.unwrap();
    }

    let all = rieter.get_ok("/api/v1/uploads").await.unwrap();
    assert_eq!(all["total"], 3);
    let ids: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [broken.as_str(), second.as_str(), first.as_str()]);
    let failed = rieter
        .get_ok("/api/v1/uploads?status=failed")
        .await
        .unwrap();
    assert_eq!(failed["total"], 1);
    assert_eq!(failed["items"][0]["id"], broken.as_str());
    assert!(failed["items"][0]["error"].is_string());
    let published = rieter
        .get_ok("/api/v1/uploads?status=published&per_page=1&page=2")
        .await
        .unwrap();
    assert_eq!(published["total"], 2);
    assert_eq!(published["items"][0]["id"], first.as_str());
    let (status, body) = rieter
        .get_json("/api/v1/uploads?status=lost", Auth::None)
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    let one = rieter
        .get_ok(&format!("/api/v1/uploads/{first}"))
        .await
        .unwrap();
    assert_eq!(one["package"]["name"], "api-up-a");
}
