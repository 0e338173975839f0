//! The sampling grid: where sample j of N sits in [−1, 1] (FORMAT.md §4.3).

use crate::Error;

/// A coordinate convention (FORMAT.md §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    /// Sample j of N sits at the centre of the j-th of N equal cells
    /// covering [−1, 1]: x = (2j + 1)/N − 1. Resampling to another N keeps
    /// the signal's extent, as pixels do.
    CellCentre,
    /// Sample j of N sits at x = 2j/(N − 1) − 1 (x = 0 when N = 1): the
    /// first and last samples lie on −1 and +1 (PyTorch's `linspace`).
    Endpoints,
}

impl Convention {
    pub fn code(self) -> u8 {
        match self {
            Convention::CellCentre => 0,
            Convention::Endpoints => 1,
        }
    }

    pub fn from_code(code: u8) -> Result<Self, Error> {
        match code {
            0 => Ok(Convention::CellCentre),
            1 => Ok(Convention::Endpoints),
            c => Err(Error::format(
                crate::Rule::Convention,
                format!("unknown sampling convention {c}"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Convention::CellCentre => "cell-centre",
            Convention::Endpoints => "endpoints",
        }
    }
}

/// The coordinate of sample `j` of `n` along one axis, in f64 so that the
/// reference evaluator and the fast decoder (which rounds it to f32) agree
/// on the exact point.
pub fn coordinate(j: usize, n: usize, convention: Convention) -> f64 {
    match convention {
        Convention::CellCentre => (2 * j + 1) as f64 / n as f64 - 1.0,
        Convention::Endpoints if n <= 1 => 0.0,
        Convention::Endpoints => 2.0 * j as f64 / (n - 1) as f64 - 1.0,
    }
}

/// The time coordinate of fractional frame position `u` (frame k of the
/// source sits at u = k) in a clip of `n` frames: the convention's formula
/// with j replaced by u (FORMAT.md §4.5), so that whole frames land exactly
/// on [`coordinate`].
pub fn time_coordinate(u: f64, n: usize, convention: Convention) -> f64 {
    match convention {
        Convention::CellCentre => (2.0 * u + 1.0) / n as f64 - 1.0,
        Convention::Endpoints if n <= 1 => 0.0,
        Convention::Endpoints => 2.0 * u / (n - 1) as f64 - 1.0,
    }
}

/// Coordinates of a row-major block of an image grid: rows `y0..y1` of a
/// `width` × `height` grid, as `(x, y)` pairs, x fastest.
pub fn image_coords(width: usize, height: usize, y0: usize, y1: usize, c: Convention) -> Vec<f32> {
    let xs: Vec<f32> = (0..width).map(|j| coordinate(j, width, c) as f32).collect();
    let mut out = Vec::with_capacity(2 * width * (y1 - y0));
    for row in y0..y1 {
        let y = coordinate(row, height, c) as f32;
        for &x in &xs {
            out.push(x);
            out.push(y);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_centres_are_symmetric_and_inside() {
        for n in 1..20 {
            for j in 0..n {
                let a = coordinate(j, n, Convention::CellCentre);
                let b = coordinate(n - 1 - j, n, Convention::CellCentre);
                assert!((a + b).abs() < 1e-12);
                assert!(a > -1.0 && a < 1.0);
            }
        }
        assert_eq!(coordinate(0, 1, Convention::CellCentre), 0.0);
    }

    #[test]
    fn endpoints_hit_the_ends() {
        assert_eq!(coordinate(0, 5, Convention::Endpoints), -1.0);
        assert_eq!(coordinate(4, 5, Convention::Endpoints), 1.0);
        assert_eq!(coordinate(2, 5, Convention::Endpoints), 0.0);
        assert_eq!(coordinate(0, 1, Convention::Endpoints), 0.0);
    }

    #[test]
    fn whole_frames_land_on_the_grid() {
        for c in [Convention::CellCentre, Convention::Endpoints] {
            for n in 1..9 {
                for j in 0..n {
                    assert_eq!(time_coordinate(j as f64, n, c), coordinate(j, n, c));
                }
            }
        }
    }

    #[test]
    fn doubling_interleaves_cell_centres() {
        // Sample j of N lies midway between samples 2j and 2j+1 of 2N.
        for j in 0..7 {
            let a = coordinate(j, 7, Convention::CellCentre);
            let l = coordinate(2 * j, 14, Convention::CellCentre);
            let r = coordinate(2 * j + 1, 14, Convention::CellCentre);
            assert!((a - (l + r) / 2.0).abs() < 1e-12);
        }
    }
}
