//! The web UI's pages, served by the real api against a real catalogue: home, search,
//! repository and package pages answer with valid HTML (checked with `tidy`), link to each
//! other (a dependency to the package satisfying it, also through `provides`; required-by;
//! the same name elsewhere), rank an exact name first, paginate, and keep a private
//! distribution invisible to visitors.

use reqwest::StatusCode;
use rieter_e2e::html::assert_valid_html;
use rieter_e2e::{Build, Options, Pkg, Rieter, build_many};

struct Page {
    status: StatusCode,
    content_type: String,
    body: String,
}

async fn get(rieter: &Rieter, path: &str) -> Page {
    let resp = rieter.client.get(rieter.url(path)).send().await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.text().await.unwrap();
    Page {
        status,
        content_type,
        body,
    }
}

/// A page that must exist: 200, HTML, valid by `tidy`.
async fn page(rieter: &Rieter, path: &str) -> String {
    let page = get(rieter, path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    assert_eq!(page.content_type, "text/html; charset=utf-8", "{path}");
    assert_valid_html(path, &page.body);
    page.body
}

/// A page that must not exist: the HTML 404 page, valid too.
async fn missing(rieter: &Rieter, path: &str) -> String {
    let page = get(rieter, path).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    assert_eq!(page.content_type, "text/html; charset=utf-8", "{path}");
    assert_valid_html(path, &page.body);
    page.body
}

/// The `href` of the first link whose text is `text`.
fn link_to(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!(">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    let href = html[start..end].split('"').next()?;
    Some(href.replace("&#38;", "&"))
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_show_link_search_and_hide_the_catalogue() {
    let rieter = Rieter::start(Options {
        env: vec![("RIETER_PRIVATE_DISTROS".into(), "vault".into())],
        ..Options::default()
    })
    .await
    .unwrap();
    let lib = |version: &str| {
        Build::new("ui-lib", version)
            .desc("A library for the <ui> pages & tests")
            .with_pkg(|p| Pkg {
                provides: vec!["libui.so=1-64".into()],
                licenses: vec!["MIT".into()],
                groups: vec!["ui-group".into()],
                ..p
            })
    };
    let mut app = Build::new("ui-app", "2.0").with_pkg(|p| Pkg {
        depends: vec![
            "ui-lib>=1.0".into(),
            "libui.so=1-64".into(),
            "ui-virtual".into(),
            "ui-absent".into(),
        ],
        optdepends: vec!["ui-alt: for the alternative".into()],
        ..p
    });
    app.makedepends = vec!["ui-lib".into()];
    app.url = Some("https://example.org/ui-app".into());
    let alt = Build::new("ui-alt", "1.0").with_pkg(|p| Pkg {
        provides: vec!["ui-virtual".into()],
        ..p
    });
    // Its name sorts before the exact match, and contains it.
    let core_tools = Build::new("a-ui-core-tools", "1.0");
    let core = Build::new("ui-core", "1.0");
    let any = Build::new("ui-noarch", "1.0").arch("any");
    let secret = Build::new("ui-secret", "1.0").desc("ui-core for insiders");
    let mut builds = vec![
        lib("1.0"),
        lib("1.1"),
        app,
        alt,
        core_tools,
        core,
        any,
        secret,
    ];
    builds.extend(Build::many("ui-bulk", 55, "1.0"));
    let files = build_many(&builds).unwrap();
    let (first, rest) = files.split_at(8);
    // ui-lib 1.0 then 1.1, so it has a history of two additions.
    for (i, file) in first.iter().enumerate() {
        let target = match i {
            7 => "vault/main",
            _ => "arch/main",
        };
        let id = rieter.upload(target, file).await.unwrap();
        assert_eq!(rieter.wait_final(&id).await.unwrap()["status"], "published");
    }
    let mut ids = Vec::new();
    for file in rest {
        ids.push(rieter.upload("arch/bulk", file).await.unwrap());
    }
    for id in &ids {
        assert_eq!(rieter.wait_final(id).await.unwrap()["status"], "published");
    }

    // Home: the repositories with counts, the search box, the latest packages.
    let home = page(&rieter, "/").await;
    assert!(home.contains("<a href=\"/arch/main\">main</a>"), "{home}");
    assert!(home.contains("<a href=\"/arch/bulk\">bulk</a>"));
    assert!(home.contains("<td>x86_64</td>\n<td>55</td>"), "{home}");
    assert!(home.contains("action=\"/search\""));
    assert!(home.contains("<label for=\"home-search\">"));
    assert_eq!(
        home.matches("href=\"/packages/").count(),
        20,
        "the 20 latest"
    );
    assert!(home.contains("href=\"/packages/arch/bulk/x86_64/ui-bulk-"));
    assert!(
        !home.contains("vault") && !home.contains("ui-secret"),
        "{home}"
    );

    // The stylesheet: content-hashed name, cached forever.
    let css_href = home
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert!(css_href.starts_with("/static/style-") && css_href.ends_with(".css"));
    let css = rieter
        .client
        .get(rieter.url(&css_href))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        css.text()
            .await
            .unwrap()
            .contains("prefers-color-scheme: dark")
    );
    missing(&rieter, "/static/style-0000000000000000.css").await;

    // Search: exact name first, provides and descriptions match, filters, escaping.
    let results = page(&rieter, "/search?q=ui-core").await;
    let exact = results.find(">ui-core</a>").expect("exact match listed");
    let partial = results
        .find(">a-ui-core-tools</a>")
        .expect("partial match listed");
    assert!(exact < partial, "exact name first:\n{results}");
    assert!(
        results.contains("<h2>Named “ui-core”</h2>"),
        "exact names in a section of their own:\n{results}"
    );
    assert!(!results.contains("ui-secret"), "private package in search");
    assert!(
        results.contains("value=\"ui-core\""),
        "the box holds the query"
    );
    let provided = page(&rieter, "/search?q=libui.so").await;
    assert!(
        provided.contains(">ui-lib</a>"),
        "provides are searched:\n{provided}"
    );
    let described = page(&rieter, "/search?q=%3Cui%3E").await;
    assert!(described.contains("A library for the &#60;ui&#62; pages &#38; tests"));
    assert!(!described.contains("<ui>"), "data is escaped");
    let filtered = page(&rieter, "/search?q=ui-&repo=bulk").await;
    assert!(!filtered.contains(">ui-app</a>") && filtered.contains(">ui-bulk-0000</a>"));
    let none = page(&rieter, "/search?q=nothing-matches-this").await;
    assert!(none.contains("0 packages found"));

    // Pagination: 55 packages in pages of 50.
    let first_page = page(&rieter, "/search?q=ui-bulk").await;
    assert!(first_page.contains("55 packages found"));
    assert!(first_page.contains("Page 1 of 2"));
    let next = link_to(&first_page, "Next page").expect("a next link");
    assert_eq!(next, "/search?q=ui-bulk&page=2");
    let second_page = page(&rieter, &next).await;
    assert!(second_page.contains(">ui-bulk-0054</a>") && !second_page.contains(">ui-bulk-0000<"));
    assert!(link_to(&second_page, "Previous page").is_some());

    // Repository page: architectures, database files, pacman.conf, ordering, pagination.
    let repo = page(&rieter, "/arch/main").await;
    assert!(
        repo.contains("[main]\nServer = https://127.0.0.1:"),
        "{repo}"
    );
    assert!(repo.contains("/arch/main/$arch"));
    assert!(repo.contains("href=\"/arch/main/x86_64/main.db\""));
    assert!(repo.contains("href=\"/arch/main/x86_64/main.files\""));
    let db = rieter
        .client
        .get(rieter.url("/arch/main/x86_64/main.db"))
        .send()
        .await
        .unwrap();
    assert_eq!(db.status(), StatusCode::OK, "the database link works");
    let by_date = link_to(&repo, "newest build first").expect("an order link");
    assert_eq!(by_date, "/arch/main?sort=build_date&order=desc");
    page(&rieter, &by_date).await;
    let bulk = page(&rieter, "/arch/bulk?sort=name&order=desc").await;
    let (high, low) = (
        bulk.find(">ui-bulk-0054<").unwrap(),
        bulk.find(">ui-bulk-0010<").unwrap(),
    );
    assert!(high < low, "descending by name");
    let bulk_next = link_to(&bulk, "Next page").expect("repository pages paginate");
    assert_eq!(bulk_next, "/arch/bulk?sort=name&order=desc&page=2");
    page(&rieter, &bulk_next).await;
    // Uploads to the same path still work (POST is not the page).
    let post = rieter
        .client
        .post(rieter.url("/arch/main"))
        .send()
        .await
        .unwrap();
    assert_ne!(post.status(), StatusCode::OK);
    assert_eq!(
        post.headers()["content-type"],
        "application/problem+json",
        "POST /{{distro}}/{{repo}} is still the API"
    );

    // Package page: fields, relations resolved in the repository, required by, files, history.
    let app = page(&rieter, "/packages/arch/main/x86_64/ui-app").await;
    assert!(app.contains("<h1>ui-app 2.0-1</h1>"));
    assert!(app.contains("href=\"https://example.org/ui-app\""));
    let lib_href = "/packages/arch/main/x86_64/ui-lib";
    assert_eq!(link_to(&app, "ui-lib&#62;=1.0").as_deref(), Some(lib_href));
    assert_eq!(link_to(&app, "libui.so=1-64").as_deref(), Some(lib_href));
    assert_eq!(
        link_to(&app, "ui-virtual").as_deref(),
        Some("/packages/arch/main/x86_64/ui-alt"),
        "satisfied through provides"
    );
    assert!(app.contains("provided by ui-alt as ui-virtual"));
    assert!(app.contains("ui-absent <span class=\"missing\">(not in this repository)</span>"));
    assert!(app.contains("<h2>Optional dependencies</h2>"));
    assert!(app.contains("<h2>Build dependencies</h2>"));
    assert!(app.contains("usr/share/ui-app/README"));
    let download = app
        .split("<dt>Download</dt><dd><a href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let file = rieter
        .client
        .get(rieter.url(&download))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK, "the download link works");

    let lib_page = page(&rieter, lib_href).await;
    assert!(lib_page.contains("<h1>ui-lib 1.1-1</h1>"));
    assert!(lib_page.contains("A library for the &#60;ui&#62; pages &#38; tests"));
    assert!(lib_page.contains("MIT") && lib_page.contains("ui-group"));
    assert!(lib_page.contains("<dt>SHA-256</dt><dd class=\"hash\">"));
    assert!(
        lib_page.contains("<dt>Signature</dt><dd><span class=\"muted\">none</span>"),
        "an unsigned package links no signature"
    );
    assert!(!lib_page.contains(">signature</a>"));
    assert_eq!(
        link_to(&lib_page, "ui-app").as_deref(),
        Some("/packages/arch/main/x86_64/ui-app"),
        "required by"
    );
    assert!(lib_page.contains("depend, makedepend"), "{lib_page}");
    let history = lib_page.split("<h2>History</h2>").nth(1).unwrap();
    let (newer, older) = (
        history.find("1.1-1").unwrap(),
        history.find("1.0-1").unwrap(),
    );
    assert!(newer < older, "history newest first");
    assert_eq!(history.matches("<td>added</td>").count(), 2);
    assert!(history.contains("the configured admin key"), "{history}");

    let noarch = page(&rieter, "/packages/arch/main/any/ui-noarch").await;
    assert!(noarch.contains("/arch/main/x86_64/ui-noarch-1.0-1-any.pkg.tar.zst"));

    // Unknown things and the private distribution: the 404 page.
    for path in [
        "/packages/vault/main/x86_64/ui-secret",
        "/vault/main",
        "/packages/arch/main/x86_64/nothing",
        "/arch/nothing",
        "/packages/arch",
        "/search/more",
    ] {
        let body = missing(&rieter, path).await;
        assert!(body.contains("Not found"), "{path}");
    }
    // The JSON API and pacman's paths keep their answers.
    let api = rieter
        .client
        .get(rieter.url("/api/v1/packages?q=ui-core"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}
