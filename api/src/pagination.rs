//! The one way every list is paginated: `page` (from 1) and `per_page` in the query, and
//! `items`, `page`, `per_page` and `total` in the body. The bounds below are written again as
//! literals in each operation's validators (poem-openapi takes literals there); the
//! `bounds_match_the_document` test keeps the two in step.
//!
//! Listings that skip rows to reach a page (everything but a package's file list, which is
//! sliced) are served to a depth of [`MAX_DEPTH`] items, so that no request makes the database
//! step over more than that many index entries, however large the catalogue grows.

use rieter::db::listing::Window;

use crate::error::ApiError;

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

/// How deep a listing may be paged: `page * per_page` at most this.
pub const MAX_DEPTH: i64 = 100_000;

/// The rows of `page` of a listing that skips rows to reach it: 400 past [`MAX_DEPTH`].
pub fn listing_window(page: i64, per_page: i64) -> Result<Window, ApiError> {
    if page.saturating_mul(per_page) > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "listings are served to a depth of {MAX_DEPTH} items (`page` × `per_page`); \
             narrow the listing with its filters, or reverse its order, to reach the rest"
        )));
    }
    Ok(window(page, per_page))
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
    fn listings_stop_at_the_depth_limit() {
        assert_eq!(listing_window(500, 200).unwrap().offset, MAX_DEPTH - 200);
        assert_eq!(listing_window(MAX_DEPTH, 1).unwrap().offset, MAX_DEPTH - 1);
        assert!(listing_window(501, 200).is_err());
        assert!(listing_window(MAX_PAGE, MAX_PER_PAGE).is_err());
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
