//! URLs between the pages: query strings and pagination links.

use std::fmt::Write;

use rieter::names::FileName;

/// Percent-encodes `value` for a query string: everything but unreserved characters.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `path` with the non-empty `pairs` as its query string.
pub fn href(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    let mut sep = '?';
    for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        let _ = write!(out, "{sep}{key}={}", encode(value));
        sep = '&';
    }
    out
}

/// The path of a package's page.
pub fn package(distro: &str, repo: &str, arch: &str, name: &str) -> String {
    format!("/packages/{distro}/{repo}/{arch}/{name}")
}

/// The URL pacman downloads a repository file from. The name is encoded: a pkgver may hold
/// `?`, `#` or `%`.
pub fn file(distro: &str, repo: &str, arch: &str, name: &FileName) -> String {
    format!("/{distro}/{repo}/{arch}/{}", encode(name.as_str()))
}

/// Where a package page's "Remove" button posts.
pub fn remove_package(distro: &str, repo: &str, arch: &str, name: &str) -> String {
    format!("/admin/remove/{distro}/{repo}/{arch}/{name}")
}

/// The path of a repository's page.
pub fn repo(distro: &str, repo: &str) -> String {
    format!("/{distro}/{repo}")
}

/// Previous/next links of a paginated listing and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `page` (from 1) of `total` items, `per_page` a page, served to a depth of `max_depth`
    /// items; `link` makes the URL of a page.
    pub fn new(
        page: i64,
        per_page: i64,
        total: i64,
        max_depth: i64,
        link: impl Fn(i64) -> String,
    ) -> Self {
        let reachable = total.min(max_depth).max(0);
        let pages = ((reachable + per_page - 1) / per_page).max(1);
        Self {
            page,
            pages,
            previous: (page > 1).then(|| link((page - 1).min(pages))),
            next: (page < pages).then(|| link(page + 1)),
        }
    }

    /// Whether there is more than one page to move between.
    pub fn is_useful(&self) -> bool {
        self.previous.is_some() || self.next.is_some()
    }
}

/// The page number asked for in a query: 1 when absent or not a number, at most `max_page`.
pub fn page_number(raw: Option<&str>, max_page: i64) -> i64 {
    raw.and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, max_page.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("gtk"), "gtk");
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            href(
                "/search",
                &[("q", "lib foo"), ("distro", ""), ("page", "2")]
            ),
            "/search?q=lib%20foo&page=2"
        );
        assert_eq!(href("/search", &[("q", "")]), "/search");
    }

    #[test]
    fn pagers_link_to_the_neighbouring_pages() {
        let link = |p: i64| format!("/s?page={p}");
        let first = Pager::new(1, 50, 120, 100_000, link);
        assert_eq!((first.page, first.pages), (1, 3));
        assert_eq!(first.previous, None);
        assert_eq!(first.next.as_deref(), Some("/s?page=2"));
        let middle = Pager::new(2, 50, 120, 100_000, link);
        assert_eq!(middle.previous.as_deref(), Some("/s?page=1"));
        assert_eq!(middle.next.as_deref(), Some("/s?page=3"));
        let last = Pager::new(3, 50, 120, 100_000, link);
        assert_eq!(last.next, None);
        assert!(last.is_useful());
    }

    #[test]
    fn pagers_of_small_and_huge_listings() {
        let link = |p: i64| p.to_string();
        let empty = Pager::new(1, 50, 0, 100_000, link);
        assert_eq!((empty.pages, empty.is_useful()), (1, false));
        let exact = Pager::new(1, 50, 50, 100_000, link);
        assert_eq!((exact.pages, exact.is_useful()), (1, false));
        // Past the depth listings are served to, no page is offered.
        let huge = Pager::new(2000, 50, 1_000_000, 100_000, link);
        assert_eq!((huge.pages, huge.next), (2000, None));
        // A page past the end links back to the last one.
        let beyond = Pager::new(9, 50, 120, 100_000, link);
        assert_eq!(beyond.previous.as_deref(), Some("3"));
    }

    #[test]
    fn page_numbers_are_lenient() {
        assert_eq!(page_number(None, 10), 1);
        assert_eq!(page_number(Some("3"), 10), 3);
        assert_eq!(page_number(Some("x"), 10), 1);
        assert_eq!(page_number(Some("0"), 10), 1);
        assert_eq!(page_number(Some("99"), 10), 10);
    }
}
