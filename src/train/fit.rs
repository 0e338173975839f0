//! The fit: [`fit`] picks the engine for the network and the device and
//! runs the steps ([`fit_on`]) over batches drawn as [`TrainConfig`] says.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::autodiff::{CpuTrainBackend, Trainer};
use super::data::{Batch, Quantisation, TrainConfig, TrainData};
use super::host;
use crate::Error;
use crate::device::Device;
use crate::model::Network;

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
    check_shapes(arch, data)?;
    if data.pair_count() == Some(0) {
        return Err(Error::parameter("there is nothing to train on"));
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
            let trainer = Trainer::<CpuTrainBackend>::new(&init, &device);
            fit_on(trainer, data, cfg, CPU_LOOP, progress)
        }
        Device::Cuda => fit_cuda(&init, data, cfg, progress),
    }
}

/// Refuses data whose coordinates or values do not match the network's.
fn check_shapes(arch: &crate::model::Arch, data: &dyn TrainData) -> Result<(), Error> {
    if data.in_dims() != arch.in_dims || data.out_dims() != arch.out_dims {
        return Err(Error::parameter(format!(
            "the network maps {} coordinates to {} values, the data {} to {}",
            arch.in_dims,
            arch.out_dims,
            data.in_dims(),
            data.out_dims()
        )));
    }
    Ok(())
}

/// Whether [`fit_quantised`] trains `arch`: every network, on the CPU.
pub fn trains_quantised(arch: &crate::model::Arch) -> bool {
    arch.hidden_layers() > 0
}

/// [`fit`] through the quantiser ([`Quantisation`]), on the CPU: SCONE sin²
/// on the host engine, the other networks with burn's autodiff (the same
/// straight-through rounding and rate term; a test holds the two
/// together). The CUDA engine has no such phase: a network trained there
/// is coded after training.
pub fn fit_quantised(
    init: Network,
    data: &dyn TrainData,
    cfg: &TrainConfig,
    quantisation: &Quantisation,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Network, Error> {
    cfg.validate()?;
    let arch = &init.arch;
    check_shapes(arch, data)?;
    let tensors = init.tensors.len();
    if quantisation.steps.len() != tensors || quantisation.rate.len() != tensors {
        return Err(Error::parameter(format!(
            "quantisation for {} tensors given for a network of {tensors}",
            quantisation.steps.len()
        )));
    }
    if cfg.iterations == 0 {
        return Ok(init);
    }
    if host::supports(&init.arch) {
        let mut trainer = host::HostTrainer::new(&init);
        trainer.set_quantisation(Some(quantisation));
        return fit_on(trainer, data, cfg, CPU_LOOP, progress);
    }
    let mut trainer = Trainer::<CpuTrainBackend>::new(&init, &Default::default());
    trainer.set_quantisation(Some(quantisation));
    fit_on(trainer, data, cfg, CPU_LOOP, progress)
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
    use burn::backend::cuda::CudaDevice;
    use burn::backend::{Autodiff, Cuda};
    crate::device::cuda_device_name().map_err(Error::Device)?;
    let how = Loop {
        sample_on_device: true,
        loss_every: GPU_LOSS_EVERY,
    };
    crate::cuda::guard("training", || {
        if crate::cuda::engine::supports(&init.arch) {
            use crate::cuda::engine::{Kernels, Math};
            let (math, kernels) = (Math::from_env(), Kernels::from_env());
            let trainer = crate::cuda::trainer::CudaTrainer::new(init, math, kernels)
                .map_err(Error::Device)?;
            return fit_on(trainer, data, cfg, how, progress);
        }
        let device = CudaDevice::default();
        let trainer = Trainer::<Autodiff<Cuda>>::new(init, &device);
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

/// How [`fit_on`] runs on one device.
#[derive(Clone, Copy)]
pub(crate) struct Loop {
    /// Random batches of indexed data are drawn on the device from pairs
    /// uploaded once, rather than gathered on the host every step.
    sample_on_device: bool,
    /// Read the loss (a device-to-host copy that waits for the device)
    /// every this many steps and at the last.
    loss_every: usize,
}

/// The CPU reads every loss and gathers batches on the host.
pub(crate) const CPU_LOOP: Loop = Loop {
    sample_on_device: false,
    loss_every: 1,
};

/// What [`fit_on`] trains with: a model, its optimiser and where its pairs
/// live.
pub(crate) trait Stepper {
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

#[cfg(feature = "cuda")]
impl Stepper for crate::cuda::trainer::CudaTrainer {
    type Pairs = crate::cuda::trainer::DevicePairs;

    fn upload(&self, coords: Vec<f32>, targets: Vec<f32>) -> Self::Pairs {
        fail(self.upload_pairs(&coords, &targets))
    }

    fn draw(&self, pool: &Self::Pairs, b: usize) -> Self::Pairs {
        fail(self.draw_pairs(pool, b))
    }

    fn seed(&self, seed: u64) {
        self.set_seed(seed);
    }

    fn step(&mut self, pairs: &Self::Pairs, lr: f64, read: bool) -> Result<Option<f32>, f32> {
        fail(crate::cuda::trainer::CudaTrainer::step(
            self, pairs, lr, read,
        ))
    }

    fn into_network(self) -> Network {
        fail(crate::cuda::trainer::CudaTrainer::into_network(self))
    }
}

/// The CUDA engine's failures are panics inside [`Stepper`]'s methods,
/// which [`crate::cuda::guard`] around the fit turns into an error.
#[cfg(feature = "cuda")]
fn fail<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn fit_on<S: Stepper>(
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
