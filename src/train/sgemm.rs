//! A single-threaded f32 matrix product for the training kernels, with an
//! AVX2/FMA register-blocked inner kernel.
//!
//! The trainer's products are a few hundred wide and run one task per core
//! (see [`super::kernels`]). On those shapes the `gemm` crate reached about
//! 45–50 GFLOP/s per core here, 60% of an AVX2 core's peak; this kernel
//! keeps a 6 × 16 block of the result in twelve registers and streams
//! packed panels of both operands through it, which is the classic layout
//! for this instruction set. The loops run in the usual order for it: a
//! block of [`KC`] steps of the right operand is packed into panels, a
//! block of up to [`MC`] rows of the left one likewise, and each right
//! panel then stays in L1 while the left panels pass it. Both operands are
//! packed reading along their contiguous dimension (a weight gradient's
//! `zᵀ` is read row by row of `z`, not one strided column at a time). A
//! right operand that many products share (a layer's weight, for every
//! task of rows) can be packed once beforehand ([`PackedB`]). CPUs without
//! AVX2 and FMA run `gemm` instead.
//!
//! Every result is summed in the order of the inner dimension, in blocks of
//! [`KC`] added in order, so it does not depend on how callers split rows
//! into tasks or on the number of threads.

use rayon::prelude::*;

use crate::eval::fastmath::has_avx2;

/// Rows of the register block.
const MR: usize = 6;
/// Columns of the register block (two 8-wide vectors).
const NR: usize = 16;
/// Inner-dimension block: one packed B panel (`KC × NR`, 16 KiB) stays in
/// L1 while the packed A block (up to `MC × KC`) streams past it from L2.
const KC: usize = 256;
/// Rows of `a` packed at a time: a block of `MC × KC` stays in L2 while
/// each packed B panel (`KC × NR`) is reused across it from L1. As many as
/// a layer's weight gradient has (240 or 250), so that packing its `zᵀ`
/// reads whole rows of `z` in order.
const MC: usize = 252;
const _: () = assert!(MC.is_multiple_of(MR), "a block holds whole panels");

/// An operand: element (row, col) at `data[row·rs + col·cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl Operand<'_> {
    #[inline(always)]
    fn at(&self, row: usize, col: usize) -> f32 {
        self.data[row * self.rs + col * self.cs]
    }

    /// Panics unless every element of a `rows × cols` view lies inside.
    fn check(&self, rows: usize, cols: usize) {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * self.rs + (cols - 1) * self.cs;
            assert!(last < self.data.len(), "operand out of bounds");
        }
    }
}

/// `c = a · b` with `c` row-major `[m, n]`, `a` `[m, k]` and `b` `[k, n]`,
/// on the calling thread.
pub(crate) fn sgemm((m, n, k): (usize, usize, usize), c: &mut [f32], a: Operand, b: Operand) {
    product((m, n, k), c, a, Rhs::Plain(b));
}

/// A right-hand operand `[k, n]` packed once, for many products that
/// share it (every task of a layer multiplies by the same weight).
pub(crate) struct PackedB<'a> {
    b: Operand<'a>,
    k: usize,
    n: usize,
    /// Each block of [`KC`] rows as [`pack_b`] lays it out, one after
    /// another; empty where the portable product runs instead.
    panels: Vec<f32>,
}

impl<'a> PackedB<'a> {
    pub(crate) fn new(b: Operand<'a>, k: usize, n: usize) -> Self {
        b.check(k, n);
        let mut panels = Vec::new();
        if has_avx2() {
            // Every task waits for it: the panels are packed on every core.
            let width = n.div_ceil(NR) * NR;
            panels = vec![0f32; k * width];
            for (block, p0) in panels.chunks_mut(KC * width).zip((0..k).step_by(KC)) {
                let kc = KC.min(k - p0);
                block
                    .par_chunks_mut(kc * NR)
                    .enumerate()
                    .for_each(|(jp, panel)| pack_b_panel(b, p0, kc, jp * NR, n, panel));
            }
        }
        Self { b, k, n, panels }
    }

    /// `(k, n)`.
    pub(crate) fn shape(&self) -> (usize, usize) {
        (self.k, self.n)
    }

    /// The packed rows `p0..p0 + kc` (`p0` a multiple of [`KC`]).
    fn block(&self, p0: usize, kc: usize) -> &[f32] {
        let start = p0 * self.n.div_ceil(NR) * NR;
        &self.panels[start..start + kc * self.n.div_ceil(NR) * NR]
    }
}

/// [`sgemm`] with `b` packed beforehand: the same sums in the same order.
pub(crate) fn sgemm_packed(
    (m, n, k): (usize, usize, usize),
    c: &mut [f32],
    a: Operand,
    b: &PackedB,
) {
    assert!(b.k == k && b.n == n, "packed operand shape");
    product((m, n, k), c, a, Rhs::Packed(b));
}

/// The right-hand side of a product.
#[derive(Clone, Copy)]
enum Rhs<'a> {
    Plain(Operand<'a>),
    Packed(&'a PackedB<'a>),
}

fn product((m, n, k): (usize, usize, usize), c: &mut [f32], a: Operand, b: Rhs) {
    assert_eq!(c.len(), m * n, "result shape");
    a.check(m, k);
    let plain = match b {
        Rhs::Plain(b) => b,
        Rhs::Packed(p) => p.b,
    };
    plain.check(k, n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has the features the function enables; every
        // access is bounds-checked or inside buffers sized here.
        return unsafe { sgemm_avx2((m, n, k), c, a, b) };
    }
    sgemm_portable((m, n, k), c, a, plain)
}

/// The same product through the `gemm` crate (CPUs without AVX2 and FMA).
fn sgemm_portable((m, n, k): (usize, usize, usize), c: &mut [f32], a: Operand, b: Operand) {
    // SAFETY: `check` kept both operands' views inside their slices, and `c`
    // is an exclusive buffer of m·n values.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `dst = src` for short rows; a full row of [`NR`] or [`MR`] values as a
/// fixed-size move (a call to `memmove` per row would cost more than the
/// copy).
#[inline(always)]
fn copy(dst: &mut [f32], src: &[f32]) {
    match dst.len() {
        NR => *<&mut [f32; NR]>::try_from(dst).unwrap() = <[f32; NR]>::try_from(src).unwrap(),
        MR => *<&mut [f32; MR]>::try_from(dst).unwrap() = <[f32; MR]>::try_from(src).unwrap(),
        _ => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
    }
}

/// `dst += src` for short rows, as [`copy`].
#[inline(always)]
fn add(dst: &mut [f32], src: &[f32]) {
    if let (Ok(d), Ok(s)) = (
        <&mut [f32; NR]>::try_from(&mut *dst),
        <&[f32; NR]>::try_from(src),
    ) {
        for (d, s) in d.iter_mut().zip(s) {
            *d += s;
        }
        return;
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// Packs rows `p0..p0 + kc` of `b` into panels of [`NR`] columns,
/// `[panel][p][NR]`, the last panel padded with zeros. Reads run along
/// whichever dimension of `b` is contiguous.
fn pack_b(b: Operand, p0: usize, kc: usize, n: usize, out: &mut Vec<f32>) {
    let panels = n.div_ceil(NR);
    // Every value is written below, padding included.
    out.resize(panels * kc * NR, 0.0);
    let out = &mut out[..panels * kc * NR];
    if b.cs != 1 {
        for (jp, panel) in out.chunks_exact_mut(kc * NR).enumerate() {
            pack_b_panel(b, p0, kc, jp * NR, n, panel);
        }
        return;
    }
    // Row by row: each row of `b` is read once, in order.
    if !n.is_multiple_of(NR) {
        out[(panels - 1) * kc * NR..].fill(0.0);
    }
    for p in 0..kc {
        let row = &b.data[(p0 + p) * b.rs..(p0 + p) * b.rs + n];
        for (jp, src) in row.chunks(NR).enumerate() {
            let at = jp * kc * NR + p * NR;
            copy(&mut out[at..at + src.len()], src);
        }
    }
}

/// Packs rows `p0..p0 + kc` and columns `j0..j0 + NR` of `b` (`n` columns)
/// into `panel`, `[p][NR]`, padded with zeros past column `n`.
fn pack_b_panel(b: Operand, p0: usize, kc: usize, j0: usize, n: usize, panel: &mut [f32]) {
    let cols = NR.min(n - j0);
    if cols < NR {
        panel.fill(0.0);
    }
    if b.cs == 1 {
        for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
            let start = (p0 + p) * b.rs + j0;
            copy(&mut dst[..cols], &b.data[start..start + cols]);
        }
    } else if b.rs == 1 {
        for j in 0..cols {
            let start = (j0 + j) * b.cs + p0;
            for (p, &v) in b.data[start..start + kc].iter().enumerate() {
                panel[p * NR + j] = v;
            }
        }
    } else {
        for p in 0..kc {
            for j in 0..cols {
                panel[p * NR + j] = b.at(p0 + p, j0 + j);
            }
        }
    }
}

/// Packs rows `i0..i0 + mc` and columns `p0..p0 + kc` of `a` into panels
/// of [`MR`] rows, each as [`pack_a`] lays it out, `KC · MR` values apart.
fn pack_a_block(a: Operand, i0: usize, mc: usize, p0: usize, kc: usize, out: &mut [f32]) {
    let panels = mc.div_ceil(MR);
    if a.rs == 1 {
        // Along the contiguous columns of `a`: each is read once, in order.
        if !mc.is_multiple_of(MR) {
            out[(panels - 1) * KC * MR..panels * KC * MR].fill(0.0);
        }
        for p in 0..kc {
            let start = (p0 + p) * a.cs + i0;
            for (ir, src) in a.data[start..start + mc].chunks(MR).enumerate() {
                let at = ir * KC * MR + p * MR;
                copy(&mut out[at..at + src.len()], src);
            }
        }
        return;
    }
    for (ir, dst) in out.chunks_exact_mut(KC * MR).take(panels).enumerate() {
        let dst = <&mut [f32; KC * MR]>::try_from(dst).expect("KC × MR values");
        pack_a(a, i0 + ir * MR, MR.min(mc - ir * MR), p0, kc, dst);
    }
}

/// Packs rows `i0..i0 + rows` and columns `p0..p0 + kc` of `a` as
/// `[p][MR]`, padded with zero rows. (Column-contiguous `a` is packed a
/// whole block at a time by [`pack_a_block`].)
fn pack_a(a: Operand, i0: usize, rows: usize, p0: usize, kc: usize, out: &mut [f32; KC * MR]) {
    if rows < MR {
        out.fill(0.0);
    }
    if a.cs == 1 {
        for r in 0..rows {
            let start = (i0 + r) * a.rs + p0;
            for (p, &v) in a.data[start..start + kc].iter().enumerate() {
                out[p * MR + r] = v;
            }
        }
    } else {
        for p in 0..kc {
            for r in 0..rows {
                out[p * MR + r] = a.at(i0 + r, p0 + p);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sgemm_avx2((m, n, k): (usize, usize, usize), c: &mut [f32], a: Operand, b: Rhs) {
    thread_local! {
        /// Packing buffers, kept from one product to the next.
        static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> = const {
            std::cell::RefCell::new((Vec::new(), Vec::new()))
        };
    }
    SCRATCH.with_borrow_mut(|(packed_a, own_b)| {
        packed_a.resize(MC * KC, 0.0);
        // SAFETY: as for this function.
        unsafe { sgemm_avx2_in((m, n, k), c, a, b, packed_a, own_b) }
    })
}

/// [`sgemm_avx2`] with its packing buffers (`packed_a` of `MC · KC`
/// values, whose contents do not matter).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sgemm_avx2_in(
    (m, n, k): (usize, usize, usize),
    c: &mut [f32],
    a: Operand,
    b: Rhs,
    packed_a: &mut [f32],
    own_b: &mut Vec<f32>,
) {
    // Near-equal blocks of whole panels, rather than full ones and a short
    // rest.
    let row_block = m.div_ceil(m.div_ceil(MC)).next_multiple_of(MR);
    let mut p0 = 0;
    while p0 < k {
        let kc = KC.min(k - p0);
        let first = p0 == 0;
        let packed_b = match b {
            Rhs::Plain(b) => {
                pack_b(b, p0, kc, n, own_b);
                &own_b[..]
            }
            Rhs::Packed(b) => b.block(p0, kc),
        };
        for ic in (0..m).step_by(row_block) {
            let mc = row_block.min(m - ic);
            let a_panels = mc.div_ceil(MR);
            pack_a_block(a, ic, mc, p0, kc, packed_a);
            // Each B panel stays in L1 while the block's A panels stream
            // through from L2.
            for (jp, panel) in packed_b.chunks_exact(kc * NR).enumerate() {
                let j0 = jp * NR;
                let cols = NR.min(n - j0);
                for (ir, a_panel) in packed_a.chunks_exact(KC * MR).take(a_panels).enumerate() {
                    let i0 = ic + ir * MR;
                    let rows = MR.min(m - i0);
                    let a_panel = <&[f32; KC * MR]>::try_from(a_panel).expect("KC × MR values");
                    if rows == MR && cols == NR {
                        let at = i0 * n + j0;
                        let tile = &mut c[at..at + (MR - 1) * n + NR];
                        // SAFETY: both packed buffers hold kc steps of their
                        // width, and `tile` reaches MR rows of NR values n
                        // apart.
                        unsafe { kernel(kc, a_panel, panel, tile.as_mut_ptr(), n, first) };
                        continue;
                    }
                    let mut block = [0f32; MR * NR];
                    // SAFETY: as above; `block` is MR rows of NR values.
                    unsafe { kernel(kc, a_panel, panel, block.as_mut_ptr(), NR, true) };
                    for r in 0..rows {
                        let dst = &mut c[(i0 + r) * n + j0..(i0 + r) * n + j0 + cols];
                        let src = &block[r * NR..r * NR + cols];
                        if first {
                            copy(dst, src);
                        } else {
                            add(dst, src);
                        }
                    }
                }
            }
        }
        p0 += kc;
    }
}

/// `c[r·ldc + j] (=|+=) Σ_p a[p][r] · b[p][j]` for the `MR × NR` block at
/// `c` over `kc` packed steps: stored when `overwrite`, added otherwise.
///
/// # Safety
///
/// `b` holds `kc · NR` values, and `c` points to `MR` rows of `NR` values
/// `ldc` apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel(
    kc: usize,
    a: &[f32; KC * MR],
    b: &[f32],
    c: *mut f32,
    ldc: usize,
    overwrite: bool,
) {
    use std::arch::x86_64::*;
    debug_assert!(kc <= KC && b.len() >= kc * NR);
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    for p in 0..kc {
        // SAFETY: p < kc ≤ KC, so both reads stay inside the packed blocks.
        unsafe {
            let b0 = _mm256_loadu_ps(bp.add(p * NR));
            let b1 = _mm256_loadu_ps(bp.add(p * NR + 8));
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*ap.add(p * MR + r));
                acc[0] = _mm256_fmadd_ps(av, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(av, b1, acc[1]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        // SAFETY: the caller gives MR rows of NR values ldc apart.
        unsafe {
            let row = c.add(r * ldc);
            if overwrite {
                _mm256_storeu_ps(row, acc[0]);
                _mm256_storeu_ps(row.add(8), acc[1]);
            } else {
                _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[0]));
                _mm256_storeu_ps(
                    row.add(8),
                    _mm256_add_ps(_mm256_loadu_ps(row.add(8)), acc[1]),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The product in f64, one element at a time.
    fn naive((m, n, k): (usize, usize, usize), a: Operand, b: Operand) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a.at(i, p) as f64 * b.at(p, j) as f64).sum();
            }
        }
        c
    }

    #[test]
    fn matches_the_naive_product_on_every_layout() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let shapes = [
            (1, 1, 1),
            (5, 7, 3),
            (6, 16, 1),
            (13, 33, 250),
            (512, 250, 250),
            (240, 240, 600),
            (250, 97, 2048),
            (300, 250, 250),
            (7, 3, 513),
        ];
        for (m, n, k) in shapes {
            let av: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1f32..1.0)).collect();
            let bv: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1f32..1.0)).collect();
            // Each operand row-major and transposed.
            for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = if a_t {
                    Operand {
                        data: &av,
                        rs: 1,
                        cs: m,
                    }
                } else {
                    Operand {
                        data: &av,
                        rs: k,
                        cs: 1,
                    }
                };
                let b = if b_t {
                    Operand {
                        data: &bv,
                        rs: 1,
                        cs: k,
                    }
                } else {
                    Operand {
                        data: &bv,
                        rs: n,
                        cs: 1,
                    }
                };
                let mut c = vec![f32::NAN; m * n];
                sgemm((m, n, k), &mut c, a, b);
                let mut portable = vec![f32::NAN; m * n];
                sgemm_portable((m, n, k), &mut portable, a, b);
                let mut packed = vec![f32::NAN; m * n];
                sgemm_packed((m, n, k), &mut packed, a, &PackedB::new(b, k, n));
                // Packing beforehand changes nothing, to the bit.
                assert!(
                    c.iter()
                        .zip(&packed)
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{m}×{n}×{k} {a_t} {b_t}: packed beforehand differs"
                );
                let tol = 1e-5 * (k as f64).sqrt().max(1.0);
                for ((got, p), want) in c.iter().zip(&portable).zip(naive((m, n, k), a, b)) {
                    assert!(
                        (*got as f64 - want).abs() <= tol && (*p as f64 - want).abs() <= tol,
                        "{m}×{n}×{k} {a_t} {b_t}: {got} / {p} vs {want}"
                    );
                }
            }
        }
    }
}
