//! The architecture description stored in the `ARCH` chunk (FORMAT.md §5).

use crate::Error;

/// Largest input dimension a file may declare (FORMAT.md §5.1).
pub const MAX_IN_DIMS: usize = 3;
/// Largest number of output channels (FORMAT.md §5.1).
pub const MAX_OUT_DIMS: usize = 16;
/// Largest number of layers `L` (FORMAT.md §5.2).
pub const MAX_LAYERS: usize = 32;
/// Largest hidden width (FORMAT.md §5.2).
pub const MAX_HIDDEN: usize = 4096;

/// The mask activation σ of a SCONE layer (FORMAT.md §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    /// σ(u) = sin(u)², the paper's choice.
    Sin2,
}

impl Mask {
    pub fn name(self) -> &'static str {
        match self {
            Mask::Sin2 => "sin2",
        }
    }

    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "sin2" => Ok(Mask::Sin2),
            other => Err(Error::Format(format!("unknown mask activation `{other}`"))),
        }
    }
}

/// A SCONE network (the paper's "spatially collaged Fourier bases"):
///
/// for ℓ = 1 … L−1:
///   Mℓ = σ(ω₀ (Wℓ₋₁ zℓ₋₁ + bℓ₋₁)), z₀ = x;
///   gℓ = sin(ωℓ (Bℓ x + cℓ));
///   zℓ = Mℓ ⊙ gℓ;
/// output = W_L z_{L−1} + b_L.
///
/// In tensor names hidden layer ℓ is `hidden.{ℓ−1}`: its mask map is
/// `hidden.{ℓ−1}.mask` (Wℓ₋₁, bℓ₋₁) and its basis map `hidden.{ℓ−1}.basis`
/// (Bℓ, cℓ); the final map is `output`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    /// Number of input coordinates d (2 for images, 3 for video and SDF).
    pub in_dims: usize,
    /// Number of output channels.
    pub out_dims: usize,
    /// Number of layers L: L−1 hidden layers and the linear output.
    pub layers: usize,
    /// Hidden width.
    pub hidden: usize,
    /// ω₀, the frequency of the mask activation.
    pub omega0: f32,
    /// ω₁ … ω_{L−1}, the frequency of each layer's bases.
    pub omegas: Vec<f32>,
    /// The mask activation σ.
    pub mask: Mask,
}

/// Name and shape of one tensor an architecture requires.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
}

impl Arch {
    /// The paper's image setting: 5 layers, 250 hidden, ω₀ = 30,
    /// ω = [90, 60, 30, 10].
    pub fn paper_image(out_dims: usize) -> Self {
        Self {
            in_dims: 2,
            out_dims,
            layers: 5,
            hidden: 250,
            omega0: 30.0,
            omegas: vec![90.0, 60.0, 30.0, 10.0],
            mask: Mask::Sin2,
        }
    }

    /// The name stored in the `ARCH` chunk.
    pub fn name(&self) -> &'static str {
        "scone"
    }

    /// Number of hidden layers, L − 1.
    pub fn hidden_layers(&self) -> usize {
        self.layers - 1
    }

    /// Checks every hyperparameter against FORMAT.md §5.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::Format(msg));
        if !(1..=MAX_IN_DIMS).contains(&self.in_dims) {
            return bad(format!(
                "input dimension {} is outside 1..={MAX_IN_DIMS}",
                self.in_dims
            ));
        }
        if !(1..=MAX_OUT_DIMS).contains(&self.out_dims) {
            return bad(format!(
                "output dimension {} is outside 1..={MAX_OUT_DIMS}",
                self.out_dims
            ));
        }
        if !(2..=MAX_LAYERS).contains(&self.layers) {
            return bad(format!(
                "layer count {} is outside 2..={MAX_LAYERS}",
                self.layers
            ));
        }
        if !(1..=MAX_HIDDEN).contains(&self.hidden) {
            return bad(format!(
                "hidden width {} is outside 1..={MAX_HIDDEN}",
                self.hidden
            ));
        }
        if self.omegas.len() != self.layers - 1 {
            return bad(format!(
                "{} layers need {} basis omegas, found {}",
                self.layers,
                self.layers - 1,
                self.omegas.len()
            ));
        }
        if !self.omega0.is_finite() || self.omegas.iter().any(|w| !w.is_finite()) {
            return bad("an omega is not finite".into());
        }
        Ok(())
    }

    /// The tensors this architecture needs, in canonical order
    /// (FORMAT.md §6.2): for each hidden layer its mask weight and bias,
    /// then its basis weight and bias; then the output weight and bias.
    pub fn tensor_specs(&self) -> Vec<TensorSpec> {
        let spec = |name: String, shape: Vec<usize>| TensorSpec { name, shape };
        let mut specs = Vec::with_capacity(4 * self.layers);
        for i in 0..self.hidden_layers() {
            let mask_in = if i == 0 { self.in_dims } else { self.hidden };
            specs.push(spec(
                format!("hidden.{i}.mask.weight"),
                vec![self.hidden, mask_in],
            ));
            specs.push(spec(format!("hidden.{i}.mask.bias"), vec![self.hidden]));
            specs.push(spec(
                format!("hidden.{i}.basis.weight"),
                vec![self.hidden, self.in_dims],
            ));
            specs.push(spec(format!("hidden.{i}.basis.bias"), vec![self.hidden]));
        }
        specs.push(spec(
            "output.weight".into(),
            vec![self.out_dims, self.hidden],
        ));
        specs.push(spec("output.bias".into(), vec![self.out_dims]));
        specs
    }

    /// Multiply-accumulates per evaluated coordinate (all linear maps).
    pub fn macs_per_point(&self) -> usize {
        self.tensor_specs()
            .iter()
            .filter(|s| s.shape.len() == 2)
            .map(|s| s.shape[0] * s.shape[1])
            .sum()
    }

    /// Number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.tensor_specs()
            .iter()
            .map(|s| s.shape.iter().product::<usize>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_image_model_has_about_193k_parameters() {
        assert_eq!(Arch::paper_image(3).parameter_count(), 192_753);
    }

    #[test]
    fn omegas_must_match_layers() {
        let mut a = Arch::paper_image(3);
        a.omegas.pop();
        assert!(a.validate().is_err());
    }
}
