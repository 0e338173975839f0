//! Architecture descriptions and weights as plain data.
//!
//! A [`Network`] is everything needed to evaluate a fitted signal: its
//! [`Arch`] (the hyperparameters stored in the `ARCH` chunk, FORMAT.md §5)
//! and its dequantised tensors (the `WGHT` chunk, FORMAT.md §6), in the
//! canonical order given by [`Arch::tensor_specs`]. Nothing here depends on
//! the trainer or on a particular evaluator. The initial weights of a fit
//! (`init_network`) come with feature `train`.

mod arch;
#[cfg(any(test, feature = "train"))]
pub(crate) mod init;

pub use arch::{
    ARCH_NAMES, Arch, FAMILY_NAMES, Family, HyperValue, MAX_FREQUENCIES, MAX_GRID_SIDE, MAX_HIDDEN,
    MAX_IN_DIMS, MAX_LAYERS, MAX_LEVELS, MAX_OUT_DIMS, Mask, Synthesis, TensorSpec, default_omegas,
    level_size,
};
#[cfg(any(test, feature = "train"))]
pub use init::init_network;

use crate::{Error, Rule};

/// One named tensor, row-major, dequantised to `f32`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Name as in FORMAT.md §6.2, e.g. `hidden.0.mask.weight`.
    pub name: String,
    /// Dimensions, outermost first. Weights are `[out, in]`, biases `[out]`.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

impl Tensor {
    /// Number of rows for per-row quantisation: `shape[0]` of a 2-D
    /// tensor, 1 for a 1-D tensor (FORMAT.md §6.3).
    pub fn rows(&self) -> usize {
        if self.shape.len() >= 2 {
            self.shape[0]
        } else {
            1
        }
    }
}

/// A network: its architecture and its tensors in canonical order.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub arch: Arch,
    pub tensors: Vec<Tensor>,
}

impl Network {
    /// Builds a network after checking that `tensors` match the names and
    /// shapes `arch` requires, in order (FORMAT.md §6.2).
    pub fn new(arch: Arch, tensors: Vec<Tensor>) -> Result<Self, Error> {
        let net = Self { arch, tensors };
        net.validate()?;
        Ok(net)
    }

    /// Checks what [`Network::new`] checks: a valid architecture, its
    /// tensors with the right names, shapes and lengths, in order, and no
    /// value that is not finite. The fields are public, so a network built
    /// by hand may break these rules; evaluators check before using one.
    pub fn validate(&self) -> Result<(), Error> {
        let (arch, tensors) = (&self.arch, &self.tensors);
        arch.validate()?;
        let specs = arch.tensor_specs();
        if specs.len() != tensors.len() {
            return Err(Error::format(
                Rule::TensorTable,
                format!(
                    "architecture `{}` needs {} tensors, the weights hold {}",
                    arch.name(),
                    specs.len(),
                    tensors.len()
                ),
            ));
        }
        for (spec, t) in specs.iter().zip(tensors) {
            if spec.name != t.name || spec.shape != t.shape {
                return Err(Error::format(
                    Rule::TensorTable,
                    format!(
                        "tensor `{}` {:?} found where `{}` {:?} was expected",
                        t.name, t.shape, spec.name, spec.shape
                    ),
                ));
            }
            if t.data.len() != spec.shape.iter().product::<usize>() {
                return Err(Error::format(
                    Rule::TensorTable,
                    format!("tensor `{}` has the wrong length", t.name),
                ));
            }
            if let Some(v) = t.data.iter().find(|v| !v.is_finite()) {
                return Err(Error::format(
                    Rule::NonFinite,
                    format!("tensor `{}` holds a non-finite value {v}", t.name),
                ));
            }
        }
        Ok(())
    }

    /// The tensor called `name`; panics if absent (callers use names from
    /// [`Arch::tensor_specs`], which [`Network::new`] has checked).
    pub fn tensor(&self, name: &str) -> &Tensor {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("tensor `{name}` is missing"))
    }

    /// Total number of trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.tensors.iter().map(|t| t.data.len()).sum()
    }
}

/// The row-major `[cols, rows]` transpose of row-major `[rows, cols]` data.
pub fn transposed(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(data.len(), rows * cols, "matrix shape");
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    out
}

/// Every tensor of `net` in one flat vector, in [`Arch::tensor_specs`]
/// order, matrices transposed to `[in, out]` (the layout the training
/// engines keep), with each tensor's offset and length in it.
pub fn flatten_in_out(net: &Network) -> (Vec<(usize, usize)>, Vec<f32>) {
    let mut spans = Vec::new();
    let mut flat = Vec::new();
    for t in &net.tensors {
        spans.push((flat.len(), t.data.len()));
        if t.shape.len() == 2 {
            flat.extend(transposed(&t.data, t.shape[0], t.shape[1]));
        } else {
            flat.extend_from_slice(&t.data);
        }
    }
    (spans, flat)
}

/// Inverse of [`flatten_in_out`]: `flat`, cut at `spans`, as a network of
/// `arch`.
///
/// # Panics
///
/// If `spans` do not match `arch`'s tensors.
pub fn unflatten_in_out(arch: &Arch, spans: &[(usize, usize)], flat: &[f32]) -> Network {
    let tensors = arch
        .tensor_specs()
        .into_iter()
        .zip(spans)
        .map(|(spec, &(start, len))| {
            let src = &flat[start..start + len];
            let data = if spec.shape.len() == 2 {
                transposed(src, spec.shape[1], spec.shape[0])
            } else {
                src.to_vec()
            };
            Tensor {
                name: spec.name,
                shape: spec.shape,
                data,
            }
        })
        .collect();
    Network::new(arch.clone(), tensors).expect("spans cut from a valid network keep its shapes")
}
