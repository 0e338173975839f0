//! The SCONE network as a burn [`Module`], and its conversion to and from
//! the plain-data [`Network`].

use burn::module::{Module, Param};
use burn::tensor::{Tensor, TensorData, TensorPrimitive, backend::Backend};

use super::fused::{LayerTensors, SconeLayerOp};
use crate::model::{Arch, Network, Tensor as PlainTensor};

/// One hidden layer: a mask map over the previous layer's output and a
/// basis map over the input coordinates.
///
/// Weights are held transposed, `[in, out]`, so that the forward pass is a
/// plain `x · W` without a per-step transpose; [`SconeModel::from_network`]
/// and [`SconeModel::to_network`] convert from and to the `[out, in]` order of
/// the file format.
#[derive(Module, Debug)]
pub struct SconeLayer<B: Backend> {
    /// Mask weight, `[in, hidden]` (`hidden.{i}.mask.weight` transposed).
    pub mask_weight: Param<Tensor<B, 2>>,
    /// Mask bias, `[hidden]`.
    pub mask_bias: Param<Tensor<B, 1>>,
    /// Basis weight, `[in_dims, hidden]` (`hidden.{i}.basis.weight` transposed).
    pub basis_weight: Param<Tensor<B, 2>>,
    /// Basis bias, `[hidden]`.
    pub basis_bias: Param<Tensor<B, 1>>,
}

/// A SCONE network with trainable parameters on backend `B`.
///
/// The architecture (ω₀, the per-layer ω, widths) is fixed data: only the
/// weights and biases are parameters.
#[derive(Module, Debug)]
pub struct SconeModel<B: Backend> {
    /// The L − 1 hidden layers.
    pub hidden: Vec<SconeLayer<B>>,
    /// Output weight, `[hidden, out_dims]` (`output.weight` transposed).
    pub output_weight: Param<Tensor<B, 2>>,
    /// Output bias, `[out_dims]`.
    pub output_bias: Param<Tensor<B, 1>>,
    #[module(skip)]
    arch: Arch,
}

/// Uploads a row-major `[rows, cols]` plain tensor as `[cols, rows]`.
fn transposed<B: Backend>(t: &PlainTensor, device: &B::Device) -> Param<Tensor<B, 2>> {
    let (rows, cols) = (t.shape[0], t.shape[1]);
    let mut data = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            data[c * rows + r] = t.data[r * cols + c];
        }
    }
    Param::from_tensor(Tensor::from_data(
        TensorData::new(data, [cols, rows]),
        device,
    ))
}

fn vector<B: Backend>(t: &PlainTensor, device: &B::Device) -> Param<Tensor<B, 1>> {
    Param::from_tensor(Tensor::from_data(
        TensorData::new(t.data.clone(), [t.data.len()]),
        device,
    ))
}

fn download<B: Backend, const D: usize>(t: &Param<Tensor<B, D>>) -> Vec<f32> {
    t.val()
        .into_data()
        .to_vec::<f32>()
        .expect("parameters are f32")
}

/// Inverse of [`transposed`]: a `[cols, rows]` parameter back to row-major
/// `[rows, cols]`.
fn untransposed<B: Backend>(name: String, t: &Param<Tensor<B, 2>>) -> PlainTensor {
    let [cols, rows] = t.val().dims();
    let src = download(t);
    let mut data = vec![0f32; rows * cols];
    for c in 0..cols {
        for r in 0..rows {
            data[r * cols + c] = src[c * rows + r];
        }
    }
    PlainTensor {
        name,
        shape: vec![rows, cols],
        data,
    }
}

fn unvector<B: Backend>(name: String, t: &Param<Tensor<B, 1>>) -> PlainTensor {
    let data = download(t);
    PlainTensor {
        name,
        shape: vec![data.len()],
        data,
    }
}

impl<B: Backend> SconeModel<B> {
    /// Uploads `net`'s weights to `device`.
    pub fn from_network(net: &Network, device: &B::Device) -> Self {
        let hidden = (0..net.arch.hidden_layers())
            .map(|i| SconeLayer {
                mask_weight: transposed(net.tensor(&format!("hidden.{i}.mask.weight")), device),
                mask_bias: vector(net.tensor(&format!("hidden.{i}.mask.bias")), device),
                basis_weight: transposed(net.tensor(&format!("hidden.{i}.basis.weight")), device),
                basis_bias: vector(net.tensor(&format!("hidden.{i}.basis.bias")), device),
            })
            .collect();
        Self {
            hidden,
            output_weight: transposed(net.tensor("output.weight"), device),
            output_bias: vector(net.tensor("output.bias"), device),
            arch: net.arch.clone(),
        }
    }

    /// Downloads the weights into a plain [`Network`]; the values are
    /// exactly those on the device.
    pub fn to_network(&self) -> Network {
        let mut tensors = Vec::with_capacity(4 * self.arch.layers);
        for (i, layer) in self.hidden.iter().enumerate() {
            tensors.push(untransposed(
                format!("hidden.{i}.mask.weight"),
                &layer.mask_weight,
            ));
            tensors.push(unvector(format!("hidden.{i}.mask.bias"), &layer.mask_bias));
            tensors.push(untransposed(
                format!("hidden.{i}.basis.weight"),
                &layer.basis_weight,
            ));
            tensors.push(unvector(
                format!("hidden.{i}.basis.bias"),
                &layer.basis_bias,
            ));
        }
        tensors.push(untransposed("output.weight".into(), &self.output_weight));
        tensors.push(unvector("output.bias".into(), &self.output_bias));
        Network::new(self.arch.clone(), tensors)
            .expect("a model built from a valid network keeps its shapes")
    }

    /// The architecture this model was built for.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// Evaluates the network at `x`.
    ///
    /// # Shapes
    ///
    /// - `x`: `[n, in_dims]`, coordinates in [−1, 1]
    /// - returns `[n, out_dims]`
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let omega0 = self.arch.omega0;
        let mut z = x.clone();
        for (layer, &omega) in self.hidden.iter().zip(&self.arch.omegas) {
            // ω(zW + b) = z(ωW) + ωb: scaling the small weight tensors
            // saves a full pass over the [n, hidden] activations.
            let mask = z
                .matmul(layer.mask_weight.val().mul_scalar(omega0))
                .add(layer.mask_bias.val().mul_scalar(omega0).unsqueeze::<2>())
                .sin()
                .square();
            let basis = x
                .clone()
                .matmul(layer.basis_weight.val().mul_scalar(omega))
                .add(layer.basis_bias.val().mul_scalar(omega).unsqueeze::<2>())
                .sin();
            z = mask.mul(basis);
        }
        z.matmul(self.output_weight.val())
            .add(self.output_bias.val().unsqueeze::<2>())
    }
}

/// [`SconeModel::forward`] with each hidden layer evaluated as one fused
/// operation; the same values up to rounding, much faster on the CPU.
///
/// # Shapes
///
/// - `x`: `[n, in_dims]`, coordinates in [−1, 1]
/// - returns `[n, out_dims]`
pub(crate) fn forward_fused<B: SconeLayerOp>(
    model: &SconeModel<B>,
    x: Tensor<B, 2>,
) -> Tensor<B, 2> {
    let prim = |t: Tensor<B, 2>| t.into_primitive().tensor();
    let prim1 = |t: Tensor<B, 1>| t.into_primitive().tensor();
    let mut z = x.clone();
    for (layer, &omega) in model.hidden.iter().zip(&model.arch.omegas) {
        let inputs = LayerTensors {
            z: prim(z),
            x: prim(x.clone()),
            wm: prim(layer.mask_weight.val()),
            bm: prim1(layer.mask_bias.val()),
            wb: prim(layer.basis_weight.val()),
            bb: prim1(layer.basis_bias.val()),
        };
        z = Tensor::from_primitive(TensorPrimitive::Float(B::scone_layer(
            inputs,
            model.arch.omega0,
            omega,
        )));
    }
    z.matmul(model.output_weight.val())
        .add(model.output_bias.val().unsqueeze::<2>())
}
