//! Hostile packages: small uploads that claim or expand to gigabytes.
//!
//! Each is built in memory in milliseconds and stays within a few MB: the gigabytes exist only
//! as run-length or repeated compressed blocks, written by hand where an encoder would have to
//! produce them byte by byte.

use std::io::Write;

/// A tar header block (GNU format, so sizes above 8 GiB are stored in base-256).
pub fn tar_header(kind: tar::EntryType, path: &str, size: u64) -> [u8; 512] {
    let mut header = tar::Header::new_gnu();
    header.set_path(path).expect("a short path");
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    *header.as_bytes()
}

/// A tar archive that starts with `head` and goes on with `zeros` zero bytes, as zstd: the
/// zeros are run-length blocks of 4 bytes per 128 KiB. The frame declares a window of
/// 2^`window_log` bytes, which the decoder may have to allocate.
pub fn zstd_frame(window_log: u8, head: &[u8], zeros: u64) -> Vec<u8> {
    const BLOCK_MAX: u64 = 128 << 10;
    const RAW: u32 = 0;
    const RLE: u32 = 1;
    assert!((17..=31).contains(&window_log) && head.len() as u64 <= BLOCK_MAX);
    // Magic, a header descriptor with only a window descriptor (no content size, no
    // checksum), and the window as an exponent above 2^10.
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, (window_log - 10) << 3];
    let mut block = |kind: u32, size: u64, last: bool, body: &[u8]| {
        let header = u32::from(last) | (kind << 1) | ((size as u32) << 3);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(body);
    };
    let mut left = zeros;
    block(RAW, head.len() as u64, left == 0, head);
    while left > 0 {
        let size = left.min(BLOCK_MAX);
        left -= size;
        block(RLE, size, left == 0, &[0]);
    }
    out
}

/// A GNU long-name (`L`) header claiming `claim` bytes, in zstd, followed by those bytes.
pub fn long_name(claim: u64) -> Vec<u8> {
    let head = tar_header(tar::EntryType::GNULongName, "././@LongLink", claim);
    zstd_frame(20, &head, claim)
}

/// A PAX extended (`x`) header claiming `claim` bytes, in zstd, followed by those bytes.
pub fn pax(claim: u64) -> Vec<u8> {
    let head = tar_header(tar::EntryType::XHeader, "PaxHeader/bomb", claim);
    zstd_frame(20, &head, claim)
}

/// A file of `size` zero bytes in a zstd frame declaring a 2 GiB window.
pub fn zstd_window(size: u64) -> Vec<u8> {
    let head = tar_header(tar::EntryType::Regular, "usr/share/bomb", size);
    zstd_frame(31, &head, size)
}

/// The dictionary size of an LZMA2 filter as xz stores it in one byte.
pub fn lzma2_dict_byte(size: u64) -> u8 {
    (0..=40u8)
        .find(|&n| (2 | u64::from(n & 1)) << (n / 2 + 11) >= size)
        .expect("at most 4 GiB")
}

/// A file of zero bytes, 2 MiB at a time (`chunks` times, less the tar header), in a single
/// xz block whose LZMA2 filter declares a dictionary of `dict_size` bytes, which a decoder
/// without a memory limit allocates and fills as the output passes through it.
pub fn xz(dict_size: u64, chunks: u64) -> Vec<u8> {
    const CHUNK: usize = 2 << 20;
    let size = chunks * CHUNK as u64 - 512;
    let mut first = tar_header(tar::EntryType::Regular, "usr/share/bomb", size).to_vec();
    first.resize(CHUNK, 0);
    let zeros = continuing(&lzma2_raw(&vec![0; CHUNK]));
    let mut lzma2 = lzma2_raw(&first);
    for _ in 1..chunks {
        lzma2.extend_from_slice(&zeros);
    }
    lzma2.push(0x00);
    xz_stream(lzma2_dict_byte(dict_size), &lzma2, chunks * CHUNK as u64)
}

/// Raw LZMA2 chunks (no end marker) encoding `data` from a fresh state, with a small dictionary.
fn lzma2_raw(data: &[u8]) -> Vec<u8> {
    use liblzma::stream::{Action, Filters, LzmaOptions, Status, Stream};
    let options = LzmaOptions::new_preset(0).expect("preset 0");
    let mut stream =
        Stream::new_raw_encoder(Filters::new().lzma2(&options)).expect("an LZMA2 encoder");
    let mut out = Vec::with_capacity(data.len() / 64 + 1024);
    let mut input = data;
    loop {
        let before = stream.total_in();
        let status = stream
            .process_vec(input, &mut out, Action::Finish)
            .expect("encoding");
        input = &input[(stream.total_in() - before) as usize..];
        if status == Status::StreamEnd {
            break;
        }
        out.reserve(64 << 10);
    }
    assert_eq!(out.pop(), Some(0x00), "an LZMA2 end marker");
    out
}

/// LZMA2 chunks re-labelled to continue a stream: a chunk that reset everything (it was
/// encoded from a fresh start) now resets only the coder's state, keeping the dictionary and
/// the properties already set. Decoding them again appends the same bytes, since zeros only
/// refer back to zeros; every chunk holds a multiple of 4 bytes, so positions line up too.
fn continuing(chunks: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunks.len());
    let mut at = 0;
    while at < chunks.len() {
        let control = chunks[at];
        assert!(control >= 0x80, "zeros compress to LZMA chunks");
        let packed = usize::from(u16::from_be_bytes([chunks[at + 3], chunks[at + 4]])) + 1;
        let props = usize::from(control >= 0xC0);
        out.push(if props == 1 {
            0xA0 | (control & 0x1F)
        } else {
            control
        });
        out.extend_from_slice(&chunks[at + 1..at + 5]);
        let body = at + 5 + props;
        out.extend_from_slice(&chunks[body..body + packed]);
        at = body + packed;
    }
    out
}

/// An xz stream of one block holding `lzma2` (ending in its end marker), with no check.
fn xz_stream(dict_byte: u8, lzma2: &[u8], uncompressed: u64) -> Vec<u8> {
    let crc = |bytes: &[u8]| {
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        crc.sum().to_le_bytes()
    };
    let flags = [0x00, 0x00];
    let mut out = vec![0xfd, b'7', b'z', b'X', b'Z', 0x00];
    out.extend_from_slice(&flags);
    out.extend_from_slice(&crc(&flags));
    // Block header: 12 bytes, one filter (LZMA2, one property byte), no sizes.
    let block_header = [0x02, 0x00, 0x21, 0x01, dict_byte, 0, 0, 0];
    out.extend_from_slice(&block_header);
    out.extend_from_slice(&crc(&block_header));
    out.extend_from_slice(lzma2);
    out.resize(out.len().next_multiple_of(4), 0);
    let unpadded = 12 + lzma2.len() as u64;
    let mut index = vec![0x00, 0x01];
    varint(&mut index, unpadded);
    varint(&mut index, uncompressed);
    index.resize(index.len().next_multiple_of(4), 0);
    let index_crc = crc(&index);
    index.extend_from_slice(&index_crc);
    let backward = ((index.len() / 4 - 1) as u32).to_le_bytes();
    out.extend_from_slice(&index);
    let footer: Vec<u8> = backward.iter().chain(&flags).copied().collect();
    out.extend_from_slice(&crc(&footer));
    out.extend_from_slice(&footer);
    out.extend_from_slice(b"YZ");
    out
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A file of zero bytes, `chunks` × 8 MiB (less the tar header), as concatenated bzip2
/// streams: one is compressed, the rest repeat it.
pub fn bzip2(chunks: u64) -> Vec<u8> {
    const CHUNK: usize = 8 << 20;
    let size = chunks * CHUNK as u64 - 512;
    let compress = |data: &[u8]| {
        let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        encoder.write_all(data).expect("compressing");
        encoder.finish().expect("compressing")
    };
    let mut first = tar_header(tar::EntryType::Regular, "usr/share/bomb", size).to_vec();
    first.resize(CHUNK, 0);
    let mut out = compress(&first);
    let zeros = compress(&vec![0; CHUNK]);
    for _ in 1..chunks {
        out.extend_from_slice(&zeros);
    }
    out
}
