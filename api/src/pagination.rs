//! The one way every list is paginated: `page` (from 1) and `per_page` in the query, and
//! `items`, `page`, `per_page` and `total` in the body. The bounds below are written again as
//! literals in each operation's validators (poem-openapi takes literals there); the
//! `bounds_match_the_document` test keeps the two in step.

use rieter::db::listing::Window;

pub const DEFAULT_PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 200;
/// Far beyond any real catalogue; keeps `page * per_page` far from overflow.
pub const MAX_PAGE: i64 = 1_000_000;

pub fn default_page() -> i64 {
    1
}

pub fn default_per_page() -> i64 {
    DEFAULT_PER_PAGE
}

/// The rows of `page` (validated to lie in 1..=MAX_PAGE, `per_page` in 1..=MAX_PER_PAGE).
pub fn window(page: i64, per_page: i64) -> Window {
    let page = page.clamp(1, MAX_PAGE);
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    Window {
        limit: per_page,
        offset: (page - 1) * per_page,
    }
}

/// Declares a page type of a listing.
macro_rules! page_of {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, poem_openapi::Object)]
        pub struct $name {
            pub items: Vec<$item>,
            /// This page's number, from 1.
            pub page: i64,
            /// The page size asked for; `items` holds fewer on the last page.
            pub per_page: i64,
            /// Items in the whole listing.
            pub total: i64,
        }
    };
}
pub(crate) use page_of;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_windows() {
        assert_eq!(
            window(1, 50),
            Window {
                limit: 50,
                offset: 0
            }
        );
        assert_eq!(
            window(3, 10),
            Window {
                limit: 10,
                offset: 20
            }
        );
        assert_eq!(
            window(MAX_PAGE, MAX_PER_PAGE).offset,
            (MAX_PAGE - 1) * MAX_PER_PAGE
        );
    }

    #[test]
    fn bounds_match_the_document() {
        let spec = crate::openapi_service().spec_yaml();
        let section = spec
            .split("  /api/v1/packages:\n")
            .nth(1)
            .expect("the packages listing");
        let per_page = section
            .split("- name: per_page\n")
            .nth(1)
            .expect("per_page")
            .split("in: query")
            .next()
            .unwrap();
        assert!(
            per_page.contains(&format!("default: {DEFAULT_PER_PAGE}")),
            "{per_page}"
        );
        assert!(
            per_page.contains(&format!("maximum: {MAX_PER_PAGE}")),
            "{per_page}"
        );
        let page = section.split("- name: page\n").nth(1).unwrap();
        assert!(page.contains(&format!("maximum: {MAX_PAGE}")));
    }
}
