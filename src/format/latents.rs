//! The `LATN` chunk (FORMAT.md §6.5): a `grid` network's latent grids,
//! integers coded under a causal context model.
//!
//! Each latent is predicted from its four decoded neighbours (left, up,
//! up-left, up-right) by a linear predictor with integer coefficients,
//! and its residual is coded under one of a few two-sided geometric
//! models, picked by how large those neighbours are. Everything is
//! integer arithmetic, so every platform decodes the same symbols.

use super::bytes::Reader;
use crate::entropy::{Geometric, ReferenceStream, StreamDecoder, Table, encode_mixed};
use crate::model::{Arch, Family, Tensor};
use crate::{Error, Limit, Limits, Rule};

/// The largest magnitude of a latent (FORMAT.md §6.5).
pub const MAX_LATENT: i32 = 32767;
/// The most residual classes a grid may have (FORMAT.md §6.5).
pub const MAX_CLASSES: usize = 16;
/// The predictor's coefficients count 1/64ths.
pub const PREDICTOR_SHIFT: u32 = 6;
/// The classes this crate's encoder uses for every grid.
pub const ENCODER_CLASSES: usize = 8;

/// How one grid is coded: its predictor and its residual models.
#[derive(Clone, Debug, PartialEq)]
pub struct GridModel {
    /// c_A, c_B, c_C, c_D in 1/64ths, for the left, up, up-left and
    /// up-right neighbours.
    pub predictor: [i16; 4],
    /// The residual model of each class, 1 … [`MAX_CLASSES`] of them.
    pub classes: Vec<Geometric>,
}

/// The four causal neighbours of (x, y) in a `w`-wide grid whose values
/// before (x, y) in row-major order are decoded; 0 outside the grid.
#[inline]
pub fn neighbours(q: &[i32], w: usize, x: usize, y: usize) -> [i32; 4] {
    let at = |xx: isize, yy: isize| -> i32 {
        if xx < 0 || yy < 0 || xx >= w as isize {
            0
        } else {
            q[yy as usize * w + xx as usize]
        }
    };
    let (x, y) = (x as isize, y as isize);
    [
        at(x - 1, y),
        at(x, y - 1),
        at(x - 1, y - 1),
        at(x + 1, y - 1),
    ]
}

/// μ: the prediction from the neighbours (FORMAT.md §6.5),
/// ⌊(Σ cₙ·n + 32) / 64⌋ clamped to ±[`MAX_LATENT`].
#[inline]
pub fn predict(n: [i32; 4], c: [i16; 4]) -> i32 {
    let s: i64 = (0..4).map(|i| n[i] as i64 * c[i] as i64).sum();
    ((s + (1 << (PREDICTOR_SHIFT - 1))) >> PREDICTOR_SHIFT)
        .clamp(-MAX_LATENT as i64, MAX_LATENT as i64) as i32
}

/// The class of a latent: the bit length of |A| + |B| + |C| + |D|,
/// at most `classes` − 1 (FORMAT.md §6.5).
#[inline]
pub fn class_of(n: [i32; 4], classes: usize) -> usize {
    let e: u32 = n.iter().map(|v| v.unsigned_abs()).sum();
    ((32 - e.leading_zeros()) as usize).min(classes - 1)
}

/// The grids of a network as integers, with their sizes (w, h); fails
/// when a value is not an integer within ±[`MAX_LATENT`].
pub fn grids_of(arch: &Arch, tensors: &[Tensor]) -> Result<Vec<(usize, usize, Vec<i32>)>, Error> {
    let specs = arch.tensor_specs();
    specs
        .iter()
        .zip(tensors)
        .filter(|(s, _)| s.latent)
        .map(|(s, t)| {
            let q = t
                .data
                .iter()
                .map(|&v| {
                    if v.fract() != 0.0 || v.abs() > MAX_LATENT as f32 {
                        Err(Error::parameter(format!(
                            "latent grid `{}` holds {v}, not an integer within ±{MAX_LATENT}",
                            t.name
                        )))
                    } else {
                        Ok(v as i32)
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((s.shape[1], s.shape[0], q))
        })
        .collect()
}

/// The residuals of a grid under `predictor`, with each one's class.
fn residuals(
    w: usize,
    h: usize,
    q: &[i32],
    predictor: [i16; 4],
    classes: usize,
) -> Vec<(i32, usize)> {
    let mut out = Vec::with_capacity(q.len());
    for y in 0..h {
        for x in 0..w {
            let n = neighbours(q, w, x, y);
            out.push((q[y * w + x] - predict(n, predictor), class_of(n, classes)));
        }
    }
    out
}

/// The residual models with the fewest bits for these residuals.
fn fit_classes(res: &[(i32, usize)], classes: usize) -> (Vec<Geometric>, f64) {
    let mut counts = vec![Vec::<u64>::new(); classes];
    for &(r, c) in res {
        let m = r.unsigned_abs() as usize;
        if counts[c].len() <= m {
            counts[c].resize(m + 1, 0);
        }
        counts[c][m] += 1;
    }
    let mut bits = 0.0;
    let models = counts
        .iter()
        .map(|c| {
            let max = c.len().saturating_sub(1) as u16;
            let g = Geometric::best_for(c, max);
            bits += g.cost(c);
            g
        })
        .collect();
    (models, bits)
}

/// The least-squares predictor of a grid from its neighbours, in 1/64ths.
fn least_squares(w: usize, h: usize, q: &[i32]) -> [i16; 4] {
    let mut ata = [[0f64; 4]; 4];
    let mut atb = [0f64; 4];
    for y in 0..h {
        for x in 0..w {
            let n = neighbours(q, w, x, y).map(|v| v as f64);
            let t = q[y * w + x] as f64;
            for i in 0..4 {
                atb[i] += n[i] * t;
                for j in 0..4 {
                    ata[i][j] += n[i] * n[j];
                }
            }
        }
    }
    // A small ridge keeps the system solvable on flat grids.
    for (i, row) in ata.iter_mut().enumerate() {
        row[i] += 1e-3 + 1e-6 * row[i];
    }
    // Gaussian elimination with partial pivoting on the 4 × 4 system.
    let mut m = [[0f64; 5]; 4];
    for i in 0..4 {
        m[i][..4].copy_from_slice(&ata[i]);
        m[i][4] = atb[i];
    }
    for col in 0..4 {
        let p = (col..4)
            .max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
            .unwrap();
        m.swap(col, p);
        if m[col][col].abs() < 1e-12 {
            return [0; 4];
        }
        let pivot = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot[col];
                for (v, p) in row.iter_mut().zip(&pivot).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    std::array::from_fn(|i| {
        let c = m[i][4] / m[i][i] * (1 << PREDICTOR_SHIFT) as f64;
        c.round().clamp(-512.0, 512.0) as i16
    })
}

/// The model this crate's encoder codes a grid with: the least-squares
/// predictor or none, whichever costs fewer bits, and
/// [`ENCODER_CLASSES`] classes.
pub fn choose_model(w: usize, h: usize, q: &[i32]) -> (GridModel, f64) {
    let mut best: Option<(GridModel, f64)> = None;
    for predictor in [[0; 4], least_squares(w, h, q)] {
        let res = residuals(w, h, q, predictor, ENCODER_CLASSES);
        if res.iter().any(|(r, _)| r.abs() > MAX_LATENT) {
            continue;
        }
        // Classes past the highest one any latent falls in are not stored.
        let used = res.iter().map(|&(_, c)| c + 1).max().unwrap_or(1);
        let res: Vec<(i32, usize)> = residuals(w, h, q, predictor, used);
        let (classes, bits) = fit_classes(&res, used);
        if best.as_ref().is_none_or(|b| bits < b.1) {
            best = Some((GridModel { predictor, classes }, bits));
        }
    }
    best.expect("the zero predictor's residuals are the latents, within range")
}

/// The `LATN` payload of a `grid` network's latent tensors (FORMAT.md
/// §6.5); `tensors` is the whole network's list, in canonical order.
pub fn encode(arch: &Arch, tensors: &[Tensor]) -> Result<Vec<u8>, Error> {
    let grids = grids_of(arch, tensors)?;
    let mut out = vec![grids.len() as u8];
    let mut tables = Vec::new();
    let mut models = Vec::new();
    for (w, h, q) in &grids {
        let (model, _) = choose_model(*w, *h, q);
        for c in model.predictor {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.push(model.classes.len() as u8);
        for g in &model.classes {
            out.extend_from_slice(&g.ratio.to_le_bytes());
            out.extend_from_slice(&g.max.to_le_bytes());
        }
        tables.push(
            model
                .classes
                .iter()
                .map(|&g| Table::new(g))
                .collect::<Vec<_>>(),
        );
        models.push(model);
    }
    let mut symbols = Vec::new();
    for ((w, h, q), (model, tables)) in grids.iter().zip(models.iter().zip(&tables)) {
        for (r, c) in residuals(*w, *h, q, model.predictor, model.classes.len()) {
            symbols.push((r, &tables[c]));
        }
    }
    let words = encode_mixed(&symbols).map_err(Error::parameter)?;
    let length = u32::try_from(4 * words.len()).map_err(|_| {
        Error::limit(
            Limit::Output,
            "the latent grids' coded bytes",
            4 * words.len() as u64,
            u32::MAX as u64,
        )
    })?;
    out.extend_from_slice(&length.to_le_bytes());
    words
        .iter()
        .for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
    Ok(out)
}

/// The fields of a `LATN` payload before the words.
struct Header {
    models: Vec<GridModel>,
    words: Vec<u32>,
}

fn bad(msg: String) -> Error {
    Error::format(Rule::Latents, msg)
}

fn read_header(payload: &[u8], arch: &Arch, limits: &Limits) -> Result<Header, Error> {
    let Family::Grid { levels, .. } = &arch.family else {
        return Err(Error::format(
            Rule::ChunkOrder,
            format!("a `LATN` chunk in a file of architecture `{}`", arch.name()),
        ));
    };
    let count = arch.latent_count() as u64;
    if count > limits.max_weight_values {
        return Err(Error::limit(
            Limit::WeightValues,
            "the latent grids",
            count,
            limits.max_weight_values,
        ));
    }
    let mut r = Reader::new(payload, "LATN");
    let g = r.u8()? as usize;
    if g != *levels {
        return Err(bad(format!(
            "the `LATN` chunk holds {g} grids, the architecture {levels}"
        )));
    }
    let mut models = Vec::with_capacity(g);
    for k in 0..g {
        let predictor: [i16; 4] = [
            r.u16()? as i16,
            r.u16()? as i16,
            r.u16()? as i16,
            r.u16()? as i16,
        ];
        let nc = r.u8()? as usize;
        if !(1..=MAX_CLASSES).contains(&nc) {
            return Err(bad(format!(
                "grid {k} has {nc} residual classes, not 1..={MAX_CLASSES}"
            )));
        }
        let classes = (0..nc)
            .map(|c| {
                let (ratio, max) = (r.u16()?, r.u16()?);
                Geometric::new(ratio, max).map_err(|e| bad(format!("grid {k}, class {c}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        models.push(GridModel { predictor, classes });
    }
    let length = r.u32()? as usize;
    if !length.is_multiple_of(4) {
        return Err(bad(format!(
            "the latents' coded length {length} is not a whole number of words"
        )));
    }
    let rest = r.rest();
    if rest.len() != length {
        return Err(bad(format!(
            "the latents' coded length is {length} bytes, the chunk holds {}",
            rest.len()
        )));
    }
    let words = rest
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    Ok(Header { models, words })
}

/// Decodes every latent of every grid, asking `next` for each symbol
/// under the table of its class.
fn decode_with(
    arch: &Arch,
    models: &[GridModel],
    mut next: impl FnMut(&Table) -> Result<i32, String>,
) -> Result<Vec<Vec<i32>>, Error> {
    let specs = arch.tensor_specs();
    let mut grids = Vec::new();
    for (spec, model) in specs.iter().filter(|s| s.latent).zip(models) {
        let (h, w) = (spec.shape[0], spec.shape[1]);
        let tables: Vec<Table> = model.classes.iter().map(|&g| Table::new(g)).collect();
        let mut q = vec![0i32; w * h];
        for y in 0..h {
            for x in 0..w {
                let n = neighbours(&q, w, x, y);
                let c = class_of(n, tables.len());
                let r = next(&tables[c]).map_err(|e| bad(format!("{}: {e}", spec.name)))?;
                let v = predict(n, model.predictor) + r;
                if v.abs() > MAX_LATENT {
                    return Err(bad(format!(
                        "{} decodes to {v}, beyond ±{MAX_LATENT}",
                        spec.name
                    )));
                }
                q[y * w + x] = v;
            }
        }
        grids.push(q);
    }
    Ok(grids)
}

/// The latent tensors of a `LATN` payload, in canonical order
/// (FORMAT.md §6.5).
pub fn decode(payload: &[u8], arch: &Arch, limits: &Limits) -> Result<Vec<Tensor>, Error> {
    let header = read_header(payload, arch, limits)?;
    let mut stream = StreamDecoder::new(header.words).map_err(bad)?;
    let grids = decode_with(arch, &header.models, |t| stream.decode(t))?;
    stream.finish().map_err(bad)?;
    let specs = arch.tensor_specs();
    Ok(specs
        .into_iter()
        .filter(|s| s.latent)
        .zip(grids)
        .map(|(s, q)| Tensor {
            name: s.name,
            shape: s.shape,
            data: q.into_iter().map(|v| v as f32).collect(),
        })
        .collect())
}

/// FORMAT.md §6.5's decoder with the step-by-step rANS decoder of
/// [`ReferenceStream`]: the slow twin of [`decode`], for tests.
pub fn reference_decode(payload: &[u8], arch: &Arch) -> Result<Vec<Vec<i32>>, Error> {
    let header = read_header(payload, arch, &Limits::default())?;
    let mut stream = ReferenceStream::new(&header.words).map_err(bad)?;
    let grids = decode_with(arch, &header.models, |t| stream.decode(t))?;
    stream.finish().map_err(bad)?;
    Ok(grids)
}

/// Bytes of the `LATN` payload the encoder would write for these grids,
/// estimated from the models' costs (the words round each up).
pub fn estimated_bytes(grids: &[(usize, usize, Vec<i32>)]) -> f64 {
    let mut bytes = 1.0 + 4.0;
    for (w, h, q) in grids {
        let (model, bits) = choose_model(*w, *h, q);
        bytes += 8.0 + 1.0 + 4.0 * model.classes.len() as f64 + bits / 8.0;
    }
    bytes
}
