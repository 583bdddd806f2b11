//! HTTP semantics of serving a file: validators, conditional requests and byte ranges
//! (RFC 9110 sections 8.8, 13 and 14), as pure functions of the request headers and the file's
//! metadata.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rieter::blobs::Digest;

/// What identifies one version of a served file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    pub etag: String,
    /// Whole seconds, the resolution of `Last-Modified`.
    pub modified: SystemTime,
}

impl Validators {
    /// The validators of a blob's content: a strong entity tag from its digest (the content
    /// changes exactly when the digest does), and its modification time in whole seconds.
    pub fn of_blob(digest: &Digest, modified: SystemTime) -> Self {
        let since_epoch = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
        Self {
            etag: format!("\"{}\"", &digest.as_str()[..32]),
            modified: UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs()),
        }
    }

    pub fn last_modified(&self) -> String {
        httpdate::fmt_http_date(self.modified)
    }

    /// Whether the client's cached copy is current: `If-None-Match` decides when present,
    /// otherwise `If-Modified-Since`.
    pub fn not_modified(
        &self,
        if_none_match: Option<&str>,
        if_modified_since: Option<&str>,
    ) -> bool {
        if let Some(tags) = if_none_match {
            return tags.trim() == "*"
                || tags
                    .split(',')
                    .map(|t| t.trim().trim_start_matches("W/"))
                    .any(|t| t == self.etag);
        }
        if_modified_since
            .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
            .is_some_and(|since| self.modified <= since)
    }

    /// Whether an `If-Range` precondition lets a range request through.
    fn range_allowed(&self, if_range: Option<&str>) -> bool {
        match if_range.map(str::trim) {
            None => true,
            Some(v) if v.starts_with('"') || v.starts_with("W/") => v == self.etag,
            Some(v) => httpdate::parse_http_date(v).is_ok_and(|d| d == self.modified),
        }
    }
}

/// What to send for a request on a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The whole file (no range, an ignored range, or a failed `If-Range`).
    Full,
    /// Bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// No requested range overlaps the file.
    Unsatisfiable,
}

/// Interprets `Range`. Only single ranges are served; a multi-range request gets the whole
/// file, which RFC 9110 allows and pacman never asks for.
pub fn select(
    range: Option<&str>,
    if_range: Option<&str>,
    len: u64,
    validators: &Validators,
) -> Selection {
    let Some(range) = range else {
        return Selection::Full;
    };
    if !validators.range_allowed(if_range) {
        return Selection::Full;
    }
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return Selection::Full;
    };
    if spec.contains(',') {
        return Selection::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Selection::Full;
    };
    let parse = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), parse(first), parse(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(suffix)) => {
            if suffix == 0 || len == 0 {
                Selection::Unsatisfiable
            } else {
                Selection::Partial {
                    start: len.saturating_sub(suffix),
                    end: len - 1,
                }
            }
        }
        (false, Some(start), last) if last.is_some() || last_is_empty(last, spec) => {
            if start >= len {
                return Selection::Unsatisfiable;
            }
            let end = last.map_or(len - 1, |l| l.min(len - 1));
            if end < start {
                return Selection::Full;
            }
            Selection::Partial { start, end }
        }
        _ => Selection::Full,
    }
}

fn last_is_empty(last: Option<u64>, spec: &str) -> bool {
    last.is_none() && spec.trim().ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validators() -> Validators {
        Validators::of_blob(
            &Digest::of(b"a file"),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_500),
        )
    }

    #[test]
    fn conditional_requests() {
        let v = validators();
        assert_eq!(v.last_modified(), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert!(v.not_modified(Some(&v.etag), None));
        assert!(v.not_modified(Some(&format!("\"x\", W/{}", v.etag)), None));
        assert!(v.not_modified(Some("*"), None));
        assert!(!v.not_modified(Some("\"other\""), Some(&v.last_modified())));
        assert!(v.not_modified(None, Some(&v.last_modified())));
        assert!(v.not_modified(None, Some("Wed, 15 Nov 2023 00:00:00 GMT")));
        assert!(!v.not_modified(None, Some("Tue, 14 Nov 2023 22:13:19 GMT")));
        assert!(!v.not_modified(None, Some("garbage")));
        assert!(!v.not_modified(None, None));
    }

    #[test]
    fn byte_ranges() {
        let v = validators();
        let sel = |r: &str| select(Some(r), None, 1000, &v);
        assert_eq!(select(None, None, 1000, &v), Selection::Full);
        assert_eq!(sel("bytes=0-99"), Selection::Partial { start: 0, end: 99 });
        assert_eq!(
            sel("bytes=500-"),
            Selection::Partial {
                start: 500,
                end: 999
            }
        );
        assert_eq!(
            sel("bytes=-10"),
            Selection::Partial {
                start: 990,
                end: 999
            }
        );
        assert_eq!(
            sel("bytes=-5000"),
            Selection::Partial { start: 0, end: 999 }
        );
        assert_eq!(
            sel("bytes=900-5000"),
            Selection::Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(sel("bytes=1000-"), Selection::Unsatisfiable);
        assert_eq!(sel("bytes=-0"), Selection::Unsatisfiable);
        assert_eq!(sel("bytes=0-1,5-6"), Selection::Full);
        assert_eq!(sel("items=0-1"), Selection::Full);
        assert_eq!(sel("bytes=9-3"), Selection::Full);
        assert_eq!(sel("bytes=x-3"), Selection::Full);
        assert_eq!(
            select(Some("bytes=0-0"), None, 0, &v),
            Selection::Unsatisfiable
        );
    }

    #[test]
    fn if_range_guards_ranges() {
        let v = validators();
        let partial = Selection::Partial { start: 0, end: 9 };
        assert_eq!(select(Some("bytes=0-9"), Some(&v.etag), 1000, &v), partial);
        assert_eq!(
            select(Some("bytes=0-9"), Some(&v.last_modified()), 1000, &v),
            partial
        );
        assert_eq!(
            select(Some("bytes=0-9"), Some("\"stale\""), 1000, &v),
            Selection::Full
        );
    }
}
