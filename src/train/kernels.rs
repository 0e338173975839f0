//! Host kernels for one SCONE hidden layer on CPU backends.
//!
//! burn's CPU backends evaluate `sin` with scalar libm calls and make a full
//! pass over memory for every elementwise op; on this network that costs far
//! more than the matrix products. These kernels fuse the elementwise work of
//! a layer into one pass forward and one backward, with a branch-free
//! `sincos` that the compiler vectorises, and run the matrix products through
//! `gemm` on all cores.
//!
//! Results do not depend on the number of threads: rows are split into tasks
//! of a fixed size, per-task partial sums are added in task order, and `gemm`
//! splits work over output blocks, never along the summed dimension.

use rayon::prelude::*;

/// Rows per parallel task. Fixed so that the order of every sum is too.
const ROWS_PER_TASK: usize = 256;

/// One hidden layer's inputs, row-major:
/// `out = sin²(ω₀ (z·wm + bm)) ⊙ sin(ω (x·wb + bb))`.
pub(crate) struct Layer<'a> {
    /// Previous layer's output, `[n, k]`.
    pub z: &'a [f32],
    /// Network input, `[n, d]`.
    pub x: &'a [f32],
    /// Mask weight, `[k, h]`.
    pub wm: &'a [f32],
    /// Mask bias, `[h]`.
    pub bm: &'a [f32],
    /// Basis weight, `[d, h]`.
    pub wb: &'a [f32],
    /// Basis bias, `[h]`.
    pub bb: &'a [f32],
    /// ω₀.
    pub omega0: f32,
    /// This layer's ω.
    pub omega: f32,
}

impl Layer<'_> {
    fn h(&self) -> usize {
        self.bm.len()
    }

    fn d(&self) -> usize {
        self.wb.len() / self.h()
    }

    fn k(&self) -> usize {
        self.wm.len() / self.h()
    }

    fn n(&self) -> usize {
        self.x.len() / self.d()
    }

    fn check(&self) {
        let (n, k, d, h) = (self.n(), self.k(), self.d(), self.h());
        assert!(h > 0 && d > 0, "a layer needs inputs and outputs");
        assert_eq!(self.wm.len(), k * h, "mask weight shape");
        assert_eq!(self.wb.len(), d * h, "basis weight shape");
        assert_eq!(self.bb.len(), h, "basis bias shape");
        assert_eq!(self.x.len(), n * d, "input shape");
        assert_eq!(self.z.len(), n * k, "previous layer shape");
    }
}

/// Gradients of one layer with respect to its inputs.
pub(crate) struct LayerGrads {
    /// `[n, k]`, when asked for.
    pub dz: Option<Vec<f32>>,
    pub dwm: Vec<f32>,
    pub dbm: Vec<f32>,
    pub dwb: Vec<f32>,
    pub dbb: Vec<f32>,
}

/// `dst[m, n] = lhs[m, k] · rhs[k, n]`, with `dst` row-major and the
/// operands given by (row stride, column stride).
fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    lhs: (&[f32], isize, isize),
    rhs: (&[f32], isize, isize),
) {
    assert_eq!(dst.len(), m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        dst.fill(0.0);
        return;
    }
    // The extent each operand's strides reach must lie inside its slice.
    let reach = |(s, rs, cs): (&[f32], isize, isize), rows: usize, cols: usize| {
        let last = (rows - 1) as isize * rs + (cols - 1) as isize * cs;
        assert!(
            rs >= 0 && cs >= 0 && (last as usize) < s.len(),
            "operand out of bounds"
        );
    };
    reach(lhs, m, k);
    reach(rhs, k, n);
    // SAFETY: the asserts above keep every access inside the slices, and
    // `dst` is a distinct, exclusively borrowed buffer of m·n values.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.0.as_ptr(),
            lhs.2,
            lhs.1,
            rhs.0.as_ptr(),
            rhs.2,
            rhs.1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}

/// The forward pass: returns the layer output and `z·wm` (without bias),
/// which the backward pass needs, both `[n, h]`.
pub(crate) fn forward(l: &Layer) -> (Vec<f32>, Vec<f32>) {
    l.check();
    let (n, k, h) = (l.n(), l.k(), l.h());
    let mut p = vec![0f32; n * h];
    matmul(
        (n, h, k),
        &mut p,
        (l.z, k as isize, 1),
        (l.wm, h as isize, 1),
    );
    let mut out = vec![0f32; n * h];
    out.par_chunks_mut(ROWS_PER_TASK * h)
        .zip(p.par_chunks(ROWS_PER_TASK * h))
        .enumerate()
        .for_each(|(task, (out, p))| {
            let row0 = task * ROWS_PER_TASK;
            let rows = out.len() / h;
            let x = &l.x[row0 * l.d()..(row0 + rows) * l.d()];
            simd::forward_rows(l, x, p, out);
        });
    (out, p)
}

/// Per-task sums of the bias and basis-weight gradients.
struct Partial {
    dbm: Vec<f32>,
    dbb: Vec<f32>,
    dwb: Vec<f32>,
}

/// The backward pass from `grad` (`[n, h]`, the loss gradient of the
/// output) and `p` from [`forward`]. Both buffers are reused for results,
/// which spares fresh allocations (and their page faults) every step.
pub(crate) fn backward(l: &Layer, p: Vec<f32>, grad: Vec<f32>, need_dz: bool) -> LayerGrads {
    l.check();
    let (n, k, d, h) = (l.n(), l.k(), l.d(), l.h());
    assert_eq!(p.len(), n * h, "saved pre-activation shape");
    assert_eq!(grad.len(), n * h, "output gradient shape");
    // The gradient of the loss with respect to z·wm + bm replaces `grad`.
    let mut dp = grad;
    let partials: Vec<Partial> = dp
        .par_chunks_mut(ROWS_PER_TASK * h)
        .zip(p.par_chunks(ROWS_PER_TASK * h))
        .enumerate()
        .map(|(task, (dp, p))| {
            let row0 = task * ROWS_PER_TASK;
            let rows = dp.len() / h;
            let x = &l.x[row0 * d..(row0 + rows) * d];
            let mut part = Partial {
                dbm: vec![0.0; h],
                dbb: vec![0.0; h],
                dwb: vec![0.0; d * h],
            };
            simd::backward_rows(l, x, p, dp, &mut part);
            part
        })
        .collect();
    let mut dbm = vec![0f32; h];
    let mut dbb = vec![0f32; h];
    let mut dwb = vec![0f32; d * h];
    for part in &partials {
        add_to(&mut dbm, &part.dbm);
        add_to(&mut dbb, &part.dbb);
        add_to(&mut dwb, &part.dwb);
    }
    // dwm = zᵀ · dp
    let mut dwm = vec![0f32; k * h];
    matmul(
        (k, h, n),
        &mut dwm,
        (l.z, 1, k as isize),
        (&dp, h as isize, 1),
    );
    // dz = dp · wmᵀ, into p's buffer when it is the right size (every layer
    // but the first, whose z is the input and needs no gradient).
    let dz = need_dz.then(|| {
        let mut dz = if k == h { p } else { vec![0f32; n * k] };
        matmul(
            (n, k, h),
            &mut dz,
            (&dp, h as isize, 1),
            (l.wm, 1, h as isize),
        );
        dz
    });
    LayerGrads {
        dz,
        dwm,
        dbm,
        dwb,
        dbb,
    }
}

fn add_to(acc: &mut [f32], v: &[f32]) {
    for (a, v) in acc.iter_mut().zip(v) {
        *a += v;
    }
}

/// `(sin x, cos x)` for |x| < 2²² · π/2, within a few units in the last
/// place; NaN for non-finite `x`. Branch-free so that loops over it
/// vectorise.
#[inline(always)]
pub(crate) fn sincos(x: f32) -> (f32, f32) {
    // Round x·2/π to the nearest integer j with the 1.5·2²³ trick: the sum's
    // low mantissa bits then hold j + 2²², so its two lowest bits are j mod 4.
    const MAGIC: f32 = 12_582_912.0;
    let shifted = x * std::f32::consts::FRAC_2_PI + MAGIC;
    let quadrant = shifted.to_bits();
    let j = shifted - MAGIC;
    // The reduction in f64 keeps full accuracy for large arguments.
    let r = (x as f64 - j as f64 * std::f64::consts::FRAC_PI_2) as f32;
    let r2 = r * r;
    // Minimax polynomials on [−π/4, π/4] (Cephes sinf / cosf).
    let s = r + r * r2 * (-1.666_665_5e-1 + r2 * (8.332_161e-3 + r2 * -1.951_529_6e-4));
    let c =
        1.0 - 0.5 * r2 + r2 * r2 * (4.166_664_6e-2 + r2 * (-1.388_731_6e-3 + r2 * 2.443_315_7e-5));
    let swap = quadrant & 1 != 0;
    let (s, c) = if swap { (c, s) } else { (s, c) };
    let sin_sign = (quadrant & 2) << 30;
    let cos_sign = (quadrant.wrapping_add(1) & 2) << 30;
    (
        f32::from_bits(s.to_bits() ^ sin_sign),
        f32::from_bits(c.to_bits() ^ cos_sign),
    )
}

/// The per-row loops, compiled once for the baseline target and once with
/// AVX2 and FMA enabled (chosen at run time).
mod simd {
    use super::{Layer, Partial, sincos};

    /// `q = bb + x_row · wb`.
    #[inline(always)]
    fn basis_pre(l: &Layer, x_row: &[f32], q: &mut [f32]) {
        let h = q.len();
        q.copy_from_slice(l.bb);
        for (t, &xt) in x_row.iter().enumerate() {
            for (q, &w) in q.iter_mut().zip(&l.wb[t * h..(t + 1) * h]) {
                *q += xt * w;
            }
        }
    }

    #[inline(always)]
    fn forward_impl(l: &Layer, x: &[f32], p: &[f32], out: &mut [f32]) {
        let h = l.bm.len();
        let d = x.len() / (out.len() / h);
        let mut q = vec![0f32; h];
        for ((x_row, p_row), out_row) in x
            .chunks_exact(d)
            .zip(p.chunks_exact(h))
            .zip(out.chunks_exact_mut(h))
        {
            basis_pre(l, x_row, &mut q);
            for (((o, &p), &bm), &q) in out_row.iter_mut().zip(p_row).zip(l.bm).zip(q.iter()) {
                let (sa, _) = sincos(l.omega0 * (p + bm));
                let (sb, _) = sincos(l.omega * q);
                *o = sa * sa * sb;
            }
        }
    }

    #[inline(always)]
    /// `g_dp` holds the output gradient on entry and the gradient with
    /// respect to the mask pre-activation on return.
    fn backward_impl(l: &Layer, x: &[f32], p: &[f32], g_dp: &mut [f32], part: &mut Partial) {
        let h = l.bm.len();
        let d = x.len() / (g_dp.len() / h);
        let mut q = vec![0f32; h];
        let mut dq = vec![0f32; h];
        let rows = x
            .chunks_exact(d)
            .zip(p.chunks_exact(h))
            .zip(g_dp.chunks_exact_mut(h));
        for ((x_row, p_row), g_row) in rows {
            basis_pre(l, x_row, &mut q);
            let cols = g_row
                .iter_mut()
                .zip(dq.iter_mut())
                .zip(p_row)
                .zip(l.bm)
                .zip(q.iter())
                .zip(part.dbm.iter_mut())
                .zip(part.dbb.iter_mut());
            for ((((((g_dp, dq), &p), &bm), &q), dbm), dbb) in cols {
                let g = *g_dp;
                let (sa, ca) = sincos(l.omega0 * (p + bm));
                let (sb, cb) = sincos(l.omega * q);
                // d/da sin²(ω₀a) = ω₀ sin(2ω₀a); d/db sin(ωb) = ω cos(ωb).
                let gp = g * l.omega0 * 2.0 * sa * ca * sb;
                let gq = g * l.omega * sa * sa * cb;
                *g_dp = gp;
                *dq = gq;
                *dbm += gp;
                *dbb += gq;
            }
            for (t, &xt) in x_row.iter().enumerate() {
                for (w, &dq) in part.dwb[t * h..(t + 1) * h].iter_mut().zip(dq.iter()) {
                    *w += xt * dq;
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn forward_avx2(l: &Layer, x: &[f32], p: &[f32], out: &mut [f32]) {
        forward_impl(l, x, p, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn backward_avx2(l: &Layer, x: &[f32], p: &[f32], g_dp: &mut [f32], part: &mut Partial) {
        backward_impl(l, x, p, g_dp, part)
    }

    fn has_avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    pub(super) fn forward_rows(l: &Layer, x: &[f32], p: &[f32], out: &mut [f32]) {
        if has_avx2() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU supports the features the function enables.
            return unsafe { forward_avx2(l, x, p, out) };
        }
        forward_impl(l, x, p, out)
    }

    pub(super) fn backward_rows(
        l: &Layer,
        x: &[f32],
        p: &[f32],
        g_dp: &mut [f32],
        part: &mut Partial,
    ) {
        if has_avx2() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU supports the features the function enables.
            return unsafe { backward_avx2(l, x, p, g_dp, part) };
        }
        backward_impl(l, x, p, g_dp, part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sincos_is_accurate() {
        let mut worst = 0f64;
        let mut x = -3000.0f32;
        while x < 3000.0 {
            let (s, c) = sincos(x);
            let (es, ec) = (x as f64).sin_cos();
            worst = worst.max((s as f64 - es).abs()).max((c as f64 - ec).abs());
            x += 0.0137;
        }
        assert!(worst < 3e-7, "worst error {worst}");
        assert!(sincos(f32::NAN).0.is_nan() && sincos(f32::INFINITY).1.is_nan());
    }

    /// The plain f64 formula for one layer.
    fn reference(l: &Layer) -> Vec<f64> {
        let (n, k, d, h) = (l.n(), l.k(), l.d(), l.h());
        let mut out = vec![0f64; n * h];
        for i in 0..n {
            for j in 0..h {
                let a = l.bm[j] as f64
                    + (0..k)
                        .map(|t| (l.z[i * k + t] * l.wm[t * h + j]) as f64)
                        .sum::<f64>();
                let b = l.bb[j] as f64
                    + (0..d)
                        .map(|t| (l.x[i * d + t] * l.wb[t * h + j]) as f64)
                        .sum::<f64>();
                out[i * h + j] = (l.omega0 as f64 * a).sin().powi(2) * (l.omega as f64 * b).sin();
            }
        }
        out
    }

    #[test]
    fn forward_matches_the_formula() {
        let (n, k, d, h) = (600, 5, 2, 7);
        let v = |len: usize, s: f32| {
            (0..len)
                .map(|i| (i as f32 * 0.7919).sin() * s)
                .collect::<Vec<_>>()
        };
        let (z, x, wm, bm, wb, bb) = (
            v(n * k, 1.0),
            v(n * d, 1.0),
            v(k * h, 0.05),
            v(h, 0.05),
            v(d * h, 0.7),
            v(h, 0.7),
        );
        let l = Layer {
            z: &z,
            x: &x,
            wm: &wm,
            bm: &bm,
            wb: &wb,
            bb: &bb,
            omega0: 30.0,
            omega: 60.0,
        };
        let (out, _) = forward(&l);
        for (o, e) in out.iter().zip(reference(&l)) {
            assert!((*o as f64 - e).abs() < 2e-5, "{o} vs {e}");
        }
    }
}
