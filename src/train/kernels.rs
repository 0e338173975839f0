//! Host kernels for one SCONE hidden layer on CPU backends.
//!
//! burn's CPU backends evaluate `sin` with scalar libm calls and make a full
//! pass over memory for every elementwise op; on this network that costs far
//! more than the matrix products. These kernels fuse the elementwise work of
//! a layer into one pass forward and one backward, with the decoder's
//! branch-free sine ([`crate::eval::fastmath`]: the forward pass computes
//! the same sines the decoder does, and the backward pass its `sin_cos_k`
//! twin), and keep both cores busy on the matrix products.
//!
//! Each pass runs over tasks of up to [`ROWS_PER_TASK`] rows, one task per
//! core at a time: the forward pass computes a task's `z·wm` with the
//! single-threaded product of [`super::sgemm`] (the layer's weight packed
//! once for all tasks) and applies the sines to it while it is still in
//! cache, and the backward pass likewise computes a task's `dp · wmᵀ` right
//! after its `dp`. On this network's shapes that
//! measured faster than `gemm`'s own threading (whose split of a few
//! hundred columns left a core idle).
//!
//! Results do not depend on the number of threads: rows are split into tasks
//! and blocks whose sizes depend only on the number of rows ([`split`]),
//! per-task partial sums are added in task order, and no product is split
//! along its summed dimension except the weight gradients' blocks.

use rayon::prelude::*;

use super::sgemm::{Operand, PackedB, sgemm, sgemm_packed};

/// Most rows per parallel task; [`split`] picks the exact number.
const ROWS_PER_TASK: usize = 512;

/// How `n` rows are cut into tasks of at most `most` rows: `(tasks, rows
/// per task)`, the last task holding the rest. A function of `n` alone, so
/// that the order of every sum is too, whatever the number of threads; an
/// even number of near-equal tasks (past one), so that two cores share them
/// evenly.
fn split(n: usize, most: usize) -> (usize, usize) {
    let tasks = n.div_ceil(most).max(1);
    let tasks = if tasks > 1 {
        tasks.next_multiple_of(2)
    } else {
        1
    };
    (tasks, n.div_ceil(tasks).max(1))
}

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

/// `dst[m, n] = lhs[m, k] · rhs[k, n]`, with `dst` row-major and the
/// operands given by (row stride, column stride), with `gemm` on every
/// core.
pub(crate) fn matmul(
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
#[cfg(test)]
fn forward(l: &Layer) -> (Vec<f32>, Vec<f32>) {
    let (n, h) = (l.n(), l.h());
    let mut p = vec![0f32; n * h];
    let mut out = vec![0f32; n * h];
    forward_into(l, &mut p, &mut out);
    (out, p)
}

/// The forward pass into caller-owned buffers of `n·h` values each: `p` receives
/// `z·wm`, `out` the layer output.
pub(crate) fn forward_into(l: &Layer, p: &mut [f32], out: &mut [f32]) {
    l.check();
    let (n, k, h) = (l.n(), l.k(), l.h());
    assert!(
        p.len() == n * h && out.len() == n * h,
        "output buffer shape"
    );
    let wm = PackedB::new(
        Operand {
            data: l.wm,
            rs: h,
            cs: 1,
        },
        k,
        h,
    );
    let (_, task_rows) = split(n, ROWS_PER_TASK);
    out.par_chunks_mut(task_rows * h)
        .zip(p.par_chunks_mut(task_rows * h))
        .enumerate()
        .for_each(|(task, (out, p))| {
            let row0 = task * task_rows;
            let rows = out.len() / h;
            let z = &l.z[row0 * k..(row0 + rows) * k];
            sgemm_packed(
                (rows, h, k),
                p,
                Operand {
                    data: z,
                    rs: k,
                    cs: 1,
                },
                &wm,
            );
            let x = &l.x[row0 * l.d()..(row0 + rows) * l.d()];
            simd::forward_rows(l, x, p, out);
        });
}

/// Per-task sums of the bias and basis-weight gradients.
struct Partial {
    dbm: Vec<f32>,
    dbb: Vec<f32>,
    dwb: Vec<f32>,
}

/// Where [`backward_into`] writes a layer's parameter gradients (each
/// overwritten, not added to).
pub(crate) struct ParamGrads<'a> {
    /// `[k, h]`.
    pub dwm: &'a mut [f32],
    /// `[h]`.
    pub dbm: &'a mut [f32],
    /// `[d, h]`.
    pub dwb: &'a mut [f32],
    /// `[h]`.
    pub dbb: &'a mut [f32],
}

/// The backward pass on caller-owned buffers: `g` (`[n, h]`) holds the output
/// gradient on entry and the gradient with respect to `z·wm` on return;
/// `p` (`[n, h]`, from [`forward_into`]) is consumed and, with `need_dz`,
/// holds the gradient with respect to `z` (`[n, k]`, for a square layer:
/// `k = h`) on return.
pub(crate) fn backward_into(
    l: &Layer,
    p: &mut [f32],
    g: &mut [f32],
    need_dz: bool,
    out: ParamGrads,
) {
    l.check();
    let (n, k, d, h) = (l.n(), l.k(), l.d(), l.h());
    assert_eq!(p.len(), n * h, "saved pre-activation shape");
    assert_eq!(g.len(), n * h, "output gradient shape");
    assert!(
        out.dwm.len() == k * h
            && out.dbm.len() == h
            && out.dwb.len() == d * h
            && out.dbb.len() == h,
        "gradient shapes"
    );
    if need_dz {
        assert_eq!(k, h, "dz takes p's place only in a square layer");
    }
    let wm_t = need_dz.then(|| packed_wm_t(l));
    let (_, task_rows) = split(n, ROWS_PER_TASK);
    let partials: Vec<Partial> = g
        .par_chunks_mut(task_rows * h)
        .zip(p.par_chunks_mut(task_rows * h))
        .enumerate()
        .map(|(task, (dp, p))| {
            let row0 = task * task_rows;
            let rows = dp.len() / h;
            let x = &l.x[row0 * d..(row0 + rows) * d];
            let mut part = Partial {
                dbm: vec![0.0; h],
                dbb: vec![0.0; h],
                dwb: vec![0.0; d * h],
            };
            simd::backward_rows(l, x, p, dp, &mut part);
            if let Some(wm_t) = &wm_t {
                // This task's rows of p are spent: dz = dp · wmᵀ goes there.
                dz_of(wm_t, dp, &mut p[..rows * k]);
            }
            part
        })
        .collect();
    out.dbm.fill(0.0);
    out.dbb.fill(0.0);
    out.dwb.fill(0.0);
    for part in &partials {
        add_to(out.dbm, &part.dbm);
        add_to(out.dbb, &part.dbb);
        add_to(out.dwb, &part.dwb);
    }
    // dwm = zᵀ · dp
    matmul_summed((k, h, n), out.dwm, l.z, g);
}

/// `wmᵀ` (`[h, k]`), packed for [`dz_of`].
fn packed_wm_t<'a>(l: &Layer<'a>) -> PackedB<'a> {
    let (k, h) = (l.k(), l.h());
    PackedB::new(
        Operand {
            data: l.wm,
            rs: 1,
            cs: h,
        },
        h,
        k,
    )
}

/// `dz = dp · wmᵀ` for the rows of `dp` (`[rows, h]`) into `dz`
/// (`[rows, k]`), on the calling thread.
fn dz_of(wm_t: &PackedB, dp: &[f32], dz: &mut [f32]) {
    let (h, k) = wm_t.shape();
    let rows = dp.len() / h;
    sgemm_packed(
        (rows, k, h),
        dz,
        Operand {
            data: dp,
            rs: h,
            cs: 1,
        },
        wm_t,
    )
}

/// Most rows summed over per task of [`matmul_summed`] (cut by [`split`]).
const ROWS_PER_SUM: usize = 2048;

/// Values per task of [`matmul_summed`]'s final sum.
const SUM_CHUNK: usize = 4096;

/// `dst[k, h] = aᵀ · b` for row-major `a` `[n, k]` and `b` `[n, h]`: a
/// product summed over the long `n`, which `gemm` would run on one thread
/// per output block. Rows are cut into blocks by [`split`], whose products
/// run in parallel and are added in block order.
pub(crate) fn matmul_summed(
    (k, h, n): (usize, usize, usize),
    dst: &mut [f32],
    a: &[f32],
    b: &[f32],
) {
    assert!(dst.len() == k * h && a.len() == n * k && b.len() == n * h);
    let (blocks, rows) = split(n, ROWS_PER_SUM);
    if blocks == 1 {
        return matmul((k, h, n), dst, (a, 1, k as isize), (b, h as isize, 1));
    }
    let parts: Vec<Vec<f32>> = (0..blocks)
        .into_par_iter()
        .map(|i| {
            let (r0, r1) = ((i * rows).min(n), ((i + 1) * rows).min(n));
            let mut part = vec![0f32; k * h];
            sgemm(
                (k, h, r1 - r0),
                &mut part,
                Operand {
                    data: &a[r0 * k..r1 * k],
                    rs: 1,
                    cs: k,
                },
                Operand {
                    data: &b[r0 * h..r1 * h],
                    rs: h,
                    cs: 1,
                },
            );
            part
        })
        .collect();
    dst.par_chunks_mut(SUM_CHUNK)
        .enumerate()
        .for_each(|(i, dst)| {
            let at = i * SUM_CHUNK..i * SUM_CHUNK + dst.len();
            dst.copy_from_slice(&parts[0][at.clone()]);
            for part in &parts[1..] {
                add_to(dst, &part[at.clone()]);
            }
        });
}

fn add_to(acc: &mut [f32], v: &[f32]) {
    for (a, v) in acc.iter_mut().zip(v) {
        *a += v;
    }
}

/// The per-row loops, compiled once for the baseline target and once with
/// AVX2 and FMA enabled (chosen at run time).
mod simd {
    use super::{Layer, Partial};
    use crate::eval::fastmath::{has_avx2, madd, sin_cos_k, sin_k, sin_sq_k};

    /// `q = bb + x_row · wb`.
    #[inline(always)]
    fn basis_pre<const FMA: bool>(l: &Layer, x_row: &[f32], q: &mut [f32]) {
        let h = q.len();
        q.copy_from_slice(l.bb);
        for (t, &xt) in x_row.iter().enumerate() {
            for (q, &w) in q.iter_mut().zip(&l.wb[t * h..(t + 1) * h]) {
                *q = madd::<FMA>(xt, w, *q);
            }
        }
    }

    #[inline(always)]
    fn forward_impl<const FMA: bool>(l: &Layer, x: &[f32], p: &[f32], out: &mut [f32]) {
        let h = l.bm.len();
        let d = x.len() / (out.len() / h);
        let mut q = vec![0f32; h];
        for ((x_row, p_row), out_row) in x
            .chunks_exact(d)
            .zip(p.chunks_exact(h))
            .zip(out.chunks_exact_mut(h))
        {
            basis_pre::<FMA>(l, x_row, &mut q);
            for (((o, &p), &bm), &q) in out_row.iter_mut().zip(p_row).zip(l.bm).zip(q.iter()) {
                *o = sin_sq_k::<FMA>(l.omega0 * (p + bm)) * sin_k::<FMA>(l.omega * q);
            }
        }
    }

    #[inline(always)]
    /// `g_dp` holds the output gradient on entry and the gradient with
    /// respect to the mask pre-activation on return.
    fn backward_impl<const FMA: bool>(
        l: &Layer,
        x: &[f32],
        p: &[f32],
        g_dp: &mut [f32],
        part: &mut Partial,
    ) {
        let h = l.bm.len();
        let d = x.len() / (g_dp.len() / h);
        let mut q = vec![0f32; h];
        let mut dq = vec![0f32; h];
        let rows = x
            .chunks_exact(d)
            .zip(p.chunks_exact(h))
            .zip(g_dp.chunks_exact_mut(h));
        for ((x_row, p_row), g_row) in rows {
            basis_pre::<FMA>(l, x_row, &mut q);
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
                let (sa, ca) = sin_cos_k::<FMA>(l.omega0 * (p + bm));
                let (sb, cb) = sin_cos_k::<FMA>(l.omega * q);
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
                    *w = madd::<FMA>(xt, dq, *w);
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn forward_avx2(l: &Layer, x: &[f32], p: &[f32], out: &mut [f32]) {
        forward_impl::<true>(l, x, p, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn backward_avx2(l: &Layer, x: &[f32], p: &[f32], g_dp: &mut [f32], part: &mut Partial) {
        backward_impl::<true>(l, x, p, g_dp, part)
    }

    pub(super) fn forward_rows(l: &Layer, x: &[f32], p: &[f32], out: &mut [f32]) {
        if has_avx2() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU supports the features the function enables.
            return unsafe { forward_avx2(l, x, p, out) };
        }
        forward_impl::<false>(l, x, p, out)
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
        backward_impl::<false>(l, x, p, g_dp, part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn splits_cover_every_row_in_an_even_number_of_near_equal_tasks() {
        for most in [ROWS_PER_TASK, ROWS_PER_SUM] {
            for n in [
                1, 7, 512, 513, 2048, 2049, 4096, 4097, 27_000, 65_536, 100_003,
            ] {
                let (tasks, rows) = split(n, most);
                assert!(tasks == 1 || tasks.is_multiple_of(2), "{n}: {tasks} tasks");
                assert!(rows <= most, "{n}: {rows} rows per task");
                // Every task but the last is full, and the last is not empty.
                assert!((tasks - 1) * rows < n && tasks * rows >= n, "{n}");
            }
        }
        assert_eq!(split(27_000, ROWS_PER_SUM), (14, 1929));
        assert_eq!(split(27_000, ROWS_PER_TASK), (54, 500));
        assert_eq!(split(65_536, ROWS_PER_SUM), (32, 2048));
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
