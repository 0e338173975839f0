//! NVIDIA GPUs (feature `cuda`): finding a usable device ([`device_name`]),
//! scone's own CUDA engine ([`engine`]: the network on the device and its
//! forward pass; `trainer`: the backward pass and Adam), evaluating a
//! network with it ([`CudaEvaluator`]), and turning GPU panics into errors
//! ([`guard`]). The networks the engine does not run are trained and
//! evaluated with burn-cuda, which comes with the trainer
//! (`crate::train`); nothing here depends on it. See docs/gpu.md.
//!
//! The engine loads libcuda, NVRTC and cuBLAS at run time, and burn-cuda
//! compiles its kernels with NVRTC against CUDA's headers; without them
//! they fail at the first tensor. [`device_name`] looks for all four
//! first, so that `--device auto` can fall back to the CPU and `--device
//! cuda` can fail with one line.

pub mod engine;
pub(crate) mod trainer;

use std::sync::Mutex;

use cudarc::driver::PushKernelArg;

use engine::{Activations, DeviceNet, Engine, Kernels, Math};

use crate::Error;
use crate::eval::{Evaluate, point_count};
use crate::model::{Arch, Network};

/// The name of the GPU work runs on (CUDA device 0), or why there is none
/// usable. Worked out once per process.
pub fn device_name() -> Result<String, String> {
    static PROBE: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    PROBE.get_or_init(probe).clone()
}

/// The name of the first CUDA device, or why the engine or burn-cuda could
/// not use it. [`device_name`] asks once per process.
fn probe() -> Result<String, String> {
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

/// Runs `f`, which uses the GPU, turning a panic inside it (out of
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

/// A network on the first CUDA device, evaluated in f32 by scone's engine
/// ([`engine::supports`]: SCONE sin² and SIREN).
///
/// Maps of the coordinates (2 or 3 inputs) are computed as exact f32
/// products. The wide products run in cuBLAS in IEEE f32 (never tf32
/// here: ω₀ = 30 times a tf32 rounding of a 250-term sum moves a mask's
/// sine by more than the decoder's tolerance); docs/gpu.md gives the
/// measured agreement with [`Evaluator`](crate::eval::Evaluator).
pub struct CudaEvaluator {
    engine: Engine,
    net: DeviceNet,
    act: Mutex<Activations>,
}

impl CudaEvaluator {
    /// Uploads `net` to the first CUDA device; fails with
    /// [`Error::Device`] when there is none, or when the engine does not
    /// run this architecture.
    pub fn new(net: &Network) -> Result<Self, Error> {
        device_name().map_err(Error::Device)?;
        net.validate()?;
        if !engine::supports(&net.arch) {
            return Err(Error::Device(format!(
                "scone's CUDA engine does not evaluate `{}`",
                net.arch.label()
            )));
        }
        guard("uploading the network", || {
            let engine = Engine::new(Math::F32, Kernels::from_env()).map_err(Error::Device)?;
            let net = DeviceNet::upload(&engine, net).map_err(Error::Device)?;
            Ok(Self {
                engine,
                net,
                act: Mutex::new(Activations::default()),
            })
        })
    }
}

/// Points evaluated per launch of the network: activations of a 250-wide
/// network then take about 256 MiB per buffer.
pub const CHUNK_POINTS: usize = 1 << 18;

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
        &self.net.arch
    }

    fn eval(&self, coords: &[f32], out: &mut [f32]) -> Result<(), Error> {
        point_count(&self.net.arch, coords, out)?;
        let (d, o) = (self.net.arch.in_dims, self.net.arch.out_dims);
        for (x, y) in coords
            .chunks(CHUNK_POINTS * d)
            .zip(out.chunks_mut(CHUNK_POINTS * o))
        {
            let mut act = self.act.lock().unwrap_or_else(|e| e.into_inner());
            guard("evaluating the network", || {
                eval_engine(&self.engine, &self.net, &mut act, x, y).map_err(Error::Device)
            })?;
        }
        Ok(())
    }
}
