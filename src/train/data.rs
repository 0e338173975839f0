//! What a fit trains on and how: the pairs ([`TrainData`], [`IndexedData`],
//! [`GridData`]) and the schedule ([`TrainConfig`], [`Batch`]).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::Error;

/// Which coordinates each step trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batch {
    /// Every coordinate, every step.
    Full,
    /// This many coordinates drawn uniformly (with replacement) per step; a
    /// size at or above the data's length trains on the full batch.
    Random(usize),
}

/// Quantisation-aware training: each tensor's weights rounded to multiples
/// of its step in the passes (straight through: the gradient at the rounded
/// weights updates the float ones), and a rate term whose gradient on a
/// weight w of tensor t is `rate[t] · sign(w)`: λ times the bits one step
/// of |w| costs under the tensor's model (FORMAT.md §6.4).
#[derive(Clone, Debug, PartialEq)]
pub struct Quantisation {
    /// Each tensor's step, in [`crate::model::Arch::tensor_specs`] order;
    /// `None` leaves a tensor unrounded.
    pub steps: Vec<Option<f32>>,
    /// Each tensor's rate gradient per unit of sign.
    pub rate: Vec<f32>,
}

/// Hyperparameters of one fit.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Number of optimiser steps.
    pub iterations: usize,
    /// Learning rate at the first step.
    pub lr: f64,
    /// Learning rate the cosine schedule ends at.
    pub lr_min: f64,
    /// Batch selection.
    pub batch: Batch,
    /// Seed for batch sampling.
    pub seed: u64,
}

impl TrainConfig {
    /// The paper's image setting: 10 000 full-batch steps, learning rate
    /// 1e-4 decaying to 1e-6.
    pub fn paper() -> Self {
        Self {
            iterations: 10_000,
            lr: 1e-4,
            lr_min: 1e-6,
            batch: Batch::Full,
            seed: 0,
        }
    }

    /// The learning rate of step `t` (0-based): cosine decay from `lr` to
    /// `lr_min` over `iterations` steps.
    pub fn lr_at(&self, t: usize) -> f64 {
        let progress = t as f64 / self.iterations.max(1) as f64;
        self.lr_min
            + 0.5 * (self.lr - self.lr_min) * (1.0 + (std::f64::consts::PI * progress).cos())
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::parameter(format!(
                "learning rate {} must be positive",
                self.lr
            )));
        }
        if !(self.lr_min.is_finite() && self.lr_min >= 0.0) {
            return Err(Error::parameter(format!(
                "final learning rate {} must be non-negative",
                self.lr_min
            )));
        }
        if self.batch == Batch::Random(0) {
            return Err(Error::parameter("batch size must be at least 1"));
        }
        Ok(())
    }
}

/// A source of (coordinate, target) pairs for training.
pub trait TrainData: Sync {
    /// Coordinates per pair.
    fn in_dims(&self) -> usize;
    /// Target values per pair.
    fn out_dims(&self) -> usize;
    /// Number of distinct pairs, or `None` when every batch draws fresh
    /// pairs (an SDF sampled around its surface).
    fn pair_count(&self) -> Option<usize>;
    /// Replaces the contents of `coords` (`[n, in_dims]`) and `targets`
    /// (`[n, out_dims]`), row-major, with `n` pairs drawn with `rng`.
    fn batch(&self, rng: &mut ChaCha8Rng, n: usize, coords: &mut Vec<f32>, targets: &mut Vec<f32>);
    /// Replaces the contents of `coords` and `targets` with every pair, in
    /// index order; fails for data without a fixed set of pairs.
    fn all(&self, coords: &mut Vec<f32>, targets: &mut Vec<f32>) -> Result<(), Error>;
}

/// Pairs addressed by index `0..len()`. Implementations may compute pairs
/// on demand, so that a large signal (a video) need never be held as one
/// grid of coordinates.
pub trait IndexedData: Sync {
    /// Coordinates per pair.
    fn in_dims(&self) -> usize;
    /// Target values per pair.
    fn out_dims(&self) -> usize;
    /// Number of pairs.
    fn len(&self) -> usize;
    /// Whether there are no pairs.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Replaces the contents of `coords` (`[indices.len(), in_dims]`) and
    /// `targets` (`[indices.len(), out_dims]`), row-major, with the pairs at
    /// `indices`.
    fn gather(&self, indices: &[usize], coords: &mut Vec<f32>, targets: &mut Vec<f32>);
}

/// Indexed data trains on indices drawn uniformly with replacement.
impl<T: IndexedData> TrainData for T {
    fn in_dims(&self) -> usize {
        IndexedData::in_dims(self)
    }

    fn out_dims(&self) -> usize {
        IndexedData::out_dims(self)
    }

    fn pair_count(&self) -> Option<usize> {
        Some(IndexedData::len(self))
    }

    fn batch(&self, rng: &mut ChaCha8Rng, n: usize, coords: &mut Vec<f32>, targets: &mut Vec<f32>) {
        let len = IndexedData::len(self);
        let indices: Vec<usize> = (0..n).map(|_| rng.random_range(0..len)).collect();
        self.gather(&indices, coords, targets);
    }

    fn all(&self, coords: &mut Vec<f32>, targets: &mut Vec<f32>) -> Result<(), Error> {
        let indices: Vec<usize> = (0..IndexedData::len(self)).collect();
        self.gather(&indices, coords, targets);
        Ok(())
    }
}

/// Pairs held in memory, e.g. every pixel of an image.
#[derive(Clone, Debug, PartialEq)]
pub struct GridData {
    /// `[len, in_dims]`, row-major, in [−1, 1].
    pub coords: Vec<f32>,
    /// `[len, out_dims]`, row-major, in [−1, 1].
    pub targets: Vec<f32>,
    in_dims: usize,
    out_dims: usize,
}

impl GridData {
    /// Wraps coordinates and targets after checking that they hold the same
    /// number of pairs.
    pub fn new(
        coords: Vec<f32>,
        targets: Vec<f32>,
        in_dims: usize,
        out_dims: usize,
    ) -> Result<Self, Error> {
        if in_dims == 0 || out_dims == 0 {
            return Err(Error::parameter(
                "training data needs at least one input and output",
            ));
        }
        if !coords.len().is_multiple_of(in_dims)
            || !targets.len().is_multiple_of(out_dims)
            || coords.len() / in_dims != targets.len() / out_dims
        {
            return Err(Error::parameter(format!(
                "{} coordinates of dimension {in_dims} do not pair with {} targets of dimension {out_dims}",
                coords.len(),
                targets.len()
            )));
        }
        Ok(Self {
            coords,
            targets,
            in_dims,
            out_dims,
        })
    }
}

impl IndexedData for GridData {
    fn in_dims(&self) -> usize {
        self.in_dims
    }

    fn out_dims(&self) -> usize {
        self.out_dims
    }

    fn len(&self) -> usize {
        self.coords.len() / self.in_dims
    }

    fn gather(&self, indices: &[usize], coords: &mut Vec<f32>, targets: &mut Vec<f32>) {
        let (d, o) = (self.in_dims, self.out_dims);
        coords.clear();
        targets.clear();
        coords.reserve(indices.len() * d);
        targets.reserve(indices.len() * o);
        for &i in indices {
            coords.extend_from_slice(&self.coords[i * d..(i + 1) * d]);
            targets.extend_from_slice(&self.targets[i * o..(i + 1) * o]);
        }
    }
}
