//! Chunk framing (FORMAT.md §3): type, length, payload, CRC-32.

use crate::{Error, Limit, Rule};
use std::fmt;

/// A four-byte chunk type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChunkType(pub [u8; 4]);

impl ChunkType {
    pub const SGNL: Self = Self(*b"SGNL");
    pub const ARCH: Self = Self(*b"ARCH");
    pub const WGHT: Self = Self(*b"WGHT");
    pub const LATN: Self = Self(*b"LATN");
    pub const META: Self = Self(*b"meta");
    pub const DONE: Self = Self(*b"DONE");
}

impl fmt::Display for ChunkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.iter().all(|b| b.is_ascii_alphabetic()) {
            write!(f, "`{}`", std::str::from_utf8(&self.0).unwrap())
        } else {
            write!(f, "{:02x?}", self.0)
        }
    }
}

impl fmt::Debug for ChunkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// FORMAT.md §3.1: a chunk is critical when its first letter is upper case
/// (bit 5 of the first byte clear); a decoder must understand every
/// critical chunk and may skip the others.
pub fn is_critical(ty: ChunkType) -> bool {
    ty.0[0] & 0x20 == 0
}

fn crc(ty: ChunkType, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&ty.0);
    h.update(payload);
    h.finalize()
}

pub struct Chunk<'a> {
    pub ty: ChunkType,
    pub payload: &'a [u8],
    /// Byte offset of the chunk in the file, for error messages.
    pub offset: usize,
}

/// Iterates over the chunks after the header.
pub struct Chunks<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    max_len: u32,
}

impl<'a> Chunks<'a> {
    pub fn new(data: &'a [u8], base: usize, max_len: u32) -> Self {
        Self {
            data,
            pos: 0,
            base,
            max_len,
        }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next chunk, its length bounded and its CRC checked.
    pub fn next_chunk(&mut self) -> Result<Chunk<'a>, Error> {
        let offset = self.base + self.pos;
        let rest = &self.data[self.pos..];
        if rest.is_empty() {
            return Err(Error::format(
                Rule::ChunkOrder,
                "the file ends without a DONE chunk (truncated?)",
            ));
        }
        if rest.len() < 8 {
            return Err(Error::format(
                Rule::ChunkPastEnd,
                format!("the file ends inside the chunk header at byte {offset} (truncated?)"),
            ));
        }
        let ty = ChunkType(rest[..4].try_into().unwrap());
        if !ty.0.iter().all(|b| b.is_ascii_alphabetic()) {
            return Err(Error::format(
                Rule::ChunkType,
                format!("invalid chunk type {ty} at byte {offset}"),
            ));
        }
        let len = u32::from_le_bytes(rest[4..8].try_into().unwrap());
        // The format's rule first: a length past the end of the file is a
        // broken file whatever this decoder's limits.
        if ((rest.len() - 8) as u64) < len as u64 + 4 {
            return Err(Error::format(
                Rule::ChunkPastEnd,
                format!(
                    "{ty} chunk at byte {offset} claims {len} bytes but the file ends first (truncated?)"
                ),
            ));
        }
        if len > self.max_len {
            return Err(Error::limit(
                Limit::ChunkBytes,
                format!("the {ty} chunk at byte {offset}"),
                len as u64,
                self.max_len as u64,
            ));
        }
        let len = len as usize;
        let payload = &rest[8..8 + len];
        let stored = u32::from_le_bytes(rest[8 + len..12 + len].try_into().unwrap());
        let computed = crc(ty, payload);
        if stored != computed {
            return Err(Error::format(
                Rule::Crc,
                format!(
                    "{ty} chunk at byte {offset} is corrupted (CRC {stored:08x}, computed {computed:08x})"
                ),
            ));
        }
        self.pos += 12 + len;
        Ok(Chunk {
            ty,
            payload,
            offset,
        })
    }
}

/// Appends chunks to a buffer.
pub struct ChunkWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> ChunkWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out }
    }

    pub fn chunk(&mut self, ty: ChunkType, payload: &[u8]) -> Result<(), Error> {
        let len = u32::try_from(payload.len()).map_err(|_| {
            Error::limit(
                Limit::Output,
                format!("the {ty} chunk's bytes"),
                payload.len() as u64,
                u32::MAX as u64,
            )
        })?;
        self.out.extend_from_slice(&ty.0);
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(payload);
        self.out.extend_from_slice(&crc(ty, payload).to_le_bytes());
        Ok(())
    }
}
