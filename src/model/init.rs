//! Deterministic initialisation in plain Rust, so that every training
//! backend starts from the same weights for a given seed. Each family
//! follows its own paper.

use super::{Arch, Family, Network, Synthesis, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Normal};

/// Initialises a network for `arch` from `seed`.
///
/// - SCONE: mask maps and the output map use SIREN's scheme (the first
///   map U(−1/d_in, 1/d_in), the others U(−√(6/d_in)/ω₀, √(6/d_in)/ω₀), and
///   their biases likewise); basis maps and their biases are U(−√(1/d),
///   √(1/d)) for d input coordinates; the `-l` masks' scales start at 1.
/// - SIREN and rbm's sine layers: SIREN's scheme with their ω₀; rbm's
///   fixed patterns are U(−1, 1) (weights and offsets).
/// - FFN: frequencies N(0, σ²); linear maps PyTorch's default
///   U(−1/√fan_in, 1/√fan_in), biases included.
/// - GaborNet (Fathony et al.): with F = L − 1 filters, γ ~ Gamma(α/F, β),
///   filter weights PyTorch's default times input_scale/√F·√γ, filter
///   biases U(−π, π), centres μ U(−1, 1); multiplicative maps
///   U(−√(weight_scale/H), √(weight_scale/H)) with default biases.
/// - WIRE: PyTorch's default for every map, real and imaginary parts alike.
pub fn init_network(arch: &Arch, seed: u64) -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let specs = arch.tensor_specs();
    let fan_in = |name: &str| {
        let weight = name
            .replace(".bias", ".weight")
            .replace(".weight.re", ".weight")
            .replace(".weight.im", ".weight");
        specs
            .iter()
            .find(|s| s.name == weight || s.name == format!("{weight}.re"))
            .map(|s| s.shape[1])
            .unwrap_or(arch.hidden)
    };
    let siren = |name: &str, omega0: f32| {
        let n = fan_in(name) as f64;
        if name.starts_with("hidden.0.") {
            1.0 / n
        } else {
            (6.0 / n).sqrt() / omega0 as f64
        }
    };
    let torch_default = |name: &str| 1.0 / (fan_in(name) as f64).sqrt();
    let filters = arch.hidden_layers() as f64;
    // GaborNet's γ of each filter, drawn before the filter's weights so
    // that they can be scaled by √γ.
    let mut gammas: Vec<Vec<f64>> = Vec::new();
    let mut tensors = Vec::with_capacity(specs.len());
    for spec in &specs {
        let n: usize = spec.shape.iter().product();
        let name = spec.name.as_str();
        let uniform = |rng: &mut ChaCha8Rng, bound: f64| -> Vec<f32> {
            (0..n)
                .map(|_| rng.random_range(-bound..bound) as f32)
                .collect()
        };
        let data = match &arch.family {
            Family::Scone { omega0, .. } => {
                if name.contains(".basis.") {
                    uniform(&mut rng, (1.0 / arch.in_dims as f64).sqrt())
                } else if name.ends_with(".mask.scale") {
                    vec![1.0; n]
                } else {
                    let bound = if name.starts_with("hidden.0.mask") {
                        1.0 / fan_in(name) as f64
                    } else {
                        (6.0 / fan_in(name) as f64).sqrt() / *omega0 as f64
                    };
                    uniform(&mut rng, bound)
                }
            }
            Family::Rbm { omega0, .. } => {
                if name.contains(".mask.") {
                    uniform(&mut rng, 1.0)
                } else {
                    uniform(&mut rng, siren(name, *omega0))
                }
            }
            Family::Siren { omega0 } => uniform(&mut rng, siren(name, *omega0)),
            Family::Ffn { sigma, .. } => {
                if name == "encoding.weight" {
                    let normal = Normal::new(0.0, *sigma as f64).expect("σ is finite");
                    (0..n).map(|_| normal.sample(&mut rng) as f32).collect()
                } else {
                    uniform(&mut rng, torch_default(name))
                }
            }
            Family::Mfn {
                input_scale,
                alpha,
                beta,
                weight_scale,
            } => {
                if name.ends_with(".gamma") {
                    gammas
                        .last()
                        .expect("drawn with the weights")
                        .iter()
                        .map(|&g| g as f32)
                        .collect()
                } else if name.starts_with("filter.") && name.ends_with(".weight") {
                    let shape = (*alpha as f64 / filters).max(1e-3);
                    let gamma = Gamma::new(shape, 1.0 / (*beta as f64).max(1e-6))
                        .expect("Gamma parameters are positive");
                    let g: Vec<f64> = (0..arch.hidden).map(|_| gamma.sample(&mut rng)).collect();
                    let bound = torch_default(name);
                    let scale = *input_scale as f64 / filters.sqrt();
                    let d = spec.shape[1];
                    let w = (0..n)
                        .map(|k| {
                            let v = rng.random_range(-bound..bound);
                            (v * scale * g[k / d].sqrt()) as f32
                        })
                        .collect();
                    gammas.push(g);
                    w
                } else if name.starts_with("filter.") && name.ends_with(".bias") {
                    uniform(&mut rng, std::f64::consts::PI)
                } else if name.ends_with(".mu") {
                    uniform(&mut rng, 1.0)
                } else if name.starts_with("hidden.") && name.ends_with(".weight") {
                    uniform(&mut rng, (*weight_scale as f64 / arch.hidden as f64).sqrt())
                } else {
                    uniform(&mut rng, torch_default(name))
                }
            }
            Family::Wire { .. } => uniform(&mut rng, torch_default(name)),
            // Latents start at zero, as in Cool-chic; the synthesis by its
            // kind's scheme, its first map reading latents of a few units.
            Family::Grid { synthesis, .. } => {
                if spec.latent {
                    vec![0.0; n]
                } else if name.contains(".basis.") {
                    uniform(&mut rng, (1.0 / arch.in_dims as f64).sqrt())
                } else if name.ends_with(".mask.scale") {
                    vec![1.0; n]
                } else {
                    match synthesis {
                        Synthesis::Scone { omega0, .. } | Synthesis::Siren { omega0 } => {
                            let fi = fan_in(name) as f64;
                            uniform(&mut rng, (6.0 / fi).sqrt() / *omega0 as f64)
                        }
                        Synthesis::Relu => uniform(&mut rng, torch_default(name)),
                    }
                }
            }
        };
        tensors.push(Tensor {
            name: spec.name.clone(),
            shape: spec.shape.clone(),
            data,
        });
    }
    Network::new(arch.clone(), tensors).expect("initialised tensors match their specs")
}

/// A `grid` network for tests: `synthesis`, `levels` grids over a
/// `width` × `height` image, L = 3, H = 12, synthesis initialised from
/// `seed` (frequencies large enough to matter) and latents drawn as
/// integers in −6 … 6, a third of them zero.
#[cfg(test)]
pub(crate) fn grid_test_network(
    synthesis: super::Synthesis,
    levels: usize,
    width: usize,
    height: usize,
    out_dims: usize,
    seed: u64,
) -> Network {
    let arch = Arch::grid(out_dims, 3, 12, synthesis, levels, width, height);
    let mut net = init_network(&arch, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let specs = arch.tensor_specs();
    for (s, t) in specs.iter().zip(&mut net.tensors) {
        if s.latent {
            t.data.iter_mut().for_each(|v| {
                let q: i32 = rng.random_range(-6..=6);
                *v = if rng.random_range(0..3) == 0 {
                    0.0
                } else {
                    q as f32
                };
            });
        } else {
            // Make the first map's weights large enough that latents move
            // the outputs by more than the evaluators' rounding.
            t.data
                .iter_mut()
                .for_each(|v| *v = rng.random_range(-0.5f32..0.5));
        }
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FAMILY_NAMES;

    #[test]
    fn same_seed_same_weights() {
        let a = Arch::paper_image(3);
        assert_eq!(init_network(&a, 7), init_network(&a, 7));
        assert_ne!(init_network(&a, 7), init_network(&a, 8));
    }

    #[test]
    fn bounds_follow_the_paper() {
        let a = Arch::paper_image(3);
        let n = init_network(&a, 1);
        let max = |name: &str| n.tensor(name).data.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(max("hidden.0.mask.weight") <= 0.5);
        assert!(max("hidden.1.mask.weight") <= (6.0f32 / 250.0).sqrt() / 30.0);
        assert!(max("hidden.2.basis.weight") <= 0.5f32.sqrt());
    }

    #[test]
    fn every_family_initialises_within_its_papers_ranges() {
        for name in FAMILY_NAMES {
            let a = Arch::paper_image_of(name, 3).unwrap();
            let n = init_network(&a, 3);
            let max = |t: &str| n.tensor(t).data.iter().fold(0f32, |m, v| m.max(v.abs()));
            match name {
                "siren" | "rbm" => {
                    assert!(max("hidden.0.weight") <= 0.5);
                    assert!(max("hidden.1.weight") <= (6.0f32 / 256.0).sqrt() / 30.0);
                }
                "ffn" => {
                    let b = &n.tensor("encoding.weight").data;
                    let sd = (b.iter().map(|v| v * v).sum::<f32>() / b.len() as f32).sqrt();
                    assert!((7.0..13.0).contains(&sd), "σ ≈ 10, measured {sd}");
                }
                "mfn" => {
                    let g = &n.tensor("filter.0.gamma").data;
                    let mean = g.iter().sum::<f32>() / g.len() as f32;
                    // Gamma(6/4, 1) has mean 1.5.
                    assert!((1.2..1.8).contains(&mean), "mean γ {mean}");
                    assert!(g.iter().all(|&v| v > 0.0));
                    assert!(max("filter.1.mu") <= 1.0);
                    assert!(max("hidden.0.weight") <= (1.0f32 / 256.0).sqrt());
                }
                "wire" => assert!(max("hidden.1.weight.im") <= 1.0 / 254f32.sqrt()),
                _ => {}
            }
        }
    }
}
