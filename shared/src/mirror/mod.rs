//! Mirroring: keeping a repository a verified copy of an upstream pacman repository (issue
//! 13). What is here so far: where the upstream's files are ([`Upstream`]); its databases are
//! read by [`crate::repo_db::read_database`].

mod upstream;

pub use upstream::{Upstream, UpstreamError};
