//! Weight encodings (FORMAT.md §6.3, §6.4).

use crate::entropy::{self, Geometric};
use crate::model::Tensor;
use crate::{Error, Rule};
use half::f16;

/// How one tensor's values are stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Encoding {
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary16, round to nearest even.
    F16,
    /// 8-bit affine per row: value = offset + scale · q, q in 0..=255.
    Affine8,
    /// Integers q times `step`, entropy-coded under a two-sided geometric
    /// model (FORMAT.md §6.4): value = step · q. The writer rounds each
    /// value to the nearest multiple of `step` and picks the model.
    Coded { step: f32 },
    /// A latent grid of `grid`, coded in the `LATN` chunk (FORMAT.md
    /// §6.5), not in `WGHT`.
    Latent,
}

/// The coded form of one tensor (FORMAT.md §6.4): its model and words.
#[derive(Clone, Debug, PartialEq)]
pub struct CodedTensor {
    pub step: f32,
    pub model: Geometric,
    pub words: Vec<u32>,
}

impl Encoding {
    pub fn code(self) -> u8 {
        match self {
            Encoding::F32 => 0,
            Encoding::F16 => 1,
            Encoding::Affine8 => 2,
            Encoding::Coded { .. } => 3,
            Encoding::Latent => u8::MAX,
        }
    }

    /// The encoding of a table entry's code; a `coded` entry's step is
    /// read after it and filled in by the caller.
    pub fn from_code(code: u8) -> Result<Self, Error> {
        match code {
            0 => Ok(Encoding::F32),
            1 => Ok(Encoding::F16),
            2 => Ok(Encoding::Affine8),
            3 => Ok(Encoding::Coded { step: 0.0 }),
            c => Err(Error::format(
                Rule::Encoding,
                format!("unknown weight encoding {c}"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::F32 => "f32",
            Encoding::F16 => "f16",
            Encoding::Affine8 => "affine8",
            Encoding::Coded { .. } => "coded",
            Encoding::Latent => "latent",
        }
    }

    /// Bytes this encoding takes for a tensor of `values` values in `rows`
    /// rows; `None` for `coded`, whose size its table entry gives.
    pub fn stored_bytes(self, values: u64, rows: u64) -> Option<u64> {
        match self {
            Encoding::F32 => Some(4 * values),
            Encoding::F16 => Some(2 * values),
            Encoding::Affine8 => Some(8 * rows + values),
            Encoding::Coded { .. } | Encoding::Latent => None,
        }
    }
}

/// `t`'s values as multiples of `step`, coded (FORMAT.md §6.4): each value
/// rounded to the nearest multiple, the ratio with the fewest bits for the
/// integers, rANS. Fails when `step` is not finite and positive or a
/// value needs a multiple beyond ±32767.
pub fn code_tensor(t: &Tensor, step: f32) -> Result<CodedTensor, Error> {
    if !(step.is_finite() && step > 0.0) {
        return Err(Error::parameter(format!(
            "tensor `{}`: a coding step must be finite and positive, not {step}",
            t.name
        )));
    }
    let limit = entropy::MAX_MAGNITUDE as f32;
    let mut q = Vec::with_capacity(t.data.len());
    for &v in &t.data {
        let k = (v / step).round();
        // NaN fails too.
        if k.is_nan() || k.abs() > limit {
            return Err(Error::parameter(format!(
                "tensor `{}`: value {v} is more than {limit} steps of {step}",
                t.name
            )));
        }
        q.push(k as i32);
    }
    let max = q.iter().map(|k| k.unsigned_abs()).max().unwrap_or(0) as u16;
    let mut counts = vec![0u64; max as usize + 1];
    for k in &q {
        counts[k.unsigned_abs() as usize] += 1;
    }
    let model = Geometric::best_for(&counts, max);
    let words = entropy::encode(&q, &model).map_err(Error::parameter)?;
    Ok(CodedTensor { step, model, words })
}

/// The values of a coded tensor of `n` values (FORMAT.md §6.4).
pub fn decode_tensor(c: &CodedTensor, n: usize, name: &str) -> Result<Vec<f32>, Error> {
    let q = entropy::decode(&c.words, n, &c.model)
        .map_err(|why| Error::format(Rule::Coded, format!("tensor `{name}`: {why}")))?;
    Ok(q.iter().map(|&k| c.step * k as f32).collect())
}

/// Appends the stored form of `t` to `out`; `coded` tensors are
/// [`code_tensor`]'s.
pub fn quantise(t: &Tensor, enc: Encoding, out: &mut Vec<u8>) {
    match enc {
        Encoding::Coded { .. } => unreachable!("coded tensors are coded by code_tensor"),
        Encoding::Latent => unreachable!("latent grids are coded in LATN"),
        Encoding::F32 => t
            .data
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Encoding::F16 => t
            .data
            .iter()
            .for_each(|v| out.extend_from_slice(&f16::from_f32(*v).to_le_bytes())),
        Encoding::Affine8 => {
            let rows = t.rows();
            let cols = t.data.len() / rows;
            let mut params = Vec::with_capacity(rows);
            for row in t.data.chunks(cols) {
                let lo = row.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let scale = (hi - lo) / 255.0;
                out.extend_from_slice(&scale.to_le_bytes());
                out.extend_from_slice(&lo.to_le_bytes());
                params.push((scale, lo));
            }
            for (row, (scale, lo)) in t.data.chunks(cols).zip(params) {
                for v in row {
                    let q = if scale > 0.0 {
                        ((v - lo) / scale).round().clamp(0.0, 255.0)
                    } else {
                        0.0
                    };
                    out.push(q as u8);
                }
            }
        }
    }
}

/// Reads `n` values in `rows` rows from `data`, which holds exactly
/// `enc.stored_bytes(n, rows)` bytes.
pub fn dequantise(data: &[u8], enc: Encoding, n: usize, rows: usize) -> Vec<f32> {
    match enc {
        Encoding::Coded { .. } => unreachable!("coded tensors are read by decode_tensor"),
        Encoding::Latent => unreachable!("latent grids are read from LATN"),
        Encoding::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        Encoding::F16 => data
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes(b.try_into().unwrap()).to_f32())
            .collect(),
        Encoding::Affine8 => {
            let (params, qs) = data.split_at(8 * rows);
            let cols = n / rows;
            let mut out = Vec::with_capacity(n);
            for (p, row) in params.chunks_exact(8).zip(qs.chunks(cols.max(1))) {
                let scale = f32::from_le_bytes(p[..4].try_into().unwrap());
                let offset = f32::from_le_bytes(p[4..].try_into().unwrap());
                // FORMAT.md §6.3: the product rounded to binary32, then the
                // sum; no fused multiply-add (Rust does not contract).
                out.extend(row.iter().map(|&q| offset + scale * q as f32));
            }
            out
        }
    }
}
