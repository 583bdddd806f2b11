//! The web UI as a browser sees it: pages checked with `tidy` (Debian package `tidy`), and a
//! browser that keeps its cookies and shows redirects rather than following them.

use std::collections::BTreeMap;
use std::process::Command;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};

use crate::Rieter;

/// An answer as a test looks at it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` line for cookie `name`, if the answer sets it.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|line| line.starts_with(&format!("{name}=")))
    }

    /// An HTML page with `status`, valid by `tidy`, with one `<h1>` and the landmarks.
    pub fn assert_html(&self, what: &str, status: StatusCode) -> &str {
        assert_eq!(self.status, status, "{what}: {}", self.body);
        assert_eq!(self.content_type(), "text/html; charset=utf-8", "{what}");
        assert_valid_html(what, &self.body);
        &self.body
    }
}

/// Fails unless `html` is valid by `tidy` and has one `<h1>`, the landmarks and the skip link.
pub fn assert_valid_html(path: &str, html: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.html");
    std::fs::write(&file, html).unwrap();
    let out = Command::new("tidy")
        .args(["-q", "-e", "--drop-empty-elements", "no"])
        .arg(&file)
        .output()
        .expect("running tidy (Debian package `tidy`)");
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{path}: tidy found problems:\n{report}\n{html}"
    );
    assert_eq!(html.matches("<h1").count(), 1, "{path}: one <h1>");
    for landmark in ["<header>", "<nav", "<main", "<footer>", "href=\"#main\""] {
        assert!(html.contains(landmark), "{path}: no {landmark}");
    }
}

/// The `value` of the form field named `name` (the first one on the page).
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + format!("name=\"{name}\" value=\"").len()..];
    Some(rest.split('"').next()?.to_owned())
}

/// A browser: keeps the cookies answers set (by name, as the server sent them), never follows
/// a redirect.
pub struct Browser {
    client: reqwest::Client,
    base_url: String,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(rieter: &Rieter) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base_url: rieter.base_url.clone(),
            cookies: BTreeMap::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base_url));
        self.send(request).await
    }

    /// Posts `fields` as a form (`application/x-www-form-urlencoded`), as a browser submits one.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .form(fields);
        self.send(request).await
    }

    async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Page {
        if !self.cookies.is_empty() {
            let line = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header("cookie", line);
        }
        let resp = request.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for line in headers.get_all(SET_COOKIE).iter() {
            let line = line.to_str().unwrap();
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = resp.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    /// Signs in with `key` through the sign-in form; the answer to the form.
    pub async fn sign_in(&mut self, key: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let login = field_value(&form.body, "login").expect("the form's pairing token");
        self.post("/login", &[("login", &login), ("key", key)])
            .await
    }
}
