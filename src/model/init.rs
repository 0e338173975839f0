//! Deterministic initialisation, the paper's scheme, in plain Rust so that
//! every training backend starts from the same weights for a given seed.

use super::{Arch, Network, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Initialises a network for `arch` from `seed`.
///
/// - mask maps and the output map use SIREN's scheme: the first mask map
///   U(−1/d_in, 1/d_in), the others U(−√(6/d_in)/ω₀, √(6/d_in)/ω₀), and their
///   biases likewise;
/// - basis maps and their biases are U(−√(1/d), √(1/d)) for d input
///   coordinates.
pub fn init_network(arch: &Arch, seed: u64) -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let siren_bound = |first: bool, fan_in: usize| {
        if first {
            1.0 / fan_in as f64
        } else {
            (6.0 / fan_in as f64).sqrt() / arch.omega0 as f64
        }
    };
    let basis_bound = (1.0 / arch.in_dims as f64).sqrt();
    let tensors = arch
        .tensor_specs()
        .into_iter()
        .map(|spec| {
            let first_mask = spec.name.starts_with("hidden.0.mask");
            let bound = if spec.name.contains(".basis.") {
                basis_bound
            } else {
                // Biases share their weight's fan-in.
                let fan_in = arch
                    .tensor_specs()
                    .iter()
                    .find(|s| s.name == spec.name.replace(".bias", ".weight"))
                    .map(|s| s.shape[1])
                    .unwrap_or(arch.hidden);
                siren_bound(first_mask, fan_in)
            };
            let n = spec.shape.iter().product();
            let data = (0..n)
                .map(|_| rng.random_range(-bound..bound) as f32)
                .collect();
            Tensor {
                name: spec.name,
                shape: spec.shape,
                data,
            }
        })
        .collect();
    Network::new(arch.clone(), tensors).expect("initialised tensors match their specs")
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
