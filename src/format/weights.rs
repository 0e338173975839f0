//! The `WGHT` chunk (FORMAT.md §6): a tensor table and one payload.

use super::bytes::{Reader, put_ascii};
use super::quant::{Encoding, dequantise, quantise};
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
    let mut out = Vec::new();
    out.extend_from_slice(&(net.tensors.len() as u16).to_le_bytes());
    let mut raw = Vec::new();
    for (t, &enc) in net.tensors.iter().zip(encodings) {
        put_ascii(&mut out, &t.name);
        out.push(t.shape.len() as u8);
        for &d in &t.shape {
            out.extend_from_slice(&(d as u32).to_le_bytes());
        }
        out.push(enc.code());
        quantise(t, enc, &mut raw);
    }
    let raw_len = u32::try_from(raw.len()).map_err(|_| {
        Error::limit(
            Limit::Output,
            "the weights' stored bytes",
            raw.len() as u64,
            u32::MAX as u64,
        )
    })?;
    let packed = zstd::bulk::compress(&raw, ZSTD_LEVEL).map_err(|e| Error::Io {
        path: None,
        source: e,
    })?;
    out.push(COMPRESSION_ZSTD);
    out.extend_from_slice(&raw_len.to_le_bytes());
    out.extend_from_slice(&packed);
    Ok(out)
}

struct Entry {
    name: String,
    shape: Vec<usize>,
    encoding: Encoding,
    values: usize,
    rows: usize,
    bytes: usize,
}

pub fn decode(
    payload: &[u8],
    arch: Arch,
    limits: &Limits,
) -> Result<(Network, Vec<Encoding>), Error> {
    let mut r = Reader::new(payload, "WGHT");
    let count = r.u16()? as usize;
    let specs = arch.tensor_specs();
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
        let encoding = Encoding::from_code(r.u8()?)?;
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
        let bytes = encoding.stored_bytes(values, rows);
        total_bytes += bytes;
        entries.push(Entry {
            name,
            shape,
            encoding,
            values: values as usize,
            rows: rows as usize,
            bytes: bytes as usize,
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
        let data = dequantise(&raw[offset..offset + e.bytes], e.encoding, e.values, e.rows);
        offset += e.bytes;
        tensors.push(Tensor {
            name: e.name,
            shape: e.shape,
            data,
        });
        encodings.push(e.encoding);
    }
    Ok((Network::new(arch, tensors)?, encodings))
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
