//! Fitting a `grid` network (FORMAT.md §5.9) to an image on the CPU: the
//! latent grids and the synthesis together, for distortion plus λ times
//! the latents' rate under the coder's own context model (§6.5).
//!
//! Every step runs on the whole image:
//! 1. each grid, plus uniform noise in [−½, ½) (or rounded, with a
//!    straight-through gradient, for the last steps), is upsampled to the
//!    image with Catmull-Rom's cubic, separably (rows, then columns);
//! 2. the synthesis runs forward and backward over fixed tiles of pixels
//!    in parallel, each tile writing its own gradients;
//! 3. the latents' gradients go back through the upsampling (its
//!    adjoint), level by level;
//! 4. the rate term adds its gradient: each latent's bits under a
//!    discretised Laplace whose mean is the context model's prediction
//!    and whose scale is that of its class's geometric model, both
//!    refitted to the rounded latents every few steps;
//! 5. Adam updates latents and weights.
//!
//! Tiles, their order and every reduction are fixed by the image, not by
//! the thread count, so a seed gives the same network on 1 or 2 threads.

use crate::device::Device;
use crate::eval::fastmath::{has_avx2, madd, sin_cos_k};
use crate::eval::grid::taps;
use crate::format::latents::{self, MAX_LATENT};
use crate::model::{Family, Mask, Network, Synthesis};
use crate::signal::Convention;
use crate::{Error, Misuse};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Pixels per tile of the synthesis.
const TILE: usize = 256;

/// How a `grid` network is fitted.
#[derive(Clone, Debug, PartialEq)]
pub struct GridTrainConfig {
    /// Adam steps on the whole image.
    pub steps: usize,
    /// Learning rate of the latents, cosine-annealed to `lr_floor` times it.
    pub lr_latents: f64,
    /// Learning rate of the synthesis, likewise.
    pub lr_synthesis: f64,
    pub lr_floor: f64,
    /// The rate weight: the loss is MSE (samples in [0, 1]) plus λ times
    /// the latents' bits per pixel.
    pub lambda: f64,
    /// Adapt λ every refit so that the latents' estimated bits per pixel
    /// approach this.
    pub target_bpp: Option<f64>,
    /// Adapt λ every refit so that the PSNR (dB, samples in [0, 1]) of the
    /// latest step approaches this (with `target_bpp` unset).
    pub target_psnr: Option<f64>,
    /// Bits per pixel the synthesis is expected to cost, subtracted from
    /// `target_bpp` to give the latents' share.
    pub synthesis_bpp: f64,
    /// The fraction of steps trained with noise; the rest round the
    /// latents, straight through.
    pub noise_fraction: f64,
    /// Steps between refits of the context model (and of λ).
    pub refit_every: usize,
    pub seed: u64,
}

impl Default for GridTrainConfig {
    fn default() -> Self {
        Self {
            steps: 1500,
            lr_latents: 0.05,
            lr_synthesis: 5e-3,
            lr_floor: 0.05,
            lambda: 2e-3,
            target_bpp: None,
            target_psnr: None,
            synthesis_bpp: 0.0,
            noise_fraction: 0.8,
            refit_every: 25,
            seed: 0,
        }
    }
}

/// What a step reports.
#[derive(Clone, Debug, PartialEq)]
pub struct GridReport {
    pub step: usize,
    pub steps: usize,
    /// PSNR (dB, samples in [0, 1]) of the synthesis on the quantised or
    /// noisy latents of this step.
    pub psnr: f64,
    /// The latents' estimated bits per pixel at the last refit.
    pub latent_bpp: f64,
    pub lambda: f64,
}

/// An image as targets: `width` × `height` pixels of `channels` values
/// in [−1, 1] (the network's output units), row-major.
pub struct GridTarget<'a> {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub targets: &'a [f32],
    pub convention: Convention,
}

/// The synthesis as the trainer sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Scone(Mask),
    Siren,
    Relu,
}

/// σ and σ′ of a mask without a trained scale.
#[inline(always)]
fn mask_and_slope<const FMA: bool>(mask: Mask, u: f32) -> (f32, f32) {
    match mask {
        Mask::Sin2 => {
            let (s, c) = sin_cos_k::<FMA>(u);
            (s * s, 2.0 * s * c)
        }
        Mask::Sigmoid | Mask::SigmoidL => {
            let s = 1.0 / (1.0 + (-u).exp());
            (s, s * (1.0 - s))
        }
        Mask::NTanh | Mask::NTanhL => {
            let t = u.tanh();
            ((t + 1.0) * 0.5, (1.0 - t * t) * 0.5)
        }
        Mask::ExpSq => {
            let e = (-u * u).exp();
            (e, -2.0 * u * e)
        }
    }
}

/// Offsets of one hidden layer's tensors in the flat parameter vector.
#[derive(Clone, Copy, Debug)]
struct LayerAt {
    w: usize,
    b: usize,
    fan_in: usize,
    basis_w: usize,
    basis_b: usize,
}

/// The synthesis's shape and where each tensor lies in `theta`.
#[derive(Clone, Debug)]
struct Synth {
    kind: Kind,
    g: usize,
    h: usize,
    c: usize,
    omega0: f32,
    omegas: Vec<f32>,
    layers: Vec<LayerAt>,
    out_w: usize,
    out_b: usize,
    len: usize,
    /// Rows of the first layer's input: the latents, then (SIREN, ReLU)
    /// the two coordinates.
    in_rows: usize,
}

impl Synth {
    fn new(net: &Network) -> Result<Self, Error> {
        let arch = &net.arch;
        let Family::Grid {
            synthesis, levels, ..
        } = &arch.family
        else {
            return Err(Error::misuse(
                Misuse::WrongNetwork,
                format!("fit_grid fits `grid` networks, not `{}`", arch.name()),
            ));
        };
        let (kind, omega0, omegas) = match synthesis {
            Synthesis::Scone {
                omega0,
                omegas,
                mask,
            } => {
                if mask.has_scale() {
                    return Err(Error::parameter(format!(
                        "the `{}` mask's trained scale is not trained on latent grids",
                        mask.name()
                    )));
                }
                (Kind::Scone(*mask), *omega0, omegas.clone())
            }
            Synthesis::Siren { omega0 } => (Kind::Siren, *omega0, Vec::new()),
            Synthesis::Relu => (Kind::Relu, 1.0, Vec::new()),
        };
        let specs = arch.tensor_specs();
        let mut offset = 0;
        let mut at = std::collections::HashMap::new();
        for s in specs.iter().filter(|s| !s.latent) {
            at.insert(s.name.clone(), offset);
            offset += s.shape.iter().product::<usize>();
        }
        let g = *levels;
        let h = arch.hidden;
        let scone = matches!(kind, Kind::Scone(_));
        let layers = (0..arch.hidden_layers())
            .map(|i| {
                let fan_in = match (i, scone) {
                    (0, true) => g,
                    (0, false) => g + 2,
                    _ => h,
                };
                if scone {
                    LayerAt {
                        w: at[&format!("hidden.{i}.mask.weight")],
                        b: at[&format!("hidden.{i}.mask.bias")],
                        fan_in,
                        basis_w: at[&format!("hidden.{i}.basis.weight")],
                        basis_b: at[&format!("hidden.{i}.basis.bias")],
                    }
                } else {
                    LayerAt {
                        w: at[&format!("hidden.{i}.weight")],
                        b: at[&format!("hidden.{i}.bias")],
                        fan_in,
                        basis_w: 0,
                        basis_b: 0,
                    }
                }
            })
            .collect();
        Ok(Self {
            kind,
            g,
            h,
            c: arch.out_dims,
            omega0,
            omegas,
            layers,
            out_w: at["output.weight"],
            out_b: at["output.bias"],
            len: offset,
            in_rows: if scone { g } else { g + 2 },
        })
    }
}

/// One tile's buffers: each layer's input and what its backward needs.
struct Scratch {
    /// Layer inputs: `zs[0]` the latents (and coordinates), `zs[i]` the
    /// output of hidden layer i − 1; each rows × TILE.
    zs: Vec<Vec<f32>>,
    /// Per hidden layer: SCONE m, σ′(u), sin v, cos v; SIREN cos a (in
    /// `m`); ReLU 1 or 0 (in `m`).
    m: Vec<Vec<f32>>,
    dm: Vec<Vec<f32>>,
    s: Vec<Vec<f32>>,
    cv: Vec<Vec<f32>>,
    dy: Vec<f32>,
    dz: Vec<f32>,
    dz2: Vec<f32>,
    /// SCONE's basis gradient of one unit.
    dv: Vec<f32>,
    x0: Vec<f32>,
    x1: Vec<f32>,
}

impl Scratch {
    fn new(sy: &Synth) -> Self {
        let n = sy.layers.len();
        let hb = sy.h * TILE;
        let mut zs = vec![vec![0.0; sy.in_rows * TILE]];
        zs.extend((0..n).map(|_| vec![0.0; hb]));
        Self {
            zs,
            m: vec![vec![0.0; hb]; n],
            dm: vec![vec![0.0; hb]; n],
            s: vec![vec![0.0; hb]; n],
            cv: vec![vec![0.0; hb]; n],
            dy: vec![0.0; sy.c * TILE],
            dz: vec![0.0; sy.h.max(sy.in_rows) * TILE],
            dz2: vec![0.0; sy.h.max(sy.in_rows) * TILE],
            dv: vec![0.0; TILE],
            x0: vec![0.0; TILE],
            x1: vec![0.0; TILE],
        }
    }
}

/// Σ a·b with sixteen lanes, so that the sum vectorises.
#[inline(always)]
fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] = madd::<FMA>(x[l], y[l], acc[l]);
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[inline(always)]
fn sum(a: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let ca = a.chunks_exact(16);
    let r = ca.remainder();
    for x in ca {
        for l in 0..16 {
            acc[l] += x[l];
        }
    }
    acc.iter().sum::<f32>() + r.iter().sum::<f32>()
}

/// Forward and backward of the synthesis on one tile of `nt` pixels
/// starting at pixel `p0`; adds the weights' gradients to `grad`, writes
/// the latents' gradients to `dlat` (G × TILE) and returns Σ err².
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile_step<const FMA: bool>(
    sy: &Synth,
    theta: &[f32],
    lat: &[Vec<f32>],
    coords: (&[f32], &[f32]),
    target: &[f32],
    p0: usize,
    nt: usize,
    loss_scale: f32,
    grad: &mut [f32],
    dlat: &mut [f32],
    s: &mut Scratch,
) -> f64 {
    let (g, h, c) = (sy.g, sy.h, sy.c);
    let ts = TILE;
    let (xa, xb) = coords;
    s.x0[..nt].copy_from_slice(&xa[p0..p0 + nt]);
    s.x1[..nt].copy_from_slice(&xb[p0..p0 + nt]);
    for (k, l) in lat.iter().enumerate() {
        s.zs[0][k * ts..k * ts + nt].copy_from_slice(&l[p0..p0 + nt]);
    }
    if sy.in_rows > g {
        s.zs[0][g * ts..g * ts + nt].copy_from_slice(&s.x0[..nt]);
        s.zs[0][(g + 1) * ts..(g + 1) * ts + nt].copy_from_slice(&s.x1[..nt]);
    }
    // Forward.
    for (i, la) in sy.layers.iter().enumerate() {
        let (before, after) = s.zs.split_at_mut(i + 1);
        let zin = &before[i];
        let zout = &mut after[0];
        for j in 0..h {
            let row = &mut zout[j * ts..j * ts + nt];
            let w = &theta[la.w + j * la.fan_in..la.w + (j + 1) * la.fan_in];
            row.fill(theta[la.b + j]);
            for (k, &wk) in w.iter().enumerate() {
                for (r, &zk) in row.iter_mut().zip(&zin[k * ts..k * ts + nt]) {
                    *r = madd::<FMA>(wk, zk, *r);
                }
            }
            let m = &mut s.m[i][j * ts..j * ts + nt];
            match sy.kind {
                Kind::Scone(mask) => {
                    let om = sy.omegas[i];
                    let (b0, b1, bb) = (
                        om * theta[la.basis_w + 2 * j],
                        om * theta[la.basis_w + 2 * j + 1],
                        om * theta[la.basis_b + j],
                    );
                    let dm = &mut s.dm[i][j * ts..j * ts + nt];
                    let sv = &mut s.s[i][j * ts..j * ts + nt];
                    let cv = &mut s.cv[i][j * ts..j * ts + nt];
                    let (x0, x1) = (&s.x0[..nt], &s.x1[..nt]);
                    let w0 = sy.omega0;
                    // Zipped slices, no indexing: the loop vectorises.
                    let outs = row
                        .iter_mut()
                        .zip(m.iter_mut())
                        .zip(dm.iter_mut())
                        .zip(sv.iter_mut().zip(cv.iter_mut()))
                        .zip(x0.iter().zip(x1));
                    if mask == Mask::Sin2 {
                        for ((((r, mp), dmp), (svp, cvp)), (&a, &b)) in outs {
                            let (su, cu) = sin_cos_k::<FMA>(w0 * *r);
                            let v = madd::<FMA>(b0, a, madd::<FMA>(b1, b, bb));
                            let (sn, cs) = sin_cos_k::<FMA>(v);
                            *mp = su * su;
                            *dmp = 2.0 * su * cu;
                            *svp = sn;
                            *cvp = cs;
                            *r = su * su * sn;
                        }
                    } else {
                        for ((((r, mp), dmp), (svp, cvp)), (&a, &b)) in outs {
                            let (mm, dd) = mask_and_slope::<FMA>(mask, w0 * *r);
                            let v = madd::<FMA>(b0, a, madd::<FMA>(b1, b, bb));
                            let (sn, cs) = sin_cos_k::<FMA>(v);
                            *mp = mm;
                            *dmp = dd;
                            *svp = sn;
                            *cvp = cs;
                            *r = mm * sn;
                        }
                    }
                }
                Kind::Siren => {
                    for (r, mp) in row.iter_mut().zip(m.iter_mut()) {
                        let (sn, cs) = sin_cos_k::<FMA>(sy.omega0 * *r);
                        *mp = cs;
                        *r = sn;
                    }
                }
                Kind::Relu => {
                    for (r, mp) in row.iter_mut().zip(m.iter_mut()) {
                        *mp = if *r > 0.0 { 1.0 } else { 0.0 };
                        *r = r.max(0.0);
                    }
                }
            }
        }
    }
    // Output, error and its gradient.
    let zl = &s.zs[sy.layers.len()];
    let mut sq = 0f64;
    for ch in 0..c {
        let row = &mut s.dy[ch * ts..ch * ts + nt];
        row.fill(theta[sy.out_b + ch]);
        for j in 0..h {
            let w = theta[sy.out_w + ch * h + j];
            for (r, &z) in row.iter_mut().zip(&zl[j * ts..j * ts + nt]) {
                *r = madd::<FMA>(w, z, *r);
            }
        }
        let mut e2 = 0f32;
        for (p, r) in row.iter_mut().enumerate() {
            let e = *r - target[(p0 + p) * c + ch];
            e2 += e * e;
            *r = e * loss_scale;
        }
        sq += e2 as f64;
    }
    for ch in 0..c {
        let dy = &s.dy[ch * ts..ch * ts + nt];
        for j in 0..h {
            grad[sy.out_w + ch * h + j] += dot::<FMA>(dy, &zl[j * ts..j * ts + nt]);
        }
        grad[sy.out_b + ch] += sum(dy);
    }
    for j in 0..h {
        let row = &mut s.dz[j * ts..j * ts + nt];
        row.fill(0.0);
        for ch in 0..c {
            let w = theta[sy.out_w + ch * h + j];
            for (r, &d) in row.iter_mut().zip(&s.dy[ch * ts..ch * ts + nt]) {
                *r = madd::<FMA>(w, d, *r);
            }
        }
    }
    // Backward through the hidden layers; dz holds dL/dz_{i+1}.
    for (i, la) in sy.layers.iter().enumerate().rev() {
        let zin = &s.zs[i];
        let scale = match sy.kind {
            Kind::Scone(_) | Kind::Siren => sy.omega0,
            Kind::Relu => 1.0,
        };
        // dz becomes dL/da (the pre-activation before the frequency).
        for j in 0..h {
            let d = &mut s.dz[j * ts..j * ts + nt];
            let m = &s.m[i][j * ts..j * ts + nt];
            match sy.kind {
                Kind::Scone(_) => {
                    let om = sy.omegas[i];
                    let dm = &s.dm[i][j * ts..j * ts + nt];
                    let sv = &s.s[i][j * ts..j * ts + nt];
                    let cv = &s.cv[i][j * ts..j * ts + nt];
                    // Basis gradients: dv = dz·m·cos v; then dz becomes
                    // dz·sin v·σ′(u).
                    let dv = &mut s.dv[..nt];
                    for ((((o, dp), &mp), &cp), (&sp, &dmp)) in dv
                        .iter_mut()
                        .zip(d.iter_mut())
                        .zip(m)
                        .zip(cv)
                        .zip(sv.iter().zip(dm))
                    {
                        *o = *dp * mp * cp;
                        *dp *= sp * dmp;
                    }
                    let g0 = dot::<FMA>(dv, &s.x0[..nt]);
                    let g1 = dot::<FMA>(dv, &s.x1[..nt]);
                    let gb = sum(dv);
                    grad[la.basis_w + 2 * j] += om * g0;
                    grad[la.basis_w + 2 * j + 1] += om * g1;
                    grad[la.basis_b + j] += om * gb;
                }
                Kind::Siren | Kind::Relu => {
                    for (dp, &mp) in d.iter_mut().zip(m) {
                        *dp *= mp;
                    }
                }
            }
            for k in 0..la.fan_in {
                grad[la.w + j * la.fan_in + k] += scale * dot::<FMA>(d, &zin[k * ts..k * ts + nt]);
            }
            grad[la.b + j] += scale * sum(d);
        }
        // dL/dz_i = scale · Wᵀ da (for the first layer, the latents' rows).
        let rows = if i == 0 { g } else { la.fan_in };
        for k in 0..rows {
            let out = &mut s.dz2[k * ts..k * ts + nt];
            out.fill(0.0);
            for j in 0..h {
                let w = scale * theta[la.w + j * la.fan_in + k];
                for (o, &d) in out.iter_mut().zip(&s.dz[j * ts..j * ts + nt]) {
                    *o = madd::<FMA>(w, d, *o);
                }
            }
        }
        std::mem::swap(&mut s.dz, &mut s.dz2);
    }
    for k in 0..g {
        dlat[k * ts..k * ts + nt].copy_from_slice(&s.dz[k * ts..k * ts + nt]);
    }
    sq
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn tile_step_avx2(
    sy: &Synth,
    theta: &[f32],
    lat: &[Vec<f32>],
    coords: (&[f32], &[f32]),
    target: &[f32],
    p0: usize,
    nt: usize,
    loss_scale: f32,
    grad: &mut [f32],
    dlat: &mut [f32],
    s: &mut Scratch,
) -> f64 {
    tile_step::<true>(
        sy, theta, lat, coords, target, p0, nt, loss_scale, grad, dlat, s,
    )
}

/// The taps of every pixel column (or row) on one grid axis.
pub(crate) struct AxisTaps {
    pub idx: Vec<[usize; 4]>,
    pub w: Vec<[f32; 4]>,
}

impl AxisTaps {
    /// Taps of `n` samples along an axis whose coordinates are `xs`, on a
    /// grid axis of `cells` cells.
    pub fn new(xs: &[f32], cells: usize) -> Self {
        let half = 0.5 * cells as f32;
        let (idx, w) = xs
            .iter()
            .map(|&x| taps((x + 1.0) * half - 0.5, cells))
            .unzip();
        Self { idx, w }
    }
}

/// One latent grid being trained.
struct Level {
    w: usize,
    h: usize,
    /// The continuous latents.
    y: Vec<f32>,
    tx: AxisTaps,
    ty: AxisTaps,
    /// The context model of the last refit: predictor and each class's
    /// Laplace scale.
    predictor: [i16; 4],
    scales: Vec<f32>,
}

impl Level {
    /// `q` (this level's quantised latents) upsampled to the image into
    /// `out` (height × width), through the `tmp` buffer (h × width).
    fn upsample(&self, q: &[f32], width: usize, tmp: &mut Vec<f32>, out: &mut [f32]) {
        tmp.resize(self.h * width, 0.0);
        tmp.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
            let src = &q[r * self.w..(r + 1) * self.w];
            for (px, o) in row.iter_mut().enumerate() {
                let (i, w) = (&self.tx.idx[px], &self.tx.w[px]);
                *o = w[0] * src[i[0]] + w[1] * src[i[1]] + w[2] * src[i[2]] + w[3] * src[i[3]];
            }
        });
        out.par_chunks_mut(width).enumerate().for_each(|(py, row)| {
            let (i, w) = (&self.ty.idx[py], &self.ty.w[py]);
            let rows: [&[f32]; 4] = std::array::from_fn(|b| &tmp[i[b] * width..(i[b] + 1) * width]);
            for (px, o) in row.iter_mut().enumerate() {
                *o = w[0] * rows[0][px]
                    + w[1] * rows[1][px]
                    + w[2] * rows[2][px]
                    + w[3] * rows[3][px];
            }
        });
    }

    /// The adjoint of [`Level::upsample`]: the gradient on the grid of a
    /// gradient `d` on the image, sequentially (a fixed order).
    fn adjoint(&self, d: &[f32], width: usize, height: usize) -> Vec<f32> {
        let mut tmp = vec![0f32; self.h * width];
        for py in 0..height {
            let (i, w) = (&self.ty.idx[py], &self.ty.w[py]);
            let src = &d[py * width..(py + 1) * width];
            for b in 0..4 {
                let dst = &mut tmp[i[b] * width..(i[b] + 1) * width];
                for (o, &v) in dst.iter_mut().zip(src) {
                    *o += w[b] * v;
                }
            }
        }
        let mut out = vec![0f32; self.h * self.w];
        for r in 0..self.h {
            let src = &tmp[r * width..(r + 1) * width];
            let dst = &mut out[r * self.w..(r + 1) * self.w];
            for (px, &v) in src.iter().enumerate() {
                let (i, w) = (&self.tx.idx[px], &self.tx.w[px]);
                for a in 0..4 {
                    dst[i[a]] += w[a] * v;
                }
            }
        }
        out
    }
}

/// Bits of a latent at distance `r` from its prediction under a Laplace
/// of scale `b` discretised to unit bins, and their derivative in r.
#[inline]
fn laplace_bits(r: f32, b: f32) -> (f32, f32) {
    const LN2: f32 = std::f32::consts::LN_2;
    let a = r.abs();
    let sign = if r < 0.0 { -1.0 } else { 1.0 };
    if a >= 0.5 {
        let bits = ((a - 0.5) / b - (0.5 * (1.0 - (-1.0 / b).exp())).ln()) / LN2;
        (bits, sign / (b * LN2))
    } else {
        let (e1, e2) = ((-(0.5 - a) / b).exp(), (-(0.5 + a) / b).exp());
        let p = (1.0 - 0.5 * (e1 + e2)).max(1e-9);
        let dp = -0.5 * (e1 - e2) / b;
        (-p.ln() / LN2, -sign * dp / (p * LN2))
    }
}

/// Adam's state for one parameter vector.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    fn new(n: usize) -> Self {
        Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    fn step(&mut self, p: &mut [f32], g: &[f32], lr: f32, t: i32) {
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(&mut self.m).zip(&mut self.v) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
        }
    }
}

/// The pixel coordinates along an axis of `n` samples (FORMAT.md §4.3).
pub(crate) fn axis_coords(n: usize, convention: Convention) -> Vec<f32> {
    (0..n)
        .map(|i| match convention {
            Convention::CellCentre => ((2 * i + 1) as f64 / n as f64 - 1.0) as f32,
            Convention::Endpoints if n == 1 => 0.0,
            Convention::Endpoints => (2.0 * i as f64 / (n - 1) as f64 - 1.0) as f32,
        })
        .collect()
}

/// Fits the `grid` network `init` to `target`: latents and synthesis
/// together (see the module's notes), on the CPU's own engine or, with
/// [`Device::Cuda`] (feature `cuda`), with burn-cuda's autodiff
/// (`train::grid_burn`). Returns the network with its latents rounded to
/// integers and its synthesis in `f32`, and the λ it ended with.
pub fn fit_grid(
    init: Network,
    target: &GridTarget,
    cfg: &GridTrainConfig,
    device: Device,
    progress: &mut dyn FnMut(&GridReport),
) -> Result<(Network, f64), Error> {
    check_target(&init, target)?;
    match device {
        Device::Cpu => {
            let mut engine = CpuGrid::new(init, target, cfg.seed)?;
            let lambda = drive(&mut engine, cfg, true, progress)?;
            Ok((engine.into_network()?, lambda))
        }
        Device::Cuda => fit_grid_cuda(init, target, cfg, progress),
    }
}

#[cfg(feature = "cuda")]
fn fit_grid_cuda(
    init: Network,
    target: &GridTarget,
    cfg: &GridTrainConfig,
    progress: &mut dyn FnMut(&GridReport),
) -> Result<(Network, f64), Error> {
    use burn::backend::cuda::CudaDevice;
    use burn::backend::{Autodiff, Cuda};
    crate::device::cuda_device_name().map_err(Error::Device)?;
    crate::cuda::guard("training", || {
        super::grid_burn::fit_grid_burn::<Autodiff<Cuda>>(
            init,
            target,
            cfg,
            &CudaDevice::default(),
            progress,
        )
    })
}

#[cfg(not(feature = "cuda"))]
fn fit_grid_cuda(
    _init: Network,
    _target: &GridTarget,
    _cfg: &GridTrainConfig,
    _progress: &mut dyn FnMut(&GridReport),
) -> Result<(Network, f64), Error> {
    Err(Error::Device(
        crate::device::cuda_device_name().expect_err("a build without CUDA has no device"),
    ))
}

/// Refuses a network that is not a `grid`, or targets of another size.
pub(crate) fn check_target(init: &Network, target: &GridTarget) -> Result<(), Error> {
    let sy = Synth::new(init)?;
    let (width, height, c) = (target.width, target.height, target.channels);
    let npix = width * height;
    if target.targets.len() != npix * c || c != sy.c {
        return Err(Error::misuse(
            Misuse::BufferLength {
                needed: npix * sy.c,
                given: target.targets.len(),
            },
            format!("{width}x{height} pixels of {} channels", sy.c),
        ));
    }
    Ok(())
}

/// What [`fit_grid`]'s schedule drives: the latents and the synthesis on
/// one device, with their optimiser.
pub(crate) trait GridEngine {
    /// Refits each grid's context model to its rounded latents (the
    /// encoder's own choice, [`latents::choose_model`]) and returns the
    /// latents' estimated bits per pixel.
    fn refit(&mut self) -> Result<f64, Error>;

    /// One Adam step `t` (from 1) on the noisy (or rounded) latents for
    /// MSE + λ·bits/pixel, at the learning rates given. With `read`,
    /// returns the step's MSE (samples in [0, 1]), measured before the
    /// update.
    fn step(&mut self, s: StepSettings, read: bool) -> Result<Option<f64>, Error>;

    /// The network: the synthesis as trained, the latents rounded.
    fn into_network(self) -> Result<Network, Error>;
}

/// One step's settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepSettings {
    pub noisy: bool,
    pub lambda: f64,
    pub lr_latents: f32,
    pub lr_synthesis: f32,
    pub t: i32,
}

/// Runs `cfg`'s schedule on `engine`: refits, λ's controller, the noisy
/// then rounded phases and the cosine-annealed learning rates; reads the
/// MSE every step with `read_each_step`, else before each refit and at
/// the last step. Returns the λ it ended with.
pub(crate) fn drive(
    engine: &mut impl GridEngine,
    cfg: &GridTrainConfig,
    read_each_step: bool,
    progress: &mut dyn FnMut(&GridReport),
) -> Result<f64, Error> {
    let mut lambda = cfg.lambda;
    let mut latent_bpp = f64::NAN;
    let mut last_psnr = f64::NAN;
    let noise_steps = (cfg.steps as f64 * cfg.noise_fraction).round() as usize;
    let steps = cfg.steps.max(1);
    let refit_every = cfg.refit_every.max(1);
    for step in 0..cfg.steps {
        let noisy = step < noise_steps;
        if step % refit_every == 0 || step == noise_steps {
            latent_bpp = engine.refit()?;
            if let Some(t) = cfg.target_bpp {
                let want = (t - cfg.synthesis_bpp).max(0.01);
                if step > 0 && latent_bpp.is_finite() {
                    // Stronger once the latents are rounded: the rate the
                    // file will have is then what the refit measures.
                    let gain = if noisy { 1.5 } else { 3.0 };
                    lambda *= (latent_bpp / want).powf(gain).clamp(0.5, 2.0);
                }
            } else if let Some(p) = cfg.target_psnr
                && step > 0
                && last_psnr.is_finite()
            {
                // Quality above the target buys fewer bits: 1 dB over it
                // multiplies λ by 10^(1/3) (10^(2/3) once rounded).
                let per_db = if noisy { 1.0 / 3.0 } else { 2.0 / 3.0 };
                lambda *= 10f64.powf((last_psnr - p) * per_db).clamp(0.5, 2.0);
            }
        }
        let progress_frac = step as f64 / steps as f64;
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress_frac).cos());
        let anneal = cfg.lr_floor + (1.0 - cfg.lr_floor) * cosine;
        // Read before every refit (the controller's PSNR) and at the end.
        let read = read_each_step
            || (step + 1) % refit_every == 0
            || step + 1 == noise_steps
            || step + 1 == cfg.steps;
        let s = StepSettings {
            noisy,
            lambda,
            lr_latents: (cfg.lr_latents * anneal) as f32,
            lr_synthesis: (cfg.lr_synthesis * anneal) as f32,
            t: step as i32 + 1,
        };
        if let Some(mse01) = engine.step(s, read)? {
            if !mse01.is_finite() {
                return Err(Error::parameter(format!(
                    "training diverged at step {} (the loss is {mse01}); try a lower learning rate",
                    step + 1
                )));
            }
            last_psnr = -10.0 * mse01.max(1e-12).log10();
        }
        progress(&GridReport {
            step: step + 1,
            steps: cfg.steps,
            psnr: last_psnr,
            latent_bpp,
            lambda,
        });
    }
    Ok(lambda)
}

/// The CPU's engine: the latents and weights in host memory, the steps
/// on fixed tiles in parallel.
struct CpuGrid<'a> {
    init: Network,
    sy: Synth,
    levels: Vec<Level>,
    theta: Vec<f32>,
    adam_theta: Adam,
    adam_lat: Vec<Adam>,
    work: Work,
    rng: ChaCha8Rng,
    x0: Vec<f32>,
    x1: Vec<f32>,
    target: &'a GridTarget<'a>,
}

impl<'a> CpuGrid<'a> {
    fn new(init: Network, target: &'a GridTarget<'a>, seed: u64) -> Result<Self, Error> {
        let sy = Synth::new(&init)?;
        let (width, height) = (target.width, target.height);
        let npix = width * height;
        let specs = init.arch.tensor_specs();
        let mut theta: Vec<f32> = Vec::with_capacity(sy.len);
        for (s, t) in specs.iter().zip(&init.tensors) {
            if !s.latent {
                theta.extend_from_slice(&t.data);
            }
        }
        let (xs, ys) = (
            axis_coords(width, target.convention),
            axis_coords(height, target.convention),
        );
        let levels: Vec<Level> = latent_grids(&init)
            .into_iter()
            .map(|(w, h, y)| Level {
                w,
                h,
                y,
                tx: AxisTaps::new(&xs, w),
                ty: AxisTaps::new(&ys, h),
                predictor: [0; 4],
                scales: vec![1.0; latents::ENCODER_CLASSES],
            })
            .collect();
        // Per-pixel coordinates, row-major.
        let (mut x0, mut x1) = (Vec::with_capacity(npix), Vec::with_capacity(npix));
        for &y in &ys {
            for &x in &xs {
                x0.push(x);
                x1.push(y);
            }
        }
        Ok(Self {
            adam_theta: Adam::new(sy.len),
            adam_lat: levels.iter().map(|l| Adam::new(l.y.len())).collect(),
            work: Work::new(&sy, npix),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6772_6964),
            init,
            sy,
            levels,
            theta,
            x0,
            x1,
            target,
        })
    }
}

impl GridEngine for CpuGrid<'_> {
    fn refit(&mut self) -> Result<f64, Error> {
        Ok(refit(
            &mut self.levels,
            self.target.width * self.target.height,
        ))
    }

    fn step(&mut self, s: StepSettings, _read: bool) -> Result<Option<f64>, Error> {
        let (width, height) = (self.target.width, self.target.height);
        let npix = width * height;
        // 1. Quantised (or noisy) latents, upsampled.
        let rng = &mut self.rng;
        let qs: Vec<Vec<f32>> = self
            .levels
            .iter()
            .map(|l| {
                l.y.iter()
                    .map(|&v| {
                        if s.noisy {
                            v + rng.random_range(-0.5f32..0.5)
                        } else {
                            v.round()
                        }
                    })
                    .collect()
            })
            .collect();
        let (mse01, grad, mut dq) = distortion_gradients(
            &self.sy,
            &self.levels,
            &self.theta,
            &qs,
            Pixels {
                width,
                height,
                x0: &self.x0,
                x1: &self.x1,
                targets: self.target.targets,
            },
            &mut self.work,
        );
        // 4. The rate.
        let rate_scale = (s.lambda / npix as f64) as f32;
        dq.par_iter_mut()
            .zip(self.levels.par_iter())
            .zip(qs.par_iter())
            .for_each(|((d, l), q)| rate_gradient(l, q, rate_scale, d));
        // 5. Adam.
        self.adam_theta
            .step(&mut self.theta, &grad, s.lr_synthesis, s.t);
        for ((l, a), d) in self.levels.iter_mut().zip(&mut self.adam_lat).zip(&dq) {
            a.step(&mut l.y, d, s.lr_latents, s.t);
            l.y.iter_mut()
                .for_each(|v| *v = v.clamp(-(MAX_LATENT as f32), MAX_LATENT as f32));
        }
        Ok(Some(mse01))
    }

    fn into_network(self) -> Result<Network, Error> {
        let mut tensors = self.init.tensors.clone();
        let (mut offset, mut k) = (0, 0);
        for (s, t) in self.init.arch.tensor_specs().iter().zip(&mut tensors) {
            if s.latent {
                t.data = self.levels[k].y.iter().map(|v| v.round()).collect();
                k += 1;
            } else {
                let n = t.data.len();
                t.data.copy_from_slice(&self.theta[offset..offset + n]);
                offset += n;
            }
        }
        Network::new(self.init.arch, tensors)
    }
}

/// Each latent grid of `net`: its width, height and values, finest first.
pub(crate) fn latent_grids(net: &Network) -> Vec<(usize, usize, Vec<f32>)> {
    net.arch
        .tensor_specs()
        .iter()
        .zip(&net.tensors)
        .filter(|(s, _)| s.latent)
        .map(|(s, t)| (s.shape[1], s.shape[0], t.data.clone()))
        .collect()
}

/// The image's pixels: their coordinates and targets.
#[derive(Clone, Copy)]
struct Pixels<'a> {
    width: usize,
    height: usize,
    x0: &'a [f32],
    x1: &'a [f32],
    targets: &'a [f32],
}

/// Buffers reused by every step.
struct Work {
    lat: Vec<Vec<f32>>,
    tmp: Vec<f32>,
    tile_grads: Vec<f32>,
    tile_dlat: Vec<f32>,
    tile_sq: Vec<f64>,
    avx2: bool,
}

impl Work {
    fn new(sy: &Synth, npix: usize) -> Self {
        let tiles = npix.div_ceil(TILE);
        Self {
            lat: vec![vec![0.0; npix]; sy.g],
            tmp: Vec::new(),
            tile_grads: vec![0f32; tiles * sy.len],
            tile_dlat: vec![0f32; tiles * sy.g * TILE],
            tile_sq: vec![0f64; tiles],
            avx2: has_avx2(),
        }
    }
}

/// The MSE (samples in [0, 1]) of the synthesis on the latents `qs`, and
/// its gradients: in the weights, and in each grid's latents.
fn distortion_gradients(
    sy: &Synth,
    levels: &[Level],
    theta: &[f32],
    qs: &[Vec<f32>],
    px: Pixels,
    work: &mut Work,
) -> (f64, Vec<f32>, Vec<Vec<f32>>) {
    let (width, height) = (px.width, px.height);
    let npix = width * height;
    let c = sy.c;
    for (k, l) in levels.iter().enumerate() {
        l.upsample(&qs[k], width, &mut work.tmp, &mut work.lat[k]);
    }
    // MSE on [0, 1] samples is a quarter of it on [−1, 1].
    let loss_scale = 2.0 / (4.0 * (npix * c) as f32);
    let (lat, avx2) = (&work.lat, work.avx2);
    work.tile_grads.fill(0.0);
    work.tile_grads
        .par_chunks_mut(sy.len)
        .zip(work.tile_dlat.par_chunks_mut(sy.g * TILE))
        .zip(work.tile_sq.par_iter_mut())
        .enumerate()
        .for_each_init(
            || Scratch::new(sy),
            |s, (t, ((grad, dlat), sq))| {
                let p0 = t * TILE;
                let nt = TILE.min(npix - p0);
                *sq = run_tile(
                    avx2,
                    sy,
                    theta,
                    lat,
                    (px.x0, px.x1),
                    px.targets,
                    p0,
                    nt,
                    loss_scale,
                    grad,
                    dlat,
                    s,
                );
            },
        );
    let mut grad = vec![0f32; sy.len];
    for tg in work.tile_grads.chunks_exact(sy.len) {
        for (a, &b) in grad.iter_mut().zip(tg) {
            *a += b;
        }
    }
    let sq: f64 = work.tile_sq.iter().sum();
    let mse01 = sq / (4.0 * (npix * c) as f64);
    // Back through the upsampling, each level on its own.
    let tile_dlat = &work.tile_dlat;
    let dlat_of = |k: usize| -> Vec<f32> {
        let mut d = vec![0f32; npix];
        for (t, block) in tile_dlat.chunks_exact(sy.g * TILE).enumerate() {
            let p0 = t * TILE;
            let nt = TILE.min(npix - p0);
            d[p0..p0 + nt].copy_from_slice(&block[k * TILE..k * TILE + nt]);
        }
        d
    };
    let dq = (0..sy.g)
        .into_par_iter()
        .map(|k| levels[k].adjoint(&dlat_of(k), width, height))
        .collect();
    (mse01, grad, dq)
}

#[allow(clippy::too_many_arguments)]
fn run_tile(
    avx2: bool,
    sy: &Synth,
    theta: &[f32],
    lat: &[Vec<f32>],
    coords: (&[f32], &[f32]),
    target: &[f32],
    p0: usize,
    nt: usize,
    loss_scale: f32,
    grad: &mut [f32],
    dlat: &mut [f32],
    s: &mut Scratch,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is only set when the CPU has AVX2 and FMA.
        return unsafe {
            tile_step_avx2(
                sy, theta, lat, coords, target, p0, nt, loss_scale, grad, dlat, s,
            )
        };
    }
    let _ = avx2;
    tile_step::<false>(
        sy, theta, lat, coords, target, p0, nt, loss_scale, grad, dlat, s,
    )
}

/// Refits each level's context model to its rounded latents (the
/// encoder's own choice, [`latents::choose_model`]) and returns the
/// latents' estimated bits per pixel.
fn refit(levels: &mut [Level], npix: usize) -> f64 {
    let fitted: Vec<Context> = levels
        .par_iter()
        .map(|l| context_of(l.w, l.h, &l.y))
        .collect();
    let mut bits = 0.0;
    for (l, ctx) in levels.iter_mut().zip(fitted) {
        l.predictor = ctx.predictor;
        l.scales = ctx.scales;
        bits += ctx.bits;
    }
    bits / npix as f64
}

/// A grid's context model as the trainer uses it.
pub(crate) struct Context {
    pub predictor: [i16; 4],
    /// Each class's Laplace scale.
    pub scales: Vec<f32>,
    /// The grid's estimated bits under the model.
    pub bits: f64,
}

/// The context model the encoder would choose for the `w` × `h` grid `y`
/// rounded ([`latents::choose_model`]), each class's geometric model as
/// the Laplace of the same decay.
pub(crate) fn context_of(w: usize, h: usize, y: &[f32]) -> Context {
    let q: Vec<i32> = y.iter().map(|v| v.round() as i32).collect();
    let (model, bits) = latents::choose_model(w, h, &q);
    Context {
        predictor: model.predictor,
        // A geometric ratio ρ is a Laplace of scale −1/ln ρ.
        scales: model
            .classes
            .iter()
            .map(|g| {
                let rho = (g.ratio as f64 / 65536.0).clamp(1e-6, 1.0 - 1e-6);
                (-1.0 / rho.ln()).max(0.05) as f32
            })
            .collect(),
        bits,
    }
}

/// Adds `scale` times the gradient of the latents' bits to `d`: each
/// latent under its context's prediction and scale, the neighbours
/// rounded and held constant.
fn rate_gradient(l: &Level, q: &[f32], scale: f32, d: &mut [f32]) {
    let r: Vec<i32> = l.y.iter().map(|v| v.round() as i32).collect();
    let classes = l.scales.len();
    for y in 0..l.h {
        for x in 0..l.w {
            let n = latents::neighbours(&r, l.w, x, y);
            let mu = latents::predict(n, l.predictor) as f32;
            let b = l.scales[latents::class_of(n, classes)];
            let i = y * l.w + x;
            let (_, g) = laplace_bits(q[i] - mu, b);
            d[i] += scale * g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::eval_reference;
    use crate::model::init::grid_test_network;

    fn syntheses() -> Vec<Synthesis> {
        vec![
            Synthesis::Scone {
                omega0: 1.5,
                omegas: vec![2.0, 3.0],
                mask: Mask::Sin2,
            },
            Synthesis::Scone {
                omega0: 1.0,
                omegas: vec![2.0, 1.0],
                mask: Mask::Sigmoid,
            },
            Synthesis::Siren { omega0: 1.5 },
            Synthesis::Relu,
        ]
    }

    /// The trainer's gradients against central differences of the
    /// reference evaluator's MSE, in f64: the slow twin of the tiles, the
    /// upsampling and its adjoint.
    #[test]
    fn gradients_match_finite_differences_of_the_reference() {
        let (w, h, c) = (11, 7, 2);
        for (n, synthesis) in syntheses().into_iter().enumerate() {
            let mut net = grid_test_network(synthesis, 3, w, h, c, 40 + n as u64);
            // Latents at fractional values, as with training noise.
            for t in net
                .tensors
                .iter_mut()
                .filter(|t| t.name.starts_with("latent."))
            {
                t.data
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = *v * 0.3 + 0.1 * (i % 3) as f32);
            }
            let sy = Synth::new(&net).unwrap();
            let specs = net.arch.tensor_specs();
            let xs = axis_coords(w, Convention::CellCentre);
            let ys = axis_coords(h, Convention::CellCentre);
            let targets: Vec<f32> = (0..w * h * c)
                .map(|i| ((i * 37) % 17) as f32 / 8.5 - 1.0)
                .collect();
            let (mut x0, mut x1) = (Vec::new(), Vec::new());
            for &y in &ys {
                for &x in &xs {
                    x0.push(x);
                    x1.push(y);
                }
            }
            let mut theta = Vec::new();
            let mut levels = Vec::new();
            let mut qs = Vec::new();
            for (s, t) in specs.iter().zip(&net.tensors) {
                if s.latent {
                    let (lw, lh) = (s.shape[1], s.shape[0]);
                    levels.push(Level {
                        w: lw,
                        h: lh,
                        y: t.data.clone(),
                        tx: AxisTaps::new(&xs, lw),
                        ty: AxisTaps::new(&ys, lh),
                        predictor: [0; 4],
                        scales: vec![1.0],
                    });
                    qs.push(t.data.clone());
                } else {
                    theta.extend_from_slice(&t.data);
                }
            }
            let px = Pixels {
                width: w,
                height: h,
                x0: &x0,
                x1: &x1,
                targets: &targets,
            };
            let (mse, grad, dq) =
                distortion_gradients(&sy, &levels, &theta, &qs, px, &mut Work::new(&sy, w * h));
            let coords: Vec<f64> = x0
                .iter()
                .zip(&x1)
                .flat_map(|(&a, &b)| [a as f64, b as f64])
                .collect();
            let mse_ref = |net: &Network| -> f64 {
                let out = eval_reference(net, &coords);
                out.iter()
                    .zip(&targets)
                    .map(|(y, t)| (y - *t as f64).powi(2))
                    .sum::<f64>()
                    / (4.0 * out.len() as f64)
            };
            assert!(
                (mse - mse_ref(&net)).abs() < 1e-5 * (1.0 + mse),
                "{n}: {mse} vs {}",
                mse_ref(&net)
            );
            // Every fifth weight and every third latent.
            let mut offset = 0;
            let mut level = 0;
            for (ti, s) in specs.iter().enumerate() {
                let len = net.tensors[ti].data.len();
                let step = if s.latent { 3 } else { 5 };
                for j in (0..len).step_by(step) {
                    let e = 1e-3f32;
                    let mut plus = net.clone();
                    plus.tensors[ti].data[j] += e;
                    let mut minus = net.clone();
                    minus.tensors[ti].data[j] -= e;
                    let fd = (mse_ref(&plus) - mse_ref(&minus)) / (2.0 * e as f64);
                    let g = if s.latent {
                        dq[level][j]
                    } else {
                        grad[offset + j]
                    } as f64;
                    assert!(
                        (g - fd).abs() <= 2e-3 * fd.abs() + 2e-6,
                        "synthesis {n}, {}[{j}]: {g:e} vs {fd:e}",
                        s.name
                    );
                }
                if s.latent {
                    level += 1;
                } else {
                    offset += len;
                }
            }
        }
    }

    /// burn's autodiff (the CUDA trainer's engine, here on the CPU's Flex
    /// backend) against the CPU engine: the same loss and gradients for
    /// the same noisy latents and context models, every synthesis.
    #[test]
    fn burn_engine_matches_the_cpu_engine() {
        use super::super::autodiff::CpuTrainBackend;
        use super::super::grid_burn::BurnGrid;
        let (w, h, c) = (13, 9, 3);
        let lambda = 0.05;
        for (n, synthesis) in syntheses().into_iter().enumerate() {
            let mut net = grid_test_network(synthesis, 4, w, h, c, 70 + n as u64);
            // Latents of a few units, so that contexts differ in class,
            // none near a half (where the two engines' roundings differ).
            for t in net
                .tensors
                .iter_mut()
                .filter(|t| t.name.starts_with("latent."))
            {
                t.data.iter_mut().enumerate().for_each(|(i, v)| {
                    *v = ((i * 7) % 13) as f32 - 6.0 + 0.3 * (i % 3) as f32 + 0.05 * v.tanh()
                });
            }
            let targets: Vec<f32> = (0..w * h * c)
                .map(|i| ((i * 37) % 17) as f32 / 8.5 - 1.0)
                .collect();
            let target = GridTarget {
                width: w,
                height: h,
                channels: c,
                targets: &targets,
                convention: Convention::CellCentre,
            };
            let grids = latent_grids(&net);
            let noise: Vec<Vec<f32>> = grids
                .iter()
                .enumerate()
                .map(|(k, (_, _, y))| {
                    (0..y.len())
                        .map(|i| ((i * 5 + k) % 11) as f32 / 11.0 - 0.5)
                        .collect()
                })
                .collect();
            let context = |k: usize| Context {
                predictor: [40 - 3 * k as i16, 30, -10, 4 + k as i16],
                scales: (0..latents::ENCODER_CLASSES)
                    .map(|j| 0.3 + 0.45 * j as f32)
                    .collect(),
                bits: 0.0,
            };
            // The CPU engine.
            let mut cpu = CpuGrid::new(net.clone(), &target, 0).unwrap();
            for (k, l) in cpu.levels.iter_mut().enumerate() {
                let ctx = context(k);
                l.predictor = ctx.predictor;
                l.scales = ctx.scales;
            }
            let qs: Vec<Vec<f32>> = cpu
                .levels
                .iter()
                .zip(&noise)
                .map(|(l, e)| l.y.iter().zip(e).map(|(a, b)| a + b).collect())
                .collect();
            let npix = w * h;
            let (mse, grad, mut dq) = distortion_gradients(
                &cpu.sy,
                &cpu.levels,
                &cpu.theta,
                &qs,
                Pixels {
                    width: w,
                    height: h,
                    x0: &cpu.x0,
                    x1: &cpu.x1,
                    targets: &targets,
                },
                &mut cpu.work,
            );
            let scale = (lambda / npix as f64) as f32;
            let mut bits = 0.0;
            for ((l, q), d) in cpu.levels.iter().zip(&qs).zip(&mut dq) {
                rate_gradient(l, q, scale, d);
                let r: Vec<i32> = l.y.iter().map(|v| v.round() as i32).collect();
                for y in 0..l.h {
                    for x in 0..l.w {
                        let nb = latents::neighbours(&r, l.w, x, y);
                        let mu = latents::predict(nb, l.predictor) as f32;
                        let b = l.scales[latents::class_of(nb, l.scales.len())];
                        bits += laplace_bits(q[y * l.w + x] - mu, b).0 as f64;
                    }
                }
            }
            let cpu_loss = mse + lambda * bits / npix as f64;
            // burn's.
            let mut burn = BurnGrid::<CpuTrainBackend>::new(&net, &target, &Default::default());
            let (loss, grads) =
                burn.loss_and_grads(&noise, (0..grids.len()).map(context).collect(), lambda);
            assert!(
                (loss - cpu_loss).abs() < 1e-4 * cpu_loss,
                "synthesis {n}: loss {loss} against {cpu_loss}"
            );
            let specs = net.arch.tensor_specs();
            let (mut offset, mut level) = (0, 0);
            for (s, g) in specs.iter().zip(&grads) {
                let want: &[f32] = if s.latent {
                    level += 1;
                    &dq[level - 1]
                } else {
                    offset += g.len();
                    &grad[offset - g.len()..offset]
                };
                let top = want.iter().fold(0f32, |m, v| m.max(v.abs()));
                for (j, (a, b)) in g.iter().zip(want).enumerate() {
                    assert!(
                        (a - b).abs() <= 2e-3 * top + 1e-7,
                        "synthesis {n}, {}[{j}]: burn {a:e}, cpu {b:e}",
                        s.name
                    );
                }
            }
        }
    }

    /// A short fit on burn's engine learns the image, gives a valid
    /// network with integer latents, and comes within a fraction of a dB
    /// of the CPU engine's fit with the same settings.
    #[test]
    fn burn_engine_fits_as_the_cpu_engine_does() {
        use super::super::autodiff::CpuTrainBackend;
        let (targets, w, h) = kodim23();
        let (w, h) = (w / 2, h / 2);
        let targets: Vec<f32> = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| (0..3).map(move |ch| (y, x, ch))))
            .map(|(y, x, ch)| targets[((2 * y) * 2 * w + 2 * x) * 3 + ch])
            .collect();
        let arch = small_arch(Synthesis::Relu, 4, w, h);
        let target = rgb_target(&targets, w, h);
        let cfg = GridTrainConfig {
            steps: 120,
            lambda: 1e-3,
            refit_every: 10,
            ..GridTrainConfig::default()
        };
        let psnr_of = |net: &Network| decoded_psnr(net, &targets, w, h);
        // Four seeds: one fit's PSNR varies by about half a dB with its
        // noise.
        let (mut burn, mut cpu) = (0.0, 0.0);
        for seed in 0..4 {
            let cfg = GridTrainConfig {
                seed,
                ..cfg.clone()
            };
            let mut reports = Vec::new();
            let (net, _) = super::super::grid_burn::fit_grid_burn::<CpuTrainBackend>(
                crate::model::init_network(&arch, 5),
                &target,
                &cfg,
                &Default::default(),
                &mut |r| reports.push(r.psnr),
            )
            .unwrap();
            assert_eq!(reports.len(), 120);
            let grids = latents::grids_of(&net.arch, &net.tensors).unwrap();
            assert!(grids.iter().any(|(_, _, q)| q.iter().any(|&v| v != 0)));
            let psnr = psnr_of(&net);
            // The last step's PSNR (read, rounded latents) is the decoder's.
            let last = *reports.last().unwrap();
            assert!(
                (psnr - last).abs() < 0.3,
                "decoded {psnr} dB, trained {last} dB"
            );
            assert!(psnr > 24.0, "{psnr} dB after 120 steps");
            burn += psnr / 4.0;
            let (net, _) = fit_grid(
                crate::model::init_network(&arch, 5),
                &target,
                &cfg,
                Device::Cpu,
                &mut |_| {},
            )
            .unwrap();
            cpu += psnr_of(&net) / 4.0;
        }
        // Measured: 35.03 dB and 35.34 dB.
        println!(
            "120 steps on 32x32, mean of 4 seeds: burn's engine {burn:.2} dB, the CPU's {cpu:.2} dB"
        );
        assert!((burn - cpu).abs() < 0.6, "burn {burn} dB, cpu {cpu} dB");
    }

    /// A 3-layer, 12-wide `grid` network of `levels` grids for a `w` × `h`
    /// RGB image.
    fn small_arch(synthesis: Synthesis, levels: usize, w: usize, h: usize) -> crate::model::Arch {
        crate::model::Arch::grid(3, 3, 12, synthesis, levels, w, h)
    }

    fn rgb_target(targets: &[f32], w: usize, h: usize) -> GridTarget<'_> {
        GridTarget {
            width: w,
            height: h,
            channels: 3,
            targets,
            convention: Convention::CellCentre,
        }
    }

    /// The PSNR (dB) of `net` decoded at the `w` × `h` pixels of `targets`.
    fn decoded_psnr(net: &Network, targets: &[f32], w: usize, h: usize) -> f64 {
        let coords = crate::signal::grid::image_coords(w, h, 0, h, Convention::CellCentre);
        let mut out = vec![0f32; targets.len()];
        crate::eval::Evaluator::new(net)
            .unwrap()
            .eval(&coords, &mut out)
            .unwrap();
        let mse: f64 = out
            .iter()
            .zip(targets)
            .map(|(a, b)| ((a.clamp(-1.0, 1.0) - b) as f64 / 2.0).powi(2))
            .sum::<f64>()
            / out.len() as f64;
        -10.0 * mse.log10()
    }

    fn kodim23() -> (Vec<f32>, usize, usize) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/kodim23-64x64.png");
        let img = image::open(path).unwrap().to_rgb8();
        let t = img
            .as_raw()
            .iter()
            .map(|&v| v as f32 / 127.5 - 1.0)
            .collect();
        (t, img.width() as usize, img.height() as usize)
    }

    fn small_fit(threads: usize, lambda: f64, steps: usize) -> Network {
        let (targets, w, h) = kodim23();
        let arch = small_arch(syntheses().remove(0), 5, w, h);
        let target = rgb_target(&targets, w, h);
        let cfg = GridTrainConfig {
            steps,
            lambda,
            ..GridTrainConfig::default()
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            fit_grid(
                crate::model::init_network(&arch, 5),
                &target,
                &cfg,
                Device::Cpu,
                &mut |_| {},
            )
            .unwrap()
            .0
        })
    }

    #[test]
    fn fits_do_not_depend_on_the_thread_count() {
        let (a, b) = (small_fit(1, 1e-3, 30), small_fit(2, 1e-3, 30));
        for (x, y) in a.tensors.iter().zip(&b.tensors) {
            assert_eq!(x.data, y.data, "{}", x.name);
        }
    }

    #[test]
    fn a_fit_learns_the_image_and_lambda_trades_bits_for_quality() {
        let (targets, w, h) = kodim23();
        let psnr_and_bits = |net: &Network| {
            let grids = latents::grids_of(&net.arch, &net.tensors).unwrap();
            (
                decoded_psnr(net, &targets, w, h),
                latents::estimated_bytes(&grids),
            )
        };
        let (cheap, dear) = (small_fit(2, 2e-2, 150), small_fit(2, 2e-4, 150));
        let (pc, bc) = psnr_and_bits(&cheap);
        let (pd, bd) = psnr_and_bits(&dear);
        // Measured: 34.0 dB and 93 bytes of latents at λ = 2e-2, 33.4 dB
        // and 362 bytes at 2e-4 (on this small image the synthesis's own
        // weights carry much of it, and 150 steps do not yet turn the
        // extra bits into quality).
        assert!(pc > 28.0 && pd > 28.0, "{pc} dB at λ 2e-2, {pd} dB at 2e-4");
        assert!(bd > 2.0 * bc, "{bc} bytes at λ 2e-2, {bd} at 2e-4");
    }

    #[test]
    fn laplace_bits_slope_matches_finite_differences() {
        for &b in &[0.1f32, 0.7, 3.0] {
            for &r in &[-2.3f32, -0.6, -0.2, 0.0001, 0.3, 0.49, 0.51, 1.7] {
                let (_, g) = laplace_bits(r, b);
                let e = 1e-3;
                let fd = (laplace_bits(r + e, b).0 - laplace_bits(r - e, b).0) / (2.0 * e);
                assert!(
                    (g - fd).abs() < 2e-2 * (1.0 + fd.abs()),
                    "b {b} r {r}: {g} vs {fd}"
                );
            }
        }
    }
}
