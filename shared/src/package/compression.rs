//! Recognising a package's compression from its first bytes and opening a decompressing reader.

use std::io::{self, BufRead, Read};

use serde::{Deserialize, Serialize};

use super::PackageError;

/// The compressions pacman packages come in that Rieter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Zstd,
    Xz,
    Gzip,
    Bzip2,
    /// An uncompressed tar archive.
    None,
}

/// Bytes needed to recognise every supported format (the tar magic sits at offset 257).
pub const SNIFF_LEN: usize = 262;

impl Compression {
    /// Recognises a format by its magic bytes, never by a file name.
    pub fn detect(head: &[u8]) -> Result<Self, PackageError> {
        const TAR_MAGIC_OFFSET: usize = 257;
        let unsupported = |name: &'static str| Err(PackageError::UnsupportedCompression(name));
        match head {
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Self::Zstd),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Ok(Self::Xz),
            [0x1f, 0x8b, ..] => Ok(Self::Gzip),
            [b'B', b'Z', b'h', ..] => Ok(Self::Bzip2),
            [0x04, 0x22, 0x4d, 0x18, ..] => unsupported("lz4"),
            [b'L', b'Z', b'I', b'P', ..] => unsupported("lzip"),
            [0x89, b'L', b'Z', b'O', ..] => unsupported("lzop"),
            [0x1f, 0x9d, ..] => unsupported("compress (.Z)"),
            _ if head.get(TAR_MAGIC_OFFSET..TAR_MAGIC_OFFSET + 5) == Some(b"ustar") => {
                Ok(Self::None)
            }
            [] => Err(PackageError::Empty),
            _ => Err(PackageError::NotAnArchive),
        }
    }

    /// The file name suffix pacman and makepkg use for this compression.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Zstd => ".pkg.tar.zst",
            Self::Xz => ".pkg.tar.xz",
            Self::Gzip => ".pkg.tar.gz",
            Self::Bzip2 => ".pkg.tar.bz2",
            Self::None => ".pkg.tar",
        }
    }

    /// Wraps `input` in the matching decoder, allowed at most `memory_limit` bytes for its
    /// window or dictionary. Multi-member streams are read to the end, as libarchive does.
    ///
    /// xz and zstd let the stream choose that size (up to 4 GiB and 2 GiB), so they get the
    /// limit; gzip's window is 32 KiB and bzip2's blocks at most 900 kB (under 4 MB of state),
    /// by their formats.
    pub fn decoder<'a, R: BufRead + 'a>(
        self,
        input: R,
        memory_limit: u64,
    ) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Self::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(input)?;
                decoder.window_log_max(zstd_window_log(memory_limit))?;
                Box::new(decoder)
            }
            Self::Xz => {
                let stream = liblzma::stream::Stream::new_stream_decoder(
                    memory_limit,
                    liblzma::stream::CONCATENATED,
                )?;
                Box::new(liblzma::bufread::XzDecoder::new_stream(input, stream))
            }
            Self::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            Self::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
            Self::None => Box::new(input),
        })
    }
}

/// The largest zstd window (as a power of two) that fits in `memory_limit`, within the range
/// zstd accepts (2^10 to 2^31).
fn zstd_window_log(memory_limit: u64) -> u32 {
    memory_limit.max(1).ilog2().clamp(10, 31)
}

/// Whether a decoder failed because the stream needs more memory than it was allowed: an xz
/// dictionary or a zstd window larger than the limit.
pub(super) fn is_memory_limit(err: &io::Error) -> bool {
    use zstd::zstd_safe::{get_error_name, zstd_sys::ZSTD_ErrorCode};
    let xz = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<liblzma::stream::Error>())
        .is_some_and(|e| *e == liblzma::stream::Error::MemLimit);
    // The zstd crate turns error codes into their names, so compare with the name libzstd
    // itself gives this code.
    let window_too_large =
        (ZSTD_ErrorCode::ZSTD_error_frameParameter_windowTooLarge as usize).wrapping_neg();
    xz || err.to_string() == get_error_name(window_too_large)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic() {
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]).unwrap(),
            Compression::Zstd
        );
        assert_eq!(
            Compression::detect(b"\xfd7zXZ\0rest").unwrap(),
            Compression::Xz
        );
        assert_eq!(
            Compression::detect(&[0x1f, 0x8b, 8]).unwrap(),
            Compression::Gzip
        );
        assert_eq!(Compression::detect(b"BZh91AY").unwrap(), Compression::Bzip2);
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(Compression::detect(&tar).unwrap(), Compression::None);
        assert!(matches!(
            Compression::detect(&[0x04, 0x22, 0x4d, 0x18]),
            Err(PackageError::UnsupportedCompression("lz4"))
        ));
        assert!(matches!(
            Compression::detect(b"hello world"),
            Err(PackageError::NotAnArchive)
        ));
        assert!(matches!(Compression::detect(b""), Err(PackageError::Empty)));
    }
}
