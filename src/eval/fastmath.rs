//! A branch-free `f32` sine that vectorises.
//!
//! `f32::sin` calls into libm one value at a time; the decoder evaluates
//! two sines per hidden unit per point, so it needs a sine the compiler
//! can turn into SIMD code.
//!
//! The kernel comes in two builds of the same arithmetic: [`sin_f32`] and
//! [`sin_sq_f32`] use separate multiplies and adds (Rust never fuses them),
//! so they give the same bits on every CPU; the slice functions and the
//! decoder use fused multiply-adds where the CPU has them, which saves a
//! third of the instructions and may change the last bit. Both builds
//! meet the bounds below (the tests check each).
//!
//! # Accuracy
//!
//! Absolute error against `f64::sin` of the same `f32` input:
//!
//! - |x| < 25 736 (k = round(x/π) < 2¹³, where both Cody–Waite products are
//!   exact): at most [`SIN_MAX_ABS_ERR`] = 1.5e-7; the measured maximum over
//!   every `f32` in that range is 1.22e-7 (about 2 ulp of values near 1)
//!   for the portable build and 1.40e-7 for the fused one. [`sin_sq_f32`] is
//!   within [`SIN_SQ_MAX_ABS_ERR`] = 3e-7 of sin², measured 2.61e-7
//!   (fused: 2.79e-7).
//! - 25 736 ≤ |x| < 205 887 (k < 2¹⁶): k·P2 starts to round, and the error
//!   is at most 1.5e-7 + |x| · 2e-11 (4.3e-6 at the top of the range).
//! - beyond that k·P1 rounds too and the error approaches |x| · 1.2e-7,
//!   which is the spacing of `f32` values there: the answer is then as good
//!   as the argument, and no better.
//! - |x| > 4·10⁶ is clamped to ±4·10⁶ before reduction: `f32` values that
//!   large are spaced 0.25 or more apart, so their sine carries no
//!   information, and the clamp keeps the reduction valid and the result in
//!   [−1, 1] (give or take an ulp). NaN stays NaN; ±∞ gives a value in
//!   [−1, 1].

/// Absolute error bound of [`sin_f32`] for |x| < 25 736.
pub const SIN_MAX_ABS_ERR: f32 = 1.5e-7;
/// Absolute error bound of [`sin_sq_f32`] for |x| < 25 736.
pub const SIN_SQ_MAX_ABS_ERR: f32 = 3.0e-7;

/// 1/π rounded to `f32`.
const FRAC_1_PI: f32 = 0.318_309_87;
/// π = P1 + P2 + P3 (Cody–Waite): P1 has 8 significant bits and P2 has 11,
/// so k·P1 and k·P2 are exact for |k| < 2¹³; P3 is the rest rounded to `f32`
/// (π − P1 − P2 − P3 ≈ −3.4e-15).
const PI_1: f32 = 3.140_625;
const PI_2: f32 = 9.675_026e-4;
const PI_3: f32 = 1.509_958e-7;
/// Adding 1.5·2²³ rounds a float with |v| < 2²² to the nearest integer
/// (ties to even) and leaves that integer in the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// Largest |x| reduced as is; see the module docs.
const CLAMP: f32 = 4.0e6;
/// Odd minimax polynomial for sin on [−π/2, π/2] with the linear term fixed
/// at 1: sin r ≈ r + r³(C3 + r²(C5 + r²(C7 + r² C9))). The real-number
/// approximation error is 4.6e-9, below `f32` rounding.
const C3: f32 = -0.166_666_57;
const C5: f32 = 8.333_017e-3;
const C7: f32 = -1.980_661_5e-4;
const C9: f32 = 2.600_054_8e-6;

/// a·b + c, fused into one rounding when `FMA` (only used where the CPU
/// has FMA: without it `mul_add` is a slow library call).
#[inline(always)]
pub(crate) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Splits x into k·π + r with r ∈ [−π/2, π/2] (a hair more where x/π
/// rounds to the wrong side of a half-integer) and returns r and the
/// parity of k in bit 0.
#[inline(always)]
fn reduce<const FMA: bool>(x: f32) -> (f32, u32) {
    let x = x.clamp(-CLAMP, CLAMP);
    let t = madd::<FMA>(x, FRAC_1_PI, ROUND_MAGIC);
    let parity = t.to_bits() & 1;
    let k = t - ROUND_MAGIC;
    let r = madd::<FMA>(-k, PI_1, x);
    let r = madd::<FMA>(-k, PI_2, r);
    let r = madd::<FMA>(-k, PI_3, r);
    (r, parity)
}

/// The polynomial on the reduced argument.
#[inline(always)]
fn poly<const FMA: bool>(r: f32) -> f32 {
    let r2 = r * r;
    let p = madd::<FMA>(r2, C9, C7);
    let p = madd::<FMA>(r2, p, C5);
    let p = madd::<FMA>(r2, p, C3);
    madd::<FMA>(r * r2, p, r)
}

/// [`sin_f32`], or with `FMA` its fused-multiply-add twin (same bound,
/// fewer instructions, last bit may differ).
#[inline(always)]
pub(crate) fn sin_k<const FMA: bool>(x: f32) -> f32 {
    let (r, parity) = reduce::<FMA>(x);
    // sin(kπ + r) = (−1)ᵏ sin r: flip the sign bit when k is odd.
    f32::from_bits(poly::<FMA>(r).to_bits() ^ (parity << 31))
}

/// [`sin_sq_f32`], or with `FMA` its fused-multiply-add twin.
#[inline(always)]
pub(crate) fn sin_sq_k<const FMA: bool>(x: f32) -> f32 {
    // The square does not need the sign, so this skips the parity.
    let (r, _) = reduce::<FMA>(x);
    let s = poly::<FMA>(r);
    s * s
}

/// Even polynomial for cos on [−π/2, π/2]: the Taylor series to r¹²,
/// whose truncation error there is below (π/2)¹⁴/14! ≈ 6.4e-9.
const D2: f32 = -0.5;
const D4: f32 = 4.166_666_8e-2;
const D6: f32 = -1.388_888_9e-3;
const D8: f32 = 2.480_158_7e-5;
const D10: f32 = -2.755_732e-7;
const D12: f32 = 2.087_675_7e-9;

/// `(sin x, cos x)` from one reduction, each within [`SIN_COS_MAX_ABS_ERR`]
/// for |x| < 25 736 (the same argument ranges as [`sin_k`] otherwise).
/// The trainer's backward pass needs both.
#[inline(always)]
pub(crate) fn sin_cos_k<const FMA: bool>(x: f32) -> (f32, f32) {
    let (r, parity) = reduce::<FMA>(x);
    let r2 = r * r;
    let c = madd::<FMA>(r2, D12, D10);
    let c = madd::<FMA>(r2, c, D8);
    let c = madd::<FMA>(r2, c, D6);
    let c = madd::<FMA>(r2, c, D4);
    let c = madd::<FMA>(r2, c, D2);
    let c = madd::<FMA>(r2, c, 1.0);
    // Both flip sign when k is odd: sin(kπ + r) = (−1)ᵏ sin r, and so cos.
    let flip = parity << 31;
    (
        f32::from_bits(poly::<FMA>(r).to_bits() ^ flip),
        f32::from_bits(c.to_bits() ^ flip),
    )
}

/// Absolute error bound of each value of [`sin_cos_f32`] for
/// |x| < 25 736.
pub const SIN_COS_MAX_ABS_ERR: f32 = 2.5e-7;

/// `(sin x, cos x)` to within [`SIN_COS_MAX_ABS_ERR`] each for
/// |x| < 25 736. Portable: separate multiplies and adds.
#[inline]
pub fn sin_cos_f32(x: f32) -> (f32, f32) {
    sin_cos_k::<false>(x)
}

/// sin(x) to within [`SIN_MAX_ABS_ERR`] for |x| < 25 736 (see the module
/// docs for larger arguments). Portable: separate multiplies and adds.
#[inline]
pub fn sin_f32(x: f32) -> f32 {
    sin_k::<false>(x)
}

/// sin(x)² to within [`SIN_SQ_MAX_ABS_ERR`] for |x| < 25 736.
#[inline]
pub fn sin_sq_f32(x: f32) -> f32 {
    sin_sq_k::<false>(x)
}

#[inline(always)]
fn sin_slice_impl<const FMA: bool>(xs: &mut [f32]) {
    for x in xs {
        *x = sin_k::<FMA>(*x);
    }
}

#[inline(always)]
fn sin_sq_slice_impl<const FMA: bool>(xs: &mut [f32]) {
    for x in xs {
        *x = sin_sq_k::<FMA>(*x);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sin_slice_avx2(xs: &mut [f32]) {
    sin_slice_impl::<true>(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sin_sq_slice_avx2(xs: &mut [f32]) {
    sin_sq_slice_impl::<true>(xs)
}

/// Whether this CPU runs the 8-wide AVX2 builds of the kernels. The
/// default x86-64 target only assumes SSE2, so without this the loops would
/// vectorise 4 wide.
#[inline]
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Replaces every value by its sine, using the widest SIMD the CPU
/// offers. Same error bound as [`sin_f32`]; with AVX2 and FMA the kernel
/// fuses its multiply-adds, so a result may differ from [`sin_f32`] in the
/// last bit.
pub fn sin_slice(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports the features the function was built for.
        return unsafe { sin_slice_avx2(xs) };
    }
    sin_slice_impl::<false>(xs)
}

/// Replaces every value by its squared sine; see [`sin_slice`].
pub fn sin_sq_slice(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports the features the function was built for.
        return unsafe { sin_sq_slice_avx2(xs) };
    }
    sin_sq_slice_impl::<false>(xs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn err(x: f32) -> f64 {
        (sin_f32(x) as f64 - (x as f64).sin()).abs()
    }

    #[test]
    fn sin_cos_meets_its_bound() {
        let mut worst = 0f64;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let xs = (0..2_000_000).map(|i| {
            if i % 2 == 0 {
                i as f32 * 1.3e-3 - 1300.0
            } else {
                rng.random_range(-25_000f32..25_000.0)
            }
        });
        for x in xs {
            let (es, ec) = (x as f64).sin_cos();
            for (s, c) in [sin_cos_k::<false>(x), fused_sin_cos(x)] {
                worst = worst.max((s as f64 - es).abs()).max((c as f64 - ec).abs());
            }
            assert_eq!(sin_cos_f32(x).0, sin_f32(x), "sin at {x}");
        }
        assert!(worst <= SIN_COS_MAX_ABS_ERR as f64, "worst {worst}");
        let (s, c) = sin_cos_f32(f32::NAN);
        assert!(s.is_nan() && c.is_nan());
    }

    /// The fused build where the CPU has it, else the portable one.
    fn fused_sin_cos(x: f32) -> (f32, f32) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            #[target_feature(enable = "avx2,fma")]
            fn fused(x: f32) -> (f32, f32) {
                sin_cos_k::<true>(x)
            }
            // SAFETY: the CPU supports the features the function enables.
            return unsafe { fused(x) };
        }
        sin_cos_k::<false>(x)
    }

    #[test]
    fn dense_sweep_up_to_2000() {
        // 4 million points, step ≈ 1e-3: every reduced interval is crossed
        // many times, including the ends ±π/2 and the sign changes.
        let n = 4_000_000;
        let mut worst = (0.0f64, 0.0f32);
        for i in 0..=n {
            let x = -2000.0 + 4000.0 * (i as f64 / n as f64);
            let x = x as f32;
            let e = err(x);
            if e > worst.0 {
                worst = (e, x);
            }
        }
        assert!(
            worst.0 <= SIN_MAX_ABS_ERR as f64,
            "error {} at {}",
            worst.0,
            worst.1
        );
    }

    #[test]
    fn every_float_near_zero_and_near_half_pi() {
        // Small arguments must come out nearly exact (sin x ≈ x), not just
        // within the absolute bound.
        let mut x = 1e-30f32;
        while x < 1e-2 {
            for v in [x, -x] {
                let rel = (sin_f32(v) as f64 - (v as f64).sin()).abs() / (v as f64).abs();
                assert!(rel < 2.5e-7, "relative error {rel} at {v}");
            }
            x *= 1.0001;
        }
        // Around ±π/2, where x/π is near a half-integer and the reduced
        // argument can land a hair outside [−π/2, π/2].
        for k in -100i32..100 {
            let centre = (k as f64 + 0.5) * std::f64::consts::PI;
            let mut v = centre as f32;
            for _ in 0..64 {
                v = v.next_down();
            }
            for _ in 0..128 {
                assert!(err(v) <= SIN_MAX_ABS_ERR as f64, "error {} at {v}", err(v));
                v = v.next_up();
            }
        }
        assert_eq!(sin_f32(0.0), 0.0);
        assert_eq!(sin_f32(-0.0), 0.0);
    }

    #[test]
    fn random_values_up_to_1e4() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..2_000_000 {
            let x: f32 = rng.random_range(-1.0e4..1.0e4);
            assert!(err(x) <= SIN_MAX_ABS_ERR as f64, "error {} at {x}", err(x));
        }
    }

    #[test]
    fn large_arguments_stay_bounded() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let sign = |rng: &mut ChaCha8Rng| if rng.random() { 1.0 } else { -1.0 };
        let mid: Vec<f32> = (0..200_000)
            .map(|_| rng.random_range(25_736.0..205_887.0) * sign(&mut rng))
            .collect();
        let high: Vec<f32> = (0..200_000)
            .map(|_| rng.random_range(205_887.0..4.0e6) * sign(&mut rng))
            .collect();
        for (xs, slope, base) in [(mid, 2.0e-11, SIN_MAX_ABS_ERR as f64), (high, 1.2e-7, 0.0)] {
            let mut fused = xs.clone();
            sin_slice(&mut fused);
            for (&x, &f) in xs.iter().zip(&fused) {
                let bound = base + x.abs() as f64 * slope;
                let want = (x as f64).sin();
                assert!(err(x) <= bound, "error {} at {x}", err(x));
                assert!(
                    (f as f64 - want).abs() <= bound,
                    "slice error {} at {x}",
                    f as f64 - want
                );
            }
        }
        for x in [
            1e7f32,
            -3e9,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            let s = sin_f32(x);
            assert!(s.abs() <= 1.0 + 1e-6, "sin({x}) = {s}");
            let mut v = [x];
            sin_slice(&mut v);
            assert!(v[0].abs() <= 1.0 + 1e-6, "sin({x}) = {}", v[0]);
        }
        assert!(sin_f32(f32::NAN).is_nan());
    }

    /// Every positive `f32` below 25 736 (k < 2¹³; sine is odd and the
    /// kernel symmetric, so negatives behave the same), through both
    /// builds: about 1.2·10⁹ values, so it runs only on request, in release
    /// mode: `cargo test --release --lib fastmath -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn exhaustive_below_25736() {
        use rayon::prelude::*;
        let end = 25_736.0f32.to_bits() + 1;
        let chunk = 1u32 << 16;
        // (max error of sin, where, max error of sin²) for one build.
        let sweep = |slices: bool| {
            (0..end.div_ceil(chunk))
                .into_par_iter()
                .map(|c| {
                    let xs: Vec<f32> = (c * chunk..end.min((c + 1) * chunk))
                        .map(f32::from_bits)
                        .collect();
                    let (mut s, mut q) = (xs.clone(), xs.clone());
                    if slices {
                        sin_slice(&mut s);
                        sin_sq_slice(&mut q);
                    } else {
                        s.iter_mut().for_each(|v| *v = sin_f32(*v));
                        q.iter_mut().for_each(|v| *v = sin_sq_f32(*v));
                    }
                    let mut worst = (0.0f64, 0.0f32, 0.0f64);
                    for i in 0..xs.len() {
                        let want = (xs[i] as f64).sin();
                        let e = (s[i] as f64 - want).abs();
                        if e > worst.0 {
                            worst = (e, xs[i], worst.2);
                        }
                        worst.2 = worst.2.max((q[i] as f64 - want * want).abs());
                    }
                    worst
                })
                .reduce(
                    || (0.0, 0.0, 0.0),
                    |a, b| {
                        let m = if a.0 >= b.0 { (a.0, a.1) } else { (b.0, b.1) };
                        (m.0, m.1, a.2.max(b.2))
                    },
                )
        };
        for (name, slices) in [("portable", false), ("slice (fused where available)", true)] {
            let (worst, at, worst_sq) = sweep(slices);
            println!("{name}: sin max abs error {worst:e} at {at}; sin² {worst_sq:e}");
            assert!(worst <= SIN_MAX_ABS_ERR as f64 && worst_sq <= SIN_SQ_MAX_ABS_ERR as f64);
        }
    }

    #[test]
    fn sin_sq_matches_the_square() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for _ in 0..200_000 {
            let x: f32 = rng.random_range(-1.0e4..1.0e4);
            let want = (x as f64).sin().powi(2);
            let e = (sin_sq_f32(x) as f64 - want).abs();
            assert!(e <= SIN_SQ_MAX_ABS_ERR as f64, "error {e} at {x}");
        }
    }

    #[test]
    fn slices_agree_with_the_scalar_functions() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        let xs: Vec<f32> = (0..100_003)
            .map(|_| rng.random_range(-2.0e4..2.0e4))
            .collect();
        let mut s = xs.clone();
        sin_slice(&mut s);
        let mut q = xs.clone();
        sin_sq_slice(&mut q);
        for i in 0..xs.len() {
            let want = (xs[i] as f64).sin();
            assert!(
                (s[i] as f64 - want).abs() <= SIN_MAX_ABS_ERR as f64,
                "sin {}",
                xs[i]
            );
            assert!(
                (q[i] as f64 - want * want).abs() <= SIN_SQ_MAX_ABS_ERR as f64,
                "sin² {}",
                xs[i]
            );
            // The fused build rounds less often, never differently by more
            // than a couple of ulp.
            assert!((s[i] - sin_f32(xs[i])).abs() <= 2.5e-7, "sin {}", xs[i]);
        }
    }
}
