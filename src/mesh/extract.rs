//! Meshes from a decoded SDF: the network evaluated on a grid one z-slice
//! at a time (bounded memory), then marching cubes at distance 0.

use super::TriMesh;
use super::march::marching_cubes;
use crate::eval::Evaluate;
use crate::signal::grid::coordinate;
use crate::signal::render::check_network;
use crate::signal::{Kind, SignalInfo};
use crate::{Error, Misuse};

/// The network output that stands for distance `value` (FORMAT.md §4.4).
pub fn output_level(signal: &SignalInfo, value: f32) -> f32 {
    let [lo, hi] = signal.value_range;
    (value - lo) / (hi - lo) * 2.0 - 1.0
}

/// The coordinates of z-slice `k` of an `n`³ grid in network space
/// ([−1, 1]³, the signal's convention), x fastest.
pub fn slice_coords(signal: &SignalInfo, n: usize, k: usize) -> Vec<f32> {
    let c: Vec<f32> = (0..n)
        .map(|j| coordinate(j, n, signal.convention) as f32)
        .collect();
    let mut out = Vec::with_capacity(3 * n * n);
    for &y in &c {
        for &x in &c {
            out.extend_from_slice(&[x, y, c[k]]);
        }
    }
    out
}

/// Checks that `signal` is an SDF that `eval` evaluates.
pub fn check_sdf(eval: &dyn Evaluate, signal: &SignalInfo) -> Result<(), Error> {
    if signal.kind != Kind::Sdf {
        return Err(Error::wrong_kind(
            Kind::Sdf,
            signal.kind,
            format!(
                "a {} has no signed distances or surface to extract",
                signal.kind.name()
            ),
        ));
    }
    check_network(eval, signal)
}

/// The surface where the decoded distance is `value`, extracted at `n`³
/// samples (`n` ≥ 2; bound it with [`crate::Limits::check_resolution`]),
/// with vertices in network coordinates ([−1, 1]³).
pub fn extract_mesh(
    eval: &dyn Evaluate,
    signal: &SignalInfo,
    n: usize,
    value: f32,
) -> Result<TriMesh, Error> {
    check_sdf(eval, signal)?;
    if n < 2 {
        return Err(Error::misuse(
            Misuse::EmptySize,
            format!("the resolution must be at least 2, not {n}"),
        ));
    }
    if !value.is_finite() {
        return Err(Error::parameter("the surface's level must be finite"));
    }
    let first = coordinate(0, n, signal.convention) as f32;
    let step = (coordinate(1, n, signal.convention) - coordinate(0, n, signal.convention)) as f32;
    // Marching cubes puts the inside below the level: flip a file whose
    // distances fall as network outputs rise.
    let sign = if signal.value_range[1] > signal.value_range[0] {
        1.0
    } else {
        -1.0
    };
    let level = sign * output_level(signal, value);
    marching_cubes(
        [n, n, n],
        [first; 3],
        [step; 3],
        level,
        |k, out: &mut [f32]| {
            eval.eval(&slice_coords(signal, n, k), out)?;
            out.iter_mut().for_each(|v| *v *= sign);
            Ok(())
        },
    )
}
