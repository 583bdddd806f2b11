//! Test support shared by Rieter's test suites: real packages from `makepkg` and throwaway
//! Postgres databases. Nothing here is a mock; it only builds and cleans up real things.

pub mod bombs;
pub mod database;
pub mod makepkg;
pub mod postgres;

pub use database::TestDatabase;
pub use makepkg::{Build, Ext, Pkg, build_many};
pub use postgres::PrivatePostgres;
