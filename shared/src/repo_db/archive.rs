//! Assembling a database file from pre-rendered members.

use std::io::{self, Write};
use std::sync::OnceLock;

use super::members::gzip_member;

/// Writes a complete gzip-compressed database: `members` (from
/// [`super::render_members`], the `db` or the `files` halves) in order, then one member
/// holding the tar end-of-archive marker. With no members this is an empty database, which
/// pacman accepts like the empty archive `repo-add` writes when the last package is removed.
///
/// Returns `out` after flushing it, so a file can still be synced by the caller.
pub fn write_archive<W: Write>(
    mut out: W,
    members: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> io::Result<W> {
    for member in members {
        out.write_all(member.as_ref())?;
    }
    end_archive(out)
}

/// Ends a database whose members were written to `out` already: appends the member holding
/// the tar end-of-archive marker and flushes. Returns `out`, so a file can still be synced.
pub fn end_archive<W: Write>(mut out: W) -> io::Result<W> {
    out.write_all(end_of_archive()?)?;
    out.flush()?;
    Ok(out)
}

/// Two zero blocks: the end-of-archive marker that ends every tar archive.
fn end_of_archive() -> io::Result<&'static [u8]> {
    static MEMBER: OnceLock<Vec<u8>> = OnceLock::new();
    if let Some(member) = MEMBER.get() {
        return Ok(member);
    }
    let member = gzip_member(&[0; 1024])?;
    Ok(MEMBER.get_or_init(|| member))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip_all(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn an_empty_archive_is_just_the_end_marker() {
        let out = write_archive(Vec::new(), Vec::<Vec<u8>>::new()).unwrap();
        assert_eq!(gunzip_all(&out), [0u8; 1024]);
    }

    #[test]
    fn members_are_written_in_order_before_the_end_marker() {
        let a = gzip_member(&[1; 512]).unwrap();
        let b = gzip_member(&[2; 512]).unwrap();
        let out = write_archive(Vec::new(), [&a, &b]).unwrap();
        assert!(out.starts_with(&a));
        assert_eq!(&out[a.len()..a.len() + b.len()], b);
        let tar = gunzip_all(&out);
        assert_eq!(tar.len(), 2048);
        assert!(tar[..512].iter().all(|&x| x == 1));
        assert!(tar[512..1024].iter().all(|&x| x == 2));
        assert!(tar[1024..].iter().all(|&x| x == 0));
    }
}
