//! The one way every list is paginated: `page` (from 1) and `per_page` in the query, and
//! `items`, `page`, `per_page` and `total` in the body. The two parameters are the types
//! [`PageNumber`] and [`PerPage`], declared here once: their bounds, defaults and descriptions
//! are one schema each in the OpenAPI document, which every listing refers to.
//!
//! Listings that skip rows to reach a page (everything but a package's file list, which is
//! sliced) are served to a depth of [`MAX_DEPTH`] items, so that no request makes the database
//! step over more than that many index entries, however large the catalogue grows.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, Type};
use rieter::db::listing::Window;

use crate::error::ApiError;

pub const DEFAULT_PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 200;
/// Far beyond any real catalogue; keeps `page * per_page` far from overflow.
pub const MAX_PAGE: i64 = 1_000_000;

/// Declares a query parameter of every listing: an integer within bounds, with a default,
/// registered as one named schema.
macro_rules! page_parameter {
    ($(#[doc = $doc:literal])+ $name:ident, $min:expr, $max:expr, $default:expr) => {
        $(#[doc = $doc])+
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub i64);

        impl Default for $name {
            fn default() -> Self {
                Self($default)
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = i64;
            type RawElementValueType = i64;

            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Reference(stringify!($name).to_owned())
            }

            fn register(registry: &mut Registry) {
                registry.create_schema::<Self, _>(stringify!($name).to_owned(), |_| MetaSchema {
                    description: Some(concat!($($doc, "\n"),+).trim_ascii()),
                    format: Some("int64"),
                    minimum: Some($min as f64),
                    maximum: Some($max as f64),
                    default: Some($default.into()),
                    ..MetaSchema::new("integer")
                });
            }

            fn as_raw_value(&self) -> Option<&i64> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a i64> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                match value.parse::<i64>() {
                    Ok(n) if ($min..=$max).contains(&n) => Ok(Self(n)),
                    _ => Err(ParseError::custom(format!(
                        "expected an integer from {} to {}",
                        $min, $max
                    ))),
                }
            }
        }
    };
}

page_parameter!(
    /// Page number, from 1; `page` × `per_page` may not exceed 100000 (narrow the listing
    /// with its filters to reach further).
    PageNumber,
    1,
    MAX_PAGE,
    1
);

page_parameter!(
    /// Items per page (default 50, at most 200).
    PerPage,
    1,
    MAX_PER_PAGE,
    DEFAULT_PER_PAGE
);

/// The page a listing asked for: its `page` and `per_page`, defaulted.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub fn new(page: Option<PageNumber>, per_page: Option<PerPage>) -> Self {
        Self {
            page: page.unwrap_or_default().0,
            per_page: per_page.unwrap_or_default().0,
        }
    }

    /// The rows of this page of a listing that skips rows to reach it: 400 past
    /// [`MAX_DEPTH`].
    pub fn listing_window(self) -> Result<Window, ApiError> {
        listing_window(self.page, self.per_page)
    }
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
    fn the_parameters_are_declared_once_in_the_document() {
        let spec = crate::openapi_service().spec_yaml();
        assert!(spec.contains("    PerPage:\n"), "no PerPage schema");
        let per_page = spec.split("    PerPage:\n").nth(1).unwrap();
        let per_page: String = per_page.lines().take(8).collect::<Vec<_>>().join("\n");
        assert!(
            per_page.contains(&format!("default: {DEFAULT_PER_PAGE}")),
            "{per_page}"
        );
        assert!(
            per_page.contains(&format!("maximum: {MAX_PER_PAGE}")),
            "{per_page}"
        );
        let listings = spec.matches("- name: per_page\n").count();
        let refs = spec.matches("$ref: '#/components/schemas/PerPage'").count();
        assert!(listings >= 7, "{listings} listings");
        assert_eq!(refs, listings, "every per_page refers to the one schema");
        assert_eq!(
            spec.matches("maximum: 200.0").count(),
            1,
            "per_page's bound written out again"
        );
    }

    #[test]
    fn out_of_bounds_values_are_refused() {
        assert_eq!(PerPage::parse_from_parameter("200").unwrap(), PerPage(200));
        assert!(PerPage::parse_from_parameter("201").is_err());
        assert!(PerPage::parse_from_parameter("0").is_err());
        assert!(PageNumber::parse_from_parameter("x").is_err());
        assert_eq!(PageNumber::default(), PageNumber(1));
    }
}
