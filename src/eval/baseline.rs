//! Fast evaluation of the families other than SCONE (FORMAT.md §5.3–§5.7).
//!
//! The layout follows the SCONE evaluator's: a tile of points runs the
//! whole network on one thread, activations feature-major (`z[j][p]`), the
//! matrix products through single-threaded `gemm`, frequencies folded into
//! the weights when the network is prepared. The element-wise work uses the
//! crate's vectorisable sine where sines dominate (SIREN, rbm) and the
//! standard library's `cos`, `exp` and `tanh` elsewhere; these networks are
//! the paper's baselines, evaluated for comparison rather than shipped.

use super::fastmath::sin_f32;
use crate::model::{Family, Network};
use gemm::Parallelism;

/// A linear map `W · v + b` with `W` `[rows, cols]` row-major.
#[derive(Clone, Debug)]
pub(super) struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    rows: usize,
    cols: usize,
}

impl Dense {
    /// The map `prefix` of `net`, weights and bias multiplied by `scale`.
    fn of(net: &Network, prefix: &str, scale: f32) -> Self {
        let w = net.tensor(&format!("{prefix}.weight"));
        let b = net.tensor(&format!("{prefix}.bias"));
        Self {
            w: w.data.iter().map(|v| v * scale).collect(),
            b: b.data.iter().map(|v| v * scale).collect(),
            rows: w.shape[0],
            cols: w.shape[1],
        }
    }

    /// `dst[r][p] = b[r] + Σ_c W[r][c] · src[c][p]` for `nt` points,
    /// feature-major with row stride `ts` on both sides.
    fn apply(&self, src: &[f32], dst: &mut [f32], nt: usize, ts: usize) {
        assert!(dst.len() >= self.rows * ts);
        for (r, row) in dst.chunks_exact_mut(ts).take(self.rows).enumerate() {
            row[..nt].fill(self.b[r]);
        }
        self.add_product(src, dst, (ts, 1), nt, ts);
    }

    /// `out[p][r] = b[r] + Σ_c W[r][c] · src[c][p]`, `out` row-major
    /// `[nt, rows]`.
    fn apply_rows(&self, src: &[f32], out: &mut [f32], nt: usize, ts: usize) {
        assert!(out.len() == nt * self.rows);
        for row in out.chunks_exact_mut(self.rows) {
            row.copy_from_slice(&self.b);
        }
        self.add_product(src, out, (1, self.rows), nt, ts);
    }

    /// `dst += src · Wᵀ` for `nt` points, `src` feature-major with row
    /// stride `ts`; element (p, r) of `dst` is at `p · strides.1 + r ·
    /// strides.0`, within `dst` (checked).
    fn add_product(
        &self,
        src: &[f32],
        dst: &mut [f32],
        (col_stride, row_stride): (usize, usize),
        nt: usize,
        ts: usize,
    ) {
        assert!(src.len() >= self.cols * ts && nt <= ts);
        if nt == 0 {
            return;
        }
        let last = (nt - 1) * row_stride + (self.rows - 1) * col_stride;
        assert!(last < dst.len());
        // SAFETY: every element gemm touches lies within dst (checked
        // above) and within src, which holds `cols` columns of ts ≥ nt
        // floats; w is rows × cols, read as the cols × rows column-major
        // matrix Wᵀ.
        unsafe {
            gemm::gemm(
                nt,
                self.rows,
                self.cols,
                dst.as_mut_ptr(),
                col_stride as isize,
                row_stride as isize,
                true,
                src.as_ptr(),
                ts as isize,
                1,
                self.w.as_ptr(),
                self.cols as isize,
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

/// A baseline network prepared for evaluation.
#[derive(Clone, Debug)]
pub(super) enum Plan {
    /// `z ← sin(W z + b)` with ω₀ folded in.
    Siren { layers: Vec<Dense>, out: Dense },
    /// SIREN layers gated by `step(sin(P x + q))`, ω_r folded into P, q.
    Rbm {
        layers: Vec<Dense>,
        masks: Vec<Dense>,
        out: Dense,
    },
    /// `[cos, sin](B x)` with 2π folded into B, then ReLU layers.
    Ffn {
        encoding: Dense,
        layers: Vec<Dense>,
        out: Dense,
    },
    /// Gabor filters and multiplicative layers.
    Mfn {
        filters: Vec<Dense>,
        mu: Vec<Vec<f32>>,
        gamma: Vec<Vec<f32>>,
        layers: Vec<Dense>,
        out: Dense,
    },
    /// Complex layers as real maps of `[re; im]`: `[[Wr, −Wi], [Wi, Wr]]`.
    Wire {
        first: Dense,
        layers: Vec<Dense>,
        out: Dense,
        omega0: f32,
        s0: f32,
    },
}

/// Activation rows a tile needs in each of its three buffers.
pub(super) fn scratch_width(net_family: &Family, hidden: usize) -> usize {
    match net_family {
        Family::Wire { .. } => 2 * hidden,
        Family::Ffn { frequencies, .. } => hidden.max(2 * frequencies),
        _ => hidden,
    }
}

impl Plan {
    /// Prepares `net`; `None` for SCONE, which has its own evaluator.
    pub(super) fn new(net: &Network) -> Option<Self> {
        let arch = &net.arch;
        let n = arch.hidden_layers();
        let dense = |prefix: String, scale: f32| Dense::of(net, &prefix, scale);
        Some(match &arch.family {
            Family::Scone { .. } | Family::Grid { .. } => return None,
            Family::Siren { omega0 } => Plan::Siren {
                layers: (0..n)
                    .map(|i| dense(format!("hidden.{i}"), *omega0))
                    .collect(),
                out: dense("output".into(), 1.0),
            },
            Family::Rbm { omega0, mask_omega } => Plan::Rbm {
                layers: (0..n)
                    .map(|i| dense(format!("hidden.{i}"), *omega0))
                    .collect(),
                masks: (0..n)
                    .map(|i| dense(format!("hidden.{i}.mask"), *mask_omega))
                    .collect(),
                out: dense("output".into(), 1.0),
            },
            Family::Ffn { frequencies, .. } => {
                let b = net.tensor("encoding.weight");
                let two_pi = 2.0 * std::f32::consts::PI;
                Plan::Ffn {
                    encoding: Dense {
                        w: b.data.iter().map(|v| v * two_pi).collect(),
                        b: vec![0.0; *frequencies],
                        rows: *frequencies,
                        cols: arch.in_dims,
                    },
                    layers: (0..n).map(|i| dense(format!("hidden.{i}"), 1.0)).collect(),
                    out: dense("output".into(), 1.0),
                }
            }
            Family::Mfn { .. } => Plan::Mfn {
                filters: (0..n).map(|i| dense(format!("filter.{i}"), 1.0)).collect(),
                mu: (0..n)
                    .map(|i| net.tensor(&format!("filter.{i}.mu")).data.clone())
                    .collect(),
                gamma: (0..n)
                    .map(|i| net.tensor(&format!("filter.{i}.gamma")).data.clone())
                    .collect(),
                layers: (0..n - 1)
                    .map(|i| dense(format!("hidden.{i}"), 1.0))
                    .collect(),
                out: dense("output".into(), 1.0),
            },
            Family::Wire { omega0, s0 } => {
                let h = arch.hidden;
                let complex = |prefix: String, bias: Vec<f32>| {
                    let wr = &net.tensor(&format!("{prefix}.weight.re")).data;
                    let wi = &net.tensor(&format!("{prefix}.weight.im")).data;
                    let rows = wr.len() / h;
                    let real_only = bias.len() == rows;
                    let out_rows = if real_only { rows } else { 2 * rows };
                    let mut w = vec![0.0; out_rows * 2 * h];
                    for r in 0..out_rows {
                        let (src, imag_row) = (r % rows, r >= rows);
                        for c in 0..h {
                            let (a, b) = (wr[src * h + c], wi[src * h + c]);
                            // Re row: [Wr, −Wi]; Im row: [Wi, Wr].
                            let (re_part, im_part) = if imag_row { (b, a) } else { (a, -b) };
                            w[r * 2 * h + c] = re_part;
                            w[r * 2 * h + h + c] = im_part;
                        }
                    }
                    Dense {
                        w,
                        b: bias,
                        rows: out_rows,
                        cols: 2 * h,
                    }
                };
                Plan::Wire {
                    first: dense("hidden.0".into(), 1.0),
                    layers: (1..n)
                        .map(|i| {
                            let mut bias = net.tensor(&format!("hidden.{i}.bias.re")).data.clone();
                            bias.extend(&net.tensor(&format!("hidden.{i}.bias.im")).data);
                            complex(format!("hidden.{i}"), bias)
                        })
                        .collect(),
                    out: complex("output".into(), net.tensor("output.bias").data.clone()),
                    omega0: *omega0,
                    s0: *s0,
                }
            }
        })
    }

    /// Runs the network on one tile of `nt` points: `xt` holds the
    /// coordinates feature-major (`[d][ts]`), `a`, `b` and `c` are scratch of
    /// [`scratch_width`] rows of `ts`, `out` is `[nt, out_dims]` row-major.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn eval_tile(
        &self,
        xt: &[f32],
        d: usize,
        a: &mut [f32],
        b: &mut [f32],
        c: &mut [f32],
        out: &mut [f32],
        nt: usize,
        ts: usize,
    ) {
        match self {
            Plan::Siren { layers, out: o } => {
                let mut src: &mut [f32] = a;
                let mut dst: &mut [f32] = b;
                layers[0].apply(xt, src, nt, ts);
                sine_rows(rows_of(src, layers[0].rows, nt, ts));
                for l in &layers[1..] {
                    l.apply(src, dst, nt, ts);
                    sine_rows(rows_of(dst, l.rows, nt, ts));
                    std::mem::swap(&mut src, &mut dst);
                }
                o.apply_rows(src, out, nt, ts);
            }
            Plan::Rbm {
                layers,
                masks,
                out: o,
            } => {
                let mut src: &mut [f32] = a;
                let mut dst: &mut [f32] = b;
                for (i, (l, m)) in layers.iter().zip(masks).enumerate() {
                    let input: &[f32] = if i == 0 { xt } else { src };
                    l.apply(input, dst, nt, ts);
                    m.apply(xt, c, nt, ts);
                    for (zr, mr) in rows_of(dst, l.rows, nt, ts)
                        .into_iter()
                        .zip(rows_of(c, m.rows, nt, ts))
                    {
                        for (z, &p) in zr.iter_mut().zip(mr.iter()) {
                            let gate = if sin_f32(p) > 0.0 { 1.0 } else { 0.0 };
                            *z = gate * sin_f32(*z);
                        }
                    }
                    std::mem::swap(&mut src, &mut dst);
                }
                o.apply_rows(src, out, nt, ts);
            }
            Plan::Ffn {
                encoding,
                layers,
                out: o,
            } => {
                let m = encoding.rows;
                encoding.apply(xt, c, nt, ts);
                for k in 0..m {
                    for p in 0..nt {
                        let phase = c[k * ts + p];
                        a[k * ts + p] = phase.cos();
                        a[(m + k) * ts + p] = phase.sin();
                    }
                }
                let mut src: &mut [f32] = a;
                let mut dst: &mut [f32] = b;
                for l in layers {
                    l.apply(src, dst, nt, ts);
                    for row in rows_of(dst, l.rows, nt, ts) {
                        for v in row.iter_mut() {
                            *v = v.max(0.0);
                        }
                    }
                    std::mem::swap(&mut src, &mut dst);
                }
                o.apply_rows(src, out, nt, ts);
            }
            Plan::Mfn {
                filters,
                mu,
                gamma,
                layers,
                out: o,
            } => {
                let filter = |i: usize, dst: &mut [f32]| {
                    filters[i].apply(xt, dst, nt, ts);
                    for (j, row) in dst.chunks_exact_mut(ts).take(filters[i].rows).enumerate() {
                        for (p, v) in row[..nt].iter_mut().enumerate() {
                            let mut dist2 = 0.0f32;
                            for k in 0..d {
                                let t = xt[k * ts + p] - mu[i][j * d + k];
                                dist2 += t * t;
                            }
                            *v = v.sin() * (-0.5 * gamma[i][j] * dist2).exp();
                        }
                    }
                };
                let mut src: &mut [f32] = a;
                let mut dst: &mut [f32] = b;
                filter(0, src);
                for (i, l) in layers.iter().enumerate() {
                    l.apply(src, dst, nt, ts);
                    filter(i + 1, c);
                    for (zr, fr) in rows_of(dst, l.rows, nt, ts)
                        .into_iter()
                        .zip(rows_of(c, l.rows, nt, ts))
                    {
                        for (z, f) in zr.iter_mut().zip(fr.iter()) {
                            *z *= f;
                        }
                    }
                    std::mem::swap(&mut src, &mut dst);
                }
                o.apply_rows(src, out, nt, ts);
            }
            Plan::Wire {
                first,
                layers,
                out: o,
                omega0,
                s0,
            } => {
                let h = first.rows;
                let (w0, s2) = (*omega0, s0 * s0);
                first.apply(xt, c, nt, ts);
                for j in 0..h {
                    for p in 0..nt {
                        let v = c[j * ts + p];
                        let amp = (-s2 * v * v).exp();
                        let (s, co) = (w0 * v).sin_cos();
                        a[j * ts + p] = amp * co;
                        a[(h + j) * ts + p] = amp * s;
                    }
                }
                let mut src: &mut [f32] = a;
                let mut dst: &mut [f32] = b;
                for l in layers {
                    l.apply(src, dst, nt, ts);
                    for j in 0..h {
                        for p in 0..nt {
                            let (re, im) = (dst[j * ts + p], dst[(h + j) * ts + p]);
                            let amp = (-w0 * im - s2 * (re * re + im * im)).exp();
                            let (s, co) = (w0 * re).sin_cos();
                            dst[j * ts + p] = amp * co;
                            dst[(h + j) * ts + p] = amp * s;
                        }
                    }
                    std::mem::swap(&mut src, &mut dst);
                }
                o.apply_rows(src, out, nt, ts);
            }
        }
    }
}

/// The first `count` rows of `buf` (row stride `ts`), `nt` values each.
fn rows_of(buf: &mut [f32], count: usize, nt: usize, ts: usize) -> Vec<&mut [f32]> {
    buf.chunks_exact_mut(ts)
        .take(count)
        .map(|r| &mut r[..nt])
        .collect()
}

/// `v ← sin(v)` over rows of activations.
fn sine_rows(rows: Vec<&mut [f32]>) {
    for row in rows {
        for v in row.iter_mut() {
            *v = sin_f32(*v);
        }
    }
}
