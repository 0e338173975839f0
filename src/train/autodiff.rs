//! Training with burn's autodiff: every network the crate's own engines do
//! not run (on the CPU's Flex backend, or burn-cuda), and the reference
//! the host engine's gradients are tested against. Also [`BurnEvaluator`],
//! which evaluates a network on a burn backend (burn-cuda for the networks
//! scone's CUDA engine does not run).

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};

use super::fit::Stepper;
use super::model::NetModel;
use crate::Error;
use crate::eval::{Evaluate, point_count};
use crate::model::{Arch, Network};

/// The burn backend [`crate::device::Device::Cpu`] trains networks other
/// than SCONE sin² on: the faster of burn's CPU backends on this workload
/// (`scone::bench::time_step` measures both).
pub(crate) type CpuTrainBackend = Autodiff<Flex>;

impl<B: AutodiffBackend> Stepper for Trainer<B> {
    type Pairs = (Tensor<B, 2>, Tensor<B, 2>);

    fn upload(&self, coords: Vec<f32>, targets: Vec<f32>) -> Self::Pairs {
        let (d, o) = (self.arch().in_dims, self.arch().out_dims);
        (
            Trainer::upload(self, coords, d),
            Trainer::upload(self, targets, o),
        )
    }

    fn draw(&self, (x, y): &Self::Pairs, b: usize) -> Self::Pairs {
        draw_rows(x, y, b)
    }

    fn seed(&self, seed: u64) {
        B::seed(&self.device, seed);
    }

    fn step(&mut self, (x, y): &Self::Pairs, lr: f64, read: bool) -> Result<Option<f32>, f32> {
        Trainer::step(self, x.clone(), y.clone(), lr, read)
    }

    fn into_network(self) -> Network {
        Trainer::into_network(self)
    }
}

/// The model and its optimiser on backend `B`.
pub(crate) struct Trainer<B: AutodiffBackend> {
    /// Always `Some` between steps; the optimiser consumes and returns it.
    model: Option<NetModel<B>>,
    optim: burn::optim::adaptor::OptimizerAdaptor<burn::optim::Adam, NetModel<B>, B>,
    device: B::Device,
    /// While training through the quantiser, each tensor's rate gradient
    /// per unit of sign ([`super::Quantisation::rate`]).
    rate: Option<Vec<f32>>,
}

impl<B: AutodiffBackend> Trainer<B> {
    pub(crate) fn new(init: &Network, device: &B::Device) -> Self {
        let optim = AdamConfig::new()
            .with_beta_1(0.9)
            .with_beta_2(0.999)
            .with_epsilon(1e-8)
            .init();
        Self {
            model: Some(NetModel::from_network(init, device)),
            optim,
            device: device.clone(),
            rate: None,
        }
    }

    /// Trains through the quantiser from now on (or no longer, with
    /// `None`), as the host engine does: the passes on the rounded weights
    /// (straight through), the rate term λ · bits per step · |w| added to
    /// the loss.
    pub(crate) fn set_quantisation(&mut self, q: Option<&super::Quantisation>) {
        let model = self
            .model
            .as_mut()
            .expect("the model is present between steps");
        model.set_steps(q.map(|q| q.steps.clone()));
        self.rate = q.map(|q| q.rate.clone());
    }

    fn arch(&self) -> &Arch {
        self.model
            .as_ref()
            .expect("the model is present between steps")
            .arch()
    }

    /// Uploads `[rows, cols]` host values.
    fn upload(&self, values: Vec<f32>, cols: usize) -> Tensor<B, 2> {
        let rows = values.len() / cols;
        Tensor::from_data(TensorData::new(values, [rows, cols]), &self.device)
    }

    /// One Adam step on `(x, y)` at learning rate `lr`. With `read`, returns
    /// the loss before the update, or an error (and no update) if it is not
    /// finite; without, queues the step and returns `None`.
    fn step(
        &mut self,
        x: Tensor<B, 2>,
        y: Tensor<B, 2>,
        lr: f64,
        read: bool,
    ) -> Result<Option<f32>, f32> {
        let model = self
            .model
            .take()
            .expect("the model is present between steps");
        let pred = model.forward(x);
        let loss = pred.sub(y).square().mean();
        let value = if read {
            let value: f32 = loss.clone().into_scalar().elem();
            if !value.is_finite() {
                self.model = Some(model);
                return Err(value);
            }
            Some(value)
        } else {
            None
        };
        let loss = match &self.rate {
            Some(rate) => with_rate(&model, loss, rate),
            None => loss,
        };
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optim.step(lr, model, grads));
        Ok(value)
    }

    fn into_network(self) -> Network {
        self.model
            .expect("the model is present between steps")
            .valid()
            .to_network()
    }
}

/// `loss` plus the rate term Σ_t rate_t · Σ|w_t| over the float weights,
/// whose gradient on w is rate_t · sign(w) (0 at 0), as the host engine
/// adds it.
fn with_rate<B: AutodiffBackend>(
    model: &NetModel<B>,
    loss: Tensor<B, 1>,
    rate: &[f32],
) -> Tensor<B, 1> {
    model
        .params
        .iter()
        .zip(rate)
        .filter(|(_, r)| **r != 0.0)
        .fold(loss, |acc, (p, &r)| {
            acc.add(p.val().abs().sum().mul_scalar(r))
        })
}

/// `b` rows of `(x, y)` drawn uniformly with replacement on their device.
pub(crate) fn draw_rows<B: AutodiffBackend>(
    x: &Tensor<B, 2>,
    y: &Tensor<B, 2>,
    b: usize,
) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let len = x.dims()[0];
    let u = Tensor::<B, 1>::random(
        [b],
        burn::tensor::Distribution::Uniform(0.0, len as f64),
        &x.device(),
    );
    // A uniform f32 rounds up to `len` with a tiny probability.
    let idx = u.int().clamp(0, len as i64 - 1);
    (x.clone().select(0, idx.clone()), y.clone().select(0, idx))
}

/// The MSE of `net` on the pairs and every trainable tensor's gradient of
/// it, in [`Arch::tensor_specs`] order with matrices `[in, out]` (as the
/// host engine gives them), from burn's autodiff on `B`.
///
/// # Panics
///
/// If a trainable tensor gets no gradient.
#[cfg(any(test, all(feature = "cuda", feature = "benchmarks")))]
pub(crate) fn autodiff_loss_and_grads<B: AutodiffBackend>(
    net: &Network,
    coords: &[f32],
    targets: &[f32],
) -> (f32, Vec<(String, Vec<f32>)>) {
    autodiff_quantised_loss_and_grads::<B>(net, coords, targets, None)
}

/// [`autodiff_loss_and_grads`], through the quantiser `q` when given (the
/// loss returned is the MSE of the rounded weights, the gradients those of
/// the MSE and the rate term).
#[cfg(any(test, all(feature = "cuda", feature = "benchmarks")))]
pub(crate) fn autodiff_quantised_loss_and_grads<B: AutodiffBackend>(
    net: &Network,
    coords: &[f32],
    targets: &[f32],
    q: Option<&super::Quantisation>,
) -> (f32, Vec<(String, Vec<f32>)>) {
    let device = Default::default();
    let mut model = NetModel::<B>::from_network(net, &device);
    model.set_steps(q.map(|q| q.steps.clone()));
    let (d, c) = (net.arch.in_dims, net.arch.out_dims);
    let n = coords.len() / d;
    let x = Tensor::<B, 2>::from_data(TensorData::new(coords.to_vec(), [n, d]), &device);
    let y = Tensor::<B, 2>::from_data(TensorData::new(targets.to_vec(), [n, c]), &device);
    let loss = model.forward(x).sub(y).square().mean();
    let value = loss.clone().into_scalar().elem::<f32>();
    let loss = match q {
        Some(q) => with_rate(&model, loss, &q.rate),
        None => loss,
    };
    let grads = loss.backward();
    // Fixed tensors have no gradient and are left out.
    let tensors = net
        .arch
        .tensor_specs()
        .iter()
        .zip(&model.params)
        .filter(|(spec, _)| !spec.fixed)
        .map(|(spec, p)| {
            let g = p
                .val()
                .grad(&grads)
                .unwrap_or_else(|| panic!("{} has no gradient", spec.name))
                .into_data()
                .to_vec::<f32>()
                .expect("gradients are f32");
            (spec.name.clone(), g)
        })
        .collect();
    (value, tensors)
}

/// A network evaluated on burn backend `B` in f32 (burn-cuda's kernels may
/// round their inputs to tf32 on tensor-core GPUs; docs/gpu.md gives the
/// measured agreement with the CPU).
pub struct BurnEvaluator<B: Backend> {
    model: NetModel<B>,
    device: B::Device,
}

impl<B: Backend> BurnEvaluator<B> {
    /// Uploads `net` to `device`; a `grid` network, whose latents this
    /// evaluator does not interpolate, is refused.
    pub fn new(net: &Network, device: &B::Device) -> Result<Self, Error> {
        net.validate()?;
        if let crate::model::Family::Grid { .. } = net.arch.family {
            return Err(Error::parameter(
                "grid networks are evaluated on the CPU only (eval::Evaluator)",
            ));
        }
        Ok(Self {
            model: NetModel::from_network(net, device),
            device: device.clone(),
        })
    }
}

impl<B: Backend> Evaluate for BurnEvaluator<B>
where
    NetModel<B>: Send + Sync,
{
    fn arch(&self) -> &Arch {
        self.model.arch()
    }

    fn eval(&self, coords: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let n = point_count(self.model.arch(), coords, out)?;
        let d = self.model.arch().in_dims;
        let x = Tensor::<B, 2>::from_data(TensorData::new(coords.to_vec(), [n, d]), &self.device);
        let values = self.model.forward(x).into_data();
        let values = values
            .as_slice::<f32>()
            .map_err(|e| Error::Device(format!("the network's outputs: {e:?}")))?;
        out.copy_from_slice(values);
        Ok(())
    }
}

/// An evaluator of `net` on the first CUDA device: scone's engine for the
/// networks it runs, burn-cuda for the others, in chunks of
/// [`crate::cuda::CHUNK_POINTS`] points, GPU failures as errors.
#[cfg(feature = "cuda")]
pub fn cuda_evaluator(net: &Network) -> Result<Box<dyn Evaluate>, Error> {
    if crate::cuda::engine::supports(&net.arch) {
        return Ok(Box::new(crate::cuda::CudaEvaluator::new(net)?));
    }
    crate::cuda::device_name().map_err(Error::Device)?;
    let eval = crate::cuda::guard("uploading the network", || {
        BurnEvaluator::<burn::backend::Cuda>::new(net, &Default::default())
    })?;
    Ok(Box::new(Chunked(eval)))
}

/// burn-cuda in chunks, its panics as errors.
#[cfg(feature = "cuda")]
struct Chunked(BurnEvaluator<burn::backend::Cuda>);

#[cfg(feature = "cuda")]
impl Evaluate for Chunked {
    fn arch(&self) -> &Arch {
        self.0.arch()
    }

    fn eval(&self, coords: &[f32], out: &mut [f32]) -> Result<(), Error> {
        point_count(self.arch(), coords, out)?;
        let (d, o) = (self.arch().in_dims, self.arch().out_dims);
        let chunk = crate::cuda::CHUNK_POINTS;
        for (x, y) in coords.chunks(chunk * d).zip(out.chunks_mut(chunk * o)) {
            crate::cuda::guard("evaluating the network", || self.0.eval(x, y))?;
        }
        Ok(())
    }
}
