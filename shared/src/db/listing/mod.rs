//! Read models for the JSON API: paginated listings and detail views of the catalogue, the
//! uploads and their packages. Every listing takes a [`Window`] and the distributions the
//! caller may not see ([`Hidden`]), and returns one page with the total it is a page of.

pub mod distros;
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

/// Distribution names whose data a caller may not see (private ones it has no key for).
/// Listings leave their rows out; lookups answer as if they did not exist.
#[derive(Debug, Clone, Default)]
pub struct Hidden(pub Vec<String>);

impl Hidden {
    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn hides(&self, distro: &str) -> bool {
        self.0.iter().any(|d| d == distro)
    }
}

/// A `LIKE`/`ILIKE` pattern matching `text` anywhere, with `%`, `_` and `\` in it taken
/// literally (for use with `escape '\'`).
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
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
    }

    #[test]
    fn hidden_names_are_hidden() {
        let hidden = Hidden(vec!["secret".to_owned()]);
        assert!(hidden.hides("secret"));
        assert!(!hidden.hides("arch"));
    }
}
