//! An upstream repository's address: a URL template with pacman's `$repo` and `$arch`
//! variables, as a `Server =` line of `pacman.conf` has it (`https://host/$repo/os/$arch`).

use std::fmt;

use reqwest13::Url;

use crate::names::{ArchName, FileName, RepoName};

/// Why an upstream address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("`{0}` is not a URL")]
    NotAUrl(String),
    #[error("the upstream must be an http:// or https:// URL, not {0}://")]
    Scheme(String),
    #[error(
        "the upstream may not hold credentials: every admin reads it back \
         (serve the upstream to this host without them)"
    )]
    Credentials,
    #[error("the upstream may not have a query or a fragment: file names are appended to its path")]
    QueryOrFragment,
    #[error("the upstream is longer than {max} bytes")]
    TooLong { max: usize },
}

/// A validated upstream URL template. `$repo` and `$arch` are replaced by the mirrored
/// repository's name and each of its architectures; the file names follow as one more path
/// segment each.
#[derive(Clone, PartialEq, Eq, sqlx::Type)]
#[sqlx(transparent)]
pub struct Upstream(String);

/// The longest template accepted.
pub const MAX_UPSTREAM_BYTES: usize = 2048;

impl Upstream {
    pub fn parse(template: &str) -> Result<Self, UpstreamError> {
        let template = template.trim();
        if template.len() > MAX_UPSTREAM_BYTES {
            return Err(UpstreamError::TooLong {
                max: MAX_UPSTREAM_BYTES,
            });
        }
        // Checked with sample values in, so the variables' `$` are not what is judged.
        let url = Url::parse(&expand(template, "repo", "arch"))
            .map_err(|_| UpstreamError::NotAUrl(template.chars().take(200).collect()))?;
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(UpstreamError::Scheme(other.to_owned())),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(UpstreamError::NotAUrl(template.chars().take(200).collect()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UpstreamError::Credentials);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(UpstreamError::QueryOrFragment);
        }
        Ok(Self(template.trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL of `file` in the upstream's directory for `repo` and `arch`.
    pub fn file_url(&self, repo: &RepoName, arch: &ArchName, file: &FileName) -> Url {
        let mut url = Url::parse(&expand(&self.0, repo.as_str(), arch.as_str()))
            .expect("a parsed template expands to a URL: names hold no URL syntax");
        url.path_segments_mut()
            .expect("an http(s) URL has a path")
            .pop_if_empty()
            .push(file.as_str());
        url
    }

    /// Where the upstream's `lastupdate` would be: the directory above the first path segment
    /// holding a variable (`https://host/archlinux/$repo/os/$arch` has it at
    /// `https://host/archlinux/lastupdate`, as Arch's mirrors do), or the directory itself
    /// when the template has no variable in its path.
    pub fn lastupdate_url(&self) -> Url {
        let mut url = Url::parse(&expand(&self.0, "repo", "arch"))
            .expect("a parsed template expands to a URL");
        let template = Url::parse(&self.0.replace('$', "%24"))
            .expect("a parsed template with its `$` escaped is a URL");
        let kept: Vec<String> = template
            .path_segments()
            .map(|segments| {
                segments
                    .take_while(|segment| !segment.contains("%24"))
                    .filter(|segment| !segment.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        {
            let mut path = url.path_segments_mut().expect("an http(s) URL has a path");
            path.clear();
            for segment in &kept {
                path.push(segment);
            }
            path.push("lastupdate");
        }
        url
    }
}

/// The template with pacman's variables replaced.
fn expand(template: &str, repo: &str, arch: &str) -> String {
    template.replace("$repo", repo).replace("$arch", arch)
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> (RepoName, ArchName) {
        (
            RepoName::parse("core").unwrap(),
            ArchName::parse("x86_64").unwrap(),
        )
    }

    #[test]
    fn expands_like_pacman() {
        let (repo, arch) = names();
        let upstream = Upstream::parse("https://mirror.example/$repo/os/$arch/").unwrap();
        assert_eq!(upstream.as_str(), "https://mirror.example/$repo/os/$arch");
        let db = FileName::parse("core.db").unwrap();
        assert_eq!(
            upstream.file_url(&repo, &arch, &db).as_str(),
            "https://mirror.example/core/os/x86_64/core.db"
        );
        // A version may hold `:` and `+`; a name holding `#` or `?` stays one path segment.
        let odd = FileName::parse("a#b?c-1:2+x-1-x86_64.pkg.tar.zst").unwrap();
        assert_eq!(
            upstream.file_url(&repo, &arch, &odd).as_str(),
            "https://mirror.example/core/os/x86_64/a%23b%3Fc-1:2+x-1-x86_64.pkg.tar.zst"
        );
        assert_eq!(
            upstream.lastupdate_url().as_str(),
            "https://mirror.example/lastupdate"
        );
        let deeper = Upstream::parse("https://host/archlinux/$repo/os/$arch").unwrap();
        assert_eq!(
            deeper.lastupdate_url().as_str(),
            "https://host/archlinux/lastupdate"
        );
        let plain = Upstream::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            plain.lastupdate_url().as_str(),
            "http://127.0.0.1:8080/lastupdate"
        );
        assert_eq!(
            plain.file_url(&repo, &arch, &db).as_str(),
            "http://127.0.0.1:8080/core.db"
        );
    }

    #[test]
    fn refuses_what_is_not_a_plain_http_url() {
        let cases = [
            ("ftp://host/$repo", "http:// or https://"),
            ("file:///srv/$repo", "http:// or https://"),
            ("https://user:secret@host/$repo", "credentials"),
            ("https://host/$repo?token=1", "query"),
            ("https://host/$repo#x", "fragment"),
            ("not a url", "not a URL"),
            ("https://", "not a URL"),
        ];
        for (template, reason) in cases {
            let err = Upstream::parse(template).unwrap_err();
            assert!(err.to_string().contains(reason), "{template}: {err}");
        }
        let long = format!("https://host/{}", "a".repeat(MAX_UPSTREAM_BYTES));
        assert!(matches!(
            Upstream::parse(&long),
            Err(UpstreamError::TooLong { .. })
        ));
    }
}
