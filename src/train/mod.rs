//! The encoder: fits a network to (coordinate, target) pairs on the CPU or
//! (feature `cuda`) an NVIDIA GPU.
//!
//! SCONE with the sin² mask (the default and the paper's network) trains on
//! the crate's own engines: `host` on the CPU (hand-written forward,
//! backward and Adam over fused kernels, both cores busy) and `cuda` on a
//! GPU (the same steps over cuBLAS and [`crate::gpu::engine`]'s kernels),
//! which also trains SIREN. Every other network, and SIREN on the CPU,
//! trains with burn's autodiff: the Flex backend on the CPU, burn-cuda on
//! a GPU. burn's autodiff is the reference the host engine's gradients are
//! tested against, and the CUDA engine's for SIREN; the host engine is the
//! CUDA engine's reference for SCONE.
//!
//! The public API is free of burn types so that callers need not pick a
//! backend: [`fit`] takes a plain [`Network`] and returns one.

mod fused;
mod host;
mod kernels;
mod model;
mod sgemm;

pub use model::NetModel;

use std::time::Instant;

use burn::backend::{Autodiff, Flex, NdArray};
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Error;
use crate::model::{Arch, Network, init_network};
use fused::SconeLayerOp;

/// The burn backend [`Device::Cpu`] trains networks other than SCONE sin²
/// on: the faster of burn's CPU backends on this workload (see
/// [`time_step`]).
type CpuTrainBackend = Autodiff<Flex>;

/// Which coordinates each step trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batch {
    /// Every coordinate, every step.
    Full,
    /// This many coordinates drawn uniformly (with replacement) per step; a
    /// size at or above the data's length trains on the full batch.
    Random(usize),
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

    fn validate(&self) -> Result<(), Error> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::Parameter(format!(
                "learning rate {} must be positive",
                self.lr
            )));
        }
        if !(self.lr_min.is_finite() && self.lr_min >= 0.0) {
            return Err(Error::Parameter(format!(
                "final learning rate {} must be non-negative",
                self.lr_min
            )));
        }
        if self.batch == Batch::Random(0) {
            return Err(Error::Parameter("batch size must be at least 1".into()));
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
            return Err(Error::Parameter(
                "training data needs at least one input and output".into(),
            ));
        }
        if !coords.len().is_multiple_of(in_dims)
            || !targets.len().is_multiple_of(out_dims)
            || coords.len() / in_dims != targets.len() / out_dims
        {
            return Err(Error::Parameter(format!(
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

/// Progress after one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Index of the step just taken, `0 .. iterations`.
    pub step: usize,
    /// Total steps.
    pub iterations: usize,
    /// Mean squared error on this step's batch, before its update, where
    /// it was read: every step on the CPU, every 25th and the last on a
    /// GPU (reading it makes the CPU wait for the GPU).
    pub loss: Option<f32>,
    /// Learning rate this step used.
    pub lr: f64,
}

pub use crate::device::Device;

/// Fits `init` to `data`, calling `progress` after every step, and returns
/// the trained network.
///
/// On the CPU the same seed, input and machine give the same weights, and
/// for SCONE sin² (the host engine) the same whatever the number of
/// threads. On CUDA ([`Device::Cuda`], feature `cuda`) the pairs stay on
/// the GPU: a full batch or a data set of at most [`DEVICE_PAIRS`] pairs is
/// uploaded once and random batches are drawn there; larger or endless data
/// (an SDF's fresh samples) is drawn on a background thread and uploaded
/// batch by batch.
pub fn fit(
    init: Network,
    data: &dyn TrainData,
    cfg: &TrainConfig,
    device: Device,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Network, Error> {
    cfg.validate()?;
    let arch = &init.arch;
    if data.in_dims() != arch.in_dims || data.out_dims() != arch.out_dims {
        return Err(Error::Parameter(format!(
            "the network maps {} coordinates to {} values, the data {} to {}",
            arch.in_dims,
            arch.out_dims,
            data.in_dims(),
            data.out_dims()
        )));
    }
    if data.pair_count() == Some(0) {
        return Err(Error::Parameter("there is nothing to train on".into()));
    }
    if cfg.iterations == 0 {
        return Ok(init);
    }
    match device {
        Device::Cpu if host::supports(arch) => {
            fit_on(host::HostTrainer::new(&init), data, cfg, CPU_LOOP, progress)
        }
        Device::Cpu => {
            let device = Default::default();
            let trainer = Trainer::<CpuTrainBackend>::new(&init, &device, NetModel::forward);
            fit_on(trainer, data, cfg, CPU_LOOP, progress)
        }
        Device::Cuda => fit_cuda(&init, data, cfg, progress),
    }
}

/// The most pairs [`fit`] keeps on a GPU to draw random batches from
/// there: 2²⁴, so that a uniform f32 in [0, len) reaches every index
/// (about 400 MB for a clip's 3 + 3 values per pair).
pub const DEVICE_PAIRS: usize = 1 << 24;

/// Steps between two reads of the loss on a GPU: each read waits for the
/// GPU to finish, which would otherwise run ahead of the CPU that queues
/// its work.
#[cfg(feature = "cuda")]
const GPU_LOSS_EVERY: usize = 25;

#[cfg(feature = "cuda")]
fn fit_cuda(
    init: &Network,
    data: &dyn TrainData,
    cfg: &TrainConfig,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Network, Error> {
    use burn::backend::Cuda;
    use burn::backend::cuda::CudaDevice;
    crate::device::cuda_device_name().map_err(Error::Device)?;
    let how = Loop {
        sample_on_device: true,
        loss_every: GPU_LOSS_EVERY,
    };
    crate::gpu::guard("training", || {
        if crate::gpu::engine::supports(&init.arch) {
            use crate::gpu::engine::{Kernels, Math};
            let (math, kernels) = (Math::from_env(), Kernels::from_env());
            let trainer = cuda::CudaTrainer::new(init, math, kernels).map_err(Error::Device)?;
            return fit_on(trainer, data, cfg, how, progress);
        }
        let device = CudaDevice::default();
        let trainer = Trainer::<Autodiff<Cuda>>::new(init, &device, NetModel::forward);
        fit_on(trainer, data, cfg, how, progress)
    })
}

#[cfg(not(feature = "cuda"))]
fn fit_cuda(
    _init: &Network,
    _data: &dyn TrainData,
    _cfg: &TrainConfig,
    _progress: &mut dyn FnMut(&StepReport),
) -> Result<Network, Error> {
    Err(Error::Device(
        crate::device::cuda_device_name().expect_err("a build without CUDA has no device"),
    ))
}

/// A forward pass the trainer can use: [`NetModel::forward`] or its fused
/// form.
type Forward<B> = fn(&NetModel<B>, Tensor<B, 2>) -> Tensor<B, 2>;

/// How [`fit_on`] runs on one device.
#[derive(Clone, Copy)]
struct Loop {
    /// Random batches of indexed data are drawn on the device from pairs
    /// uploaded once, rather than gathered on the host every step.
    sample_on_device: bool,
    /// Read the loss (a device-to-host copy that waits for the device)
    /// every this many steps and at the last.
    loss_every: usize,
}

/// The CPU reads every loss and gathers batches on the host.
const CPU_LOOP: Loop = Loop {
    sample_on_device: false,
    loss_every: 1,
};

/// What [`fit_on`] trains with: a model, its optimiser and where its pairs
/// live.
trait Stepper {
    /// A batch of (coordinate, target) pairs where the stepper reads them.
    type Pairs;
    /// Pairs from host rows: `coords` `[n, in]`, `targets` `[n, out]`.
    fn upload(&self, coords: Vec<f32>, targets: Vec<f32>) -> Self::Pairs;
    /// `b` pairs drawn uniformly with replacement from `pool`, where they
    /// are (for [`Loop::sample_on_device`]).
    fn draw(&self, pool: &Self::Pairs, b: usize) -> Self::Pairs;
    /// Seeds the generator [`Stepper::draw`] uses.
    fn seed(&self, _seed: u64) {}
    /// One Adam step at learning rate `lr`. With `read`, returns the loss
    /// before the update, or an error (and no update) if it is not finite;
    /// without, may only queue the step and return `None`.
    fn step(&mut self, pairs: &Self::Pairs, lr: f64, read: bool) -> Result<Option<f32>, f32>;
    /// The trained weights.
    fn into_network(self) -> Network;
}

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

impl Stepper for host::HostTrainer {
    type Pairs = (Vec<f32>, Vec<f32>);

    fn upload(&self, coords: Vec<f32>, targets: Vec<f32>) -> Self::Pairs {
        (coords, targets)
    }

    fn draw(&self, _: &Self::Pairs, _: usize) -> Self::Pairs {
        unreachable!("the host engine gathers batches on the host")
    }

    fn step(&mut self, (x, y): &Self::Pairs, lr: f64, _read: bool) -> Result<Option<f32>, f32> {
        host::HostTrainer::step(self, x, y, lr).map(Some)
    }

    fn into_network(self) -> Network {
        self.to_network()
    }
}

/// The model and its optimiser on backend `B`.
struct Trainer<B: AutodiffBackend> {
    forward: Forward<B>,
    /// Always `Some` between steps; the optimiser consumes and returns it.
    model: Option<NetModel<B>>,
    optim: burn::optim::adaptor::OptimizerAdaptor<burn::optim::Adam, NetModel<B>, B>,
    device: B::Device,
}

impl<B: AutodiffBackend> Trainer<B> {
    fn new(init: &Network, device: &B::Device, forward: Forward<B>) -> Self {
        let optim = AdamConfig::new()
            .with_beta_1(0.9)
            .with_beta_2(0.999)
            .with_epsilon(1e-8)
            .init();
        Self {
            forward,
            model: Some(NetModel::from_network(init, device)),
            optim,
            device: device.clone(),
        }
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
        let pred = (self.forward)(&model, x);
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

/// `b` rows of `(x, y)` drawn uniformly with replacement on their device.
fn draw_rows<B: AutodiffBackend>(
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

fn fit_on<S: Stepper>(
    mut trainer: S,
    data: &dyn TrainData,
    cfg: &TrainConfig,
    how: Loop,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Network, Error> {
    let batch = match (cfg.batch, data.pair_count()) {
        (Batch::Random(b), Some(len)) if b >= len => None,
        (Batch::Random(b), _) => Some(b),
        (Batch::Full, _) => None,
    };
    // Pairs uploaded once: every pair for a full batch, or the pool a
    // device draws random batches from.
    let resident = batch.is_none()
        || (how.sample_on_device && data.pair_count().is_some_and(|n| n <= DEVICE_PAIRS));
    let pairs = if resident {
        let (mut coords, mut targets) = (Vec::new(), Vec::new());
        data.all(&mut coords, &mut targets)?;
        if how.sample_on_device {
            trainer.seed(cfg.seed);
        }
        Some(trainer.upload(coords, targets))
    } else {
        None
    };
    let mut step = |trainer: &mut S, t: usize, pairs: &S::Pairs| -> Result<(), Error> {
        let lr = cfg.lr_at(t);
        let read = (t + 1).is_multiple_of(how.loss_every) || t + 1 == cfg.iterations;
        let loss = trainer.step(pairs, lr, read).map_err(|v| {
            Error::Train(format!(
                "the loss became {v} at step {}; try a lower learning rate",
                t + 1
            ))
        })?;
        progress(&StepReport {
            step: t,
            iterations: cfg.iterations,
            loss,
            lr,
        });
        Ok(())
    };
    match (pairs, batch) {
        (Some(all), None) => {
            for t in 0..cfg.iterations {
                step(&mut trainer, t, &all)?;
            }
        }
        (Some(pool), Some(b)) => {
            for t in 0..cfg.iterations {
                let drawn = trainer.draw(&pool, b);
                step(&mut trainer, t, &drawn)?;
            }
        }
        (None, Some(b)) => {
            // Batches are drawn one step ahead on another thread (an SDF's
            // labels cost as much as a step); one generator in one thread
            // keeps the sequence, and so the result, the same.
            std::thread::scope(|scope| -> Result<(), Error> {
                let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<f32>, Vec<f32>)>(1);
                scope.spawn(move || {
                    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
                    for _ in 0..cfg.iterations {
                        let (mut c, mut y) = (Vec::new(), Vec::new());
                        data.batch(&mut rng, b, &mut c, &mut y);
                        if tx.send((c, y)).is_err() {
                            break;
                        }
                    }
                });
                for t in 0..cfg.iterations {
                    let (c, y) = rx
                        .recv()
                        .map_err(|_| Error::Train("the batch sampler stopped".into()))?;
                    let pairs = trainer.upload(c, y);
                    step(&mut trainer, t, &pairs)?;
                }
                Ok(())
            })?;
        }
        (None, None) => unreachable!("a full batch is always resident"),
    }
    Ok(trainer.into_network())
}

/// A CPU backend [`time_step`] can measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuBackend {
    /// burn-flex.
    Flex,
    /// burn-ndarray.
    NdArray,
}

/// How the hidden layers of a timed step are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layers {
    /// One fused autodiff operation per hidden layer (the CPU encoder's
    /// engine before the host engine; kept to measure against it).
    Fused,
    /// burn's own tensor operations ([`NetModel::forward`]).
    Plain,
}

/// What [`time_step`] measured over the timed steps.
#[derive(Clone, Copy, Debug)]
pub struct StepTime {
    /// Mean wall seconds per step.
    pub seconds: f64,
    /// The cores kept busy: CPU time of the whole process over wall time
    /// (2.0 is two cores all the time); NaN where it cannot be read.
    pub cores: f64,
}

/// CPU seconds (user and system, all threads) this process has used so
/// far; NaN where the platform does not say.
pub fn cpu_seconds() -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given.
        let u = unsafe {
            libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
            u.assume_init()
        };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        secs(u.ru_utime) + secs(u.ru_stime)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        f64::NAN
    }
}

/// Mean seconds per full-batch training step (forward, backward, Adam) of
/// `arch` on `points` random pairs, over `reps` steps after one warm-up,
/// and the cores busy during them.
pub fn time_step(
    arch: &Arch,
    points: usize,
    backend: CpuBackend,
    layers: Layers,
    reps: usize,
) -> StepTime {
    time_step_with(arch, points, backend, reps, layers == Layers::Fused)
}

/// [`time_step`], optionally with burn's own ops for the hidden layers
/// instead of the fused kernels.
fn time_step_with(
    arch: &Arch,
    points: usize,
    backend: CpuBackend,
    reps: usize,
    fused: bool,
) -> StepTime {
    fn pick<B: SconeLayerOp>(fused: bool) -> Forward<B> {
        if fused {
            model::forward_fused
        } else {
            NetModel::forward
        }
    }
    match backend {
        CpuBackend::Flex => {
            let device = Default::default();
            time_step_on::<Autodiff<Flex>>(arch, points, reps, (&device, pick(fused)), 1)
        }
        CpuBackend::NdArray => {
            let device = Default::default();
            time_step_on::<Autodiff<NdArray>>(arch, points, reps, (&device, pick(fused)), 1)
        }
    }
}

fn time_step_on<B: AutodiffBackend>(
    arch: &Arch,
    points: usize,
    reps: usize,
    (device, forward): (&B::Device, Forward<B>),
    warm_up: usize,
) -> StepTime {
    let trainer = Trainer::<B>::new(&init_network(arch, 0), device, forward);
    time_steps(trainer, arch, points, reps, warm_up)
}

/// Mean seconds per full-batch step of `trainer` on `points` random pairs
/// for `arch`, over `reps` steps after `warm_up` untimed ones.
fn time_steps<S: Stepper>(
    mut trainer: S,
    arch: &Arch,
    points: usize,
    reps: usize,
    warm_up: usize,
) -> StepTime {
    let (coords, targets) = random_pairs(arch, points);
    let pairs = trainer.upload(coords, targets);
    // Small learning rate: the weights must stay finite however many steps
    // are timed. Warm-up steps let a GPU compile and tune its kernels. The
    // loss is read (which waits for the device) only after the last step.
    for _ in 0..warm_up {
        let _ = trainer.step(&pairs, 1e-6, true);
    }
    let (cpu, start) = (cpu_seconds(), Instant::now());
    for r in 0..reps {
        let _ = trainer.step(&pairs, 1e-6, r + 1 == reps);
    }
    let wall = start.elapsed().as_secs_f64();
    StepTime {
        seconds: wall / reps.max(1) as f64,
        cores: (cpu_seconds() - cpu) / wall,
    }
}

/// Mean seconds per full-batch training step (forward, backward, Adam) of
/// `arch` on `points` random pairs with the CPU engine [`fit`] uses for it
/// (the host engine for SCONE sin², burn's Flex backend otherwise), over
/// `reps` steps after one warm-up.
pub fn time_step_encoder(arch: &Arch, points: usize, reps: usize) -> StepTime {
    if !host::supports(arch) {
        return time_step(arch, points, CpuBackend::Flex, Layers::Plain, reps);
    }
    let trainer = host::HostTrainer::new(&init_network(arch, 0));
    time_steps(trainer, arch, points, reps, 1)
}

/// `points` random (coordinate, target) pairs for `arch`, in [−1, 1].
fn random_pairs(arch: &Arch, points: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let coords = (0..points * arch.in_dims)
        .map(|_| rng.random_range(-1f32..1.0))
        .collect();
    let targets = (0..points * arch.out_dims)
        .map(|_| rng.random_range(-1f32..1.0))
        .collect();
    (coords, targets)
}

/// Which CUDA engine a [`CudaStepTimer`] times.
#[cfg(feature = "cuda")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CudaEngine {
    /// scone's own engine ([`crate::gpu::engine`]), with this math and
    /// these kernels.
    Scone(crate::gpu::engine::Math, crate::gpu::engine::Kernels),
    /// burn-cuda's autodiff of [`NetModel::forward`].
    Burn,
}

#[cfg(feature = "cuda")]
type BurnCuda = Autodiff<burn::backend::Cuda>;

#[cfg(feature = "cuda")]
enum CudaStepper {
    Scone(Box<(cuda::CudaTrainer, cuda::DevicePairs)>),
    Burn(Box<(Trainer<BurnCuda>, <Trainer<BurnCuda> as Stepper>::Pairs)>),
}

/// Times full-batch training steps on the first CUDA device, one call at a
/// time, so that a caller can print each as it comes (the first steps of
/// a process compile, and with burn-cuda tune, their kernels).
#[cfg(feature = "cuda")]
pub struct CudaStepTimer(CudaStepper);

#[cfg(feature = "cuda")]
impl CudaStepTimer {
    /// Uploads a freshly initialised `arch` and `points` random pairs.
    pub fn new(arch: &Arch, points: usize, engine: CudaEngine) -> Result<Self, Error> {
        use burn::backend::cuda::CudaDevice;
        crate::device::cuda_device_name().map_err(Error::Device)?;
        let init = init_network(arch, 0);
        let (coords, targets) = random_pairs(arch, points);
        crate::gpu::guard("uploading the network", || {
            Ok(Self(match engine {
                CudaEngine::Scone(math, kernels) => {
                    if !crate::gpu::engine::supports(arch) {
                        return Err(Error::Parameter(
                            "scone's CUDA engine runs SCONE sin² and SIREN only".into(),
                        ));
                    }
                    let trainer =
                        cuda::CudaTrainer::new(&init, math, kernels).map_err(Error::Device)?;
                    let pairs = trainer.upload(coords, targets);
                    CudaStepper::Scone(Box::new((trainer, pairs)))
                }
                CudaEngine::Burn => {
                    let device = CudaDevice::default();
                    let trainer = Trainer::<Autodiff<_>>::new(&init, &device, NetModel::forward);
                    let pairs = Stepper::upload(&trainer, coords, targets);
                    CudaStepper::Burn(Box::new((trainer, pairs)))
                }
            }))
        })
    }

    /// Mean seconds per step over `reps` steps at a tiny learning rate.
    /// With `each`, every step's loss is read, so each step is waited
    /// for; without, only the last one's, so the GPU is kept busy as in a
    /// fit.
    pub fn time(&mut self, reps: usize, each: bool) -> Result<f64, Error> {
        fn run<S: Stepper>(s: &mut S, pairs: &S::Pairs, reps: usize, each: bool) -> f64 {
            let start = Instant::now();
            for r in 0..reps {
                let _ = s.step(pairs, 1e-6, each || r + 1 == reps);
            }
            start.elapsed().as_secs_f64() / reps.max(1) as f64
        }
        crate::gpu::guard("timing a step", || {
            Ok(match &mut self.0 {
                CudaStepper::Scone(b) => run(&mut b.0, &b.1, reps, each),
                CudaStepper::Burn(b) => run(&mut b.0, &b.1, reps, each),
            })
        })
    }
}

/// The largest difference, relative to the largest gradient of its tensor,
/// between the gradients and loss of scone's CUDA engine (with `math` and
/// `kernels`) and the CPU on one batch of `points` random pairs for `arch`
/// (SCONE sin², against the host engine; SIREN, against burn's autodiff
/// on the Flex backend):
/// `(loss relative difference, worst tensor's relative difference, its
/// name)`. A check of the GPU engine for tests/cuda.rs.
#[cfg(feature = "cuda")]
#[doc(hidden)]
pub fn cuda_gradient_check(
    arch: &Arch,
    points: usize,
    math: crate::gpu::engine::Math,
    kernels: crate::gpu::engine::Kernels,
) -> Result<(f32, f32, String), Error> {
    let init = init_network(arch, 7);
    let (coords, targets) = random_pairs(arch, points);
    let (cpu_loss, cpu_grads) = if host::supports(arch) {
        let mut cpu = host::HostTrainer::new(&init);
        (cpu.loss_and_grads(&coords, &targets), cpu.grads())
    } else {
        autodiff_loss_and_grads::<Autodiff<Flex>>(&init, &coords, &targets, NetModel::forward)
    };
    crate::device::cuda_device_name().map_err(Error::Device)?;
    crate::gpu::guard("checking gradients", || {
        let mut gpu = cuda::CudaTrainer::new(&init, math, kernels).map_err(Error::Device)?;
        let pairs = gpu.upload(coords, targets);
        gpu.loss_and_grads(&pairs).map_err(Error::Device)?;
        let gpu_loss = gpu.read_loss().map_err(Error::Device)?;
        let flat = gpu.gradients().map_err(Error::Device)?;
        let mut worst = (0f32, String::new());
        let mut at = 0;
        for (name, g) in &cpu_grads {
            let ours = &flat[at..at + g.len()];
            at += g.len();
            let scale = g.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
            let diff = g
                .iter()
                .zip(ours)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            if diff / scale > worst.0 || diff.is_nan() {
                worst = (diff / scale, name.clone());
            }
        }
        Ok((
            (gpu_loss - cpu_loss).abs() / cpu_loss.abs().max(1e-30),
            worst.0,
            worst.1,
        ))
    })
}

/// The MSE of `net` through `forward` on the pairs and every trainable
/// tensor's gradient of it, in [`Arch::tensor_specs`] order with matrices
/// `[in, out]` (as the host engine gives them), from burn's autodiff on
/// `B`.
///
/// # Panics
///
/// If a trainable tensor gets no gradient.
#[cfg(any(test, feature = "cuda"))]
fn autodiff_loss_and_grads<B: AutodiffBackend>(
    net: &Network,
    coords: &[f32],
    targets: &[f32],
    forward: Forward<B>,
) -> (f32, Vec<(String, Vec<f32>)>) {
    let device = Default::default();
    let model = NetModel::<B>::from_network(net, &device);
    let (d, c) = (net.arch.in_dims, net.arch.out_dims);
    let n = coords.len() / d;
    let x = Tensor::<B, 2>::from_data(TensorData::new(coords.to_vec(), [n, d]), &device);
    let y = Tensor::<B, 2>::from_data(TensorData::new(targets.to_vec(), [n, c]), &device);
    let loss = forward(&model, x).sub(y).square().mean();
    let value = loss.clone().into_scalar().elem::<f32>();
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

#[cfg(feature = "cuda")]
mod cuda;
#[cfg(test)]
mod tests;
