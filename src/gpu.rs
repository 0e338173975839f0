//! NVIDIA GPUs through burn-cuda (feature `cuda`): finding a usable
//! device, evaluating networks on it, and turning burn-cuda's panics into
//! errors. Training on CUDA lives with the rest of training in
//! [`crate::train`]; see docs/gpu.md.
//!
//! burn-cuda loads libcuda and NVRTC at run time and compiles its kernels
//! with NVRTC against CUDA's headers; without any of the three it panics
//! at the first tensor. [`probe`] looks for all three first, so that
//! `--device auto` can fall back to the CPU and `--device cuda` can fail
//! with one line.

use burn::backend::Cuda;
use burn::backend::cuda::CudaDevice;
use burn::tensor::{Tensor, TensorData};

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

/// A network on the first CUDA device, evaluated with burn-cuda in f32.
///
/// Maps of the coordinates (2 or 3 inputs) are computed as exact f32
/// products; wider maps are matrix products whose kernels burn-cuda's
/// autotuner picks, which on tensor-core GPUs may round their inputs to
/// tf32 (docs/gpu.md gives the measured agreement with [`Evaluator`]).
///
/// [`Evaluator`]: crate::decode::Evaluator
pub struct CudaEvaluator {
    model: NetModel<Cuda>,
    device: CudaDevice,
}

impl CudaEvaluator {
    /// Uploads `net` to the first CUDA device.
    pub fn new(net: &Network) -> Result<Self, Error> {
        crate::device::cuda_device_name().map_err(Error::Device)?;
        guard("uploading the network", || {
            let device = CudaDevice::default();
            Ok(Self {
                model: NetModel::from_network(net, &device),
                device,
            })
        })
    }
}

impl Evaluate for CudaEvaluator {
    fn arch(&self) -> &Arch {
        self.model.arch()
    }

    /// # Panics
    ///
    /// If the shapes do not match the network, or burn-cuda fails (run
    /// inside [`guard`] to get an error instead).
    fn eval(&self, coords: &[f32], out: &mut [f32]) {
        let (d, o) = (self.arch().in_dims, self.arch().out_dims);
        assert_eq!(coords.len() % d, 0, "coordinates come in groups of {d}");
        assert_eq!(out.len() / o, coords.len() / d, "one output per point");
        for (x, y) in coords
            .chunks(CHUNK_POINTS * d)
            .zip(out.chunks_mut(CHUNK_POINTS * o))
        {
            let n = x.len() / d;
            let x = Tensor::<Cuda, 2>::from_data(TensorData::new(x.to_vec(), [n, d]), &self.device);
            let values = self.model.forward(x).into_data();
            y.copy_from_slice(
                values
                    .as_slice::<f32>()
                    .expect("the network's outputs are f32"),
            );
        }
    }
}
