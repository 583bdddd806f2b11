//! Pacman repository databases (`{repo}.db` and `{repo}.files`), rendered the way `repo-add`
//! 6.0.2 writes them, and read back from an upstream a mirror follows ([`read_database`]).
//!
//! A database is a tar archive holding, per package, a `{name}-{version}/` directory with a
//! `desc` file (and a `files` file in the `.files` database). Rebuilding a large repository by
//! recompressing every entry on each upload would cost time proportional to the repository, so
//! each package's entries are rendered once into independent gzip members ([`render_members`]).
//! An archive is then just those members concatenated, followed by one member holding the tar
//! end-of-archive marker ([`write_archive`]); gzip readers, libarchive included, read a
//! concatenation of members as one stream.

mod archive;
mod desc;
mod entry;
mod members;
mod read;

pub use archive::{end_archive, write_archive};
pub use desc::{render_desc, render_files};
pub use entry::DbEntry;
pub use members::{EntryMembers, render_members};
pub use read::{
    ReadError, ReadLimits, SyncEntry, is_package_file_name, read_database, read_database_with,
};
