//! The reference evaluator: the SCONE formula written out literally in
//! `f64`, one point at a time. It is slow on purpose; it exists to produce
//! conformance vectors and to check the fast [`Evaluator`](super::Evaluator).

use crate::model::Network;

/// Evaluates `net` at `coords` (n × in_dims, row-major) and returns the
/// outputs (n × out_dims, row-major), in `f64` with `f64::sin`:
///
/// ```text
/// z₀ = x
/// for hidden layer i = 0 … L−2:
///     m = sin(ω₀ (W_mask,i · zᵢ + b_mask,i))²
///     g = sin(ωᵢ (W_basis,i · x + b_basis,i))
///     zᵢ₊₁ = m ⊙ g
/// output = W_out · z_{L−1} + b_out
/// ```
///
/// # Panics
///
/// If `coords.len()` is not a multiple of `in_dims`, or a tensor is
/// missing or has the wrong length.
pub fn eval_reference(net: &Network, coords: &[f64]) -> Vec<f64> {
    let arch = &net.arch;
    let d = arch.in_dims;
    let h = arch.hidden;
    assert!(
        coords.len().is_multiple_of(d),
        "{} coordinate values do not split into points of {d}",
        coords.len()
    );
    let n = coords.len() / d;
    let omega0 = arch.omega0 as f64;

    let mut result = Vec::with_capacity(n * arch.out_dims);
    for x in coords.chunks_exact(d) {
        let mut z: Vec<f64> = x.to_vec();
        for i in 0..arch.hidden_layers() {
            let mask = linear(net, &format!("hidden.{i}.mask"), &z, h);
            let basis = linear(net, &format!("hidden.{i}.basis"), x, h);
            let omega = arch.omegas[i] as f64;
            z = (0..h)
                .map(|j| {
                    let m = (omega0 * mask[j]).sin().powi(2);
                    let g = (omega * basis[j]).sin();
                    m * g
                })
                .collect();
        }
        result.extend(linear(net, "output", &z, arch.out_dims));
    }
    result
}

/// `W · input + b` for the map called `prefix` (`prefix.weight` is
/// `[rows, input.len()]`, `prefix.bias` is `[rows]`).
fn linear(net: &Network, prefix: &str, input: &[f64], rows: usize) -> Vec<f64> {
    let w = &net.tensor(&format!("{prefix}.weight")).data;
    let b = &net.tensor(&format!("{prefix}.bias")).data;
    let cols = input.len();
    assert_eq!(
        w.len(),
        rows * cols,
        "`{prefix}.weight` has the wrong length"
    );
    assert_eq!(b.len(), rows, "`{prefix}.bias` has the wrong length");
    (0..rows)
        .map(|r| {
            let mut acc = 0.0f64;
            for c in 0..cols {
                acc += w[r * cols + c] as f64 * input[c];
            }
            acc + b[r] as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Arch, Mask, Tensor};

    /// A hand-built one-hidden-layer network whose output can be worked out
    /// on paper.
    #[test]
    fn matches_a_hand_computed_network() {
        let arch = Arch {
            in_dims: 1,
            out_dims: 1,
            layers: 2,
            hidden: 1,
            omega0: 2.0,
            omegas: vec![3.0],
            mask: Mask::Sin2,
        };
        let t = |name: &str, shape: Vec<usize>, data: Vec<f32>| Tensor {
            name: name.into(),
            shape,
            data,
        };
        let net = Network::new(
            arch,
            vec![
                t("hidden.0.mask.weight", vec![1, 1], vec![0.5]),
                t("hidden.0.mask.bias", vec![1], vec![0.25]),
                t("hidden.0.basis.weight", vec![1, 1], vec![-1.0]),
                t("hidden.0.basis.bias", vec![1], vec![0.125]),
                t("output.weight", vec![1, 1], vec![4.0]),
                t("output.bias", vec![1], vec![-0.5]),
            ],
        )
        .unwrap();
        for x in [-1.0f64, -0.3, 0.0, 0.7, 1.0] {
            let m = (2.0 * (0.5 * x + 0.25)).sin().powi(2);
            let g = (3.0 * (-x + 0.125)).sin();
            let want = 4.0 * m * g - 0.5;
            let got = eval_reference(&net, &[x]);
            assert_eq!(got.len(), 1);
            assert!((got[0] - want).abs() < 1e-15, "x={x}: {} vs {want}", got[0]);
        }
        assert!(eval_reference(&net, &[]).is_empty());
    }
}
