//! Reading a served file with few hand-offs between threads, which dominate the cost of a
//! small response (a 304 or a small database).
//!
//! Opening, `fstat` and reading a small body happen on the async thread, as nginx does them in
//! its event loop: for the data directory's files these are answered from the kernel's dentry,
//! inode and page caches in microseconds, while a hand-off to the blocking pool costs a futex
//! wake and two context switches each way. Larger bodies are read on the blocking pool in
//! positioned reads of up to `CHUNK` bytes, only as the client takes them, so a slow disk never
//! stalls the async threads for long. (`tokio::fs::File` would hand off every 4 KiB and copy
//! every byte once more.)

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use poem::Body;

/// Bodies up to this size are read at once on the async thread.
const INLINE: u64 = 64 * 1024;
/// The largest read on the blocking pool; also bounds the memory one download holds while the
/// client is slow to take it.
const CHUNK: u64 = 256 * 1024;

/// An open file, to read bodies from.
pub struct OpenFile {
    file: Arc<File>,
}

/// Opens `path`; returns the file and its metadata, read from the open file.
pub fn open(path: &Path) -> io::Result<(OpenFile, Metadata)> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    Ok((
        OpenFile {
            file: Arc::new(file),
        },
        meta,
    ))
}

impl OpenFile {
    /// A body of the `len` bytes from `start`.
    pub fn body(&self, start: u64, len: u64) -> io::Result<Body> {
        if len <= INLINE {
            let mut buf = vec![0; len as usize];
            self.file.read_exact_at(&mut buf, start)?;
            return Ok(Body::from(buf));
        }
        let state = (Arc::clone(&self.file), start, start + len);
        Ok(Body::from_bytes_stream(futures::stream::try_unfold(
            state,
            |(file, at, end)| async move {
                if at >= end {
                    return Ok(None);
                }
                let n = (end - at).min(CHUNK);
                let reader = Arc::clone(&file);
                let chunk = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0; n as usize];
                    reader.read_exact_at(&mut buf, at)?;
                    Ok::<_, io::Error>(Bytes::from(buf))
                })
                .await
                .map_err(io::Error::other)??;
                Ok::<_, io::Error>(Some((chunk, (file, at + n, end))))
            },
        )))
    }
}
