//! Timers and cross-checks for the tools under `tools/` and the GPU tests
//! (feature `benchmarks`): not part of the decoder's or the encoder's API,
//! and free to change with the tools.

use std::time::Instant;

use burn::backend::{Autodiff, Flex, NdArray};
use burn::tensor::backend::AutodiffBackend;
use gemm::Parallelism;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

#[cfg(feature = "cuda")]
use crate::Error;
#[cfg(feature = "cuda")]
use crate::cuda::trainer::{CudaTrainer, DevicePairs};
use crate::eval::TILE_POINTS;
use crate::model::{Arch, init_network};
use crate::train::autodiff::Trainer;
#[cfg(feature = "cuda")]
use crate::train::autodiff::autodiff_loss_and_grads;
use crate::train::fit::Stepper;
use crate::train::host;

/// A CPU backend [`time_step`] can measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuBackend {
    /// burn-flex.
    Flex,
    /// burn-ndarray.
    NdArray,
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
/// `arch` on `points` random pairs with burn's autodiff of
/// [`NetModel::forward`](crate::train::NetModel::forward) on `backend`, over
/// `reps` steps after one warm-up, and the cores busy during them.
pub fn time_step(arch: &Arch, points: usize, backend: CpuBackend, reps: usize) -> StepTime {
    match backend {
        CpuBackend::Flex => time_step_on::<Autodiff<Flex>>(arch, points, reps, 1),
        CpuBackend::NdArray => time_step_on::<Autodiff<NdArray>>(arch, points, reps, 1),
    }
}

fn time_step_on<B: AutodiffBackend>(
    arch: &Arch,
    points: usize,
    reps: usize,
    warm_up: usize,
) -> StepTime {
    let trainer = Trainer::<B>::new(&init_network(arch, 0), &Default::default());
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
/// `arch` on `points` random pairs with the CPU engine
/// [`fit`](crate::train::fit) uses for it
/// (the host engine for SCONE sin², burn's Flex backend otherwise), over
/// `reps` steps after one warm-up.
pub fn time_step_encoder(arch: &Arch, points: usize, reps: usize) -> StepTime {
    if !host::supports(arch) {
        return time_step(arch, points, CpuBackend::Flex, reps);
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
    /// scone's own engine ([`crate::cuda::engine`]), with this math and
    /// these kernels.
    Scone(crate::cuda::engine::Math, crate::cuda::engine::Kernels),
    /// burn-cuda's autodiff of [`crate::train::NetModel::forward`].
    Burn,
}

#[cfg(feature = "cuda")]
type BurnCuda = Autodiff<burn::backend::Cuda>;

#[cfg(feature = "cuda")]
enum CudaStepper {
    Scone(Box<(CudaTrainer, DevicePairs)>),
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
        crate::cuda::guard("uploading the network", || {
            Ok(Self(match engine {
                CudaEngine::Scone(math, kernels) => {
                    if !crate::cuda::engine::supports(arch) {
                        return Err(Error::parameter(
                            "scone's CUDA engine runs SCONE sin² and SIREN only",
                        ));
                    }
                    let trainer = CudaTrainer::new(&init, math, kernels).map_err(Error::Device)?;
                    let pairs = trainer.upload(coords, targets);
                    CudaStepper::Scone(Box::new((trainer, pairs)))
                }
                CudaEngine::Burn => {
                    let device = CudaDevice::default();
                    let trainer = Trainer::<Autodiff<_>>::new(&init, &device);
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
        crate::cuda::guard("timing a step", || {
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
pub fn cuda_gradient_check(
    arch: &Arch,
    points: usize,
    math: crate::cuda::engine::Math,
    kernels: crate::cuda::engine::Kernels,
) -> Result<(f32, f32, String), Error> {
    let init = init_network(arch, 7);
    let (coords, targets) = random_pairs(arch, points);
    let (cpu_loss, cpu_grads) = if host::supports(arch) {
        let mut cpu = host::HostTrainer::new(&init);
        (cpu.loss_and_grads(&coords, &targets), cpu.grads())
    } else {
        autodiff_loss_and_grads::<Autodiff<Flex>>(&init, &coords, &targets)
    };
    crate::device::cuda_device_name().map_err(Error::Device)?;
    crate::cuda::guard("checking gradients", || {
        let mut gpu = CudaTrainer::new(&init, math, kernels).map_err(Error::Device)?;
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

/// Times a plain `f32` matrix product C = A·B of m × k by k × n, `reps`
/// times, split the way [`Evaluator::eval`](crate::eval::Evaluator::eval) splits points: rayon over tiles
/// of [`TILE_POINTS`] rows, single-threaded `gemm` within a tile, operands
/// laid out as the evaluator lays out its activations. Each thread reuses
/// one A and one C tile, so like the evaluator it measures compute, not
/// memory bandwidth. Returns multiply-accumulates per second, in billions:
/// the ceiling to compare [`Evaluator`](crate::eval::Evaluator) throughput
/// against.
pub fn gemm_ceiling_gmacs(m: usize, k: usize, n: usize, reps: usize) -> f64 {
    let tile = TILE_POINTS;
    let b: Vec<f32> = (0..k * n)
        .map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5)
        .collect();
    let tiles: Vec<usize> = (0..m.div_ceil(tile))
        .map(|t| tile.min(m - t * tile))
        .collect();
    let pass = || {
        tiles.par_iter().for_each_init(
            || {
                let a: Vec<f32> = (0..tile * k)
                    .map(|i| ((i * 104_729) % 997) as f32 * 1e-3)
                    .collect();
                (a, vec![0.0f32; tile * n])
            },
            |(a, c), &rows| {
                // SAFETY: a is tile × k and c tile × n, column-major with
                // leading dimension tile ≥ rows; b is k × n column-major.
                unsafe {
                    gemm::gemm(
                        rows,
                        n,
                        k,
                        c.as_mut_ptr(),
                        tile as isize,
                        1,
                        false,
                        a.as_ptr(),
                        tile as isize,
                        1,
                        b.as_ptr(),
                        k as isize,
                        1,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            },
        )
    };
    pass();
    let start = Instant::now();
    for _ in 0..reps {
        pass();
    }
    let seconds = start.elapsed().as_secs_f64();
    (m * k * n * reps) as f64 / seconds / 1e9
}
