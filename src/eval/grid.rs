//! The fast evaluator of `grid` networks (FORMAT.md §5.9): latent grids
//! interpolated with Catmull-Rom's cubic, then a small synthesis network.
//!
//! Like the SCONE evaluator it works on tiles of points, feature-major
//! (`z[j][p]`), so every loop over points is a straight vector loop; the
//! synthesis is a few dozen units wide, too narrow for `gemm` to pay, so
//! its maps are plain loops over the points with the weights broadcast.
//! [`super::eval_reference`] is its `f64` twin.

use super::fastmath::{has_avx2, madd, sin_k, sin_sq_k};
use crate::model::{Family, Mask, Network, Synthesis};

/// One latent grid: `w` × `h` values, row-major.
#[derive(Clone, Debug)]
struct Level {
    w: usize,
    h: usize,
    data: Vec<f32>,
}

/// A hidden layer with its frequency folded into its weights.
#[derive(Clone, Debug)]
struct Layer {
    /// `[hidden, fan_in]` row-major: ω₀·W (SCONE's mask, SIREN), W (ReLU).
    w: Vec<f32>,
    b: Vec<f32>,
    fan_in: usize,
    /// SCONE only: ωᵢ·Wb `[hidden, 2]` and ωᵢ·bb.
    basis_w: Vec<f32>,
    basis_b: Vec<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Scone(Mask),
    Siren,
    Relu,
}

/// A `grid` network prepared for evaluation.
#[derive(Clone, Debug)]
pub(super) struct GridPlan {
    levels: Vec<Level>,
    kind: Kind,
    layers: Vec<Layer>,
    hidden: usize,
    out_dims: usize,
    /// `[out_dims, hidden]` row-major.
    out_w: Vec<f32>,
    out_b: Vec<f32>,
    avx2: bool,
}

/// Per-thread scratch for one tile.
pub(super) struct GridScratch {
    stride: usize,
    xt: Vec<f32>,
    a: Vec<f32>,
    b: Vec<f32>,
}

impl GridPlan {
    /// Prepares a validated `grid` network; `None` for other families.
    pub(super) fn new(net: &Network) -> Option<Self> {
        let arch = &net.arch;
        let Family::Grid {
            synthesis, levels, ..
        } = &arch.family
        else {
            return None;
        };
        let h = arch.hidden;
        let levels: Vec<Level> = (0..*levels)
            .map(|k| {
                let t = net.tensor(&format!("latent.{k}"));
                Level {
                    w: t.shape[1],
                    h: t.shape[0],
                    data: t.data.clone(),
                }
            })
            .collect();
        let g = levels.len();
        let scaled = |name: String, scale: f32| -> Vec<f32> {
            net.tensor(&name).data.iter().map(|v| v * scale).collect()
        };
        let (kind, layers) = match synthesis {
            Synthesis::Scone {
                omega0,
                omegas,
                mask,
            } => {
                let layers = (0..arch.hidden_layers())
                    .map(|i| {
                        let fan_in = if i == 0 { g } else { h };
                        let mut w = scaled(format!("hidden.{i}.mask.weight"), *omega0);
                        let mut b = scaled(format!("hidden.{i}.mask.bias"), *omega0);
                        if mask.has_scale() {
                            let a = &net.tensor(&format!("hidden.{i}.mask.scale")).data;
                            for j in 0..h {
                                w[j * fan_in..(j + 1) * fan_in]
                                    .iter_mut()
                                    .for_each(|v| *v *= a[j]);
                                b[j] *= a[j];
                            }
                        }
                        Layer {
                            w,
                            b,
                            fan_in,
                            basis_w: scaled(format!("hidden.{i}.basis.weight"), omegas[i]),
                            basis_b: scaled(format!("hidden.{i}.basis.bias"), omegas[i]),
                        }
                    })
                    .collect();
                (Kind::Scone(*mask), layers)
            }
            Synthesis::Siren { .. } | Synthesis::Relu => {
                let (kind, scale) = match synthesis {
                    Synthesis::Siren { omega0 } => (Kind::Siren, *omega0),
                    _ => (Kind::Relu, 1.0),
                };
                let layers = (0..arch.hidden_layers())
                    .map(|i| Layer {
                        w: scaled(format!("hidden.{i}.weight"), scale),
                        b: scaled(format!("hidden.{i}.bias"), scale),
                        fan_in: if i == 0 { g + 2 } else { h },
                        basis_w: Vec::new(),
                        basis_b: Vec::new(),
                    })
                    .collect();
                (kind, layers)
            }
        };
        Some(GridPlan {
            levels,
            kind,
            layers,
            hidden: h,
            out_dims: arch.out_dims,
            out_w: net.tensor("output.weight").data.clone(),
            out_b: net.tensor("output.bias").data.clone(),
            avx2: has_avx2(),
        })
    }

    pub(super) fn scratch(&self, stride: usize) -> GridScratch {
        let rows = self.hidden.max(self.levels.len() + 2).max(self.out_dims);
        GridScratch {
            stride,
            xt: vec![0.0; 2 * stride],
            a: vec![0.0; rows * stride],
            b: vec![0.0; rows * stride],
        }
    }

    /// Evaluates the points of `coords` (pairs) into `out` (rows of
    /// `out_dims`), at most `s.stride` of them.
    pub(super) fn eval_tile(&self, s: &mut GridScratch, coords: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is only set when the CPU has AVX2 and FMA.
            return unsafe { self.eval_tile_avx2(s, coords, out) };
        }
        self.eval_tile_impl::<false>(s, coords, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn eval_tile_avx2(&self, s: &mut GridScratch, coords: &[f32], out: &mut [f32]) {
        self.eval_tile_impl::<true>(s, coords, out)
    }

    #[inline(always)]
    fn eval_tile_impl<const FMA: bool>(
        &self,
        s: &mut GridScratch,
        coords: &[f32],
        out: &mut [f32],
    ) {
        let ts = s.stride;
        let nt = coords.len() / 2;
        let (h, od, g) = (self.hidden, self.out_dims, self.levels.len());
        assert!(nt <= ts && out.len() == nt * od);
        let (x0, x1) = s.xt.split_at_mut(ts);
        for (p, x) in coords.chunks_exact(2).enumerate() {
            x0[p] = x[0];
            x1[p] = x[1];
        }
        let (x0, x1) = (&x0[..nt], &x1[..nt]);
        let (mut z, mut u) = (&mut s.a, &mut s.b);
        for (level, row) in self.levels.iter().zip(z.chunks_exact_mut(ts)) {
            interpolate::<FMA>(level, x0, x1, &mut row[..nt]);
        }
        if !matches!(self.kind, Kind::Scone(_)) {
            z[g * ts..g * ts + nt].copy_from_slice(x0);
            z[(g + 1) * ts..(g + 1) * ts + nt].copy_from_slice(x1);
        }
        for layer in &self.layers {
            for (j, row) in u.chunks_exact_mut(ts).take(h).enumerate() {
                let row = &mut row[..nt];
                row.fill(layer.b[j]);
                for k in 0..layer.fan_in {
                    let wk = layer.w[j * layer.fan_in + k];
                    for (r, &zk) in row.iter_mut().zip(&z[k * ts..k * ts + nt]) {
                        *r = madd::<FMA>(wk, zk, *r);
                    }
                }
                match self.kind {
                    Kind::Scone(mask) => {
                        let (b0, b1, bb) = (
                            layer.basis_w[2 * j],
                            layer.basis_w[2 * j + 1],
                            layer.basis_b[j],
                        );
                        for ((r, &a), &b) in row.iter_mut().zip(x0).zip(x1) {
                            let v = madd::<FMA>(b0, a, madd::<FMA>(b1, b, bb));
                            let m = match mask {
                                Mask::Sin2 => sin_sq_k::<FMA>(*r),
                                other => other.eval(*r as f64) as f32,
                            };
                            *r = m * sin_k::<FMA>(v);
                        }
                    }
                    Kind::Siren => row.iter_mut().for_each(|r| *r = sin_k::<FMA>(*r)),
                    Kind::Relu => row.iter_mut().for_each(|r| *r = r.max(0.0)),
                }
            }
            std::mem::swap(&mut z, &mut u);
        }
        // The outputs, feature-major in u, then interleaved into rows.
        for (c, row) in u.chunks_exact_mut(ts).take(od).enumerate() {
            let row = &mut row[..nt];
            row.fill(self.out_b[c]);
            for j in 0..h {
                let wj = self.out_w[c * h + j];
                for (r, &zj) in row.iter_mut().zip(&z[j * ts..j * ts + nt]) {
                    *r = madd::<FMA>(wj, zj, *r);
                }
            }
        }
        for c in 0..od {
            for (p, &v) in u[c * ts..c * ts + nt].iter().enumerate() {
                out[p * od + c] = v;
            }
        }
    }
}

/// Catmull-Rom weights in `f32` (see [`super::reference::catmull_rom`]).
#[inline(always)]
pub(crate) fn catmull_rom_f32(t: f32) -> [f32; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

/// The taps of one axis: the four clamped sample indices and their
/// weights at grid position `u` (samples at cell centres, FORMAT.md §5.9).
#[inline(always)]
pub(crate) fn taps(u: f32, n: usize) -> ([usize; 4], [f32; 4]) {
    let f = u.floor();
    let w = catmull_rom_f32(u - f);
    let last = n as i64 - 1;
    let i = f as i64;
    let idx = std::array::from_fn(|a| (i + a as i64 - 1).clamp(0, last) as usize);
    (idx, w)
}

/// Grid `level` interpolated at the points (x0, x1) into `out`.
#[inline(always)]
fn interpolate<const FMA: bool>(level: &Level, x0: &[f32], x1: &[f32], out: &mut [f32]) {
    let (w, h) = (level.w, level.h);
    let (sw, sh) = (0.5 * w as f32, 0.5 * h as f32);
    for ((o, &a), &b) in out.iter_mut().zip(x0).zip(x1) {
        let (ix, wx) = taps(madd::<FMA>(a + 1.0, sw, -0.5), w);
        let (iy, wy) = taps(madd::<FMA>(b + 1.0, sh, -0.5), h);
        let mut acc = 0.0;
        for (&r, &wr) in iy.iter().zip(&wy) {
            let row = &level.data[r * w..r * w + w];
            let v =
                wx[0] * row[ix[0]] + wx[1] * row[ix[1]] + wx[2] * row[ix[2]] + wx[3] * row[ix[3]];
            acc = madd::<FMA>(wr, v, acc);
        }
        *o = acc;
    }
}
