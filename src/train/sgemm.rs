//! A single-threaded f32 matrix product for the training kernels, with an
//! AVX2/FMA register-blocked inner kernel.
//!
//! The trainer's products are a few hundred wide and run one task per core
//! (see [`super::kernels`]). On those shapes the `gemm` crate reached about
//! 45–50 GFLOP/s per core here, 60% of an AVX2 core's peak; this kernel
//! keeps a 6 × 16 block of the result in twelve registers and streams
//! packed panels of both operands through it, which is the classic layout
//! for this instruction set. CPUs without AVX2 and FMA run `gemm` instead.
//!
//! Every result is summed in the order of the inner dimension, in blocks of
//! [`KC`] added in order, so it does not depend on how callers split rows
//! into tasks or on the number of threads.

/// Rows of the register block.
const MR: usize = 6;
/// Columns of the register block (two 8-wide vectors).
const NR: usize = 16;
/// Inner-dimension block: a packed A block (`KC × MR`) stays in L1, the
/// packed B panels (`KC × n`) in L2.
const KC: usize = 256;

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
    assert_eq!(c.len(), m * n, "result shape");
    a.check(m, k);
    b.check(k, n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if crate::decode::fastmath::has_avx2() {
        // SAFETY: the CPU has the features the function enables; every
        // access is bounds-checked or inside buffers sized here.
        return unsafe { sgemm_avx2((m, n, k), c, a, b) };
    }
    sgemm_portable((m, n, k), c, a, b)
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
    out.clear();
    out.resize(panels * kc * NR, 0.0);
    for (jp, panel) in out.chunks_exact_mut(kc * NR).enumerate() {
        let j0 = jp * NR;
        let cols = NR.min(n - j0);
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
}

/// Packs rows `i0..i0 + rows` and columns `p0..p0 + kc` of `a` as
/// `[p][MR]`, padded with zero rows.
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
    } else if a.rs == 1 {
        for (p, dst) in out.chunks_exact_mut(MR).take(kc).enumerate() {
            let start = (p0 + p) * a.cs + i0;
            copy(&mut dst[..rows], &a.data[start..start + rows]);
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
unsafe fn sgemm_avx2((m, n, k): (usize, usize, usize), c: &mut [f32], a: Operand, b: Operand) {
    let mut packed_b = Vec::new();
    let mut packed_a = [0f32; KC * MR];
    let mut p0 = 0;
    while p0 < k {
        let kc = KC.min(k - p0);
        let first = p0 == 0;
        pack_b(b, p0, kc, n, &mut packed_b);
        for i0 in (0..m).step_by(MR) {
            let rows = MR.min(m - i0);
            pack_a(a, i0, rows, p0, kc, &mut packed_a);
            for (jp, panel) in packed_b.chunks_exact(kc * NR).enumerate() {
                let j0 = jp * NR;
                let cols = NR.min(n - j0);
                let mut block = [0f32; MR * NR];
                // SAFETY: both packed buffers hold kc steps of their width.
                unsafe { kernel(kc, &packed_a, panel, &mut block) };
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
        p0 += kc;
    }
}

/// `block[MR][NR] = Σ_p a[p][·] ⊗ b[p][·]` over `kc` packed steps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel(kc: usize, a: &[f32; KC * MR], b: &[f32], block: &mut [f32; MR * NR]) {
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
        // SAFETY: each row of `block` holds NR = 16 values.
        unsafe {
            _mm256_storeu_ps(block.as_mut_ptr().add(r * NR), acc[0]);
            _mm256_storeu_ps(block.as_mut_ptr().add(r * NR + 8), acc[1]);
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
