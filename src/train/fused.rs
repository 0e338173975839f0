//! A SCONE hidden layer as one autodiff operation whose forward and backward
//! passes run the host kernels of [`super::kernels`] (CPU backends only).
//!
//! `fit` trains SCONE sin² with the host engine instead (`super::host`);
//! this operation keeps burn's side of the comparison the benchmark prints
//! (`time_step` with [`super::Layers::Fused`]) and a second check of the
//! kernels' gradients against burn's autodiff.

use std::borrow::Cow;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Flex, NdArray};
use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, FloatTensorOps};
use burn::tensor::{TensorData, TensorMetadata};

use super::kernels::{self, Layer};

/// A backend whose float tensors live in host memory as `f32`.
pub(crate) trait HostBackend: Backend {
    /// The values of `t`, row-major, borrowed where the layout allows.
    fn host(t: &FloatTensor<Self>) -> Cow<'_, [f32]>;
    /// The values of `t`, row-major, owned: `t`'s own buffer when nothing
    /// else holds it.
    fn into_host(t: FloatTensor<Self>) -> Vec<f32>;
    /// A tensor of `shape` holding `values`.
    fn from_host(values: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self>;
}

impl HostBackend for Flex {
    fn host(t: &FloatTensor<Self>) -> Cow<'_, [f32]> {
        match t.as_slice::<f32>() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(owned_values(t.to_contiguous().into_data())),
        }
    }

    fn into_host(t: FloatTensor<Self>) -> Vec<f32> {
        owned_values(t.into_data())
    }

    fn from_host(values: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self> {
        burn::backend::flex::FlexTensor::from_data(TensorData::new(values, shape))
    }
}

impl HostBackend for NdArray {
    fn host(t: &FloatTensor<Self>) -> Cow<'_, [f32]> {
        Cow::Owned(Self::into_host(t.clone()))
    }

    fn into_host(t: FloatTensor<Self>) -> Vec<f32> {
        let data = burn::tensor::read_sync(<Self as FloatTensorOps<Self>>::float_into_data(t));
        owned_values(data.expect("host tensors can be read"))
    }

    fn from_host(values: Vec<f32>, shape: Vec<usize>) -> FloatTensor<Self> {
        burn::backend::ndarray::NdArrayTensor::from_data(TensorData::new(values, shape))
    }
}

fn owned_values(data: TensorData) -> Vec<f32> {
    data.convert::<f32>()
        .into_vec::<f32>()
        .expect("float tensors convert to f32")
}

/// The tensors of one hidden layer (see [`kernels::Layer`]).
#[derive(Clone, Debug)]
pub(crate) struct LayerTensors<T> {
    pub z: T,
    pub x: T,
    pub wm: T,
    pub bm: T,
    pub wb: T,
    pub bb: T,
}

/// Runs `f` on the host view of `t`'s tensors.
fn with_layer<B: HostBackend, R>(
    t: &LayerTensors<FloatTensor<B>>,
    omega0: f32,
    omega: f32,
    f: impl FnOnce(&Layer) -> R,
) -> R {
    let (z, x, wm, bm, wb, bb) = (
        B::host(&t.z),
        B::host(&t.x),
        B::host(&t.wm),
        B::host(&t.bm),
        B::host(&t.wb),
        B::host(&t.bb),
    );
    f(&Layer {
        z: &z,
        x: &x,
        wm: &wm,
        bm: &bm,
        wb: &wb,
        bb: &bb,
        omega0,
        omega,
    })
}

/// A backend that can run a SCONE hidden layer as one operation.
pub(crate) trait SconeLayerOp: Backend {
    /// `sin²(ω₀ (z·wm + bm)) ⊙ sin(ω (x·wb + bb))`, `[n, h]`, with `z`
    /// `[n, k]`, `x` `[n, d]`, `wm` `[k, h]`, `wb` `[d, h]` and biases `[h]`.
    /// No gradient flows to `x`.
    fn scone_layer(
        t: LayerTensors<FloatTensor<Self>>,
        omega0: f32,
        omega: f32,
    ) -> FloatTensor<Self>;
}

/// What the backward pass needs: the inputs, `z·wm`, and the frequencies.
#[derive(Clone, Debug)]
struct Saved<B: Backend> {
    inputs: LayerTensors<FloatTensor<B>>,
    p: FloatTensor<B>,
    omega0: f32,
    omega: f32,
}

#[derive(Debug)]
struct SconeLayerBackward;

impl<B: HostBackend> Backward<B, 6> for SconeLayerBackward {
    type State = Saved<B>;

    fn backward(self, ops: Ops<Self::State, 6>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [z_node, _x_node, wm_node, bm_node, wb_node, bb_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let Saved {
            inputs,
            p,
            omega0,
            omega,
        } = ops.state;
        let (n, k) = dims2(&inputs.z);
        let h = dims1(&inputs.bm);
        let d = dims2(&inputs.x).1;
        let g = with_layer::<B, _>(&inputs, omega0, omega, |l| {
            kernels::backward(l, B::into_host(p), B::into_host(grad), z_node.is_some())
        });
        let results = [
            (z_node, g.dz.unwrap_or_default(), vec![n, k]),
            (wm_node, g.dwm, vec![k, h]),
            (bm_node, g.dbm, vec![h]),
            (wb_node, g.dwb, vec![d, h]),
            (bb_node, g.dbb, vec![h]),
        ];
        for (node, values, shape) in results {
            if let Some(node) = node {
                grads.register::<B>(node.id, B::from_host(values, shape));
            }
        }
    }
}

fn dims2<T: TensorMetadata>(t: &T) -> (usize, usize) {
    let shape = t.shape();
    assert_eq!(shape.num_dims(), 2, "expected a matrix");
    (shape[0], shape[1])
}

fn dims1<T: TensorMetadata>(t: &T) -> usize {
    let shape = t.shape();
    assert_eq!(shape.num_dims(), 1, "expected a vector");
    shape[0]
}

impl<B: HostBackend, C: CheckpointStrategy> SconeLayerOp for Autodiff<B, C> {
    fn scone_layer(
        t: LayerTensors<FloatTensor<Self>>,
        omega0: f32,
        omega: f32,
    ) -> FloatTensor<Self> {
        let inner = LayerTensors {
            z: t.z.primitive.clone(),
            x: t.x.primitive.clone(),
            wm: t.wm.primitive.clone(),
            bm: t.bm.primitive.clone(),
            wb: t.wb.primitive.clone(),
            bb: t.bb.primitive.clone(),
        };
        let (n, _) = dims2(&inner.x);
        let h = dims1(&inner.bm);
        let (out, p) = with_layer::<B, _>(&inner, omega0, omega, kernels::forward);
        let out = B::from_host(out, vec![n, h]);
        let nodes = [
            t.z.node, t.x.node, t.wm.node, t.bm.node, t.wb.node, t.bb.node,
        ];
        match SconeLayerBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let p = B::from_host(p, vec![n, h]);
                prep.finish(
                    Saved {
                        inputs: inner,
                        p,
                        omega0,
                        omega,
                    },
                    out,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}
