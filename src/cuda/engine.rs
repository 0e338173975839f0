//! scone's own CUDA engine for SCONE sin² networks (every preset's
//! network) and SIREN (the paper's main baseline): cuBLAS for the matrix
//! products and a handful of kernels (`KERNELS`, compiled once per
//! process with NVRTC) for the rest, through cudarc. This module holds
//! the network on the device and its forward pass, which the GPU decoder
//! and the GPU trainer (`crate::train`) share; the trainer adds the
//! backward pass and Adam.
//!
//! burn-cuda stays the engine for the other networks. On SCONE it compiled
//! and tuned kernels for minutes at the start of every process and then
//! ran a step 3× slower than PyTorch eager (docs/gpu.md); here a process
//! compiles ten small kernels (0.1 s) and a step is a few cuBLAS calls
//! and one pass over the layer's values per layer and direction.
//!
//! Buffers are row-major; a row-major `[rows, cols]` matrix is cuBLAS's
//! column-major `[cols, rows]`, so every product below is written for the
//! transposes. Matrices are stored `[in, out]` as in
//! [`crate::train::NetModel`].
//!
//! Precision: everything is f32. Maps of the coordinates (the first mask
//! map and every basis map) are summed in f32 inside the kernels. The wide
//! products use cuBLAS in f32, or with [`Math::Tf32`] tensor cores that
//! round their inputs to tf32 (10 mantissa bits).

use std::sync::Arc;

use cudarc::cublas::{CudaBlas, Gemm, GemmConfig, sys as blas_sys};
use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, CudaView, CudaViewMut, LaunchConfig,
    PushKernelArg,
};

use crate::model::{Arch, Family, Mask, Network, flatten_in_out, unflatten_in_out};

/// The kernels' CUDA source.
pub(crate) const KERNELS: &str = include_str!("kernels.cu");

/// Threads per block of every kernel (the reductions assume 256).
const BLOCK: u32 = 256;

/// The most outputs that the last hidden layer's row kernel takes the
/// output layer's products into: `MAX_OUT` in [`KERNELS`].
pub(crate) const MAX_OUT: usize = 4;

/// Blocks of the loss reduction, whose partial sums are then added in
/// order.
pub(crate) const LOSS_BLOCKS: u32 = 1024;

/// How the wide matrix products are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Math {
    /// IEEE f32 throughout.
    F32,
    /// Tensor cores with inputs rounded to tf32; f32 accumulation.
    Tf32,
}

impl Math {
    /// What [`Math::from_env`] gives when `SCONE_CUDA_MATH` is unset:
    /// IEEE f32, until what tf32 costs a fitted file's PSNR is measured
    /// (docs/gpu.md).
    pub const DEFAULT: Math = Math::F32;

    /// `SCONE_CUDA_MATH` (`f32` or `tf32`) if set to one of them, else
    /// [`Math::DEFAULT`].
    pub fn from_env() -> Self {
        match std::env::var("SCONE_CUDA_MATH").as_deref() {
            Ok("f32") => Math::F32,
            Ok("tf32") => Math::Tf32,
            _ => Math::DEFAULT,
        }
    }
}

/// Which kernels run a hidden layer's elementwise work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    /// The row kernels (`layer_forward_rows`, `layer_backward_sums`): each
    /// thread keeps one column's parameters in registers over a block of
    /// rows, and the backward pass sums the biases' and the coordinate
    /// maps' gradients as it goes, instead of writing the basis gradient
    /// out and reading it back in three cuBLAS products.
    Rows,
    /// One thread per value (`layer_forward`, `layer_backward`), the
    /// small gradients as cuBLAS products (bias gradients as products
    /// with a column of ones): the plain twin of [`Kernels::Rows`].
    Elementwise,
}

impl Kernels {
    /// `SCONE_CUDA_KERNELS` (`rows` or `elementwise`) if set to one of
    /// them, else [`Kernels::Rows`].
    pub fn from_env() -> Self {
        match std::env::var("SCONE_CUDA_KERNELS").as_deref() {
            Ok("elementwise") => Kernels::Elementwise,
            _ => Kernels::Rows,
        }
    }
}

/// Whether this engine runs `arch`: SCONE with the sin² mask, or SIREN,
/// with at least one hidden layer.
pub fn supports(arch: &Arch) -> bool {
    matches!(
        arch.family,
        Family::Scone {
            mask: Mask::Sin2,
            ..
        } | Family::Siren { .. }
    ) && arch.hidden_layers() > 0
}

/// The fewest rows a block of a row kernel takes (the last may take
/// fewer): the backward pass's partial sums, a few values per column and
/// block, then stay a small fraction of the layer's values.
const MIN_ROWS: usize = 16;

/// A CUDA stream with cuBLAS and the compiled kernels.
pub(crate) struct Engine {
    pub stream: Arc<CudaStream>,
    blas: CudaBlas,
    pub kernels: Kernels,
    /// Blocks of [`BLOCK`] threads that `layer_forward_rows` and
    /// `layer_backward_sums` can each keep resident on the whole GPU.
    resident_forward: usize,
    resident_backward: usize,
    pub forward: CudaFunction,
    pub backward: CudaFunction,
    pub forward_rows: CudaFunction,
    pub backward_sums: CudaFunction,
    pub sum_blocks: CudaFunction,
    pub add_bias: CudaFunction,
    pub mse_grad: CudaFunction,
    pub mean_of: CudaFunction,
    pub adam: CudaFunction,
    pub gather_random: CudaFunction,
}

/// `Result` with the panic-free errors of cudarc as text.
pub(crate) type Res<T> = Result<T, String>;

fn text<E: std::fmt::Debug>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

impl Engine {
    /// Opens device 0, creates a cuBLAS handle with `math` and compiles
    /// the kernels, of which the layers will use `kernels`.
    pub fn new(math: Math, kernels: Kernels) -> Res<Self> {
        // SAFETY: only tries to open the cuBLAS library.
        if !unsafe { blas_sys::is_culib_present() } {
            return Err(
                "cuBLAS (libcublas) was not found; add CUDA's library folder to LD_LIBRARY_PATH"
                    .into(),
            );
        }
        let ctx = CudaContext::new(0).map_err(text("opening CUDA device 0"))?;
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone()).map_err(text("starting cuBLAS"))?;
        let mode = match math {
            Math::F32 => blas_sys::cublasMath_t::CUBLAS_PEDANTIC_MATH,
            Math::Tf32 => blas_sys::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH,
        };
        // SAFETY: the handle is live; setting its math mode has no other
        // precondition.
        let status = unsafe { blas_sys::cublasSetMathMode(*blas.handle(), mode) };
        if status != blas_sys::cublasStatus_t::CUBLAS_STATUS_SUCCESS {
            return Err(format!("setting cuBLAS's math mode: {status:?}"));
        }
        if !KERNELS.contains(&format!("\n#define MAX_OUT {MAX_OUT}\n")) {
            return Err("kernels.cu does not define MAX_OUT as the engine does".into());
        }
        let ptx = cudarc::nvrtc::compile_ptx(KERNELS).map_err(text("compiling the kernels"))?;
        let module = ctx.load_module(ptx).map_err(text("loading the kernels"))?;
        let f = |name: &str| module.load_function(name).map_err(text("loading a kernel"));
        let (forward_rows, backward_sums) = (f("layer_forward_rows")?, f("layer_backward_sums")?);
        let sms = ctx
            .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .map_err(text("reading the GPU's multiprocessor count"))?;
        let resident = |k: &CudaFunction| -> Res<usize> {
            let per_sm = k
                .occupancy_max_active_blocks_per_multiprocessor(BLOCK, 0, None)
                .map_err(text("reading a kernel's occupancy"))?;
            Ok(sms.max(1) as usize * per_sm.max(1) as usize)
        };
        Ok(Self {
            kernels,
            resident_forward: resident(&forward_rows)?,
            resident_backward: resident(&backward_sums)?,
            forward: f("layer_forward")?,
            backward: f("layer_backward")?,
            forward_rows,
            backward_sums,
            sum_blocks: f("sum_blocks")?,
            add_bias: f("add_bias")?,
            mse_grad: f("mse_grad")?,
            mean_of: f("mean_of")?,
            adam: f("adam")?,
            gather_random: f("gather_random")?,
            stream,
            blas,
        })
    }

    /// `len` zeros on the device.
    pub fn zeros<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits>(
        &self,
        len: usize,
    ) -> Res<CudaSlice<T>> {
        self.stream
            .alloc_zeros::<T>(len)
            .map_err(text("allocating GPU memory"))
    }

    /// A grid-strided launch over `total` items.
    pub fn grid(total: usize) -> LaunchConfig {
        let blocks = total.div_ceil(BLOCK as usize).clamp(1, 1 << 16) as u32;
        LaunchConfig {
            grid_dim: (blocks, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    /// The launch of `layer_forward_rows` over `n` rows of `h` columns,
    /// and its rows per block (see [`Self::row_grid`]).
    pub fn forward_grid(&self, n: usize, h: usize) -> (LaunchConfig, i32) {
        Self::row_grid(n, h, self.resident_forward)
    }

    /// The launch of `layer_backward_sums` over `n` rows of `h` columns,
    /// and its rows per block (see [`Self::row_grid`]).
    pub fn backward_grid(&self, n: usize, h: usize) -> (LaunchConfig, i32) {
        Self::row_grid(n, h, self.resident_backward)
    }

    /// The launch of a row kernel over `n` rows of `h` columns, and its
    /// rows per block: as many blocks as stay resident on the GPU (one
    /// wave; `resident` blocks of [`BLOCK`] threads), with at least
    /// [`MIN_ROWS`] rows each (fewer for the last), and threads for `h`
    /// columns rounded up to a warp, at most [`BLOCK`].
    fn row_grid(n: usize, h: usize, resident: usize) -> (LaunchConfig, i32) {
        let threads = h.div_ceil(32).clamp(1, BLOCK as usize / 32) * 32;
        let resident = resident * (BLOCK as usize / threads);
        let rows = n.div_ceil(resident).max(MIN_ROWS);
        let blocks = n.div_ceil(rows).max(1);
        let cfg = LaunchConfig {
            grid_dim: (blocks as u32, 1, 1),
            block_dim: (threads as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        (cfg, rows as i32)
    }

    /// `C = op(A) · op(B)` in cuBLAS's column-major terms (`C` is `m × n`,
    /// the sum runs over `k`), with `op` a transpose where asked.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm(
        &self,
        (ta, tb): (bool, bool),
        (m, n, k): (usize, usize, usize),
        (a, lda): (&CudaView<f32>, usize),
        (b, ldb): (&CudaView<f32>, usize),
        (c, ldc): (&mut CudaViewMut<f32>, usize),
    ) -> Res<()> {
        let op = |t: bool| {
            if t {
                blas_sys::cublasOperation_t::CUBLAS_OP_T
            } else {
                blas_sys::cublasOperation_t::CUBLAS_OP_N
            }
        };
        let int =
            |v: usize| i32::try_from(v).map_err(|_| format!("a product of {v} rows is too large"));
        let cfg = GemmConfig {
            transa: op(ta),
            transb: op(tb),
            m: int(m)?,
            n: int(n)?,
            k: int(k)?,
            alpha: 1.0f32,
            lda: int(lda)?,
            ldb: int(ldb)?,
            beta: 0.0f32,
            ldc: int(ldc)?,
        };
        // SAFETY: the callers pass shapes and leading dimensions that
        // describe their views.
        unsafe { self.blas.gemm(cfg, a, b, c) }.map_err(text("a cuBLAS product"))
    }
}

/// Tensors per hidden layer in [`Arch::tensor_specs`]: SCONE's mask
/// weight, mask bias, basis weight and basis bias; SIREN's weight and bias.
pub(crate) fn tensors_per_layer(siren: bool) -> usize {
    if siren { 2 } else { 4 }
}

/// A SCONE sin² or SIREN network on the device: every tensor of
/// [`Arch::tensor_specs`] in one flat buffer, matrices `[in, out]`.
pub(crate) struct DeviceNet {
    pub arch: Arch,
    /// SIREN rather than SCONE sin².
    pub siren: bool,
    pub omega0: f32,
    /// Each hidden layer's basis ω (zeros for SIREN, which has none).
    pub omegas: Vec<f32>,
    /// Offset and length of each tensor in `params`.
    pub spans: Vec<(usize, usize)>,
    pub params: CudaSlice<f32>,
}

impl DeviceNet {
    /// Uploads `net`, which [`supports`] must accept.
    pub fn upload(engine: &Engine, net: &Network) -> Res<Self> {
        let layers = net.arch.hidden_layers();
        let (siren, omega0, omegas) = match &net.arch.family {
            Family::Scone { omega0, omegas, .. } => (false, *omega0, omegas.clone()),
            Family::Siren { omega0 } => (true, *omega0, vec![0.0; layers]),
            _ => return Err("the CUDA engine runs SCONE and SIREN networks only".into()),
        };
        if omegas.len() != layers {
            return Err("the network's ω do not match its layers".into());
        }
        let (spans, flat) = flatten_in_out(net);
        let params = engine
            .stream
            .clone_htod(&flat)
            .map_err(text("uploading the network"))?;
        Ok(Self {
            arch: net.arch.clone(),
            siren,
            omega0,
            omegas,
            spans,
            params,
        })
    }

    /// The weights as a plain [`Network`].
    pub fn download(&self, engine: &Engine) -> Res<Network> {
        let flat = engine
            .stream
            .clone_dtoh(&self.params)
            .map_err(text("downloading the network"))?;
        Ok(unflatten_in_out(&self.arch, &self.spans, &flat))
    }

    /// Tensor `t` of the flat buffer.
    pub fn tensor(&self, t: usize) -> CudaView<'_, f32> {
        let (start, len) = self.spans[t];
        self.params.slice(start..start + len)
    }

    pub fn layers(&self) -> usize {
        self.omegas.len()
    }

    /// [`tensors_per_layer`] for this network.
    pub fn per_layer(&self) -> usize {
        tensors_per_layer(self.siren)
    }

    /// The index of hidden layer `i`'s first tensor (its mask weight, or
    /// SIREN's weight); the layer's others follow it.
    pub fn first_tensor(&self, i: usize) -> usize {
        self.per_layer() * i
    }

    /// The index of the output layer's weight; its bias follows.
    pub fn output_tensor(&self) -> usize {
        self.per_layer() * self.layers()
    }

    /// Hidden layer `i`'s `(wm, bm, wb, bb)` as the kernels take them:
    /// for SIREN, its weight and bias, then the same two again in place
    /// of the basis, which the kernels do not read.
    pub fn layer_tensors(&self, i: usize) -> [CudaView<'_, f32>; 4] {
        let t = self.first_tensor(i);
        let basis = if self.siren { t } else { t + 2 };
        [
            self.tensor(t),
            self.tensor(t + 1),
            self.tensor(basis),
            self.tensor(basis + 1),
        ]
    }

    /// The forward pass over `n` rows of `x` (`[n, in]`), keeping what the
    /// backward pass needs in `act`: each hidden layer's output, each wide
    /// layer's `z·wm`, and the output without its bias in `act.y`.
    pub fn forward(
        &self,
        engine: &Engine,
        x: &CudaView<f32>,
        n: usize,
        act: &mut Activations,
    ) -> Res<()> {
        let (d, c, h) = (self.arch.in_dims, self.arch.out_dims, self.arch.hidden);
        act.fit(engine, n, self.layers(), h, c)?;
        let total = n * h;
        for i in 0..self.layers() {
            let (done, rest) = act.z.split_at_mut(i);
            let out = &mut rest[0];
            let has_p = i > 0;
            if has_p {
                // p = z_{i−1} · wm: row-major [n, h] = [n, h]·[h, h].
                let z_in = done[i - 1].slice(..);
                engine.gemm(
                    (false, false),
                    (h, n, h),
                    (&self.tensor(self.first_tensor(i)), h),
                    (&z_in, h),
                    (&mut act.p[i].slice_mut(..), h),
                )?;
            }
            let p = &act.p[i];
            let [wm, bm, wb, bb] = self.layer_tensors(i);
            let (total_i, h_i, d_i, has_p_i) = (total as i64, h as i32, d as i32, i32::from(has_p));
            let siren_i = i32::from(self.siren);
            let (w0, w) = (self.omega0, self.omegas[i]);
            let (n_i, (rows_cfg, rows)) = (rows_i32(n)?, engine.forward_grid(n, h));
            let (mut launch, cfg) = match engine.kernels {
                Kernels::Rows => {
                    let mut launch = engine.stream.launch_builder(&engine.forward_rows);
                    launch.arg(&n_i).arg(&rows);
                    (launch, rows_cfg)
                }
                Kernels::Elementwise => {
                    let mut launch = engine.stream.launch_builder(&engine.forward);
                    launch.arg(&total_i);
                    (launch, Engine::grid(total))
                }
            };
            launch
                .arg(&h_i)
                .arg(&d_i)
                .arg(&siren_i)
                .arg(x)
                .arg(&has_p_i)
                .arg(p)
                .arg(&wm)
                .arg(&bm)
                .arg(&wb)
                .arg(&bb)
                .arg(&w0)
                .arg(&w)
                .arg(out);
            // SAFETY: the arguments match layer_forward_rows's signature
            // (n, rows, …) or layer_forward's (total, …), the rest being
            // the same; every buffer holds n·h (or n·d) values.
            unsafe { launch.launch(cfg) }.map_err(text("a forward kernel"))?;
        }
        // y = z_last · wo: row-major [n, c] = [n, h]·[h, c].
        let last = act.z[self.layers() - 1].slice(..);
        engine.gemm(
            (false, false),
            (c, n, h),
            (&self.tensor(self.output_tensor()), c),
            (&last, h),
            (&mut act.y.as_mut().expect("sized by fit").slice_mut(..), c),
        )
    }
}

/// `n` rows as the row kernels take them.
pub(crate) fn rows_i32(n: usize) -> Res<i32> {
    i32::try_from(n).map_err(|_| format!("a batch of {n} rows is too large (at most 2³¹ − 1)"))
}

/// Activation buffers of a forward pass, sized for the last batch.
#[derive(Default)]
pub(crate) struct Activations {
    pub rows: usize,
    /// Each hidden layer's output, `[n, h]`.
    pub z: Vec<CudaSlice<f32>>,
    /// Each hidden layer's `z·wm`, `[n, h]` (layer 0's is unused and
    /// holds one value).
    pub p: Vec<CudaSlice<f32>>,
    /// The output before its bias, `[n, out]`.
    pub y: Option<CudaSlice<f32>>,
}

impl Activations {
    fn fit(&mut self, engine: &Engine, n: usize, layers: usize, h: usize, c: usize) -> Res<()> {
        if self.rows == n && self.z.len() == layers {
            return Ok(());
        }
        self.z.clear();
        self.p.clear();
        self.y = None;
        for i in 0..layers {
            self.z.push(engine.zeros(n * h)?);
            self.p.push(engine.zeros(if i == 0 { 1 } else { n * h })?);
        }
        self.y = Some(engine.zeros(n * c)?);
        self.rows = n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row in exactly one block; one wave of resident blocks unless
    /// the rows per block are at their floor; a warp-multiple of threads
    /// that covers the columns in one pass where a block can.
    #[test]
    fn a_row_grid_covers_every_row_once_in_one_wave() {
        for resident in [1, 7, 528, 792] {
            for h in [1, 16, 32, 33, 250, 256, 300] {
                for n in [1, 15, 16, 17, 1000, 65_536, 393_216] {
                    let (cfg, rows) = Engine::row_grid(n, h, resident);
                    let (blocks, rows) = (cfg.grid_dim.0 as usize, rows as usize);
                    let threads = cfg.block_dim.0 as usize;
                    let case = format!("n={n} h={h} resident={resident}");
                    assert!(blocks * rows >= n && (blocks - 1) * rows < n, "{case}");
                    assert!(rows >= MIN_ROWS, "{case}");
                    assert!(
                        threads.is_multiple_of(32) && threads <= BLOCK as usize,
                        "{case}"
                    );
                    assert!(threads >= h || threads == BLOCK as usize, "{case}");
                    let wave = resident * (BLOCK as usize / threads);
                    assert!(
                        blocks <= wave || rows == MIN_ROWS,
                        "{case}: {blocks} blocks"
                    );
                }
            }
        }
    }
}
