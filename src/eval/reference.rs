//! The reference evaluator: each family's formula (FORMAT.md §5) written
//! out literally in `f64`, one point at a time. It is slow on purpose; it
//! exists to produce conformance vectors and to check the fast
//! [`Evaluator`](super::Evaluator).

use crate::model::{Family, Mask, Network, Synthesis};

/// Evaluates `net` at `coords` (n × in_dims, row-major) and returns the
/// outputs (n × out_dims, row-major), in `f64` with `f64::sin` and friends.
/// For SCONE:
///
/// ```text
/// z₀ = x
/// for hidden layer i = 0 … L−2:
///     m = σ(ω₀ (W_mask,i · zᵢ + b_mask,i))   (σ(a_i ⊙ ω₀ (…)) for the -l masks)
///     g = sin(ωᵢ (W_basis,i · x + b_basis,i))
///     zᵢ₊₁ = m ⊙ g
/// output = W_out · z_{L−1} + b_out
/// ```
///
/// and the other families as FORMAT.md §5.3–§5.7 give them.
///
/// # Panics
///
/// If `coords.len()` is not a multiple of `in_dims`, or a tensor is
/// missing or has the wrong length.
pub fn eval_reference(net: &Network, coords: &[f64]) -> Vec<f64> {
    let arch = &net.arch;
    let d = arch.in_dims;
    assert!(
        coords.len().is_multiple_of(d),
        "{} coordinate values do not split into points of {d}",
        coords.len()
    );
    let mut result = Vec::with_capacity(coords.len() / d * arch.out_dims);
    for x in coords.chunks_exact(d) {
        result.extend(eval_point(net, x));
    }
    result
}

fn eval_point(net: &Network, x: &[f64]) -> Vec<f64> {
    let arch = &net.arch;
    let (h, c) = (arch.hidden, arch.out_dims);
    let layers = arch.hidden_layers();
    let z = match &arch.family {
        Family::Scone {
            omega0,
            omegas,
            mask,
        } => scone_layers(net, x.to_vec(), x, *omega0, omegas, *mask),
        Family::Rbm { omega0, mask_omega } => {
            let mut z: Vec<f64> = x.to_vec();
            for i in 0..layers {
                let a = linear(net, &format!("hidden.{i}"), &z, h);
                let p = linear(net, &format!("hidden.{i}.mask"), x, h);
                z = (0..h)
                    .map(|j| {
                        let r = if (*mask_omega as f64 * p[j]).sin() > 0.0 {
                            1.0
                        } else {
                            0.0
                        };
                        r * (*omega0 as f64 * a[j]).sin()
                    })
                    .collect();
            }
            z
        }
        Family::Siren { omega0 } => sine_layers(net, x.to_vec(), *omega0),
        Family::Ffn { frequencies, .. } => {
            let b = &net.tensor("encoding.weight").data;
            let phase: Vec<f64> = (0..*frequencies)
                .map(|k| {
                    let bx: f64 = (0..x.len()).map(|t| b[k * x.len() + t] as f64 * x[t]).sum();
                    2.0 * std::f64::consts::PI * bx
                })
                .collect();
            let mut z: Vec<f64> = phase.iter().map(|p| p.cos()).collect();
            z.extend(phase.iter().map(|p| p.sin()));
            relu_layers(net, z)
        }
        Family::Mfn { .. } => {
            let filter = |i: usize| -> Vec<f64> {
                let a = linear(net, &format!("filter.{i}"), x, h);
                let mu = &net.tensor(&format!("filter.{i}.mu")).data;
                let gamma = &net.tensor(&format!("filter.{i}.gamma")).data;
                (0..h)
                    .map(|j| {
                        let dist2: f64 = (0..x.len())
                            .map(|t| (x[t] - mu[j * x.len() + t] as f64).powi(2))
                            .sum();
                        a[j].sin() * (-0.5 * gamma[j] as f64 * dist2).exp()
                    })
                    .collect()
            };
            let mut z = filter(0);
            for i in 1..layers {
                let a = linear(net, &format!("hidden.{}", i - 1), &z, h);
                let f = filter(i);
                z = (0..h).map(|j| f[j] * a[j]).collect();
            }
            z
        }
        Family::Wire { omega0, s0 } => {
            let (w0, s0) = (*omega0 as f64, *s0 as f64);
            let a = linear(net, "hidden.0", x, h);
            let (mut re, mut im): (Vec<f64>, Vec<f64>) = a
                .iter()
                .map(|&p| {
                    let amp = (-(s0 * p).powi(2)).exp();
                    (amp * (w0 * p).cos(), amp * (w0 * p).sin())
                })
                .unzip();
            for i in 1..layers {
                let p = complex_linear(net, &format!("hidden.{i}"), &re, &im, h, true);
                (re, im) = p
                    .iter()
                    .map(|&(p, q)| {
                        let amp = (-w0 * q - s0 * s0 * (p * p + q * q)).exp();
                        (amp * (w0 * p).cos(), amp * (w0 * p).sin())
                    })
                    .unzip();
            }
            let y = complex_linear(net, "output", &re, &im, c, false);
            return y.iter().map(|&(p, _)| p).collect();
        }
        Family::Grid { synthesis, .. } => {
            let mut z = grid_latents(net, x);
            match synthesis {
                Synthesis::Scone {
                    omega0,
                    omegas,
                    mask,
                } => scone_layers(net, z, x, *omega0, omegas, *mask),
                Synthesis::Siren { omega0 } => {
                    z.extend_from_slice(x);
                    sine_layers(net, z, *omega0)
                }
                Synthesis::Relu => {
                    z.extend_from_slice(x);
                    relu_layers(net, z)
                }
            }
        }
    };
    linear(net, "output", &z, c)
}

/// SCONE's hidden layers (FORMAT.md §5.2) from the first layer's input
/// `z` (the coordinates, or `grid`'s latents), every basis reading `x`.
fn scone_layers(
    net: &Network,
    mut z: Vec<f64>,
    x: &[f64],
    omega0: f32,
    omegas: &[f32],
    mask: Mask,
) -> Vec<f64> {
    let h = net.arch.hidden;
    for (i, &omega) in omegas.iter().enumerate() {
        let u = linear(net, &format!("hidden.{i}.mask"), &z, h);
        let scale: Vec<f64> = if mask.has_scale() {
            let t = net.tensor(&format!("hidden.{i}.mask.scale"));
            t.data.iter().map(|&v| v as f64).collect()
        } else {
            vec![1.0; h]
        };
        let basis = linear(net, &format!("hidden.{i}.basis"), x, h);
        z = (0..h)
            .map(|j| {
                let m = mask.eval(scale[j] * (omega0 as f64 * u[j]));
                let g = (omega as f64 * basis[j]).sin();
                m * g
            })
            .collect();
    }
    z
}

/// SIREN's hidden layers (FORMAT.md §5.4) from the first layer's input.
fn sine_layers(net: &Network, mut z: Vec<f64>, omega0: f32) -> Vec<f64> {
    for i in 0..net.arch.hidden_layers() {
        let a = linear(net, &format!("hidden.{i}"), &z, net.arch.hidden);
        z = a.iter().map(|v| (omega0 as f64 * v).sin()).collect();
    }
    z
}

/// ReLU hidden layers (FORMAT.md §5.5, §5.9) from the first layer's input.
fn relu_layers(net: &Network, mut z: Vec<f64>) -> Vec<f64> {
    for i in 0..net.arch.hidden_layers() {
        let a = linear(net, &format!("hidden.{i}"), &z, net.arch.hidden);
        z = a.iter().map(|v| v.max(0.0)).collect();
    }
    z
}

/// Catmull-Rom weights of the four samples around a point a fraction `t`
/// past the second (FORMAT.md §5.9).
pub fn catmull_rom(t: f64) -> [f64; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [
        (-t3 + 2.0 * t2 - t) / 2.0,
        (3.0 * t3 - 5.0 * t2 + 2.0) / 2.0,
        (-3.0 * t3 + 4.0 * t2 + t) / 2.0,
        (t3 - t2) / 2.0,
    ]
}

/// A `grid` network's latents at point `x` (FORMAT.md §5.9): each grid
/// k, `latent.{k}`, interpolated with Catmull-Rom's cubic along each
/// axis, its samples at cell centres and clamped to the edges.
///
/// # Panics
///
/// If the network is not a `grid` or `x` does not have two coordinates.
pub fn grid_latents(net: &Network, x: &[f64]) -> Vec<f64> {
    let Family::Grid { levels, .. } = &net.arch.family else {
        panic!("grid_latents of a `{}` network", net.arch.name());
    };
    assert_eq!(x.len(), 2, "a grid network takes two coordinates");
    (0..*levels)
        .map(|k| {
            let t = net.tensor(&format!("latent.{k}"));
            let (h, w) = (t.shape[0], t.shape[1]);
            let u = (x[0] + 1.0) / 2.0 * w as f64 - 0.5;
            let v = (x[1] + 1.0) / 2.0 * h as f64 - 0.5;
            let (i, j) = (u.floor(), v.floor());
            let (wx, wy) = (catmull_rom(u - i), catmull_rom(v - j));
            let at = |r: f64, c: f64| {
                let r = r.clamp(0.0, (h - 1) as f64) as usize;
                let c = c.clamp(0.0, (w - 1) as f64) as usize;
                t.data[r * w + c] as f64
            };
            let mut acc = 0.0;
            for (b, wyb) in wy.iter().enumerate() {
                for (a, wxa) in wx.iter().enumerate() {
                    acc += wyb * wxa * at(j + b as f64 - 1.0, i + a as f64 - 1.0);
                }
            }
            acc
        })
        .collect()
}

/// A SCONE's hidden activations at point `x`, layer by layer: the mask
/// m_i and the bases g_i (their product is z_{i+1}); `None` for other
/// families. For pictures of what each layer does (the paper's Figure 6).
pub fn scone_activations(net: &Network, x: &[f64]) -> Option<Vec<(Vec<f64>, Vec<f64>)>> {
    let Family::Scone {
        omega0,
        omegas,
        mask,
    } = &net.arch.family
    else {
        return None;
    };
    let h = net.arch.hidden;
    let mut z: Vec<f64> = x.to_vec();
    let mut layers = Vec::with_capacity(omegas.len());
    for (i, &omega) in omegas.iter().enumerate() {
        let u = linear(net, &format!("hidden.{i}.mask"), &z, h);
        let scale: Vec<f64> = if mask.has_scale() {
            let t = &net.tensor(&format!("hidden.{i}.mask.scale")).data;
            t.iter().map(|&v| v as f64).collect()
        } else {
            vec![1.0; h]
        };
        let m: Vec<f64> = (0..h)
            .map(|j| mask.eval(scale[j] * (*omega0 as f64 * u[j])))
            .collect();
        let basis = linear(net, &format!("hidden.{i}.basis"), x, h);
        let g: Vec<f64> = basis.iter().map(|b| (omega as f64 * b).sin()).collect();
        z = m.iter().zip(&g).map(|(a, b)| a * b).collect();
        layers.push((m, g));
    }
    Some(layers)
}

/// Scales the output map (`output.weight*`) so that the reference outputs
/// at `coords`, less the output bias, reach ±1 at most: random networks
/// made this way have outputs of order one, as fitted ones do, which test
/// vectors and twin tests need. Returns the factor applied.
pub fn normalise_outputs(net: &mut Network, coords: &[f64]) -> f64 {
    let bias: Vec<f64> = net
        .tensor("output.bias")
        .data
        .iter()
        .map(|&v| v as f64)
        .collect();
    let out = eval_reference(net, coords);
    let largest = out
        .chunks_exact(bias.len())
        .flat_map(|y| y.iter().zip(&bias).map(|(v, b)| (v - b).abs()))
        .fold(0.0f64, f64::max);
    let factor = if largest > 0.0 { 1.0 / largest } else { 1.0 };
    for t in &mut net.tensors {
        if t.name.starts_with("output.weight") {
            t.data
                .iter_mut()
                .for_each(|w| *w = (*w as f64 * factor) as f32);
        }
    }
    factor
}

/// For an `rbm` network, the smallest |sin(ω_r (P_i · x + q_i))| over every
/// gate at point `x`: how far the point is from a pattern edge, where an
/// `f32` decoder may switch a gate the `f64` reference does not (FORMAT.md
/// §5.3). `None` for other families.
pub fn rbm_gate_margin(net: &Network, x: &[f64]) -> Option<f64> {
    let Family::Rbm { mask_omega, .. } = net.arch.family else {
        return None;
    };
    let h = net.arch.hidden;
    let margin = (0..net.arch.hidden_layers())
        .flat_map(|i| linear(net, &format!("hidden.{i}.mask"), x, h))
        .map(|p| (mask_omega as f64 * p).sin().abs())
        .fold(f64::INFINITY, f64::min);
    Some(margin)
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

/// `(Wr + j Wi) · (re + j im) + b` for WIRE's map `prefix`, as (real,
/// imaginary) pairs; the bias is `prefix.bias.re` and `prefix.bias.im`
/// when `complex_bias`, else the real `prefix.bias`.
fn complex_linear(
    net: &Network,
    prefix: &str,
    re: &[f64],
    im: &[f64],
    rows: usize,
    complex_bias: bool,
) -> Vec<(f64, f64)> {
    let wr = &net.tensor(&format!("{prefix}.weight.re")).data;
    let wi = &net.tensor(&format!("{prefix}.weight.im")).data;
    let (br, bi): (Vec<f64>, Vec<f64>) = if complex_bias {
        (
            net.tensor(&format!("{prefix}.bias.re"))
                .data
                .iter()
                .map(|&v| v as f64)
                .collect(),
            net.tensor(&format!("{prefix}.bias.im"))
                .data
                .iter()
                .map(|&v| v as f64)
                .collect(),
        )
    } else {
        (
            net.tensor(&format!("{prefix}.bias"))
                .data
                .iter()
                .map(|&v| v as f64)
                .collect(),
            vec![0.0; rows],
        )
    };
    let cols = re.len();
    (0..rows)
        .map(|r| {
            let (mut p, mut q) = (br[r], bi[r]);
            for c in 0..cols {
                let (a, b) = (wr[r * cols + c] as f64, wi[r * cols + c] as f64);
                p += a * re[c] - b * im[c];
                q += a * im[c] + b * re[c];
            }
            (p, q)
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
        let arch = Arch::scone(1, 1, 2, 1, 2.0, vec![3.0], Mask::Sin2);
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

    /// The activations Figure 6 draws are the ones the output reads: the
    /// output map applied to the last product gives the reference output.
    #[test]
    fn activations_feed_the_output() {
        let arch = Arch::scone(2, 2, 4, 12, 30.0, vec![60.0, 30.0, 10.0], Mask::NTanhL);
        let net = crate::model::init_network(&arch, 2);
        let x = [0.3, -0.7];
        let acts = scone_activations(&net, &x).unwrap();
        assert_eq!(acts.len(), 3);
        let (m, g) = acts.last().unwrap();
        let z: Vec<f64> = m.iter().zip(g).map(|(a, b)| a * b).collect();
        let y = linear(&net, "output", &z, 2);
        let want = eval_reference(&net, &x);
        for (a, b) in y.iter().zip(&want) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
        let siren = Arch {
            family: crate::model::Family::Siren { omega0: 30.0 },
            ..arch
        };
        assert!(scone_activations(&crate::model::init_network(&siren, 1), &x).is_none());
    }
}
