//! The `.scone` container (spec/FORMAT.md).
//!
//! A file is a 12-byte header (§2) and a sequence of chunks (§3): `SGNL`
//! (the signal, §4), `ARCH` (the architecture, §5), `WGHT` (the weights,
//! §6), optional ancillary chunks such as `meta` (§7), and `DONE` (§8).

mod arch;
mod bytes;
mod chunk;
mod quant;
mod sgnl;
mod weights;

pub use chunk::{ChunkType, is_critical};
pub use quant::Encoding;

use crate::Error;
use crate::model::Network;
use crate::signal::SignalInfo;
use chunk::{Chunk, ChunkWriter};

/// The 8 magic bytes every file starts with (FORMAT.md §2).
pub const MAGIC: [u8; 8] = *b"\x89SCONE\r\n";
/// The format version this crate reads and writes (FORMAT.md §2).
pub const VERSION: u16 = 1;

/// Implementation limits, checked before anything is allocated
/// (FORMAT.md §9 lists the defaults).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Largest chunk payload, in bytes.
    pub max_chunk_bytes: u32,
    /// Largest number of tensor values in a `WGHT` chunk.
    pub max_weight_values: u64,
    /// Largest `meta` payload, in bytes.
    pub max_meta_bytes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 256 << 20,
            max_chunk_bytes: 256 << 20,
            max_weight_values: 1 << 26,
            max_meta_bytes: 1 << 20,
        }
    }
}

/// Everything a `.scone` file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SconeFile {
    pub signal: SignalInfo,
    pub network: Network,
    /// How each tensor of `network` is stored, in canonical order.
    pub encodings: Vec<Encoding>,
    /// The `meta` chunk: a UTF-8 JSON object, if present.
    pub metadata: Option<String>,
}

impl SconeFile {
    /// Serialises the file. Tensors are quantised with `self.encodings`;
    /// the network read back from the result holds the dequantised values.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        check_signal_matches_arch(&self.signal, &self.network)?;
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        let mut w = ChunkWriter::new(&mut out);
        w.chunk(ChunkType::SGNL, &sgnl::encode(&self.signal))?;
        w.chunk(ChunkType::ARCH, &arch::encode(&self.network.arch))?;
        w.chunk(
            ChunkType::WGHT,
            &weights::encode(&self.network, &self.encodings)?,
        )?;
        if let Some(meta) = &self.metadata {
            w.chunk(ChunkType::META, meta.as_bytes())?;
        }
        w.chunk(ChunkType::DONE, &[])?;
        Ok(out)
    }

    /// Parses a file with the default [`Limits`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::from_bytes_with_limits(bytes, &Limits::default())
    }

    /// Parses a file, enforcing `limits`.
    pub fn from_bytes_with_limits(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        if bytes.len() as u64 > limits.max_file_bytes {
            return Err(Error::LimitsExceeded(format!(
                "file is {} bytes, the limit is {}",
                bytes.len(),
                limits.max_file_bytes
            )));
        }
        let body = parse_header(bytes)?;
        let mut signal = None;
        let mut arch = None;
        let mut network = None;
        let mut metadata = None;
        let mut chunks = chunk::Chunks::new(body, 12, limits.max_chunk_bytes);
        loop {
            let Chunk {
                ty,
                payload,
                offset,
            } = chunks.next_chunk()?;
            match ty {
                // FORMAT.md §3.2: SGNL, ARCH, WGHT once each, in this order.
                ChunkType::SGNL if signal.is_none() => signal = Some(sgnl::decode(payload)?),
                ChunkType::ARCH if signal.is_some() && arch.is_none() => {
                    let a = arch::decode(payload)?;
                    check_dims(signal.as_ref().unwrap(), &a)?;
                    arch = Some(a);
                }
                ChunkType::WGHT if arch.is_some() && network.is_none() => {
                    network = Some(weights::decode(payload, arch.clone().unwrap(), limits)?);
                }
                ChunkType::META => {
                    if payload.len() as u64 > limits.max_meta_bytes as u64 {
                        return Err(Error::LimitsExceeded(format!(
                            "meta chunk is {} bytes, the limit is {}",
                            payload.len(),
                            limits.max_meta_bytes
                        )));
                    }
                    let text = std::str::from_utf8(payload)
                        .map_err(|_| Error::Format("meta chunk is not UTF-8".into()))?;
                    metadata = Some(text.to_owned());
                }
                ChunkType::DONE => {
                    if !payload.is_empty() {
                        return Err(Error::Format("DONE chunk is not empty".into()));
                    }
                    if chunks.remaining() != 0 {
                        return Err(Error::Format(format!(
                            "{} bytes of trailing data after DONE",
                            chunks.remaining()
                        )));
                    }
                    break;
                }
                ChunkType::SGNL | ChunkType::ARCH | ChunkType::WGHT => {
                    return Err(Error::Format(format!(
                        "{} chunk at byte {offset} is repeated or out of order",
                        ty
                    )));
                }
                other if is_critical(other) => {
                    return Err(Error::Format(format!(
                        "unknown critical chunk {other} at byte {offset}"
                    )));
                }
                _ => {} // FORMAT.md §3.3: unknown ancillary chunks are skipped.
            }
        }
        let missing = |name: &str| Error::Format(format!("the file has no {name} chunk"));
        let signal = signal.ok_or_else(|| missing("SGNL"))?;
        let (network, encodings) =
            network.ok_or_else(|| missing(if arch.is_none() { "ARCH" } else { "WGHT" }))?;
        Ok(Self {
            signal,
            network,
            encodings,
            metadata,
        })
    }

    /// Reads and parses the file at `path`, refusing files larger than the
    /// limit before reading them.
    pub fn read(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let limits = Limits::default();
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if len > limits.max_file_bytes {
            return Err(Error::LimitsExceeded(format!(
                "{} is {len} bytes, the limit is {}",
                path.display(),
                limits.max_file_bytes
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes_with_limits(&bytes, &limits).map_err(|e| match e {
            Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}

fn parse_header(bytes: &[u8]) -> Result<&[u8], Error> {
    if bytes.is_empty() {
        return Err(Error::Format("the file is empty".into()));
    }
    if bytes.len() < 8 || bytes[..8] != MAGIC {
        return Err(Error::Format("not a .scone file (bad magic)".into()));
    }
    if bytes.len() < 12 {
        return Err(Error::Format("truncated header".into()));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != VERSION {
        return Err(Error::Format(format!(
            "unsupported format version {version} (this decoder reads version {VERSION})"
        )));
    }
    let flags = u16::from_le_bytes([bytes[10], bytes[11]]);
    if flags != 0 {
        return Err(Error::Format(format!(
            "reserved header field is {flags}, not 0"
        )));
    }
    Ok(&bytes[12..])
}

/// FORMAT.md §5.1: the architecture's input and output dimensions must
/// match the signal's axes and channels.
fn check_dims(signal: &SignalInfo, arch: &crate::model::Arch) -> Result<(), Error> {
    if arch.in_dims != signal.kind.axes() || arch.out_dims != signal.channels() {
        return Err(Error::Format(format!(
            "architecture maps {} → {} values but the {} signal has {} axes and {} channels",
            arch.in_dims,
            arch.out_dims,
            signal.kind.name(),
            signal.kind.axes(),
            signal.channels()
        )));
    }
    Ok(())
}

fn check_signal_matches_arch(signal: &SignalInfo, net: &Network) -> Result<(), Error> {
    sgnl::validate(signal)?;
    check_dims(signal, &net.arch)
}

#[cfg(test)]
mod tests;
