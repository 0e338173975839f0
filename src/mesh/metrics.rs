//! Metrics that compare shapes (occupancy IoU, Chamfer distance), and,
//! for tests, a grid over the normalised domain.

use crate::Error;
use kiddo::{ImmutableKdTree, SquaredEuclidean};
use rayon::prelude::*;

/// Occupancy IoU of two fields sampled at the same points: a point is
/// occupied where its value is ≤ 0 (NaN counts as empty), and the result is
/// |A ∩ B| / |A ∪ B|, or 1.0 when both are empty.
///
/// # Panics
/// When the two slices differ in length (a caller's bug, not bad input).
pub fn iou(pred: &[f32], truth: &[f32]) -> f64 {
    let mut counts = Occupancy::default();
    counts.add(pred, truth);
    counts.iou()
}

/// Running counts for [`iou`] over fields seen piece by piece (one grid
/// slice at a time, in bounded memory).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Occupancy {
    both: u64,
    either: u64,
}

impl Occupancy {
    /// Counts the samples of two equally long pieces of the fields.
    ///
    /// # Panics
    /// When the two slices differ in length (a caller's bug, not bad input).
    pub fn add(&mut self, pred: &[f32], truth: &[f32]) {
        assert_eq!(
            pred.len(),
            truth.len(),
            "iou: the fields must have the same number of samples"
        );
        for (p, t) in pred.iter().zip(truth) {
            let (a, b) = (*p <= 0.0, *t <= 0.0);
            self.both += u64::from(a && b);
            self.either += u64::from(a || b);
        }
    }

    /// |A ∩ B| / |A ∪ B| of what was added, or 1.0 when both are empty.
    pub fn iou(&self) -> f64 {
        if self.either == 0 {
            1.0
        } else {
            self.both as f64 / self.either as f64
        }
    }
}

/// Chamfer distance between point sets `a` and `b`:
///
/// `CD(a, b) = ½ · ( (1/|a|) Σ_{p∈a} min_{q∈b} ‖p − q‖ + (1/|b|) Σ_{q∈b} min_{p∈a} ‖q − p‖ )`
///
/// with ‖·‖ the Euclidean distance (not squared). Nearest neighbours come
/// from kiddo k-d trees, queried in parallel; each distance is then
/// recomputed and summed in f64, in a fixed order, so the result is
/// deterministic. Symmetric, 0 for identical sets.
///
/// Errors with [`Error::Parameter`] when a set is empty or holds a
/// non-finite coordinate.
pub fn chamfer(a: &[[f32; 3]], b: &[[f32; 3]]) -> Result<f64, Error> {
    for (name, set) in [("first", a), ("second", b)] {
        if set.is_empty() {
            return Err(Error::parameter(format!(
                "chamfer distance: the {name} point set is empty"
            )));
        }
        if let Some(i) = set.iter().position(|p| p.iter().any(|c| !c.is_finite())) {
            return Err(Error::parameter(format!(
                "chamfer distance: point {i} of the {name} set is not finite"
            )));
        }
    }
    Ok(0.5 * (mean_nearest(a, b)? + mean_nearest(b, a)?))
}

/// Mean over `from` of the Euclidean distance to the nearest point of `to`.
fn mean_nearest(from: &[[f32; 3]], to: &[[f32; 3]]) -> Result<f64, Error> {
    let tree: ImmutableKdTree<f32, 3> = ImmutableKdTree::new_from_slice(to)
        .map_err(|e| Error::parameter(format!("chamfer distance: {e}")))?;
    // Partial sums over fixed chunks, added in order: the same bits on
    // every run whatever the thread count.
    let partial: Vec<f64> = from
        .par_chunks(4096)
        .map(|chunk| {
            chunk
                .iter()
                .map(|p| {
                    let near = tree
                        .query(p)
                        .nearest_one::<SquaredEuclidean<f32>>()
                        .execute();
                    let q = to[near.item as usize];
                    let d: f64 = (0..3)
                        .map(|k| (f64::from(p[k]) - f64::from(q[k])).powi(2))
                        .sum();
                    d.sqrt()
                })
                .sum::<f64>()
        })
        .collect();
    Ok(partial.iter().sum::<f64>() / from.len() as f64)
}

#[cfg(test)]
/// Coordinate `i` of an `n`-point grid axis over [−0.5, 0.5]:
/// `i/(n−1) − 0.5`, like PyTorch's `linspace(-0.5, 0.5, n)` (−0.5 when
/// `n` = 1), computed in f64 and rounded once.
pub(crate) fn grid_coordinate(n: usize, i: usize) -> f32 {
    if n <= 1 {
        -0.5
    } else {
        (i as f64 / (n - 1) as f64 - 0.5) as f32
    }
}

#[cfg(test)]
/// The points of an n×n×n grid over [−0.5, 0.5]³ in normalised space:
/// sample (i, j, k) at (x_i, x_j, x_k) with x_i = i/(n−1) − 0.5 (see
/// [`grid_coordinate`]), x fastest, then y, then z, so that point
/// (i, j, k) is at index i + n·(j + n·k). Holds n³ points: use
/// [`grid_slice`] to stay in bounded memory at large n.
pub(crate) fn grid_points(n: usize) -> Vec<[f32; 3]> {
    let mut out = Vec::with_capacity(n * n * n);
    for k in 0..n {
        out.extend(grid_slice(n, k));
    }
    out
}

#[cfg(test)]
/// The z-slice `k` of [`grid_points`]: its n² points, x fastest then y.
///
/// # Panics
/// When `k >= n`.
pub(crate) fn grid_slice(n: usize, k: usize) -> Vec<[f32; 3]> {
    assert!(k < n, "grid_slice: slice {k} of a grid of {n}");
    let axis: Vec<f32> = (0..n).map(|i| grid_coordinate(n, i)).collect();
    let z = axis[k];
    let mut out = Vec::with_capacity(n * n);
    for &y in &axis {
        out.extend(axis.iter().map(|&x| [x, y, z]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The slow, obviously correct twin of `chamfer`.
    fn chamfer_exhaustive(a: &[[f32; 3]], b: &[[f32; 3]]) -> f64 {
        let dist = |p: &[f32; 3], q: &[f32; 3]| {
            (0..3)
                .map(|k| (f64::from(p[k]) - f64::from(q[k])).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let one_way = |from: &[[f32; 3]], to: &[[f32; 3]]| {
            from.iter()
                .map(|p| to.iter().map(|q| dist(p, q)).fold(f64::INFINITY, f64::min))
                .sum::<f64>()
                / from.len() as f64
        };
        0.5 * (one_way(a, b) + one_way(b, a))
    }

    fn sphere_field(n: usize, centre: [f32; 3], r: f32) -> Vec<f32> {
        grid_points(n)
            .iter()
            .map(|p| {
                let d: f32 = (0..3).map(|k| (p[k] - centre[k]).powi(2)).sum();
                d.sqrt() - r
            })
            .collect()
    }

    #[test]
    fn iou_of_spheres() {
        let n = 64;
        let a = sphere_field(n, [0.0; 3], 0.3);
        assert_eq!(iou(&a, &a), 1.0);
        // Two balls of radius r with centres δ apart: the lens volume is
        // π(4r + δ)(2r − δ)²/12, so IoU = lens / (2·ball − lens).
        let (r, delta) = (0.3f64, 0.1f64);
        let b = sphere_field(n, [delta as f32, 0.0, 0.0], r as f32);
        let ball = 4.0 / 3.0 * std::f64::consts::PI * r.powi(3);
        let lens = std::f64::consts::PI * (4.0 * r + delta) * (2.0 * r - delta).powi(2) / 12.0;
        let expected = lens / (2.0 * ball - lens);
        let got = iou(&b, &a);
        assert!((got - expected).abs() < 0.02, "{got} vs {expected}");
        assert_eq!(iou(&a, &b), got);
        // Both empty: 1; one empty: 0; boundary value 0 counts as occupied.
        assert_eq!(iou(&[1.0, 2.0], &[3.0, f32::NAN]), 1.0);
        assert_eq!(iou(&[1.0, 2.0], &[-3.0, 1.0]), 0.0);
        assert_eq!(iou(&[0.0, -1.0, 1.0], &[0.0, 1.0, -1.0]), 1.0 / 3.0);
    }

    #[test]
    fn chamfer_of_shifted_sets() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        // A jittered grid: nearest neighbours are unambiguous under a small
        // shift, so the distance is exactly the shift.
        let a: Vec<[f32; 3]> = grid_points(12)
            .iter()
            .map(|p| p.map(|c| c + 0.002 * (rng.random::<f32>() - 0.5)))
            .collect();
        assert_eq!(chamfer(&a, &a).unwrap(), 0.0);
        let delta = 0.01f32;
        let b: Vec<[f32; 3]> = a.iter().map(|p| [p[0] + delta, p[1], p[2]]).collect();
        let cd = chamfer(&a, &b).unwrap();
        assert!((cd - f64::from(delta)).abs() < 1e-6, "{cd}");
        assert_eq!(cd, chamfer(&b, &a).unwrap());

        // Random sets of different sizes against the exhaustive twin.
        let c: Vec<[f32; 3]> = (0..700)
            .map(|_| [0; 3].map(|_| rng.random::<f32>() - 0.5))
            .collect();
        let d: Vec<[f32; 3]> = (0..300)
            .map(|_| [0; 3].map(|_| rng.random::<f32>()))
            .collect();
        let fast = chamfer(&c, &d).unwrap();
        let slow = chamfer_exhaustive(&c, &d);
        assert!((fast - slow).abs() < 1e-9 * slow, "{fast} vs {slow}");
        assert_eq!(fast, chamfer(&c, &d).unwrap());

        assert!(matches!(chamfer(&[], &c), Err(Error::Parameter(_))));
        assert!(matches!(chamfer(&c, &[]), Err(Error::Parameter(_))));
        assert!(matches!(
            chamfer(&c, &[[f32::NAN, 0.0, 0.0]]),
            Err(Error::Parameter(_))
        ));
    }

    #[test]
    fn grid_layout() {
        let n = 5;
        let g = grid_points(n);
        assert_eq!(g.len(), 125);
        assert_eq!(g[0], [-0.5, -0.5, -0.5]);
        assert_eq!(g[124], [0.5, 0.5, 0.5]);
        // x fastest, then y, then z.
        assert_eq!(g[1], [-0.25, -0.5, -0.5]);
        assert_eq!(g[5], [-0.5, -0.25, -0.5]);
        assert_eq!(g[25], [-0.5, -0.5, -0.25]);
        assert_eq!(g[2 + 5 * (3 + 5 * 4)], [0.0, 0.25, 0.5]);
        for k in 0..n {
            assert_eq!(grid_slice(n, k), g[k * 25..(k + 1) * 25]);
        }
        assert_eq!(grid_points(1), vec![[-0.5; 3]]);
        assert!(grid_points(0).is_empty());
        assert_eq!(grid_coordinate(128, 127), 0.5);
        assert_eq!(grid_coordinate(3, 1), 0.0);
    }
}
