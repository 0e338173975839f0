//! The `WGHT` chunk (FORMAT.md §6): a tensor table and one payload.

use super::bytes::{Reader, put_ascii};
use super::quant::{CodedTensor, Encoding, code_tensor, decode_tensor, dequantise, quantise};
use crate::entropy::Geometric;
use crate::model::{Arch, Network, Tensor};
use crate::{Error, Limit, Limits, Rule};

/// Payload compression (FORMAT.md §6.1).
const COMPRESSION_NONE: u8 = 0;
const COMPRESSION_ZSTD: u8 = 1;
/// Largest tensor rank (FORMAT.md §6.1).
const MAX_RANK: u8 = 4;
/// zstd level: the payload is small, so the strongest level costs little.
const ZSTD_LEVEL: i32 = 19;

pub fn encode(net: &Network, encodings: &[Encoding]) -> Result<Vec<u8>, Error> {
    if encodings.len() != net.tensors.len() {
        return Err(Error::parameter(format!(
            "{} encodings given for {} tensors",
            encodings.len(),
            net.tensors.len()
        )));
    }
    // FORMAT.md §6.2: the latent grids of `grid` are in `LATN`, not here.
    let specs = net.arch.tensor_specs();
    let stored: Vec<(&Tensor, Encoding)> = net
        .tensors
        .iter()
        .zip(encodings)
        .zip(&specs)
        .filter(|(_, s)| !s.latent)
        .map(|((t, &e), _)| (t, e))
        .collect();
    let mut out = Vec::new();
    out.extend_from_slice(&(stored.len() as u16).to_le_bytes());
    let mut raw = Vec::new();
    for (t, enc) in stored {
        if enc == Encoding::Latent {
            return Err(Error::parameter(format!(
                "tensor `{}` is not a latent grid and cannot be stored as one",
                t.name
            )));
        }
        put_ascii(&mut out, &t.name);
        out.push(t.shape.len() as u8);
        for &d in &t.shape {
            out.extend_from_slice(&(d as u32).to_le_bytes());
        }
        out.push(enc.code());
        if let Encoding::Coded { step } = enc {
            // FORMAT.md §6.4: step, ratio, max and length in the table, the
            // words in the data.
            let c = code_tensor(t, step)?;
            let length = u32::try_from(4 * c.words.len()).map_err(|_| {
                Error::limit(
                    Limit::Output,
                    format!("tensor `{}`'s coded bytes", t.name),
                    4 * c.words.len() as u64,
                    u32::MAX as u64,
                )
            })?;
            out.extend_from_slice(&c.step.to_le_bytes());
            out.extend_from_slice(&c.model.ratio.to_le_bytes());
            out.extend_from_slice(&c.model.max.to_le_bytes());
            out.extend_from_slice(&length.to_le_bytes());
            c.words
                .iter()
                .for_each(|w| raw.extend_from_slice(&w.to_le_bytes()));
        } else {
            quantise(t, enc, &mut raw);
        }
    }
    let raw_len = u32::try_from(raw.len()).map_err(|_| {
        Error::limit(
            Limit::Output,
            "the weights' stored bytes",
            raw.len() as u64,
            u32::MAX as u64,
        )
    })?;
    // zstd only where it wins: coded data is already dense.
    let packed = zstd::bulk::compress(&raw, ZSTD_LEVEL).map_err(|e| Error::Io {
        path: None,
        source: e,
    })?;
    if packed.len() < raw.len() {
        out.push(COMPRESSION_ZSTD);
        out.extend_from_slice(&raw_len.to_le_bytes());
        out.extend_from_slice(&packed);
    } else {
        out.push(COMPRESSION_NONE);
        out.extend_from_slice(&raw_len.to_le_bytes());
        out.extend_from_slice(&raw);
    }
    Ok(out)
}

struct Entry {
    name: String,
    shape: Vec<usize>,
    encoding: Encoding,
    values: usize,
    rows: usize,
    bytes: usize,
    /// A coded tensor's model (FORMAT.md §6.4).
    model: Option<Geometric>,
}

/// The tensors of a `WGHT` payload (every tensor of `arch` but the latent
/// grids), checked against `arch` and finite, with their encodings.
pub fn decode(
    payload: &[u8],
    arch: &Arch,
    limits: &Limits,
) -> Result<(Vec<Tensor>, Vec<Encoding>), Error> {
    let mut r = Reader::new(payload, "WGHT");
    let count = r.u16()? as usize;
    let specs: Vec<_> = arch
        .tensor_specs()
        .into_iter()
        .filter(|s| !s.latent)
        .collect();
    if count != specs.len() {
        return Err(Error::format(
            Rule::TensorTable,
            format!(
                "architecture `{}` needs {} tensors, the WGHT chunk lists {count}",
                arch.name(),
                specs.len()
            ),
        ));
    }
    let mut entries = Vec::with_capacity(count);
    let mut total_values = 0u64;
    let mut total_bytes = 0u64;
    for spec in &specs {
        let name = r.ascii(64, Rule::TensorEntry, "tensor name")?.to_owned();
        let rank = r.u8()?;
        if rank == 0 || rank > MAX_RANK {
            return Err(Error::format(
                Rule::TensorEntry,
                format!("tensor `{name}` has rank {rank}, not 1..={MAX_RANK}"),
            ));
        }
        let dims = (0..rank).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
        let mut encoding = Encoding::from_code(r.u8()?)?;
        let mut coded = None;
        if let Encoding::Coded { step } = &mut encoding {
            *step = r.f32()?;
            let (ratio, max, length) = (r.u16()?, r.u16()?, r.u32()?);
            coded = Some(coded_entry(&name, *step, ratio, max, length)?);
        }
        // FORMAT.md §6.2: names and dims in the architecture's order, so no
        // table can claim more values than its architecture holds.
        let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
        if name != spec.name || shape != spec.shape {
            return Err(Error::format(
                Rule::TensorTable,
                format!(
                    "tensor `{name}` {dims:?} found where `{}` {:?} was expected",
                    spec.name, spec.shape
                ),
            ));
        }
        let values = dims.iter().map(|&d| d as u64).product::<u64>();
        total_values += values;
        if total_values > limits.max_weight_values {
            return Err(Error::limit(
                Limit::WeightValues,
                format!("the weights up to tensor `{name}`"),
                total_values,
                limits.max_weight_values,
            ));
        }
        let rows = if rank >= 2 { dims[0] as u64 } else { 1 };
        let bytes = match coded {
            Some((_, length)) => length as u64,
            None => encoding
                .stored_bytes(values, rows)
                .expect("a fixed-size encoding"),
        };
        total_bytes += bytes;
        entries.push(Entry {
            name,
            shape,
            encoding,
            values: values as usize,
            rows: rows as usize,
            bytes: bytes as usize,
            model: coded.map(|(m, _)| m),
        });
    }
    let compression = r.u8()?;
    let raw_len = r.u32()? as u64;
    if compression != COMPRESSION_NONE && compression != COMPRESSION_ZSTD {
        return Err(Error::format(
            Rule::Compression,
            format!("unknown WGHT compression {compression}"),
        ));
    }
    if raw_len != total_bytes {
        return Err(Error::format(
            Rule::RawSize,
            format!("WGHT payload declares {raw_len} bytes, its tensor table needs {total_bytes}"),
        ));
    }
    let packed = r.rest();
    let raw = match compression {
        COMPRESSION_NONE if packed.len() as u64 == raw_len => packed.to_vec(),
        COMPRESSION_NONE => {
            return Err(Error::format(
                Rule::Packed,
                format!(
                    "the uncompressed WGHT data is {} bytes, {raw_len} declared",
                    packed.len()
                ),
            ));
        }
        _ => decompress_frames(packed, raw_len as usize)?,
    };
    let mut offset = 0;
    let mut tensors = Vec::with_capacity(count);
    let mut encodings = Vec::with_capacity(count);
    for e in entries {
        let stored = &raw[offset..offset + e.bytes];
        let data = match (e.encoding, e.model) {
            (Encoding::Coded { step }, Some(model)) => {
                let words = stored
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                decode_tensor(&CodedTensor { step, model, words }, e.values, &e.name)?
            }
            _ => dequantise(stored, e.encoding, e.values, e.rows),
        };
        offset += e.bytes;
        if let Some(v) = data.iter().find(|v| !v.is_finite()) {
            return Err(Error::format(
                Rule::NonFinite,
                format!("tensor `{}` holds a non-finite value {v}", e.name),
            ));
        }
        tensors.push(Tensor {
            name: e.name,
            shape: e.shape,
            data,
        });
        encodings.push(e.encoding);
    }
    Ok((tensors, encodings))
}

/// How one tensor is stored (FORMAT.md §6.1): what
/// [`stored_weights`](super::stored_weights) reports.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTensor {
    pub name: String,
    pub encoding: Encoding,
    /// Its number of values.
    pub values: u64,
    /// Its stored form's bytes, before `compression`.
    pub bytes: u64,
}

/// The `WGHT` chunk's layout: each tensor's stored size, the compression
/// and the packed size, of a file the decoder accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredWeights {
    pub tensors: Vec<StoredTensor>,
    /// `none` or `zstd`.
    pub compression: &'static str,
    /// Bytes of `data` before compression and of `packed`.
    pub raw_bytes: u64,
    pub packed_bytes: u64,
    /// Bytes of the `LATN` payload (FORMAT.md §6.5); 0 without one.
    pub latent_bytes: u64,
}

/// Reads the table of a `WGHT` payload.
pub fn table(payload: &[u8]) -> Result<StoredWeights, Error> {
    let mut r = Reader::new(payload, "WGHT");
    let count = r.u16()? as usize;
    let mut tensors = Vec::with_capacity(count);
    for _ in 0..count {
        let name = r.ascii(64, Rule::TensorEntry, "tensor name")?.to_owned();
        let rank = r.u8()?;
        let dims = (0..rank).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
        let mut encoding = Encoding::from_code(r.u8()?)?;
        let values = dims.iter().map(|&d| d as u64).product::<u64>();
        let rows = if rank >= 2 { dims[0] as u64 } else { 1 };
        let bytes = if let Encoding::Coded { step } = &mut encoding {
            *step = r.f32()?;
            let (_ratio, _max, length) = (r.u16()?, r.u16()?, r.u32()?);
            length as u64
        } else {
            encoding.stored_bytes(values, rows).unwrap_or(0)
        };
        tensors.push(StoredTensor {
            name,
            encoding,
            values,
            bytes,
        });
    }
    let compression = match r.u8()? {
        COMPRESSION_NONE => "none",
        COMPRESSION_ZSTD => "zstd",
        c => {
            return Err(Error::format(
                Rule::Compression,
                format!("unknown WGHT compression {c}"),
            ));
        }
    };
    let raw_bytes = r.u32()? as u64;
    let packed_bytes = r.rest().len() as u64;
    Ok(StoredWeights {
        tensors,
        compression,
        raw_bytes,
        packed_bytes,
        latent_bytes: 0,
    })
}

/// Checks a coded table entry's fields (FORMAT.md §6.4) and returns its
/// model and stored length.
fn coded_entry(
    name: &str,
    step: f32,
    ratio: u16,
    max: u16,
    length: u32,
) -> Result<(Geometric, u32), Error> {
    let bad = |why: String| Error::format(Rule::Coded, format!("tensor `{name}`: {why}"));
    if !(step.is_finite() && step > 0.0) {
        return Err(bad(format!("step {step} is not finite and positive")));
    }
    let model = Geometric::new(ratio, max).map_err(bad)?;
    if !length.is_multiple_of(4) {
        return Err(bad(format!(
            "{length} coded bytes are not whole 32-bit words"
        )));
    }
    Ok((model, length))
}

/// The first four bytes of a Zstandard frame (RFC 8878 §3.1.1).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// FORMAT.md §6.1: `packed` is one or more Zstandard frames, and nothing
/// else, whose contents are exactly `raw_len` bytes: no skippable frame,
/// no frame after the one that completes the data, no byte after the last
/// frame. Each frame is decompressed into what is left of a buffer of
/// `raw_len` bytes, so a frame that would produce more fails instead of
/// allocating, and no window buffer is allocated whatever the frame
/// header claims.
fn decompress_frames(packed: &[u8], raw_len: usize) -> Result<Vec<u8>, Error> {
    let bad = |m: String| Error::format(Rule::Packed, m);
    let mut raw = vec![0u8; raw_len];
    let (mut done, mut rest, mut frames) = (0, packed, 0);
    if packed.is_empty() {
        return Err(bad("the WGHT data holds no zstd frame".into()));
    }
    while !rest.is_empty() {
        let at = packed.len() - rest.len();
        if done == raw_len && frames > 0 {
            return Err(bad(format!(
                "{} bytes follow the zstd frame that completes the WGHT data",
                rest.len()
            )));
        }
        if rest.len() < 4 || rest[..4] != ZSTD_MAGIC {
            return Err(bad(format!(
                "the WGHT data at byte {at} is not a zstd frame (skippable frames are not allowed)"
            )));
        }
        let len = zstd::zstd_safe::find_frame_compressed_size(rest).map_err(|code| {
            bad(format!(
                "the zstd frame at byte {at} of the WGHT data is broken ({})",
                zstd::zstd_safe::get_error_name(code)
            ))
        })?;
        let n = zstd::zstd_safe::decompress(&mut raw[done..], &rest[..len]).map_err(|code| {
            bad(format!(
                "the zstd frame at byte {at} of the WGHT data does not decompress into the {} bytes left ({})",
                raw_len - done,
                zstd::zstd_safe::get_error_name(code)
            ))
        })?;
        done += n;
        rest = &rest[len..];
        frames += 1;
    }
    if done != raw_len {
        return Err(bad(format!(
            "the WGHT data decompresses to {done} bytes, {raw_len} declared"
        )));
    }
    Ok(raw)
}
