//! NVIDIA GPUs (feature `cuda`): finding a usable device, evaluating
//! networks on it (SCONE sin² and SIREN with scone's own [`engine`], the
//! others with burn-cuda), and turning GPU panics into errors. Training on
//! CUDA lives with the rest of training in [`crate::train`]; see docs/gpu.md.
//!
//! Both engines load libcuda and NVRTC at run time, scone's engine cuBLAS
//! too, and burn-cuda compiles its kernels with NVRTC against CUDA's
//! headers; without them they fail at the first tensor. [`probe`] looks
//! for all four first, so that `--device auto` can fall back to the CPU and
//! `--device cuda` can fail with one line.

pub mod engine;

use std::sync::Mutex;

use burn::backend::Cuda;
use burn::backend::cuda::CudaDevice;
use burn::tensor::{Tensor, TensorData};
use cudarc::driver::PushKernelArg;

use engine::{Activations, DeviceNet, Engine, Kernels, Math};

use crate::Error;
use crate::decode::Evaluate;
use crate::model::{Arch, Network};
use crate::train::NetModel;

/// The name of the first CUDA device, or why burn-cuda could not use it.
/// Use [`crate::device::cuda_device_name`], which asks once per process.
pub(crate) fn probe() -> Result<String, String> {
    use cudarc::driver::{CudaContext, result, sys};
    keep_compiled_kernels();
    // SAFETY: only tries to open the driver library.
    if !unsafe { sys::is_culib_present() } {
        return Err("no CUDA driver found (libcuda)".into());
    }
    result::init().map_err(|e| format!("the CUDA driver did not start ({e})"))?;
    match CudaContext::device_count() {
        Ok(n) if n > 0 => {}
        Ok(_) => return Err("no CUDA device found".into()),
        Err(e) => return Err(format!("no CUDA device found ({e})")),
    }
    // SAFETY: only tries to open the NVRTC library.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(
            "NVRTC (libnvrtc), which compiles the GPU kernels, was not found; add CUDA's library folder to LD_LIBRARY_PATH".into(),
        );
    }
    // SAFETY: only tries to open the cuBLAS library.
    if !unsafe { cudarc::cublas::sys::is_culib_present() } {
        return Err(
            "cuBLAS (libcublas), which the GPU engine multiplies matrices with, was not found; add CUDA's library folder to LD_LIBRARY_PATH".into(),
        );
    }
    match cubecl_cuda::install::cuda_path() {
        Some(p) if p.join("include").is_dir() => {}
        _ => {
            return Err(
                "CUDA's headers were not found; set CUDA_PATH to the CUDA toolkit's folder".into(),
            );
        }
    }
    let ctx = CudaContext::new(0).map_err(|e| format!("CUDA device 0 did not open ({e})"))?;
    ctx.name()
        .map_err(|e| format!("CUDA device 0 did not answer ({e})"))
}

/// burn-cuda compiles every kernel it launches with NVRTC, once per process,
/// and tunes its matrix products by timing candidates. On the first GPU run
/// these took minutes (docs/gpu.md). Unless a `cubecl.toml` says otherwise,
/// compiled kernels are kept on disk beside cubecl's tuning results (the
/// `target/` folder of a Cargo project being run from, else the user's cache
/// folder), so that later runs skip both.
fn keep_compiled_kernels() {
    use cubecl_runtime::config::cache::CacheConfig;
    use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};
    let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
    if config.compilation.cache.is_none() {
        config.compilation.cache = Some(CacheConfig::Target);
    }
    // Runs before any other use of cubecl's configuration (the probe comes
    // first), and once (its caller is memoised); a configuration already
    // read is left alone.
    let _ = std::panic::catch_unwind(|| CubeClRuntimeConfig::set(config));
}

/// Runs `f`, which uses burn-cuda, turning a panic inside it (out of
/// device memory, a kernel that fails to compile, a lost device) into an
/// [`Error::Device`] that starts with `what`. The panic message is not
/// printed: the error carries its first line.
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown error");
        let first = message
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("unknown error");
        Err(Error::Device(format!("{what} failed on the GPU: {first}")))
    })
}

/// Points evaluated per launch of the network: activations of a 250-wide
/// network then take about 256 MiB per buffer.
pub const CHUNK_POINTS: usize = 1 << 18;

/// A network on the first CUDA device, evaluated in f32: SCONE sin² and
/// SIREN with scone's own engine ([`engine`]), other networks with
/// burn-cuda.
///
/// Maps of the coordinates (2 or 3 inputs) are computed as exact f32
/// products. The engine's wide products run in cuBLAS in IEEE f32 (never
/// tf32 here: ω₀ = 30 times a tf32 rounding of a 250-term sum moves a
/// mask's sine by more than the decoder's tolerance). burn-cuda's are
/// the kernels its autotuner picks, which on tensor-core GPUs may round
/// their inputs to tf32 (docs/gpu.md gives the measured agreement with
/// [`Evaluator`]).
///
/// [`Evaluator`]: crate::decode::Evaluator
pub struct CudaEvaluator(Inner);

enum Inner {
    Engine(Box<OnEngine>),
    Burn {
        model: NetModel<Cuda>,
        device: CudaDevice,
    },
}

struct OnEngine {
    engine: Engine,
    net: DeviceNet,
    act: Mutex<Activations>,
}

impl CudaEvaluator {
    /// Uploads `net` to the first CUDA device.
    pub fn new(net: &Network) -> Result<Self, Error> {
        crate::device::cuda_device_name().map_err(Error::Device)?;
        guard("uploading the network", || {
            if engine::supports(&net.arch) {
                let engine = Engine::new(Math::F32, Kernels::from_env()).map_err(Error::Device)?;
                let net = DeviceNet::upload(&engine, net).map_err(Error::Device)?;
                return Ok(Self(Inner::Engine(Box::new(OnEngine {
                    engine,
                    net,
                    act: Mutex::new(Activations::default()),
                }))));
            }
            let device = CudaDevice::default();
            Ok(Self(Inner::Burn {
                model: NetModel::from_network(net, &device),
                device,
            }))
        })
    }
}

/// One chunk of `n` points through the engine: `x` `[n, d]` into `y`
/// `[n, c]`.
fn eval_engine(
    engine: &Engine,
    net: &DeviceNet,
    act: &mut Activations,
    x: &[f32],
    y: &mut [f32],
) -> engine::Res<()> {
    let (d, c) = (net.arch.in_dims, net.arch.out_dims);
    let n = x.len() / d;
    let x = engine
        .stream
        .clone_htod(x)
        .map_err(|e| format!("uploading points: {e:?}"))?;
    net.forward(engine, &x.slice(..), n, act)?;
    let out = act.y.as_mut().expect("sized by the forward pass");
    let (total, c_i) = ((n * c) as i64, c as i32);
    let bo = net.tensor(net.output_tensor() + 1);
    let mut launch = engine.stream.launch_builder(&engine.add_bias);
    launch.arg(&total).arg(&c_i).arg(&mut *out).arg(&bo);
    // SAFETY: the arguments match add_bias's signature; out holds n·c
    // values and bo c.
    unsafe { launch.launch(Engine::grid(n * c)) }.map_err(|e| format!("the bias kernel: {e:?}"))?;
    engine
        .stream
        .memcpy_dtoh(&out.slice(..n * c), y)
        .map_err(|e| format!("downloading values: {e:?}"))
}

impl Evaluate for CudaEvaluator {
    fn arch(&self) -> &Arch {
        match &self.0 {
            Inner::Engine(e) => &e.net.arch,
            Inner::Burn { model, .. } => model.arch(),
        }
    }

    /// # Panics
    ///
    /// If the shapes do not match the network, or the GPU fails (run
    /// inside [`guard`] to get an error instead).
    fn eval(&self, coords: &[f32], out: &mut [f32]) {
        let (d, o) = (self.arch().in_dims, self.arch().out_dims);
        assert_eq!(coords.len() % d, 0, "coordinates come in groups of {d}");
        assert_eq!(out.len() / o, coords.len() / d, "one output per point");
        for (x, y) in coords
            .chunks(CHUNK_POINTS * d)
            .zip(out.chunks_mut(CHUNK_POINTS * o))
        {
            match &self.0 {
                Inner::Engine(e) => {
                    let mut act = e.act.lock().unwrap_or_else(|e| e.into_inner());
                    eval_engine(&e.engine, &e.net, &mut act, x, y)
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                Inner::Burn { model, device } => {
                    let n = x.len() / d;
                    let x =
                        Tensor::<Cuda, 2>::from_data(TensorData::new(x.to_vec(), [n, d]), device);
                    let values = model.forward(x).into_data();
                    y.copy_from_slice(
                        values
                            .as_slice::<f32>()
                            .expect("the network's outputs are f32"),
                    );
                }
            }
        }
    }
}
