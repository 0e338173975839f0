//! Meshes from a decoded SDF: the network evaluated on a grid one z-slice
//! at a time (bounded memory), then marching cubes at distance 0.

use super::TriMesh;
use super::march::marching_cubes;
use crate::Error;
use crate::decode::Evaluate;
use crate::signal::grid::coordinate;
use crate::signal::{Kind, SignalInfo};

/// Largest grid resolution per axis `scone mesh` accepts (2048³ is 8.6
/// billion network evaluations: hours on a CPU).
pub const MAX_RESOLUTION: usize = 2048;

/// The network output that stands for distance `value` (FORMAT.md §4.4).
pub fn output_level(signal: &SignalInfo, value: f32) -> f32 {
    let [lo, hi] = signal.value_range;
    (value - lo) / (hi - lo) * 2.0 - 1.0
}

/// Checks a requested grid resolution.
pub fn check_resolution(n: usize) -> Result<(), Error> {
    if !(2..=MAX_RESOLUTION).contains(&n) {
        return Err(Error::Parameter(format!(
            "the resolution must be 2 to {MAX_RESOLUTION}, not {n}"
        )));
    }
    Ok(())
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

/// The surface where the decoded distance is `value`, extracted at `n`³
/// samples, with vertices in network coordinates ([−1, 1]³).
pub fn extract_mesh(
    eval: &dyn Evaluate,
    signal: &SignalInfo,
    n: usize,
    value: f32,
) -> Result<TriMesh, Error> {
    if signal.kind != Kind::Sdf {
        return Err(Error::Parameter(format!(
            "a {} has no surface to extract",
            signal.kind.name()
        )));
    }
    check_resolution(n)?;
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
            eval.eval(&slice_coords(signal, n, k), out);
            out.iter_mut().for_each(|v| *v *= sign);
            Ok(())
        },
    )
}
