//! The fast evaluator against the reference.

use super::*;
use crate::model::{Mask, init_network};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn random_coords(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * d)
        .map(|_| rng.random_range(-1.0f32..=1.0))
        .collect()
}

/// Largest absolute difference between the evaluator and the reference,
/// and the largest reference magnitude.
fn compare(net: &Network, coords: &[f32], tile: usize) -> (f64, f64) {
    let ev = Evaluator::new(net).unwrap();
    let mut fast = vec![f32::NAN; coords.len() / net.arch.in_dims * net.arch.out_dims];
    ev.eval_tiled(coords, &mut fast, tile).unwrap();
    let coords64: Vec<f64> = coords.iter().map(|&c| c as f64).collect();
    let slow = eval_reference(net, &coords64);
    assert_eq!(fast.len(), slow.len());
    let mut worst = 0.0f64;
    let mut scale = 0.0f64;
    for (f, s) in fast.iter().zip(&slow) {
        assert!(f.is_finite(), "non-finite output {f}");
        worst = worst.max((*f as f64 - s).abs());
        scale = scale.max(s.abs());
    }
    (worst, scale)
}

fn assert_close(net: &Network, coords: &[f32], tile: usize) {
    let (err, scale) = compare(net, coords, tile);
    assert!(err <= 1e-4, "max error {err:e} (outputs up to {scale:e})");
}

fn arch(in_dims: usize, out_dims: usize, hidden: usize, omegas: &[f32]) -> Arch {
    Arch::scone(
        in_dims,
        out_dims,
        omegas.len() + 1,
        hidden,
        30.0,
        omegas.to_vec(),
        Mask::Sin2,
    )
}

/// Multiplies the tensors whose name contains `part` by `factor`.
fn scale_tensors(net: &mut Network, part: &str, factor: f32) {
    for t in net.tensors.iter_mut().filter(|t| t.name.contains(part)) {
        t.data.iter_mut().for_each(|v| *v *= factor);
    }
}

/// A network with outputs of order 1: output weights ×50 and every
/// weight jittered by up to ±20 % so that nothing relies on the
/// initialisation's symmetries.
fn loud(arch: &Arch, seed: u64) -> Network {
    let mut net = init_network(arch, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    for t in &mut net.tensors {
        t.data
            .iter_mut()
            .for_each(|v| *v *= rng.random_range(0.8f32..1.2));
    }
    scale_tensors(&mut net, "output.weight", 50.0);
    net
}

#[test]
fn paper_image_model_matches_the_reference() {
    let net = init_network(&Arch::paper_image(3), 1);
    // 2000 = 15 tiles of 128 and a partial one.
    assert_close(&net, &random_coords(2000, 2, 2), TILE_POINTS);
}

#[test]
fn loud_paper_image_model_matches_the_reference() {
    let net = loud(&Arch::paper_image(3), 3);
    let (err, scale) = compare(&net, &random_coords(1500, 2, 4), TILE_POINTS);
    assert!(
        scale > 0.5,
        "outputs should be of order 1, largest is {scale}"
    );
    assert!(err <= 1e-4, "max error {err:e} (outputs up to {scale:e})");
    assert!(
        err <= 2e-5 * scale,
        "max error {err:e} is large relative to outputs up to {scale:e}"
    );
}

#[test]
fn three_input_deep_model_matches_the_reference() {
    let a = arch(3, 1, 64, &[70.0, 70.0, 60.0, 50.0, 40.0, 40.0, 30.0]);
    assert_close(&init_network(&a, 5), &random_coords(700, 3, 6), TILE_POINTS);
    let net = loud(&a, 7);
    let (err, scale) = compare(&net, &random_coords(700, 3, 8), TILE_POINTS);
    assert!(
        scale > 0.2,
        "outputs should be of order 1, largest is {scale}"
    );
    assert!(
        err <= 1e-4 && err <= 2e-5 * scale,
        "max error {err:e} (outputs up to {scale:e})"
    );
}

#[test]
fn one_hidden_layer_models_match_the_reference() {
    for d in 1..=3 {
        let a = arch(d, 2, 40, &[45.0]);
        assert_close(
            &init_network(&a, 9),
            &random_coords(300, d, 10),
            TILE_POINTS,
        );
        assert_close(&loud(&a, 11), &random_coords(300, d, 12), TILE_POINTS);
    }
}

#[test]
fn odd_sizes_and_tiles() {
    let a = arch(2, 4, 30, &[60.0, 30.0, 10.0]);
    let net = loud(&a, 13);
    for n in [0, 1, 2, 7, 127, 128, 129, 300] {
        let coords = random_coords(n, 2, 14 + n as u64);
        for tile in [1, 5, 8, TILE_POINTS] {
            assert_close(&net, &coords, tile);
        }
    }
}

#[test]
fn portable_build_matches_the_reference() {
    // The element-wise kernels without AVX2 and FMA, which this CPU would
    // otherwise never run.
    let net = loud(&arch(3, 2, 40, &[60.0, 40.0]), 25);
    let mut ev = Evaluator::new(&net).unwrap();
    ev.avx2 = false;
    let coords = random_coords(333, 3, 26);
    let mut fast = vec![0.0f32; 333 * 2];
    ev.eval(&coords, &mut fast).unwrap();
    let slow = eval_reference(&net, &coords.iter().map(|&c| c as f64).collect::<Vec<_>>());
    let worst = fast
        .iter()
        .zip(&slow)
        .map(|(f, s)| (*f as f64 - s).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-4, "max error {worst:e}");
}

#[test]
fn eval_point_matches_eval() {
    let net = loud(&Arch::paper_image(3), 15);
    let ev = Evaluator::new(&net).unwrap();
    let coords = random_coords(300, 2, 16);
    let mut out = vec![0.0; 300 * 3];
    ev.eval(&coords, &mut out).unwrap();
    for (p, x) in coords.chunks_exact(2).enumerate() {
        let one = ev.eval_point(x).unwrap();
        for c in 0..3 {
            assert!(
                (one[c] - out[3 * p + c]).abs() <= 1e-5,
                "point {p}: {one:?} vs {:?}",
                &out[3 * p..3 * p + 3]
            );
        }
    }
    assert_eq!(ev.macs_per_point(), Arch::paper_image(3).macs_per_point());
    assert_eq!(ev.arch(), &Arch::paper_image(3));
}

#[test]
fn result_does_not_depend_on_thread_count() {
    let a = arch(3, 2, 48, &[50.0, 40.0, 30.0]);
    let ev = Evaluator::new(&loud(&a, 17)).unwrap();
    let coords = random_coords(10 * TILE_POINTS + 17, 3, 18);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut out = vec![0.0f32; coords.len() / 3 * 2];
        pool.install(|| ev.eval(&coords, &mut out)).unwrap();
        out
    };
    let one = run(1);
    for threads in [2, 3, 5] {
        let many = run(threads);
        assert!(
            one.iter()
                .zip(&many)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{threads} threads"
        );
    }
}

#[test]
fn wrong_lengths_and_bad_networks_are_errors() {
    let net = init_network(&arch(2, 3, 8, &[30.0]), 19);
    let ev = Evaluator::new(&net).unwrap();
    let e = ev.eval(&[0.0; 4], &mut [0.0; 5]).unwrap_err();
    assert!(matches!(
        e,
        Error::Parameter(ref p) if p.misuse == Misuse::BufferLength { needed: 6, given: 5 }
    ));
    assert!(ev.eval(&[0.0; 3], &mut [0.0; 3]).is_err());
    assert!(ev.eval_point(&[0.0; 3]).is_err());
    // A network built by hand that breaks FORMAT.md §6.2: an error, not a
    // panic.
    let mut bad = net.clone();
    bad.tensors.pop();
    assert!(
        matches!(Evaluator::new(&bad), Err(Error::Format(ref f)) if f.rule == crate::Rule::TensorTable)
    );
    let mut nan = net.clone();
    nan.tensors[0].data[0] = f32::NAN;
    assert!(
        matches!(Evaluator::new(&nan), Err(Error::Format(ref f)) if f.rule == crate::Rule::NonFinite)
    );
    let mut wide = net;
    wide.arch.hidden = 0;
    assert!(Evaluator::new(&wide).is_err());
}

/// Nanoseconds per hidden unit per point of the element-wise kernels,
/// single-threaded. Run with
/// `cargo test --release --lib eval::tests::elementwise_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn elementwise_cost() {
    let a = Arch::paper_image(3);
    let ev = Evaluator::new(&loud(&a, 23)).unwrap();
    let ts = TILE_POINTS;
    let coords = random_coords(ts, 2, 24);
    let xt: Vec<f32> = (0..2)
        .flat_map(|k| coords.iter().skip(k).step_by(2).copied())
        .collect();
    let xs: [&[f32]; 2] = [&xt[..ts], &xt[ts..]];
    let mut z = vec![0.5f32; a.hidden * ts];
    let reps = 2000;
    for first in [true, false] {
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let start = Instant::now();
            for _ in 0..reps {
                if first {
                    elementwise::<2, true>(ev.avx2, Mask::Sin2, &ev.hidden[0], xs, &mut z, ts);
                } else {
                    z.iter_mut().for_each(|v| *v = v.abs());
                    elementwise::<2, false>(ev.avx2, Mask::Sin2, &ev.hidden[1], xs, &mut z, ts);
                }
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        let ns = best * 1e9 / (reps * a.hidden * ts) as f64;
        println!("first layer {first}: {ns:.3} ns per unit per point");
    }
}

/// Every family and mask, at one to three inputs, small and across tiles:
/// the fast evaluator within 1e-4 of the reference, with outputs of order
/// one. rbm points within 1e-4 of a pattern edge are left out (FORMAT.md
/// §5.3).
#[test]
fn every_family_matches_the_reference() {
    use crate::eval::reference::{normalise_outputs, rbm_gate_margin};
    use crate::model::{FAMILY_NAMES, Family};
    let mut archs = Vec::new();
    for d in 1..=3 {
        for name in FAMILY_NAMES {
            let layers = if d == 2 { 4 } else { 3 };
            let mut family = Family::default_of(name, layers).unwrap();
            if let Family::Ffn { frequencies, .. } = &mut family {
                *frequencies = 24;
            }
            archs.push(Arch {
                in_dims: d,
                out_dims: 3,
                layers,
                hidden: 40,
                family,
            });
        }
        for mask in Mask::ALL {
            archs.push(Arch::scone(d, 2, 3, 40, 30.0, vec![60.0, 20.0], mask));
        }
    }
    for (k, arch) in archs.iter().enumerate() {
        let mut net = loud(arch, 20 + k as u64);
        let coords = random_coords(300, arch.in_dims, 40 + k as u64);
        let c64: Vec<f64> = coords.iter().map(|&c| c as f64).collect();
        normalise_outputs(&mut net, &c64);
        let kept: Vec<f32> = coords
            .chunks_exact(arch.in_dims)
            .zip(c64.chunks_exact(arch.in_dims))
            .filter(|(_, x)| rbm_gate_margin(&net, x).is_none_or(|m| m > 1e-4))
            .flat_map(|(x, _)| x.to_vec())
            .collect();
        assert!(
            kept.len() > coords.len() * 9 / 10,
            "{}: too few points kept",
            arch.label()
        );
        for tile in [TILE_POINTS, 7] {
            let (err, scale) = compare(&net, &kept, tile);
            assert!(
                scale > 0.5,
                "{} d={}: outputs up to {scale}",
                arch.label(),
                arch.in_dims
            );
            assert!(
                err <= 1e-4,
                "{} d={}: max error {err:e} (outputs up to {scale:e})",
                arch.label(),
                arch.in_dims
            );
        }
    }
}

#[test]
fn grid_evaluator_matches_the_reference_for_every_synthesis() {
    use crate::model::Synthesis;
    use crate::model::init::grid_test_network;
    let syntheses = [
        Synthesis::Scone {
            omega0: 2.0,
            omegas: vec![3.0, 1.5],
            mask: Mask::Sin2,
        },
        Synthesis::Scone {
            omega0: 1.0,
            omegas: vec![2.0, 2.0],
            mask: Mask::Sigmoid,
        },
        Synthesis::Siren { omega0: 1.5 },
        Synthesis::Relu,
    ];
    for (i, s) in syntheses.into_iter().enumerate() {
        // Odd sizes: grids of 37×23 down to 1×1.
        let net = grid_test_network(s, 7, 37, 23, 3, i as u64);
        // Random points, points beyond the edges, and a 2× pixel grid.
        let mut coords = random_coords(700, 2, 9 + i as u64);
        coords.extend([-1.0, -1.0, 1.0, 1.0, -1.2, 0.3, 0.999, -1.0]);
        coords.extend(crate::signal::grid::image_coords(
            74,
            46,
            0,
            46,
            crate::signal::Convention::CellCentre,
        ));
        let (err, scale) = compare(&net, &coords, TILE_POINTS);
        assert!(
            scale > 0.1,
            "outputs up to {scale}: the test network is too flat"
        );
        assert!(
            err <= 2e-4 * (1.0 + scale),
            "synthesis {i}: max error {err:e}"
        );
    }
}

#[test]
fn grid_latents_interpolate_their_samples_at_cell_centres() {
    use crate::model::Synthesis;
    use crate::model::init::grid_test_network;
    let net = grid_test_network(Synthesis::Relu, 2, 9, 5, 1, 3);
    let grid0 = &net.tensor("latent.0").data;
    for r in 0..5 {
        for c in 0..9 {
            let x = [
                (2 * c + 1) as f64 / 9.0 - 1.0,
                (2 * r + 1) as f64 / 5.0 - 1.0,
            ];
            let l = reference::grid_latents(&net, &x);
            assert!((l[0] - grid0[r * 9 + c] as f64).abs() < 1e-9);
        }
    }
}
