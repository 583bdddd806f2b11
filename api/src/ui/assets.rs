//! The stylesheet, embedded in the binary and served under a name holding a hash of its
//! contents, so it may be cached forever and a new build is fetched at once.

use std::sync::LazyLock;

use poem::http::{StatusCode, header};
use poem::web::Path;
use poem::{Response, handler};
use sha2::{Digest, Sha256};

const STYLESHEET: &str = include_str!("../../assets/style.css");

/// `style-<hash>.css`.
static STYLESHEET_NAME: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLESHEET.as_bytes());
    format!("style-{}.css", &hex(&digest)[..16])
});

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The URL pages link the stylesheet at.
pub fn stylesheet_href() -> String {
    format!("/static/{}", *STYLESHEET_NAME)
}

#[handler]
pub fn asset(Path(file): Path<String>) -> Response {
    if file != *STYLESHEET_NAME {
        return super::page::not_found();
    }
    Response::builder()
        .status(StatusCode::OK)
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
        .body(STYLESHEET)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_name_changes_with_the_contents() {
        let href = super::stylesheet_href();
        assert!(href.starts_with("/static/style-") && href.ends_with(".css"));
        assert_eq!(href.len(), "/static/style-.css".len() + 16);
    }
}
