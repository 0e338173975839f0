//! The `.scone` container (spec/FORMAT.md).
//!
//! A file is a 12-byte header (§2) and a sequence of chunks (§3): `SGNL`
//! (the signal, §4), `ARCH` (the architecture, §5), `WGHT` (the weights,
//! §6), optional ancillary chunks such as `meta` (§7), and `DONE` (§8).

mod arch;
mod bytes;
mod chunk;
pub mod latents;
mod quant;
mod sgnl;
mod weights;

pub use chunk::{ChunkType, is_critical};
pub use quant::Encoding;
pub use weights::{StoredTensor, StoredWeights};

use crate::model::Network;
use crate::signal::SignalInfo;
use crate::{Error, Limit, Limits, Rule};
use chunk::{Chunk, ChunkWriter};

/// The 8 magic bytes every file starts with (FORMAT.md §2).
pub const MAGIC: [u8; 8] = *b"\x89SCONE\r\n";
/// The format version this crate reads and writes (FORMAT.md §2).
pub const VERSION: u16 = 1;

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
        if self.network.arch.latent_count() > 0 {
            w.chunk(
                ChunkType::LATN,
                &latents::encode(&self.network.arch, &self.network.tensors)?,
            )?;
        }
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

    /// Parses a file, enforcing `limits` on what it may hold. The first
    /// rule of FORMAT.md the file breaks is the error.
    pub fn from_bytes_with_limits(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        if bytes.len() as u64 > limits.max_file_bytes {
            return Err(Error::limit(
                Limit::FileBytes,
                "the file's bytes",
                bytes.len() as u64,
                limits.max_file_bytes,
            ));
        }
        let body = parse_header(bytes)?;
        let mut signal = None;
        let mut arch = None;
        let mut network = None;
        let mut latent = None;
        let mut metadata = None;
        let mut chunks = chunk::Chunks::new(body, 12, limits.max_chunk_bytes);
        let mut first = true;
        loop {
            let Chunk {
                ty,
                payload,
                offset,
            } = chunks.next_chunk()?;
            // FORMAT.md §3.2: SGNL first, then ARCH, WGHT once each, in this
            // order; ancillary chunks anywhere after SGNL, before DONE.
            if first && ty != ChunkType::SGNL {
                return Err(Error::format(
                    Rule::ChunkOrder,
                    format!("the first chunk is {ty}, not `SGNL`"),
                ));
            }
            first = false;
            match ty {
                ChunkType::SGNL if signal.is_none() => signal = Some(sgnl::decode(payload)?),
                ChunkType::ARCH if signal.is_some() && arch.is_none() => {
                    let a = arch::decode(payload)?;
                    check_dims(signal.as_ref().unwrap(), &a)?;
                    arch = Some(a);
                }
                ChunkType::WGHT if arch.is_some() && network.is_none() => {
                    network = Some(weights::decode(payload, arch.as_ref().unwrap(), limits)?);
                }
                ChunkType::LATN
                    if network.is_some()
                        && latent.is_none()
                        && arch.as_ref().unwrap().latent_count() > 0 =>
                {
                    latent = Some(latents::decode(payload, arch.as_ref().unwrap(), limits)?);
                }
                ChunkType::META => {
                    if payload.len() as u64 > limits.max_meta_bytes as u64 {
                        return Err(Error::limit(
                            Limit::MetaBytes,
                            format!("the `meta` chunk at byte {offset}"),
                            payload.len() as u64,
                            limits.max_meta_bytes as u64,
                        ));
                    }
                    // FORMAT.md §7: an ancillary chunk's contents never make
                    // a file invalid; text that is not UTF-8 is kept with
                    // replacement characters.
                    metadata = Some(String::from_utf8_lossy(payload).into_owned());
                }
                ChunkType::DONE => {
                    let needs_latents = arch.as_ref().is_some_and(|a| a.latent_count() > 0);
                    if network.is_none() || (needs_latents && latent.is_none()) {
                        let missing = if arch.is_none() {
                            "ARCH"
                        } else if network.is_none() {
                            "WGHT"
                        } else {
                            "LATN"
                        };
                        return Err(Error::format(
                            Rule::ChunkOrder,
                            format!("DONE at byte {offset} comes before any `{missing}` chunk"),
                        ));
                    }
                    if !payload.is_empty() {
                        return Err(Error::format(Rule::Done, "the DONE chunk is not empty"));
                    }
                    if chunks.remaining() != 0 {
                        return Err(Error::format(
                            Rule::TrailingData,
                            format!("{} bytes of trailing data after DONE", chunks.remaining()),
                        ));
                    }
                    break;
                }
                ChunkType::SGNL | ChunkType::ARCH | ChunkType::WGHT | ChunkType::LATN => {
                    return Err(Error::format(
                        Rule::ChunkOrder,
                        format!("{ty} chunk at byte {offset} is repeated or out of order"),
                    ));
                }
                other if is_critical(other) => {
                    return Err(Error::format(
                        Rule::UnknownCritical,
                        format!("unknown critical chunk {other} at byte {offset}"),
                    ));
                }
                _ => {} // FORMAT.md §3.3: unknown ancillary chunks are skipped.
            }
        }
        let signal = signal.expect("SGNL is the first chunk");
        let (mut tensors, mut encodings) = network.expect("DONE comes after WGHT");
        let arch = arch.expect("DONE comes after ARCH");
        for t in latent.unwrap_or_default() {
            tensors.push(t);
            encodings.push(Encoding::Latent);
        }
        let network = Network::new(arch, tensors)?;
        Ok(Self {
            signal,
            network,
            encodings,
            metadata,
        })
    }

    /// Reads and parses the file at `path` with the default [`Limits`].
    pub fn read(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        Self::read_with_limits(path, &Limits::default())
    }

    /// Reads and parses the file at `path`, refusing a file larger than
    /// `limits` allows before reading it.
    pub fn read_with_limits(
        path: impl AsRef<std::path::Path>,
        limits: &Limits,
    ) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = read_bounded(path, limits.max_file_bytes)?;
        Self::from_bytes_with_limits(&bytes, limits).map_err(|e| e.in_file(path))
    }
}

/// How the weights of a file are stored: each tensor's encoding and bytes,
/// the compression and the packed size (what `scone info` shows), from a
/// file [`SconeFile::from_bytes`] accepts.
pub fn stored_weights(bytes: &[u8]) -> Result<StoredWeights, Error> {
    SconeFile::from_bytes(bytes)?;
    let body = parse_header(bytes)?;
    let mut chunks = chunk::Chunks::new(body, 12, u32::MAX);
    let mut stored = None;
    loop {
        let c = chunks.next_chunk()?;
        match c.ty {
            ChunkType::WGHT => stored = Some(weights::table(c.payload)?),
            ChunkType::LATN => {
                if let Some(s) = &mut stored {
                    s.latent_bytes = c.payload.len() as u64;
                }
            }
            ChunkType::DONE => return Ok(stored.expect("a valid file has WGHT")),
            _ => {}
        }
    }
}

/// The bytes of the file at `path`, refused (before reading) when larger
/// than `max` bytes.
pub(crate) fn read_bounded(path: &std::path::Path, max: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > max {
        return Err(Error::limit(
            Limit::FileBytes,
            format!("{}'s bytes", path.display()),
            len,
            max,
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // One byte past the limit is enough to see a file that grew meanwhile.
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(Error::limit(
            Limit::FileBytes,
            format!("{}'s bytes", path.display()),
            bytes.len() as u64,
            max,
        ));
    }
    Ok(bytes)
}

fn parse_header(bytes: &[u8]) -> Result<&[u8], Error> {
    if bytes.is_empty() {
        return Err(Error::format(Rule::Magic, "the file is empty"));
    }
    let n = bytes.len().min(8);
    if bytes[..n] != MAGIC[..n] {
        return Err(Error::format(Rule::Magic, "not a .scone file (bad magic)"));
    }
    if bytes.len() < 12 {
        return Err(Error::format(
            Rule::TruncatedHeader,
            format!(
                "the file ends inside its header, after {} bytes",
                bytes.len()
            ),
        ));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != VERSION {
        return Err(Error::format(
            Rule::Version,
            format!("unsupported format version {version} (this decoder reads version {VERSION})"),
        ));
    }
    let flags = u16::from_le_bytes([bytes[10], bytes[11]]);
    if flags != 0 {
        return Err(Error::format(
            Rule::Reserved,
            format!("the reserved header field is {flags}, not 0"),
        ));
    }
    Ok(&bytes[12..])
}

/// FORMAT.md §5.1: the architecture's input and output dimensions must
/// match the signal's axes and channels.
fn check_dims(signal: &SignalInfo, arch: &crate::model::Arch) -> Result<(), Error> {
    signal
        .check_arch(arch)
        .map_err(|why| Error::format(Rule::ArchDims, why))
}

fn check_signal_matches_arch(signal: &SignalInfo, net: &Network) -> Result<(), Error> {
    sgnl::validate(signal)?;
    check_dims(signal, &net.arch)
}

#[cfg(test)]
mod tests;
