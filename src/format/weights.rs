//! The `WGHT` chunk (FORMAT.md §6): a tensor table and one payload.

use super::Limits;
use super::bytes::{Reader, put_ascii};
use super::quant::{Encoding, dequantise, quantise};
use crate::Error;
use crate::model::{Arch, Network, Tensor};

/// Payload compression (FORMAT.md §6.1).
const COMPRESSION_NONE: u8 = 0;
const COMPRESSION_ZSTD: u8 = 1;
/// Largest tensor rank (FORMAT.md §6.1).
const MAX_RANK: u8 = 4;
/// zstd level: the payload is small, so the strongest level costs little.
const ZSTD_LEVEL: i32 = 19;

pub fn encode(net: &Network, encodings: &[Encoding]) -> Result<Vec<u8>, Error> {
    if encodings.len() != net.tensors.len() {
        return Err(Error::Parameter(format!(
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
    let packed = zstd::bulk::compress(&raw, ZSTD_LEVEL)
        .map_err(|e| Error::Format(format!("zstd compression failed: {e}")))?;
    out.push(COMPRESSION_ZSTD);
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
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
    let expected = arch.tensor_specs().len();
    if count != expected {
        return Err(Error::Format(format!(
            "architecture `{}` needs {expected} tensors, the WGHT chunk lists {count}",
            arch.name()
        )));
    }
    let mut entries = Vec::with_capacity(count);
    let mut total_values = 0u64;
    let mut total_bytes = 0u64;
    for _ in 0..count {
        let name = r.ascii(64)?.to_owned();
        let rank = r.u8()?;
        if rank == 0 || rank > MAX_RANK {
            return Err(Error::Format(format!(
                "tensor `{name}` has rank {rank}, not 1..={MAX_RANK}"
            )));
        }
        let dims = (0..rank).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
        let encoding = Encoding::from_code(r.u8()?)?;
        let values = dims.iter().map(|&d| d as u64).product::<u64>();
        total_values += values;
        if values == 0 || total_values > limits.max_weight_values {
            return Err(Error::LimitsExceeded(format!(
                "tensor `{name}` {dims:?} brings the weights to {total_values} values (limit {})",
                limits.max_weight_values
            )));
        }
        let rows = if rank >= 2 { dims[0] as u64 } else { 1 };
        let bytes = encoding.stored_bytes(values, rows);
        total_bytes += bytes;
        entries.push(Entry {
            name,
            shape: dims.iter().map(|&d| d as usize).collect(),
            encoding,
            values: values as usize,
            rows: rows as usize,
            bytes: bytes as usize,
        });
    }
    let compression = r.u8()?;
    let raw_len = r.u32()? as u64;
    if raw_len != total_bytes {
        return Err(Error::Format(format!(
            "WGHT payload declares {raw_len} bytes, its tensor table needs {total_bytes}"
        )));
    }
    let packed = r.rest();
    let raw = match compression {
        COMPRESSION_NONE => packed.to_vec(),
        // The capacity bounds the output: a payload that inflates beyond
        // the declared size is an error, not an allocation.
        COMPRESSION_ZSTD => zstd::bulk::decompress(packed, raw_len as usize)
            .map_err(|e| Error::Format(format!("WGHT payload does not decompress: {e}")))?,
        c => return Err(Error::Format(format!("unknown WGHT compression {c}"))),
    };
    if raw.len() as u64 != raw_len {
        return Err(Error::Format(format!(
            "WGHT payload holds {} bytes, {raw_len} declared",
            raw.len()
        )));
    }
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
