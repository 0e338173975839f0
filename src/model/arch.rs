//! The architecture description stored in the `ARCH` chunk (FORMAT.md §5).
//!
//! An [`Arch`] is the shape every network shares (inputs, outputs, layers,
//! width) and a [`Family`]: SCONE or one of the baselines the paper compares
//! it with, each with its own hyperparameters and tensors. The formulas are
//! in FORMAT.md §5.2–§5.7 and, executable, in
//! [`eval_reference`](crate::eval::eval_reference).

use crate::{Error, Rule};

/// Largest input dimension a file may declare (FORMAT.md §5.1).
pub const MAX_IN_DIMS: usize = 3;
/// Largest number of output channels (FORMAT.md §5.1).
pub const MAX_OUT_DIMS: usize = 16;
/// Largest number of layers `L` (FORMAT.md §5.1).
pub const MAX_LAYERS: usize = 32;
/// Largest hidden width (FORMAT.md §5.1).
pub const MAX_HIDDEN: usize = 4096;
/// Largest number of random Fourier frequencies of `ffn` (FORMAT.md §5.5).
pub const MAX_FREQUENCIES: usize = 2048;
/// Largest number of latent grids of `grid` (FORMAT.md §5.9).
pub const MAX_LEVELS: usize = 8;
/// Largest side of a `grid` architecture's finest latent grid (FORMAT.md
/// §5.9), the largest size `SGNL` allows.
pub const MAX_GRID_SIDE: usize = 1 << 20;

/// The synthesis network of a `grid` architecture (FORMAT.md §5.9): what
/// turns the interpolated latents (and the coordinates) into outputs.
#[derive(Clone, Debug, PartialEq)]
pub enum Synthesis {
    /// SCONE layers whose first masks read the latents while the bases
    /// take the coordinates.
    Scone {
        /// ω₀, the mask frequency.
        omega0: f32,
        /// ω₁ … ω_{L−1}, the basis frequency of each hidden layer.
        omegas: Vec<f32>,
        /// The mask activation σ.
        mask: Mask,
    },
    /// Sine layers of the latents and the coordinates.
    Siren {
        /// ω₀ of every layer.
        omega0: f32,
    },
    /// ReLU layers of the latents and the coordinates.
    Relu,
}

impl Synthesis {
    /// Every synthesis name, as the `synthesis` key stores it.
    pub const NAMES: [&'static str; 3] = ["scone", "siren", "relu"];

    pub fn name(&self) -> &'static str {
        match self {
            Synthesis::Scone { .. } => "scone",
            Synthesis::Siren { .. } => "siren",
            Synthesis::Relu => "relu",
        }
    }
}

/// The size of latent grid `k` of a `grid` architecture whose finest grid
/// is `width` × `height`: each side halved k times, rounded up
/// (FORMAT.md §5.9).
pub fn level_size(width: usize, height: usize, k: usize) -> (usize, usize) {
    (width.div_ceil(1 << k), height.div_ceil(1 << k))
}

/// The mask activation σ of a SCONE layer (FORMAT.md §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    /// σ(u) = sin²(u), the paper's choice.
    Sin2,
    /// σ(u) = 1 / (1 + e^(−u)).
    Sigmoid,
    /// σ(u) = (tanh(u) + 1) / 2: tanh min-max normalised to [0, 1].
    NTanh,
    /// [`Mask::NTanh`] of a·u with a trainable per-unit scale a.
    NTanhL,
    /// [`Mask::Sigmoid`] of a·u with a trainable per-unit scale a.
    SigmoidL,
    /// σ(u) = exp(−u²).
    ExpSq,
}

impl Mask {
    /// Every mask, in the order of the paper's ablation.
    pub const ALL: [Mask; 6] = [
        Mask::Sin2,
        Mask::Sigmoid,
        Mask::NTanh,
        Mask::NTanhL,
        Mask::SigmoidL,
        Mask::ExpSq,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mask::Sin2 => "sin2",
            Mask::Sigmoid => "sigmoid",
            Mask::NTanh => "ntanh",
            Mask::NTanhL => "ntanh-l",
            Mask::SigmoidL => "sigmoid-l",
            Mask::ExpSq => "exp-sq",
        }
    }

    pub fn from_name(name: &str) -> Result<Self, Error> {
        Mask::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                Error::format(
                    Rule::HyperValue,
                    format!("unknown mask activation `{name}`"),
                )
            })
    }

    /// Whether the layer has a trainable input scale `hidden.{i}.mask.scale`.
    pub fn has_scale(self) -> bool {
        matches!(self, Mask::NTanhL | Mask::SigmoidL)
    }

    /// σ(u) in `f64`, the definition.
    pub fn eval(self, u: f64) -> f64 {
        match self {
            Mask::Sin2 => u.sin().powi(2),
            Mask::Sigmoid | Mask::SigmoidL => 1.0 / (1.0 + (-u).exp()),
            Mask::NTanh | Mask::NTanhL => (u.tanh() + 1.0) / 2.0,
            Mask::ExpSq => (-u * u).exp(),
        }
    }
}

/// What kind of network, with the hyperparameters only that kind has.
#[derive(Clone, Debug, PartialEq)]
pub enum Family {
    /// SCONE: sinusoidal bases of the input times learned masks (§5.2).
    Scone {
        /// ω₀, the mask frequency.
        omega0: f32,
        /// ω₁ … ω_{L−1}, the basis frequency of each hidden layer.
        omegas: Vec<f32>,
        /// The mask activation σ.
        mask: Mask,
    },
    /// The random-binary-mask ablation: a sine network whose units are
    /// gated by fixed random binary patterns of the input (§5.3).
    Rbm {
        /// ω₀ of the sine layers.
        omega0: f32,
        /// ω_r, the frequency of the random patterns.
        mask_omega: f32,
    },
    /// SIREN (Sitzmann et al. 2020): sine activations (§5.4).
    Siren {
        /// ω₀ of every layer.
        omega0: f32,
    },
    /// Gaussian random Fourier features and a ReLU MLP (Tancik et al.
    /// 2020) (§5.5).
    Ffn {
        /// m, the number of frequencies (the encoding has 2m values).
        frequencies: usize,
        /// σ, the standard deviation the frequencies were drawn with.
        sigma: f32,
    },
    /// GaborNet, a multiplicative filter network (Fathony et al. 2021)
    /// (§5.6). The four values only set the initialisation.
    Mfn {
        input_scale: f32,
        alpha: f32,
        beta: f32,
        weight_scale: f32,
    },
    /// WIRE (Saragadam et al. 2023): complex Gabor wavelets (§5.7); the
    /// hidden width counts complex features.
    Wire {
        /// ω₀, the wavelet frequency.
        omega0: f32,
        /// s₀, the wavelet spread.
        s0: f32,
    },
    /// Multi-resolution latent grids, interpolated at each coordinate and
    /// fed to a small synthesis network (§5.9); images only.
    Grid {
        synthesis: Synthesis,
        /// G, the number of latent grids, 1 … [`MAX_LEVELS`].
        levels: usize,
        /// Width of the finest grid (grid 0).
        grid_width: usize,
        /// Height of the finest grid.
        grid_height: usize,
    },
}

/// A hyperparameter value as stored in the `ARCH` chunk (FORMAT.md §5.1).
#[derive(Clone, Debug, PartialEq)]
pub enum HyperValue {
    U32(u32),
    F32(f32),
    F32s(Vec<f32>),
    Str(String),
}

/// A network's architecture: the shape all families share and the family.
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
    /// The kind of network and its own hyperparameters.
    pub family: Family,
}

/// Name and shape of one tensor an architecture requires.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
    /// Drawn at initialisation and never trained (ffn's frequencies, rbm's
    /// patterns).
    pub fixed: bool,
    /// Multiplied by a large frequency before a sine of the input: stored
    /// as `f32` whatever the precision asked for (FORMAT.md §6.3).
    pub precise: bool,
    /// A latent grid of `grid` (`latent.{k}`), stored in the `LATN` chunk
    /// (FORMAT.md §6.5) rather than in `WGHT`.
    pub latent: bool,
}

/// The coordinate networks' names, in the order experiments list them.
pub const FAMILY_NAMES: [&str; 6] = ["scone", "rbm", "siren", "ffn", "mfn", "wire"];
/// Every architecture name FORMAT.md §5.1 allows: the coordinate networks
/// and `grid`.
pub const ARCH_NAMES: [&str; 7] = ["scone", "rbm", "siren", "ffn", "mfn", "wire", "grid"];

impl Arch {
    /// A SCONE architecture.
    pub fn scone(
        in_dims: usize,
        out_dims: usize,
        layers: usize,
        hidden: usize,
        omega0: f32,
        omegas: Vec<f32>,
        mask: Mask,
    ) -> Self {
        Self {
            in_dims,
            out_dims,
            layers,
            hidden,
            family: Family::Scone {
                omega0,
                omegas,
                mask,
            },
        }
    }

    /// A `grid` architecture (FORMAT.md §5.9): `levels` latent grids, the
    /// finest `grid_width` × `grid_height`, and a synthesis network of
    /// `layers` layers, `hidden` wide, from 2 input coordinates to
    /// `out_dims` outputs.
    pub fn grid(
        out_dims: usize,
        layers: usize,
        hidden: usize,
        synthesis: Synthesis,
        levels: usize,
        grid_width: usize,
        grid_height: usize,
    ) -> Self {
        Self {
            in_dims: 2,
            out_dims,
            layers,
            hidden,
            family: Family::Grid {
                synthesis,
                levels,
                grid_width,
                grid_height,
            },
        }
    }

    /// The paper's image setting: 5 layers, 250 hidden, ω₀ = 30,
    /// ω = [90, 60, 30, 10].
    pub fn paper_image(out_dims: usize) -> Self {
        Self::scone(
            2,
            out_dims,
            5,
            250,
            30.0,
            vec![90.0, 60.0, 30.0, 10.0],
            Mask::Sin2,
        )
    }

    /// The paper's image setting of architecture `name` (FORMAT.md §5.8):
    /// about 200k parameters each.
    pub fn paper_image_of(name: &str, out_dims: usize) -> Result<Self, Error> {
        let (layers, hidden) = match name {
            "scone" => return Ok(Self::paper_image(out_dims)),
            "ffn" => (4, 256),
            "wire" => (5, 254),
            _ => (5, 256),
        };
        Ok(Self {
            in_dims: 2,
            out_dims,
            layers,
            hidden,
            family: Family::default_of(name, layers)?,
        })
    }

    /// The name stored in the `ARCH` chunk.
    pub fn name(&self) -> &'static str {
        self.family.name()
    }

    /// A label naming the family and, for SCONE, a mask other than sin².
    pub fn label(&self) -> String {
        match &self.family {
            Family::Scone { mask, .. } if *mask != Mask::Sin2 => {
                format!("scone-{}", mask.name())
            }
            Family::Grid { synthesis, .. } => format!("grid-{}", synthesis.name()),
            f => f.name().to_owned(),
        }
    }

    /// Number of hidden layers, L − 1.
    pub fn hidden_layers(&self) -> usize {
        self.layers - 1
    }

    /// SCONE's mask activation, if this is a SCONE.
    pub fn mask(&self) -> Option<Mask> {
        match &self.family {
            Family::Scone { mask, .. } => Some(*mask),
            _ => None,
        }
    }

    /// SCONE's basis frequencies: one per hidden layer (FORMAT.md §5.2).
    fn check_omegas(&self, omegas: &[f32]) -> Result<(), Error> {
        if omegas.len() != self.layers - 1 {
            return Err(Error::format(
                Rule::HyperValue,
                format!(
                    "{} layers need {} basis omegas, found {}",
                    self.layers,
                    self.layers - 1,
                    omegas.len()
                ),
            ));
        }
        Ok(())
    }

    /// Checks every hyperparameter against FORMAT.md §5.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::format(Rule::HyperValue, msg));
        let dims = |msg: String| Err(Error::format(Rule::ArchDims, msg));
        if !(1..=MAX_IN_DIMS).contains(&self.in_dims) {
            return dims(format!(
                "input dimension {} is outside 1..={MAX_IN_DIMS}",
                self.in_dims
            ));
        }
        if !(1..=MAX_OUT_DIMS).contains(&self.out_dims) {
            return dims(format!(
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
        let finite = |values: &[f32]| values.iter().all(|v| v.is_finite());
        let ok = match &self.family {
            Family::Scone { omega0, omegas, .. } => {
                self.check_omegas(omegas)?;
                finite(&[*omega0]) && finite(omegas)
            }
            Family::Rbm { omega0, mask_omega } => finite(&[*omega0, *mask_omega]),
            Family::Siren { omega0 } => finite(&[*omega0]),
            Family::Ffn { frequencies, sigma } => {
                if !(1..=MAX_FREQUENCIES).contains(frequencies) {
                    return bad(format!(
                        "{frequencies} Fourier frequencies are outside 1..={MAX_FREQUENCIES}"
                    ));
                }
                finite(&[*sigma])
            }
            Family::Mfn {
                input_scale,
                alpha,
                beta,
                weight_scale,
            } => finite(&[*input_scale, *alpha, *beta, *weight_scale]),
            Family::Wire { omega0, s0 } => finite(&[*omega0, *s0]),
            Family::Grid {
                synthesis,
                levels,
                grid_width,
                grid_height,
            } => {
                if self.in_dims != 2 {
                    return dims(format!(
                        "`grid` takes 2 input coordinates, not {}",
                        self.in_dims
                    ));
                }
                if !(1..=MAX_LEVELS).contains(levels) {
                    return bad(format!(
                        "{levels} latent grids are outside 1..={MAX_LEVELS}"
                    ));
                }
                for (side, v) in [("grid_width", grid_width), ("grid_height", grid_height)] {
                    if !(1..=MAX_GRID_SIDE).contains(v) {
                        return bad(format!("{side} {v} is outside 1..={MAX_GRID_SIDE}"));
                    }
                }
                match synthesis {
                    Synthesis::Scone { omega0, omegas, .. } => {
                        self.check_omegas(omegas)?;
                        finite(&[*omega0]) && finite(omegas)
                    }
                    Synthesis::Siren { omega0 } => finite(&[*omega0]),
                    Synthesis::Relu => true,
                }
            }
        };
        if !ok {
            return bad(format!(
                "a hyperparameter of `{}` is not finite",
                self.name()
            ));
        }
        Ok(())
    }

    /// The tensors this architecture needs, in canonical order
    /// (FORMAT.md §6.2).
    pub fn tensor_specs(&self) -> Vec<TensorSpec> {
        let (d, h, c) = (self.in_dims, self.hidden, self.out_dims);
        let mut specs = Vec::new();
        let mut add = |name: String, shape: Vec<usize>, fixed: bool, precise: bool| {
            specs.push(TensorSpec {
                name,
                shape,
                fixed,
                precise,
                latent: false,
            })
        };
        let input = |i: usize| if i == 0 { d } else { h };
        match &self.family {
            Family::Scone { mask, .. } => {
                for i in 0..self.hidden_layers() {
                    scone_layer_specs(&mut add, i, input(i), h, d, *mask);
                }
            }
            Family::Rbm { .. } | Family::Siren { .. } => {
                // rbm is SIREN with a fixed pattern map after each layer.
                let rbm = matches!(self.family, Family::Rbm { .. });
                for i in 0..self.hidden_layers() {
                    add(
                        format!("hidden.{i}.weight"),
                        vec![h, input(i)],
                        false,
                        i == 0,
                    );
                    add(format!("hidden.{i}.bias"), vec![h], false, i == 0);
                    if rbm {
                        add(format!("hidden.{i}.mask.weight"), vec![h, d], true, true);
                        add(format!("hidden.{i}.mask.bias"), vec![h], true, true);
                    }
                }
            }
            Family::Ffn { frequencies, .. } => {
                add("encoding.weight".into(), vec![*frequencies, d], true, true);
                for i in 0..self.hidden_layers() {
                    let fan_in = if i == 0 { 2 * frequencies } else { h };
                    add(format!("hidden.{i}.weight"), vec![h, fan_in], false, false);
                    add(format!("hidden.{i}.bias"), vec![h], false, false);
                }
            }
            Family::Mfn { .. } => {
                for i in 0..self.hidden_layers() {
                    add(format!("filter.{i}.weight"), vec![h, d], false, true);
                    add(format!("filter.{i}.bias"), vec![h], false, true);
                    add(format!("filter.{i}.mu"), vec![h, d], false, true);
                    add(format!("filter.{i}.gamma"), vec![h], false, true);
                }
                for i in 0..self.hidden_layers() - 1 {
                    add(format!("hidden.{i}.weight"), vec![h, h], false, false);
                    add(format!("hidden.{i}.bias"), vec![h], false, false);
                }
            }
            Family::Wire { .. } => {
                add("hidden.0.weight".into(), vec![h, d], false, true);
                add("hidden.0.bias".into(), vec![h], false, true);
                for i in 1..self.hidden_layers() {
                    for part in ["re", "im"] {
                        add(
                            format!("hidden.{i}.weight.{part}"),
                            vec![h, h],
                            false,
                            false,
                        );
                    }
                    for part in ["re", "im"] {
                        add(format!("hidden.{i}.bias.{part}"), vec![h], false, false);
                    }
                }
                add("output.weight.re".into(), vec![c, h], false, false);
                add("output.weight.im".into(), vec![c, h], false, false);
                add("output.bias".into(), vec![c], false, false);
                return specs;
            }
            Family::Grid {
                synthesis, levels, ..
            } => {
                let g = *levels;
                for i in 0..self.hidden_layers() {
                    match synthesis {
                        Synthesis::Scone { mask, .. } => {
                            let fan_in = if i == 0 { g } else { h };
                            scone_layer_specs(&mut add, i, fan_in, h, d, *mask);
                        }
                        Synthesis::Siren { .. } | Synthesis::Relu => {
                            let fan_in = if i == 0 { g + d } else { h };
                            add(format!("hidden.{i}.weight"), vec![h, fan_in], false, false);
                            add(format!("hidden.{i}.bias"), vec![h], false, false);
                        }
                    }
                }
            }
        }
        add("output.weight".into(), vec![c, h], false, false);
        add("output.bias".into(), vec![c], false, false);
        if let Family::Grid {
            levels,
            grid_width,
            grid_height,
            ..
        } = &self.family
        {
            for k in 0..*levels {
                let (w, hh) = level_size(*grid_width, *grid_height, k);
                specs.push(TensorSpec {
                    name: format!("latent.{k}"),
                    shape: vec![hh, w],
                    fixed: false,
                    precise: false,
                    latent: true,
                });
            }
        }
        specs
    }

    /// The latent grids' total number of values (0 for a family without).
    pub fn latent_count(&self) -> usize {
        self.tensor_specs()
            .iter()
            .filter(|s| s.latent)
            .map(|s| s.shape.iter().product::<usize>())
            .sum()
    }

    /// Multiply-accumulates per evaluated coordinate (all matrix products;
    /// a complex one counts four; `grid`'s interpolation counts 16 per
    /// grid).
    pub fn macs_per_point(&self) -> usize {
        let scale = |s: &TensorSpec| {
            if matches!(self.family, Family::Wire { .. }) && s.name.contains(".weight.") {
                2
            } else {
                1
            }
        };
        let interpolation = match &self.family {
            Family::Grid { levels, .. } => 16 * levels,
            _ => 0,
        };
        interpolation
            + self
                .tensor_specs()
                .iter()
                .filter(|s| s.shape.len() == 2 && !s.latent)
                .map(|s| s.shape[0] * s.shape[1] * scale(s))
                .sum::<usize>()
    }

    /// Number of stored parameters (real numbers), fixed ones included.
    pub fn parameter_count(&self) -> usize {
        self.tensor_specs()
            .iter()
            .map(|s| s.shape.iter().product::<usize>())
            .sum()
    }

    /// Number of trained parameters, fixed tensors excluded.
    pub fn trainable_count(&self) -> usize {
        self.tensor_specs()
            .iter()
            .filter(|s| !s.fixed)
            .map(|s| s.shape.iter().product::<usize>())
            .sum()
    }

    /// Trained parameters with a complex weight counted once, as PyTorch's
    /// `numel` counts them (the way WIRE's authors and the SCONE paper
    /// align sizes); the same as [`Arch::trainable_count`] for real
    /// networks.
    pub fn trainable_count_complex_once(&self) -> usize {
        self.tensor_specs()
            .iter()
            .filter(|s| !s.fixed && !s.name.ends_with(".im"))
            .map(|s| s.shape.iter().product::<usize>())
            .sum()
    }

    /// The widest hidden width whose trained parameter count does not
    /// exceed `target` (at least 1), keeping everything else: how
    /// experiments give every architecture the same budget. With
    /// `complex_once` a complex weight counts once, as the paper counts
    /// (see [`Arch::trainable_count_complex_once`]); otherwise every stored
    /// real number counts.
    pub fn with_trainable_budget(&self, target: usize, complex_once: bool) -> Self {
        let mut a = self.clone();
        let count = |h: usize| {
            let mut b = self.clone();
            b.hidden = h;
            if complex_once {
                b.trainable_count_complex_once()
            } else {
                b.trainable_count()
            }
        };
        let (mut lo, mut hi) = (1, MAX_HIDDEN);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if count(mid) <= target {
                lo = mid
            } else {
                hi = mid - 1
            }
        }
        a.hidden = lo;
        a
    }

    /// The hyperparameters as stored in the `ARCH` chunk, in file order.
    pub fn hyperparameters(&self) -> Vec<(&'static str, HyperValue)> {
        use HyperValue::*;
        let mut p = vec![
            ("layers", U32(self.layers as u32)),
            ("hidden", U32(self.hidden as u32)),
        ];
        match &self.family {
            Family::Scone {
                omega0,
                omegas,
                mask,
            } => {
                p.push(("omega0", F32(*omega0)));
                p.push(("omegas", F32s(omegas.clone())));
                p.push(("mask", Str(mask.name().into())));
            }
            Family::Rbm { omega0, mask_omega } => {
                p.push(("omega0", F32(*omega0)));
                p.push(("mask_omega", F32(*mask_omega)));
            }
            Family::Siren { omega0 } => p.push(("omega0", F32(*omega0))),
            Family::Ffn { frequencies, sigma } => {
                p.push(("frequencies", U32(*frequencies as u32)));
                p.push(("sigma", F32(*sigma)));
            }
            Family::Mfn {
                input_scale,
                alpha,
                beta,
                weight_scale,
            } => {
                p.push(("input_scale", F32(*input_scale)));
                p.push(("alpha", F32(*alpha)));
                p.push(("beta", F32(*beta)));
                p.push(("weight_scale", F32(*weight_scale)));
            }
            Family::Wire { omega0, s0 } => {
                p.push(("omega0", F32(*omega0)));
                p.push(("s0", F32(*s0)));
            }
            Family::Grid {
                synthesis,
                levels,
                grid_width,
                grid_height,
            } => {
                p.push(("synthesis", Str(synthesis.name().into())));
                p.push(("levels", U32(*levels as u32)));
                p.push(("grid_width", U32(*grid_width as u32)));
                p.push(("grid_height", U32(*grid_height as u32)));
                match synthesis {
                    Synthesis::Scone {
                        omega0,
                        omegas,
                        mask,
                    } => {
                        p.push(("omega0", F32(*omega0)));
                        p.push(("omegas", F32s(omegas.clone())));
                        p.push(("mask", Str(mask.name().into())));
                    }
                    Synthesis::Siren { omega0 } => p.push(("omega0", F32(*omega0))),
                    Synthesis::Relu => {}
                }
            }
        }
        p
    }

    /// Builds and validates an architecture from its stored form: `take`
    /// removes and returns the value of a key, and is called once for each
    /// key the family needs; the caller rejects any key left over.
    pub fn from_hyperparameters(
        name: &str,
        in_dims: usize,
        out_dims: usize,
        take: &mut dyn FnMut(&str) -> Result<HyperValue, Error>,
    ) -> Result<Self, Error> {
        if !ARCH_NAMES.contains(&name) {
            return Err(Error::format(
                Rule::ArchName,
                format!("unknown architecture `{name}`"),
            ));
        }
        type Take<'a> = &'a mut dyn FnMut(&str) -> Result<HyperValue, Error>;
        fn wrong(key: &str) -> Error {
            Error::format(
                Rule::HyperType,
                format!("hyperparameter `{key}` has the wrong type"),
            )
        }
        fn u32_of(take: Take, key: &str) -> Result<usize, Error> {
            match take(key)? {
                HyperValue::U32(v) => Ok(v as usize),
                _ => Err(wrong(key)),
            }
        }
        fn f32_of(take: Take, key: &str) -> Result<f32, Error> {
            match take(key)? {
                HyperValue::F32(v) => Ok(v),
                _ => Err(wrong(key)),
            }
        }
        fn str_of(take: Take, key: &str) -> Result<String, Error> {
            match take(key)? {
                HyperValue::Str(v) => Ok(v),
                _ => Err(wrong(key)),
            }
        }
        fn scone_of(take: Take) -> Result<(f32, Vec<f32>, Mask), Error> {
            let omega0 = f32_of(take, "omega0")?;
            let omegas = match take("omegas")? {
                HyperValue::F32s(v) => v,
                _ => return Err(wrong("omegas")),
            };
            let mask = Mask::from_name(&str_of(take, "mask")?)?;
            Ok((omega0, omegas, mask))
        }
        let layers = u32_of(take, "layers")?;
        let hidden = u32_of(take, "hidden")?;
        let family = match name {
            "scone" => {
                let (omega0, omegas, mask) = scone_of(take)?;
                Family::Scone {
                    omega0,
                    omegas,
                    mask,
                }
            }
            "grid" => {
                let synthesis = match str_of(take, "synthesis")?.as_str() {
                    "scone" => {
                        let (omega0, omegas, mask) = scone_of(take)?;
                        Synthesis::Scone {
                            omega0,
                            omegas,
                            mask,
                        }
                    }
                    "siren" => Synthesis::Siren {
                        omega0: f32_of(take, "omega0")?,
                    },
                    "relu" => Synthesis::Relu,
                    other => {
                        return Err(Error::format(
                            Rule::HyperValue,
                            format!(
                                "unknown synthesis `{other}` (one of {})",
                                Synthesis::NAMES.join(", ")
                            ),
                        ));
                    }
                };
                Family::Grid {
                    synthesis,
                    levels: u32_of(take, "levels")?,
                    grid_width: u32_of(take, "grid_width")?,
                    grid_height: u32_of(take, "grid_height")?,
                }
            }
            "rbm" => Family::Rbm {
                omega0: f32_of(take, "omega0")?,
                mask_omega: f32_of(take, "mask_omega")?,
            },
            "siren" => Family::Siren {
                omega0: f32_of(take, "omega0")?,
            },
            "ffn" => {
                let frequencies = u32_of(take, "frequencies")?;
                Family::Ffn {
                    frequencies,
                    sigma: f32_of(take, "sigma")?,
                }
            }
            "mfn" => Family::Mfn {
                input_scale: f32_of(take, "input_scale")?,
                alpha: f32_of(take, "alpha")?,
                beta: f32_of(take, "beta")?,
                weight_scale: f32_of(take, "weight_scale")?,
            },
            "wire" => Family::Wire {
                omega0: f32_of(take, "omega0")?,
                s0: f32_of(take, "s0")?,
            },
            other => {
                return Err(Error::format(
                    Rule::ArchName,
                    format!("unknown architecture `{other}`"),
                ));
            }
        };
        let arch = Arch {
            in_dims,
            out_dims,
            layers,
            hidden,
            family,
        };
        arch.validate()?;
        Ok(arch)
    }
}

/// The tensors of SCONE's hidden layer `i` (FORMAT.md §6.2), whose mask
/// map reads `fan_in` values and whose bases read the `d` coordinates:
/// `add(name, dims, fixed, precise)` for each.
fn scone_layer_specs(
    add: &mut dyn FnMut(String, Vec<usize>, bool, bool),
    i: usize,
    fan_in: usize,
    h: usize,
    d: usize,
    mask: Mask,
) {
    add(
        format!("hidden.{i}.mask.weight"),
        vec![h, fan_in],
        false,
        false,
    );
    add(format!("hidden.{i}.mask.bias"), vec![h], false, false);
    if mask.has_scale() {
        add(format!("hidden.{i}.mask.scale"), vec![h], false, false);
    }
    add(format!("hidden.{i}.basis.weight"), vec![h, d], false, true);
    add(format!("hidden.{i}.basis.bias"), vec![h], false, true);
}

impl Family {
    /// The name stored in the `ARCH` chunk.
    pub fn name(&self) -> &'static str {
        match self {
            Family::Scone { .. } => "scone",
            Family::Rbm { .. } => "rbm",
            Family::Siren { .. } => "siren",
            Family::Ffn { .. } => "ffn",
            Family::Mfn { .. } => "mfn",
            Family::Wire { .. } => "wire",
            Family::Grid { .. } => "grid",
        }
    }

    /// The hyperparameters the papers use for `name`, for `layers` layers:
    /// SCONE ω₀ = 30 and [`default_omegas`]; SIREN ω₀ = 30; FFN 128
    /// frequencies, σ = 10; GaborNet input scale 256, α = 6, β = 1, weight
    /// scale 1; WIRE ω₀ = s₀ = 20; rbm ω₀ = 30, patterns at ω_r = 10.
    pub fn default_of(name: &str, layers: usize) -> Result<Self, Error> {
        Ok(match name {
            "scone" => Family::Scone {
                omega0: 30.0,
                omegas: default_omegas(layers.saturating_sub(1)),
                mask: Mask::Sin2,
            },
            "rbm" => Family::Rbm {
                omega0: 30.0,
                mask_omega: 10.0,
            },
            "siren" => Family::Siren { omega0: 30.0 },
            "ffn" => Family::Ffn {
                frequencies: 128,
                sigma: 10.0,
            },
            "mfn" => Family::Mfn {
                input_scale: 256.0,
                alpha: 6.0,
                beta: 1.0,
                weight_scale: 1.0,
            },
            "wire" => Family::Wire {
                omega0: 20.0,
                s0: 20.0,
            },
            "grid" => Family::Grid {
                synthesis: Synthesis::Scone {
                    omega0: 1.0,
                    omegas: vec![1.0; layers.saturating_sub(1)],
                    mask: Mask::Sin2,
                },
                levels: 7,
                grid_width: 1,
                grid_height: 1,
            },
            other => {
                return Err(Error::parameter(format!(
                    "unknown architecture `{other}` (one of {})",
                    ARCH_NAMES.join(", ")
                )));
            }
        })
    }
}

/// Default SCONE basis frequencies for `hidden_layers` layers: the paper's
/// [90, 60, 30, 10] for four, otherwise evenly spaced from 90 down to 10.
pub fn default_omegas(hidden_layers: usize) -> Vec<f32> {
    match hidden_layers {
        0 => vec![],
        4 => vec![90.0, 60.0, 30.0, 10.0],
        1 => vec![90.0],
        n => (0..n)
            .map(|i| 90.0 - 80.0 * i as f32 / (n - 1) as f32)
            .collect(),
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
    fn paper_image_baselines_have_about_200k_parameters() {
        let count = |name: &str| {
            let a = Arch::paper_image_of(name, 3).unwrap();
            (a.trainable_count(), a.trainable_count_complex_once())
        };
        assert_eq!(count("siren"), (198_915, 198_915));
        assert_eq!(count("ffn"), (198_147, 198_147));
        assert_eq!(count("mfn"), (204_291, 204_291));
        assert_eq!(count("rbm"), (198_915, 198_915));
        assert_eq!(count("wire"), (390_909, 195_837));
        let ffn = Arch::paper_image_of("ffn", 3).unwrap();
        assert_eq!(ffn.parameter_count(), 198_147 + 256);
    }

    #[test]
    fn omegas_must_match_layers() {
        let mut a = Arch::paper_image(3);
        if let Family::Scone { omegas, .. } = &mut a.family {
            omegas.pop();
        }
        assert!(a.validate().is_err());
    }

    #[test]
    fn a_budget_picks_the_widest_width_within_it() {
        let siren = Arch::paper_image_of("siren", 3).unwrap();
        let target = Arch::paper_image(3).trainable_count();
        let a = siren.with_trainable_budget(target, false);
        assert!(a.trainable_count() <= target);
        let mut wider = a.clone();
        wider.hidden += 1;
        assert!(wider.trainable_count() > target);
        let wire = Arch::paper_image_of("wire", 3).unwrap();
        let (real, once) = (
            wire.with_trainable_budget(target, false),
            wire.with_trainable_budget(target, true),
        );
        assert!(real.trainable_count() <= target && once.trainable_count_complex_once() <= target);
        assert!(once.hidden > real.hidden);
    }

    #[test]
    fn hyperparameters_round_trip_for_every_family() {
        for name in FAMILY_NAMES {
            let a = Arch::paper_image_of(name, 3).unwrap();
            let mut stored = a.hyperparameters();
            let mut take = |key: &str| {
                let i = stored.iter().position(|(k, _)| *k == key).unwrap();
                Ok(stored.swap_remove(i).1)
            };
            let b = Arch::from_hyperparameters(name, 2, 3, &mut take).unwrap();
            assert_eq!(a, b);
            assert!(stored.is_empty(), "{name}: {stored:?} left over");
        }
    }

    #[test]
    fn mask_names_round_trip() {
        for m in Mask::ALL {
            assert_eq!(Mask::from_name(m.name()).unwrap(), m);
        }
        assert!(Mask::from_name("relu").is_err());
    }
}
