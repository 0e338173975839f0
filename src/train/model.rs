//! Every network family as one burn [`Module`], and its conversion to and
//! from the plain-data [`Network`].

use burn::module::{Module, Param};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Tensor, TensorData, backend::Backend};

use crate::model::{Arch, Family, Mask, Network, Synthesis, Tensor as PlainTensor};

/// A network with trainable parameters on backend `B`.
///
/// `params` holds every tensor of [`Arch::tensor_specs`], in that order:
/// matrices transposed to `[in, out]`, so that a map is a plain `z · W`
/// without a per-step transpose, and vectors as `[1, n]` rows that
/// broadcast over a batch. Tensors the family never trains (FFN's
/// frequencies, rbm's patterns) are parameters without gradients. The
/// frequencies (ω₀, ω, s₀) are fixed data.
#[derive(Module, Debug)]
pub struct NetModel<B: Backend> {
    pub params: Vec<Param<Tensor<B, 2>>>,
    #[module(skip)]
    arch: Arch,
    #[module(skip)]
    names: Vec<String>,
    /// Each tensor's quantisation step while training through the
    /// quantiser ([`super::Quantisation`]): [`NetModel::param`] then gives
    /// the weights rounded to multiples of their steps, with the gradient
    /// passed straight through to the float ones.
    #[module(skip)]
    steps: Option<Vec<Option<f32>>>,
}

/// Uploads a plain tensor: `[rows, cols]` as `[cols, rows]`, `[n]` as
/// `[1, n]`.
fn upload<B: Backend>(t: &PlainTensor, fixed: bool, device: &B::Device) -> Param<Tensor<B, 2>> {
    let (data, shape) = if t.shape.len() == 2 {
        let (rows, cols) = (t.shape[0], t.shape[1]);
        (transposed(&t.data, rows, cols), [cols, rows])
    } else {
        (t.data.clone(), [1, t.data.len()])
    };
    let param = Param::from_tensor(Tensor::from_data(TensorData::new(data, shape), device));
    if fixed {
        param.set_require_grad(false)
    } else {
        param
    }
}

/// `z · w`. A map of the coordinates (at most 3 inputs) is a sum of
/// broadcast f32 products rather than a matrix product, whose kernels may
/// round their inputs (to tf32 on tensor-core GPUs): a coordinate rounded
/// that way moves a high-frequency sine by much more than the decoder's
/// tolerance.
fn product<B: Backend>(z: Tensor<B, 2>, w: Tensor<B, 2>) -> Tensor<B, 2> {
    if w.dims()[0] > 3 {
        return z.matmul(w);
    }
    exact_product(z, w)
}

/// `z · w` as a sum of broadcast f32 products, one per row of `w`.
fn exact_product<B: Backend>(z: Tensor<B, 2>, w: Tensor<B, 2>) -> Tensor<B, 2> {
    let k = w.dims()[0];
    (1..k).fold(
        z.clone().narrow(1, 0, 1).mul(w.clone().narrow(0, 0, 1)),
        |acc, i| acc.add(z.clone().narrow(1, i, 1).mul(w.clone().narrow(0, i, 1))),
    )
}

pub(crate) use crate::model::transposed;

/// Inverse of [`upload`].
fn download<B: Backend>(name: &str, shape: &[usize], t: &Param<Tensor<B, 2>>) -> PlainTensor {
    let src = t
        .val()
        .into_data()
        .to_vec::<f32>()
        .expect("parameters are f32");
    let data = if shape.len() == 2 {
        transposed(&src, shape[1], shape[0])
    } else {
        src
    };
    PlainTensor {
        name: name.to_owned(),
        shape: shape.to_vec(),
        data,
    }
}

impl<B: Backend> NetModel<B> {
    /// Uploads `net`'s weights to `device`.
    pub fn from_network(net: &Network, device: &B::Device) -> Self {
        let specs = net.arch.tensor_specs();
        let params = specs
            .iter()
            .zip(&net.tensors)
            .map(|(spec, t)| upload(t, spec.fixed, device))
            .collect();
        Self {
            params,
            arch: net.arch.clone(),
            names: specs.into_iter().map(|s| s.name).collect(),
            steps: None,
        }
    }

    /// Rounds each tensor with a step to multiples of it in the passes
    /// from now on (straight through), or no longer with `None`.
    pub(crate) fn set_steps(&mut self, steps: Option<Vec<Option<f32>>>) {
        self.steps = steps;
    }

    /// Downloads the weights into a plain [`Network`]; the values are
    /// exactly those on the device.
    pub fn to_network(&self) -> Network {
        let tensors = self
            .arch
            .tensor_specs()
            .iter()
            .zip(&self.params)
            .map(|(spec, p)| download(&spec.name, &spec.shape, p))
            .collect();
        Network::new(self.arch.clone(), tensors)
            .expect("a model built from a valid network keeps its shapes")
    }

    /// The architecture this model was built for.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// The parameter called `name` (as in FORMAT.md §6.2), in its stored
    /// orientation.
    pub fn param(&self, name: &str) -> Tensor<B, 2> {
        let i = self
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("tensor `{name}` is missing"));
        let w = self.params[i].val();
        match self.steps.as_ref().and_then(|s| s[i]) {
            // w + (Δ·round(w/Δ) − w), the bracket without a gradient: the
            // rounded value forward, the identity backward.
            Some(step) => {
                let float = w.clone().detach();
                let rounded = float.clone().div_scalar(step).round().mul_scalar(step);
                w.add(rounded.sub(float))
            }
            None => w,
        }
    }

    /// `z · W + b` for the map `prefix`, with W and b scaled by `scale`.
    fn linear(&self, z: Tensor<B, 2>, prefix: &str, scale: f32) -> Tensor<B, 2> {
        let (w, b) = (
            self.param(&format!("{prefix}.weight")),
            self.param(&format!("{prefix}.bias")),
        );
        // ω(zW + b) = z(ωW) + ωb: scaling the small weight tensors saves a
        // full pass over the [n, hidden] activations.
        let (w, b) = if scale == 1.0 {
            (w, b)
        } else {
            (w.mul_scalar(scale), b.mul_scalar(scale))
        };
        product(z, w).add(b)
    }

    /// [`NetModel::linear`] as a sum of broadcast f32 products whatever the
    /// width of `z` ([`exact_product`]).
    fn linear_exact(&self, z: Tensor<B, 2>, prefix: &str, scale: f32) -> Tensor<B, 2> {
        let (w, b) = (
            self.param(&format!("{prefix}.weight")),
            self.param(&format!("{prefix}.bias")),
        );
        exact_product(z, w.mul_scalar(scale)).add(b.mul_scalar(scale))
    }

    /// Evaluates the network at `x` with burn's own operations.
    ///
    /// # Panics
    ///
    /// For a `grid` network, which [`NetModel::forward_grid`] evaluates.
    ///
    /// # Shapes
    ///
    /// - `x`: `[n, in_dims]`, coordinates in [−1, 1]
    /// - returns `[n, out_dims]`
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let layers = self.arch.hidden_layers();
        let z = match &self.arch.family {
            Family::Scone {
                omega0,
                omegas,
                mask,
            } => self.scone_layers(x.clone(), x, *omega0, omegas, *mask, false),
            Family::Rbm { omega0, mask_omega } => {
                let mut z = x.clone();
                for i in 0..layers {
                    let gate = self
                        .linear(x.clone(), &format!("hidden.{i}.mask"), *mask_omega)
                        .sin()
                        .greater_elem(0.0)
                        .float();
                    z = self
                        .linear(z, &format!("hidden.{i}"), *omega0)
                        .sin()
                        .mul(gate);
                }
                z
            }
            Family::Siren { omega0 } => self.sine_layers(x, *omega0, false),
            Family::Ffn { .. } => {
                let phase = product(
                    x,
                    self.param("encoding.weight")
                        .mul_scalar(2.0 * std::f32::consts::PI),
                );
                let z = Tensor::cat(vec![phase.clone().cos(), phase.sin()], 1);
                self.relu_layers(z, false)
            }
            Family::Grid { .. } => {
                panic!("a `grid` network is evaluated by NetModel::forward_grid")
            }
            Family::Mfn { .. } => {
                let x2 = x.clone().square().sum_dim(1);
                let filter = |i: usize| {
                    let mu = self.param(&format!("filter.{i}.mu"));
                    let gamma = self.param(&format!("filter.{i}.gamma"));
                    // ‖x − μ‖² = ‖x‖² + ‖μ‖² − 2 x·μ, as in GaborNet.
                    let dist2 = x2
                        .clone()
                        .add(mu.clone().square().sum_dim(0))
                        .sub(product(x.clone(), mu).mul_scalar(2.0));
                    self.linear(x.clone(), &format!("filter.{i}"), 1.0)
                        .sin()
                        .mul(dist2.mul(gamma).mul_scalar(-0.5).exp())
                };
                let mut z = filter(0);
                for i in 1..layers {
                    z = self
                        .linear(z, &format!("hidden.{}", i - 1), 1.0)
                        .mul(filter(i));
                }
                z
            }
            Family::Wire { omega0, s0 } => {
                let (w0, s2) = (*omega0, s0 * s0);
                let a = self.linear(x, "hidden.0", 1.0);
                let amp = a.clone().square().mul_scalar(-s2).exp();
                let phase = a.mul_scalar(w0);
                let (mut re, mut im) = (amp.clone().mul(phase.clone().cos()), amp.mul(phase.sin()));
                for i in 1..layers {
                    let (wr, wi) = (
                        self.param(&format!("hidden.{i}.weight.re")),
                        self.param(&format!("hidden.{i}.weight.im")),
                    );
                    let p = re
                        .clone()
                        .matmul(wr.clone())
                        .sub(im.clone().matmul(wi.clone()))
                        .add(self.param(&format!("hidden.{i}.bias.re")));
                    let q = re
                        .matmul(wi)
                        .add(im.matmul(wr))
                        .add(self.param(&format!("hidden.{i}.bias.im")));
                    let amp = q
                        .clone()
                        .mul_scalar(-w0)
                        .sub(p.clone().square().add(q.square()).mul_scalar(s2))
                        .exp();
                    let phase = p.mul_scalar(w0);
                    (re, im) = (amp.clone().mul(phase.clone().cos()), amp.mul(phase.sin()));
                }
                return re
                    .matmul(self.param("output.weight.re"))
                    .sub(im.matmul(self.param("output.weight.im")))
                    .add(self.param("output.bias"));
            }
        };
        self.linear(z, "output", 1.0)
    }
    /// A `grid` network (FORMAT.md §5.9) at `x` given its interpolated
    /// latents `lat` there. The first layer's maps, which read the
    /// latents, are sums of broadcast f32 products, as coordinate maps
    /// are (see `product`): the decoder evaluates them in f32.
    ///
    /// # Panics
    ///
    /// For a network of another family.
    ///
    /// # Shapes
    ///
    /// - `lat`: `[n, levels]`, `x`: `[n, 2]`
    /// - returns `[n, out_dims]`
    pub fn forward_grid(&self, lat: Tensor<B, 2>, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let Family::Grid { synthesis, .. } = &self.arch.family else {
            panic!("forward_grid of a `{}` network", self.arch.name());
        };
        let z = match synthesis {
            Synthesis::Scone {
                omega0,
                omegas,
                mask,
            } => self.scone_layers(lat, x, *omega0, omegas, *mask, true),
            Synthesis::Siren { omega0 } => {
                self.sine_layers(Tensor::cat(vec![lat, x], 1), *omega0, true)
            }
            Synthesis::Relu => self.relu_layers(Tensor::cat(vec![lat, x], 1), true),
        };
        self.linear(z, "output", 1.0)
    }

    /// SCONE's hidden layers (FORMAT.md §5.2) from the first layer's input
    /// `z`, every basis reading `x`; with `exact`, the first mask's map is
    /// a sum of broadcast products whatever its width.
    fn scone_layers(
        &self,
        mut z: Tensor<B, 2>,
        x: Tensor<B, 2>,
        omega0: f32,
        omegas: &[f32],
        mask: Mask,
        exact: bool,
    ) -> Tensor<B, 2> {
        for (i, &omega) in omegas.iter().enumerate() {
            let prefix = format!("hidden.{i}.mask");
            let mut u = if exact && i == 0 {
                self.linear_exact(z, &prefix, omega0)
            } else {
                self.linear(z, &prefix, omega0)
            };
            if mask.has_scale() {
                u = u.mul(self.param(&format!("hidden.{i}.mask.scale")));
            }
            let m = match mask {
                Mask::Sin2 => u.sin().square(),
                Mask::Sigmoid | Mask::SigmoidL => sigmoid(u),
                Mask::NTanh | Mask::NTanhL => u.tanh().add_scalar(1.0).mul_scalar(0.5),
                Mask::ExpSq => u.square().neg().exp(),
            };
            let g = self
                .linear(x.clone(), &format!("hidden.{i}.basis"), omega)
                .sin();
            z = m.mul(g);
        }
        z
    }

    /// SIREN's hidden layers from the first layer's input `z` (`exact`:
    /// as in [`NetModel::scone_layers`]).
    fn sine_layers(&self, mut z: Tensor<B, 2>, omega0: f32, exact: bool) -> Tensor<B, 2> {
        for i in 0..self.arch.hidden_layers() {
            let prefix = format!("hidden.{i}");
            z = if exact && i == 0 {
                self.linear_exact(z, &prefix, omega0)
            } else {
                self.linear(z, &prefix, omega0)
            }
            .sin();
        }
        z
    }

    /// ReLU hidden layers from the first layer's input `z` (`exact`: as in
    /// [`NetModel::scone_layers`]).
    fn relu_layers(&self, mut z: Tensor<B, 2>, exact: bool) -> Tensor<B, 2> {
        for i in 0..self.arch.hidden_layers() {
            let prefix = format!("hidden.{i}");
            z = relu(if exact && i == 0 {
                self.linear_exact(z, &prefix, 1.0)
            } else {
                self.linear(z, &prefix, 1.0)
            });
        }
        z
    }
}
