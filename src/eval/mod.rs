//! Evaluating a network at arbitrary coordinates, in pure Rust.
//!
//! [`Evaluator`] is the fast `f32` decoder; [`eval_reference`] is its slow
//! `f64` twin, used for conformance vectors and to test the fast one.
//!
//! # How the evaluator is organised
//!
//! Points are cut into tiles of [`TILE_POINTS`] rows. Each tile runs the
//! whole network on its own, on one thread, with per-thread scratch, so
//! the activations of a tile (`hidden × TILE_POINTS` floats, two buffers)
//! stay in the L2 cache between layers and memory use does not grow with
//! the number of points. Within a tile activations are stored feature-major
//! (`z[j][p]`: all points of hidden unit j are contiguous), which makes
//! the element-wise work (biases, the d ≤ 3 basis maps, the sines) a
//! straight vector loop over points with per-unit scalars broadcast, and
//! gives the h × h mask maps to `gemm` as column-major matrices whose long
//! dimension is the one its micro-kernel vectorises.
//!
//! Tiles are fixed by position, not by thread count, and each is computed
//! the same way, so the result does not depend on how many threads run.

mod baseline;
pub mod fastmath;
pub(crate) mod grid;
pub mod reference;

pub use reference::eval_reference;

use crate::model::{Arch, Family, Mask, Network};
use crate::{Error, Misuse};
use fastmath::{madd, sin_k, sin_sq_k};
use gemm::Parallelism;
use rayon::prelude::*;

/// Points per tile. Two activation buffers of 250 × 128 floats (250 KiB)
/// plus the 250 KiB of mask weights about fill the 512 KiB L2 cache of a
/// Zen 3 core; on such a machine tiles of 64 to 512 points all measured
/// within a few percent of each other, and smaller tiles pay more
/// per-tile packing overhead inside gemm.
pub const TILE_POINTS: usize = 128;

/// One hidden layer with the frequencies folded in: the mask map holds
/// ω₀·W and ω₀·b, the basis map ωᵢ·B and ωᵢ·c, so that evaluation takes
/// the sine of the affine map directly.
#[derive(Clone, Debug)]
struct Hidden {
    /// `[hidden, in]` row-major, `in` = in_dims for the first layer and
    /// hidden after it. As a gemm right-hand side (`in × hidden`) this is
    /// column-major with unit row stride, which gemm reads in place
    /// instead of repacking it for every tile.
    mask_w: Vec<f32>,
    mask_b: Vec<f32>,
    /// `[hidden, in_dims]` row-major.
    basis_w: Vec<f32>,
    basis_b: Vec<f32>,
}

/// Evaluates a network at many points: [`Evaluator`] on the CPU, or an
/// engine on another device (`scone::cuda`, feature `cuda`). Signal
/// rendering, surface extraction and [`crate::Decoder`] take any of them.
pub trait Evaluate: Send + Sync {
    /// The architecture being evaluated.
    fn arch(&self) -> &Arch;
    /// Evaluates n points: `coords` is n × in_dims and `out` n × out_dims,
    /// both row-major. Fails with [`Misuse::BufferLength`] when the lengths
    /// do not say the same n ([`point_count`]), and on another device with
    /// [`Error::Device`] when it fails.
    fn eval(&self, coords: &[f32], out: &mut [f32]) -> Result<(), Error>;
}

impl Evaluate for Evaluator {
    fn arch(&self) -> &Arch {
        Evaluator::arch(self)
    }
    fn eval(&self, coords: &[f32], out: &mut [f32]) -> Result<(), Error> {
        Evaluator::eval(self, coords, out)
    }
}

/// The number n of points in `coords` (n × in_dims values) after checking
/// that `out` holds n × out_dims values; what every [`Evaluate::eval`]
/// checks first.
pub fn point_count(arch: &Arch, coords: &[f32], out: &[f32]) -> Result<usize, Error> {
    let (d, od) = (arch.in_dims, arch.out_dims);
    if !coords.len().is_multiple_of(d) {
        return Err(Error::misuse(
            Misuse::BufferLength {
                needed: coords.len().next_multiple_of(d),
                given: coords.len(),
            },
            format!(
                "{} coordinate values do not split into points of {d}",
                coords.len()
            ),
        ));
    }
    let n = coords.len() / d;
    if out.len() != n * od {
        return Err(Error::misuse(
            Misuse::BufferLength {
                needed: n * od,
                given: out.len(),
            },
            format!(
                "{n} points need {} output values, not {}",
                n * od,
                out.len()
            ),
        ));
    }
    Ok(n)
}

/// A network prepared for fast evaluation: frequencies folded into the
/// weights, weights laid out for `gemm`.
#[derive(Clone, Debug)]
pub struct Evaluator {
    arch: Arch,
    /// The other families' evaluator; `None` for SCONE.
    plan: Option<baseline::Plan>,
    /// The `grid` evaluator.
    grid: Option<grid::GridPlan>,
    /// Activation rows per scratch buffer.
    width: usize,
    hidden: Vec<Hidden>,
    /// `[out_dims, hidden]` row-major.
    out_w: Vec<f32>,
    out_b: Vec<f32>,
    /// Whether to run the AVX2 builds of the element-wise kernels.
    avx2: bool,
}

/// Per-thread scratch for one tile of up to `stride` points.
struct Scratch {
    stride: usize,
    /// Coordinates transposed to `[in_dims][stride]`.
    xt: Vec<f32>,
    /// Two `[width][stride]` activation buffers, used in turn, and a
    /// third for the baselines' side computations.
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

impl Scratch {
    /// Copies n points of `d` coordinates into `xt`, feature-major;
    /// returns n.
    fn transpose(&mut self, coords: &[f32], d: usize) -> usize {
        let ts = self.stride;
        for (p, x) in coords.chunks_exact(d).enumerate() {
            for (k, &v) in x.iter().enumerate() {
                self.xt[k * ts + p] = v;
            }
        }
        coords.len() / d
    }

    fn new(arch: &Arch, width: usize, stride: usize) -> Self {
        let third = if matches!(arch.family, Family::Scone { .. }) {
            0
        } else {
            width
        };
        Self {
            stride,
            xt: vec![0.0; arch.in_dims * stride],
            a: vec![0.0; width * stride],
            b: vec![0.0; width * stride],
            c: vec![0.0; third * stride],
        }
    }
}

impl Evaluator {
    /// Prepares `net` for evaluation. Fails with [`Error::Format`] when
    /// the network breaks the rules [`Network::validate`] checks (as a
    /// network built by hand may).
    pub fn new(net: &Network) -> Result<Evaluator, Error> {
        net.validate()?;
        let arch = net.arch.clone();
        let (d, h) = (arch.in_dims, arch.hidden);
        let width = baseline::scratch_width(&arch.family, h);
        let avx2 = fastmath::has_avx2();
        let Family::Scone {
            omega0,
            omegas,
            mask,
        } = arch.family.clone()
        else {
            return Ok(Evaluator {
                grid: grid::GridPlan::new(net),
                plan: baseline::Plan::new(net),
                width,
                hidden: Vec::new(),
                out_w: Vec::new(),
                out_b: Vec::new(),
                arch,
                avx2,
            });
        };
        let scaled = |name: String, len: usize, scale: f32| -> Vec<f32> {
            let t = net.tensor(&name);
            assert_eq!(t.data.len(), len, "tensor `{name}` has the wrong length");
            t.data.iter().map(|v| v * scale).collect()
        };
        let hidden = (0..arch.hidden_layers())
            .map(|i| {
                let mask_in = if i == 0 { d } else { h };
                let mut mask_w = scaled(format!("hidden.{i}.mask.weight"), h * mask_in, omega0);
                let mut mask_b = scaled(format!("hidden.{i}.mask.bias"), h, omega0);
                if mask.has_scale() {
                    // σ(a ⊙ ω₀(W z + b)): fold a into each unit's row.
                    let a = &net.tensor(&format!("hidden.{i}.mask.scale")).data;
                    for j in 0..h {
                        mask_w[j * mask_in..(j + 1) * mask_in]
                            .iter_mut()
                            .for_each(|w| *w *= a[j]);
                        mask_b[j] *= a[j];
                    }
                }
                Hidden {
                    mask_w,
                    mask_b,
                    basis_w: scaled(format!("hidden.{i}.basis.weight"), h * d, omegas[i]),
                    basis_b: scaled(format!("hidden.{i}.basis.bias"), h, omegas[i]),
                }
            })
            .collect();
        let out_w = scaled("output.weight".into(), arch.out_dims * h, 1.0);
        let out_b = scaled("output.bias".into(), arch.out_dims, 1.0);
        Ok(Evaluator {
            arch,
            plan: None,
            grid: None,
            width,
            hidden,
            out_w,
            out_b,
            avx2,
        })
    }

    /// The architecture being evaluated.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// Multiply-accumulates per evaluated point (all linear maps).
    pub fn macs_per_point(&self) -> usize {
        self.arch.macs_per_point()
    }

    /// Evaluates the network at n points: `coords` is n × in_dims and
    /// `out` n × out_dims, both row-major (checked: [`point_count`]). Uses
    /// the current rayon thread pool for more than one tile; allocates only
    /// per-thread scratch of a few hundred KiB, whatever n.
    pub fn eval(&self, coords: &[f32], out: &mut [f32]) -> Result<(), Error> {
        self.eval_tiled(coords, out, TILE_POINTS)
    }

    /// Evaluates one point of in_dims coordinates.
    pub fn eval_point(&self, x: &[f32]) -> Result<Vec<f32>, Error> {
        if x.len() != self.arch.in_dims {
            return Err(Error::misuse(
                Misuse::BufferLength {
                    needed: self.arch.in_dims,
                    given: x.len(),
                },
                format!("a point needs {} coordinates", self.arch.in_dims),
            ));
        }
        let mut out = vec![0.0; self.arch.out_dims];
        self.eval(x, &mut out)?;
        Ok(out)
    }

    fn eval_tiled(&self, coords: &[f32], out: &mut [f32], tile: usize) -> Result<(), Error> {
        let (d, od) = (self.arch.in_dims, self.arch.out_dims);
        let n = point_count(&self.arch, coords, out)?;
        if n == 0 {
            return Ok(());
        }
        if let Some(g) = &self.grid {
            if n <= tile {
                g.eval_tile(&mut g.scratch(n), coords, out);
                return Ok(());
            }
            coords
                .par_chunks(tile * d)
                .zip(out.par_chunks_mut(tile * od))
                .for_each_init(|| g.scratch(tile), |s, (c, o)| g.eval_tile(s, c, o));
            return Ok(());
        }
        if n <= tile {
            // One tile: skip the thread pool, and size scratch to the request
            // so that single points stay cheap.
            self.eval_tile(&mut Scratch::new(&self.arch, self.width, n), coords, out);
            return Ok(());
        }
        coords
            .par_chunks(tile * d)
            .zip(out.par_chunks_mut(tile * od))
            .for_each_init(
                || Scratch::new(&self.arch, self.width, tile),
                |scratch, (c, o)| self.eval_tile(scratch, c, o),
            );
        Ok(())
    }

    /// Runs the network on one tile of at most `scratch.stride` points.
    fn eval_tile(&self, s: &mut Scratch, coords: &[f32], out: &mut [f32]) {
        if let Some(plan) = &self.plan {
            let d = self.arch.in_dims;
            let (ts, nt) = (s.stride, s.transpose(coords, d));
            plan.eval_tile(&s.xt, d, &mut s.a, &mut s.b, &mut s.c, out, nt, ts);
            return;
        }
        match self.arch.in_dims {
            1 => self.eval_tile_d::<1>(s, coords, out),
            2 => self.eval_tile_d::<2>(s, coords, out),
            3 => self.eval_tile_d::<3>(s, coords, out),
            d => unreachable!("validated input dimension {d}"),
        }
    }

    fn eval_tile_d<const D: usize>(&self, s: &mut Scratch, coords: &[f32], out: &mut [f32]) {
        let (h, od) = (self.arch.hidden, self.arch.out_dims);
        let ts = s.stride;
        let nt = coords.len() / D;
        // The gemm calls below rely on these bounds.
        assert!(nt <= ts && coords.len() == nt * D && out.len() == nt * od);

        s.transpose(coords, D);
        let xs: [&[f32]; D] = std::array::from_fn(|k| &s.xt[k * ts..k * ts + nt]);

        let mask = self.arch.mask().expect("the SCONE path evaluates SCONEs");
        let (mut z, mut u) = (&mut s.a, &mut s.b);
        elementwise::<D, true>(self.avx2, mask, &self.hidden[0], xs, z, ts);
        for layer in &self.hidden[1..] {
            // u = z · (ω₀W)ᵀ, as [nt × h] = [nt × h] · [h × h], all
            // column-major with leading dimension ts.
            // SAFETY: every operand lies within its buffer: z and u hold
            // h columns of ts ≥ nt floats, mask_w is h × h.
            unsafe {
                gemm::gemm(
                    nt,
                    h,
                    h,
                    u.as_mut_ptr(),
                    ts as isize,
                    1,
                    false,
                    z.as_ptr(),
                    ts as isize,
                    1,
                    layer.mask_w.as_ptr(),
                    h as isize,
                    1,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
            elementwise::<D, false>(self.avx2, mask, layer, xs, u, ts);
            std::mem::swap(&mut z, &mut u);
        }

        // out = b + z · Wᵀ, written straight into the caller's row-major
        // rows: gemm adds the product to the biases already there.
        for row in out.chunks_exact_mut(od) {
            row.copy_from_slice(&self.out_b);
        }
        // SAFETY: out is nt × od row-major, z holds h columns of ts ≥ nt
        // floats, out_w is od × h.
        unsafe {
            gemm::gemm(
                nt,
                od,
                h,
                out.as_mut_ptr(),
                1,
                od as isize,
                true,
                z.as_ptr(),
                ts as isize,
                1,
                self.out_w.as_ptr(),
                h as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                Parallelism::None,
            );
        }
    }
}

/// The element-wise part of a hidden layer over one tile, on the widest
/// SIMD available. With `FIRST` the mask's affine map is computed here from
/// the coordinates and `z` is written; otherwise `z` holds the mask map's
/// matrix product, and the bias and activation are applied in place.
#[inline]
fn elementwise<const D: usize, const FIRST: bool>(
    avx2: bool,
    mask: Mask,
    layer: &Hidden,
    xs: [&[f32]; D],
    z: &mut [f32],
    ts: usize,
) {
    if mask != Mask::Sin2 {
        return elementwise_other_mask::<D, FIRST>(mask, layer, xs, z, ts);
    }
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is only set when the CPU has AVX2 and FMA.
        return unsafe { elementwise_avx2::<D, FIRST>(layer, xs, z, ts) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = avx2;
    elementwise_impl::<D, FIRST, false>(layer, xs, z, ts)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn elementwise_avx2<const D: usize, const FIRST: bool>(
    layer: &Hidden,
    xs: [&[f32]; D],
    z: &mut [f32],
    ts: usize,
) {
    elementwise_impl::<D, FIRST, true>(layer, xs, z, ts)
}

#[inline(always)]
fn elementwise_impl<const D: usize, const FIRST: bool, const FMA: bool>(
    layer: &Hidden,
    xs: [&[f32]; D],
    z: &mut [f32],
    ts: usize,
) {
    let nt = xs[0].len();
    for (j, row) in z.chunks_exact_mut(ts).enumerate() {
        let bm = layer.mask_b[j];
        let wm: [f32; D] =
            std::array::from_fn(|k| if FIRST { layer.mask_w[j * D + k] } else { 0.0 });
        let cb = layer.basis_b[j];
        let wb: [f32; D] = std::array::from_fn(|k| layer.basis_w[j * D + k]);
        for_each_point(&mut row[..nt], xs, |zp, x| {
            let mut u = if FIRST { bm } else { *zp + bm };
            let mut v = cb;
            for k in 0..D {
                if FIRST {
                    u = madd::<FMA>(wm[k], x[k], u);
                }
                v = madd::<FMA>(wb[k], x[k], v);
            }
            *zp = sin_sq_k::<FMA>(u) * sin_k::<FMA>(v);
        });
    }
}

/// [`elementwise`] for the masks other than sin², with the standard
/// library's `exp` and `tanh`: the paper's ablations, not the codec's
/// default.
fn elementwise_other_mask<const D: usize, const FIRST: bool>(
    mask: Mask,
    layer: &Hidden,
    xs: [&[f32]; D],
    z: &mut [f32],
    ts: usize,
) {
    let nt = xs[0].len();
    let sigma = |u: f32| match mask {
        Mask::Sin2 => sin_sq_k::<false>(u),
        Mask::Sigmoid | Mask::SigmoidL => 1.0 / (1.0 + (-u).exp()),
        Mask::NTanh | Mask::NTanhL => (u.tanh() + 1.0) * 0.5,
        Mask::ExpSq => (-u * u).exp(),
    };
    for (j, row) in z.chunks_exact_mut(ts).enumerate() {
        let bm = layer.mask_b[j];
        let wm: [f32; D] =
            std::array::from_fn(|k| if FIRST { layer.mask_w[j * D + k] } else { 0.0 });
        let cb = layer.basis_b[j];
        let wb: [f32; D] = std::array::from_fn(|k| layer.basis_w[j * D + k]);
        for_each_point(&mut row[..nt], xs, |zp, x| {
            let mut u = if FIRST { bm } else { *zp + bm };
            let mut v = cb;
            for k in 0..D {
                if FIRST {
                    u += wm[k] * x[k];
                }
                v += wb[k] * x[k];
            }
            *zp = sigma(u) * sin_k::<false>(v);
        });
    }
}

/// Calls `f(z[p], [x₀[p], …])` for every point p, through zipped
/// iterators: indexing `xs[k][p]` would leave bounds checks in the loop,
/// and the compiler would then run the last vector's worth of points as
/// scalar code.
#[inline(always)]
fn for_each_point<const D: usize>(
    z: &mut [f32],
    xs: [&[f32]; D],
    mut f: impl FnMut(&mut f32, [f32; D]),
) {
    // Plain `for` loops rather than `for_each`: the latter goes through
    // `Zip::fold`, which the compiler may leave out of line, and then
    // builds without the caller's target features.
    let pick = |v: [f32; 3]| -> [f32; D] { std::array::from_fn(|k| v[k]) };
    match D {
        1 => {
            for (zp, &a) in z.iter_mut().zip(xs[0]) {
                f(zp, pick([a, 0.0, 0.0]));
            }
        }
        2 => {
            for ((zp, &a), &b) in z.iter_mut().zip(xs[0]).zip(xs[1]) {
                f(zp, pick([a, b, 0.0]));
            }
        }
        3 => {
            for (((zp, &a), &b), &c) in z.iter_mut().zip(xs[0]).zip(xs[1]).zip(xs[2]) {
                f(zp, pick([a, b, c]));
            }
        }
        _ => unreachable!("at most 3 input dimensions"),
    }
}

#[cfg(test)]
mod tests;
