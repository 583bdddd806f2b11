//! Read models for the JSON API: paginated listings and detail views of the catalogue, the
//! uploads and their packages. Every listing takes a [`Window`] and the distributions the
//! caller may not see ([`Hidden`]), and returns one page with the total it is a page of.

pub mod distros;
pub mod overview;
pub mod package_page;
pub mod packages;
pub mod uploads;

/// Which rows of a listing: `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: i64,
    pub offset: i64,
}

/// One page of a listing and the number of rows in the whole listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// How much of a listing's total to count. Counting reads an index entry per row counted, so
/// a count over a whole 100,000-package catalogue costs more than the page it goes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Every row: [`Page::total`] is the listing's size.
    Exact,
    /// At most this many rows: [`Page::total`] is the smaller of the listing's size and this
    /// bound. Enough to tell whether a next page exists, or to say "more than N".
    UpTo(i64),
    /// The caller knows the total (a repository's kept count, say): nothing is counted and
    /// [`Page::total`] is this.
    Known(i64),
}

/// What of the private distributions a caller may not see: those it has no key for, and the
/// other repositories of those it may read only some repositories of. Listings leave their rows
/// out; lookups answer as if they did not exist.
#[derive(Debug, Clone, Default)]
pub struct Hidden {
    /// Private distributions the caller may not read as a whole.
    restricted: Vec<String>,
    /// The repositories of restricted distributions it may read, as parallel (distribution,
    /// repository) arrays for `unnest` in SQL.
    open_distros: Vec<String>,
    open_repos: Vec<String>,
}

impl Hidden {
    /// `restricted`: distributions the caller may not read whole; `open`: the (distribution,
    /// repository) pairs within them it may read.
    pub fn new(restricted: Vec<String>, open: Vec<(String, String)>) -> Self {
        let (open_distros, open_repos) = open.into_iter().unzip();
        Self {
            restricted,
            open_distros,
            open_repos,
        }
    }

    /// Whether anything at all is hidden.
    pub fn is_empty(&self) -> bool {
        self.restricted.is_empty()
    }

    /// Distributions the caller may not read whole (it may still read some of their
    /// repositories: see [`Self::open_distros`] and [`Self::open_repos`]).
    pub fn restricted(&self) -> &[String] {
        &self.restricted
    }

    pub fn open_distros(&self) -> &[String] {
        &self.open_distros
    }

    pub fn open_repos(&self) -> &[String] {
        &self.open_repos
    }

    /// The whole distribution is invisible: not even one repository of it may be read.
    pub fn hides(&self, distro: &str) -> bool {
        self.restricted.iter().any(|d| d == distro)
            && !self.open_distros.iter().any(|d| d == distro)
    }

    /// The repository is invisible.
    pub fn hides_repo(&self, distro: &str, repo: &str) -> bool {
        self.restricted.iter().any(|d| d == distro)
            && !self
                .open_distros
                .iter()
                .zip(&self.open_repos)
                .any(|(d, r)| d == distro && r == repo)
    }
}

/// A `LIKE`/`ILIKE` pattern matching `text` anywhere, with `%`, `_` and `\` in it taken
/// literally (for use with `escape '\'`).
pub fn contains_pattern(text: &str) -> String {
    format!("%{}", prefix_pattern(text))
}

/// A `LIKE`/`ILIKE` pattern matching texts that start with `text`, escaped as
/// [`contains_pattern`].
pub fn prefix_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_escaped() {
        assert_eq!(contains_pattern("gtk"), "%gtk%");
        assert_eq!(contains_pattern("100%"), "%100\\%%");
        assert_eq!(contains_pattern("lib_x"), "%lib\\_x%");
        assert_eq!(contains_pattern(r"a\b"), r"%a\\b%");
        assert_eq!(contains_pattern(""), "%%");
        assert_eq!(prefix_pattern("lib_x"), "lib\\_x%");
    }

    #[test]
    fn hidden_names_are_hidden() {
        let hidden = Hidden::new(vec!["secret".to_owned()], Vec::new());
        assert!(hidden.hides("secret"));
        assert!(hidden.hides_repo("secret", "main"));
        assert!(!hidden.hides("arch"));
        assert!(!hidden.hides_repo("arch", "main"));
    }

    #[test]
    fn open_repositories_of_a_restricted_distribution_are_visible() {
        let hidden = Hidden::new(
            vec!["secret".to_owned()],
            vec![("secret".to_owned(), "main".to_owned())],
        );
        assert!(!hidden.hides("secret"));
        assert!(!hidden.hides_repo("secret", "main"));
        assert!(hidden.hides_repo("secret", "testing"));
    }
}
