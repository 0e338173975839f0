//! Spending bits: coded weights (FORMAT.md §6.4) with a step per tensor
//! from its sensitivity, one global factor that sets the rate, and the
//! search for the factor that meets a byte budget.
//!
//! For tensor t of n_t values, quantising with step Δ_t adds about
//! g_t · Δ_t² / 12 to the output's mean squared error, where g_t is the
//! error added per unit of noise variance spread over the tensor
//! ([`sensitivities`], measured with the decoder), and costs about
//! n_t · (h_t − log₂ Δ_t) bits. Minimising error + λ · bits over the steps
//! gives Δ_t = α · √(n_t / g_t) with λ = α² · ln 2 / 6 ([`lambda`]): every
//! tensor spends its bits where they buy the same error, and α alone moves
//! the rate.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Error;
use crate::entropy::{Geometric, MAX_MAGNITUDE};
use crate::eval::Evaluator;
use crate::format::{Encoding, SconeFile};
use crate::model::Network;

/// For each tensor, the mean squared output error (network units) added
/// per unit variance of independent noise on each of its values, measured
/// at `coords` (n × in_dims): noise of a small variance is added to one
/// tensor at a time, twice, with `seed`. Fixed tensors (never trained) get
/// `f64::INFINITY`: they stay `f32`.
pub fn sensitivities(net: &Network, coords: &[f32], seed: u64) -> Result<Vec<f64>, Error> {
    let specs = net.arch.tensor_specs();
    let n = coords.len() / net.arch.in_dims;
    let mut base = vec![0f32; n * net.arch.out_dims];
    Evaluator::new(net)?.eval(coords, &mut base)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(specs.len());
    let mut noisy = vec![0f32; base.len()];
    for (i, spec) in specs.iter().enumerate() {
        if spec.fixed {
            out.push(f64::INFINITY);
            continue;
        }
        let t = &net.tensors[i];
        let rms = (t.data.iter().map(|v| (v * v) as f64).sum::<f64>() / t.data.len() as f64)
            .sqrt()
            .max(1e-6);
        // Small against the values, so that the response stays linear in
        // the variance.
        let amplitude = 1e-3 * rms;
        let mut g = 0.0;
        for _ in 0..2 {
            let mut probe = net.clone();
            for v in &mut probe.tensors[i].data {
                *v += rng.random_range(-amplitude..amplitude) as f32;
            }
            Evaluator::new(&probe)?.eval(coords, &mut noisy)?;
            let mse = base
                .iter()
                .zip(&noisy)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                / base.len() as f64;
            // Uniform noise on ±a has variance a²/3.
            g += mse / (amplitude * amplitude / 3.0);
        }
        out.push((g / 2.0).max(1e-12));
    }
    Ok(out)
}

/// The step of each tensor at rate factor `alpha`: α · √(n_t / g_t), no
/// finer than a tensor's largest magnitude over [`MAX_MAGNITUDE`]; `None`
/// for tensors that stay `f32` (infinite sensitivity).
pub fn steps(net: &Network, g: &[f64], alpha: f64) -> Vec<Option<f32>> {
    net.tensors
        .iter()
        .zip(g)
        .map(|(t, &g)| {
            if !g.is_finite() {
                return None;
            }
            let top = t.data.iter().fold(0f32, |m, v| m.max(v.abs()));
            let finest = (top / MAX_MAGNITUDE as f32) * 1.0001;
            let step = (alpha * (t.data.len() as f64 / g).sqrt()) as f32;
            Some(step.max(finest).max(f32::MIN_POSITIVE))
        })
        .collect()
}

/// The encodings of [`steps`].
pub fn encodings(net: &Network, g: &[f64], alpha: f64) -> Vec<Encoding> {
    steps(net, g, alpha)
        .into_iter()
        .map(|s| s.map_or(Encoding::F32, |step| Encoding::Coded { step }))
        .collect()
}

/// The rate term's weight λ in mean squared error (network units) per
/// bit at rate factor `alpha`: α² · ln 2 / 6.
pub fn lambda(alpha: f64) -> f64 {
    alpha * alpha * std::f64::consts::LN_2 / 6.0
}

/// The coarsest α [`fit_budget`] tries: every weight then lies within a
/// step or so of zero.
const COARSEST: f64 = 1e3;
/// The finest α it tries.
const FINEST: f64 = 1e-9;

/// The bytes of `file` at the coarsest steps: what its headers, table and
/// `meta` take with next to nothing in the weights.
pub fn smallest_bytes(file: &SconeFile, g: &[f64]) -> Result<u64, Error> {
    let f = SconeFile {
        encodings: encodings(&file.network, g, COARSEST),
        ..file.clone()
    };
    Ok(f.to_bytes()?.len() as u64)
}

/// The factor α whose file (`file` with [`encodings`] at α) is the largest
/// within `budget` bytes, and its bytes: a bisection on log α, each step
/// writing the file. `None` when even the coarsest steps exceed the
/// budget.
pub fn fit_budget(
    file: &SconeFile,
    g: &[f64],
    budget: u64,
) -> Result<Option<(f64, Vec<u8>)>, Error> {
    let write = |alpha: f64| -> Result<Vec<u8>, Error> {
        let f = SconeFile {
            encodings: encodings(&file.network, g, alpha),
            ..file.clone()
        };
        f.to_bytes()
    };
    // α spans fine to coarse; the coarsest puts every value on 0 or ±1.
    let (mut lo, mut hi) = (FINEST.ln(), COARSEST.ln());
    let coarsest = write(hi.exp())?;
    if coarsest.len() as u64 > budget {
        return Ok(None);
    }
    let mut best = (hi.exp(), coarsest);
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        let bytes = write(mid.exp())?;
        if bytes.len() as u64 <= budget {
            best = (mid.exp(), bytes);
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo < 1e-3 {
            break;
        }
    }
    Ok(Some(best))
}

/// The coarsest factor α whose file (`file` with [`encodings`] at α)
/// still measures at least `psnr` dB by `measure` (which is given the file
/// as a decoder reads it), found by bisection on log α; `None` when even
/// the finest steps fall short.
pub fn fit_psnr(
    file: &SconeFile,
    g: &[f64],
    psnr: f64,
    mut measure: impl FnMut(&SconeFile) -> Result<f64, Error>,
) -> Result<Option<f64>, Error> {
    let mut at = |alpha: f64| -> Result<f64, Error> {
        let f = SconeFile {
            encodings: encodings(&file.network, g, alpha),
            ..file.clone()
        };
        measure(&SconeFile::from_bytes(&f.to_bytes()?)?)
    };
    let (mut lo, mut hi) = (FINEST.ln(), COARSEST.ln());
    if at(lo.exp())? < psnr {
        return Ok(None);
    }
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if at(mid.exp())? >= psnr {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-3 {
            break;
        }
    }
    Ok(Some(lo.exp()))
}

/// Bits each coded tensor of `net` would take at `steps` (the integer
/// table's estimate), `None` for the others: what the rate term of
/// quantisation-aware training sees.
pub fn tensor_models(net: &Network, steps: &[Option<f32>]) -> Vec<Option<Geometric>> {
    net.tensors
        .iter()
        .zip(steps)
        .map(|(t, s)| {
            let step = (*s)?;
            let q: Vec<u32> = t
                .data
                .iter()
                .map(|v| ((v / step).round().abs() as u32).min(MAX_MAGNITUDE as u32))
                .collect();
            let max = q.iter().copied().max().unwrap_or(0) as u16;
            let mut counts = vec![0u64; max as usize + 1];
            q.iter().for_each(|&k| counts[k as usize] += 1);
            Some(Geometric::best_for(&counts, max))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Arch, Mask, init_network};
    use crate::signal::{Convention, Kind, Layout, SignalInfo};

    fn file(arch: &Arch) -> SconeFile {
        SconeFile {
            signal: SignalInfo {
                kind: Kind::Image,
                layout: Layout::Rgb,
                sizes: vec![16, 16],
                bit_depth: 8,
                value_range: [0.0, 1.0],
                convention: Convention::CellCentre,
                frame_rate: None,
                domain: None,
            },
            network: init_network(arch, 3),
            encodings: vec![Encoding::F32; arch.tensor_specs().len()],
            metadata: None,
        }
    }

    fn coords() -> Vec<f32> {
        (0..32 * 32)
            .flat_map(|i| [(i % 32) as f32 / 16.0 - 1.0, (i / 32) as f32 / 16.0 - 1.0])
            .collect()
    }

    #[test]
    fn steps_follow_the_sensitivities_and_fixed_tensors_stay_f32() {
        let arch = Arch::scone(2, 3, 3, 16, 30.0, vec![60.0, 20.0], Mask::Sin2);
        let f = file(&arch);
        let g = sensitivities(&f.network, &coords(), 1).unwrap();
        assert!(g.iter().all(|g| g.is_finite() && *g > 0.0), "{g:?}");
        let s = steps(&f.network, &g, 1e-3);
        for (i, (t, step)) in f.network.tensors.iter().zip(&s).enumerate() {
            let step = step.unwrap();
            let top = t.data.iter().fold(0f32, |m, v| m.max(v.abs()));
            let ideal = (1e-3 * (t.data.len() as f64 / g[i]).sqrt()) as f32;
            assert!(
                step >= ideal && step * MAX_MAGNITUDE as f32 >= top,
                "{}",
                t.name
            );
        }
        // Twice α, twice the steps (where the finest bound does not bind).
        let s2 = steps(&f.network, &g, 2e-3);
        for (a, b) in s.iter().zip(&s2) {
            let (a, b) = (a.unwrap(), b.unwrap());
            assert!(b >= a * 1.999);
        }
        // rbm's fixed patterns are never quantised.
        let rbm = Arch {
            family: crate::model::Family::Rbm {
                omega0: 30.0,
                mask_omega: 10.0,
            },
            ..arch
        };
        let f = file(&rbm);
        let g = sensitivities(&f.network, &coords(), 1).unwrap();
        for (spec, e) in rbm
            .tensor_specs()
            .iter()
            .zip(encodings(&f.network, &g, 1e-3))
        {
            assert_eq!(spec.fixed, e == Encoding::F32, "{}", spec.name);
        }
    }

    #[test]
    fn the_budget_search_fits_and_refuses() {
        let arch = Arch::scone(2, 3, 3, 24, 30.0, vec![60.0, 20.0], Mask::Sin2);
        let f = file(&arch);
        let g = sensitivities(&f.network, &coords(), 1).unwrap();
        let smallest = smallest_bytes(&f, &g).unwrap();
        let mut last = 0;
        for budget in [smallest + 200, smallest + 600, smallest + 1500] {
            let (alpha, bytes) = fit_budget(&f, &g, budget).unwrap().unwrap();
            assert!(bytes.len() as u64 <= budget, "{} > {budget}", bytes.len());
            assert!(
                bytes.len() as u64 >= budget * 9 / 10,
                "{} for {budget}",
                bytes.len()
            );
            assert!(bytes.len() > last);
            last = bytes.len();
            // The bytes are the file at that α.
            let again = SconeFile {
                encodings: encodings(&f.network, &g, alpha),
                ..f.clone()
            };
            assert_eq!(again.to_bytes().unwrap(), bytes);
        }
        assert!(fit_budget(&f, &g, smallest - 1).unwrap().is_none());
    }

    #[test]
    fn the_rate_term_is_lambda_per_bit() {
        assert!((lambda(1e-3) - 1e-6 * std::f64::consts::LN_2 / 6.0).abs() < 1e-15);
        let arch = Arch::scone(2, 3, 3, 16, 30.0, vec![60.0, 20.0], Mask::Sin2);
        let f = file(&arch);
        let g = sensitivities(&f.network, &coords(), 1).unwrap();
        let s = steps(&f.network, &g, 1e-3);
        let models = tensor_models(&f.network, &s);
        assert!(
            models
                .iter()
                .all(|m| m.is_some_and(|m| m.bits_per_step() > 0.0))
        );
    }
}
