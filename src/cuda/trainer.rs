//! The CUDA training engine for SCONE sin² and SIREN (feature `cuda`): the
//! backward pass and Adam over [`crate::cuda::engine`]'s device network and
//! forward pass. For SCONE it is the GPU twin of [`super::host`]; a test
//! on a GPU holds its gradients to the host engine's, and for SIREN to
//! burn's autodiff on the CPU (tests/cuda.rs).
//!
//! Per hidden layer and step, with [`Kernels::Rows`] (the default): one
//! cuBLAS product and one row kernel forward; backward, one row kernel
//! that also sums the biases' and the coordinate maps' gradients, a
//! two-level sum of its blocks' partial sums, and two products (the mask
//! weight's gradient, and the gradient flowing on). With
//! [`Kernels::Elementwise`], the plain twin, those small gradients are
//! cuBLAS products instead (the bias gradients as products with a column
//! of ones), which read the layer's gradients back three more times.
//! Nothing is copied between host and device during a step except the
//! loss, when it is read.

use std::cell::Cell;

use cudarc::driver::{CudaSlice, CudaView, PushKernelArg};

use crate::cuda::engine::{
    Activations, DeviceNet, Engine, Kernels, LOSS_BLOCKS, MAX_OUT, Math, Res, rows_i32,
    tensors_per_layer,
};
use crate::model::Network;

/// Adam's hyperparameters, as the other engines use.
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPSILON: f32 = 1e-8;

/// Pairs on the device: `x` `[n, in]`, `y` `[n, out]`.
pub(crate) struct DevicePairs {
    x: CudaSlice<f32>,
    y: CudaSlice<f32>,
    n: usize,
}

/// Blocks of partial sums that one thread of `sum_blocks` adds.
const SUM_GROUP: usize = 32;

/// Where in the flat gradient buffer (tensors at `spans`, as
/// [`DeviceNet::spans`](crate::cuda::engine::DeviceNet)) the sums of hidden
/// layer `i`'s `layer_backward_sums` land, in the kernel's order: the
/// layer's tensors from the mask bias (SIREN's bias) on, from the mask
/// weight in the first layer, and on into the output weight when the
/// layer takes in `c_in` outputs. Its length is the kernel's `width·h`.
fn summed_run(
    spans: &[(usize, usize)],
    siren: bool,
    i: usize,
    d: usize,
    h: usize,
    c_in: usize,
) -> std::ops::Range<usize> {
    let first = tensors_per_layer(siren) * i;
    let has_p = i > 0;
    let start = spans[if has_p { first + 1 } else { first }].0;
    let weight = if has_p { 0 } else { d };
    let basis = if siren { 0 } else { d + 1 };
    start..start + (weight + 1 + basis + c_in) * h
}

/// Backward buffers, sized for the last batch.
struct Backward {
    rows: usize,
    /// The gradient flowing back, `[n, h]`.
    g: CudaSlice<f32>,
    /// The basis pre-activation's gradient, `[n, h]` (one value with
    /// [`Kernels::Rows`], which only sums it).
    q: CudaSlice<f32>,
    /// The row kernel's partial sums, `[blocks, width, h]`, and their
    /// sums over groups of [`SUM_GROUP`] blocks (one value each with
    /// [`Kernels::Elementwise`]).
    partial: CudaSlice<f32>,
    grouped: CudaSlice<f32>,
    /// `n` ones: column sums are products with it.
    ones: CudaSlice<f32>,
}

pub(crate) struct CudaTrainer {
    engine: Engine,
    net: DeviceNet,
    grads: CudaSlice<f32>,
    m: CudaSlice<f32>,
    v: CudaSlice<f32>,
    /// Adam steps taken.
    time: i32,
    act: Activations,
    back: Option<Backward>,
    partial: CudaSlice<f64>,
    loss: CudaSlice<f32>,
    seed: Cell<u64>,
    draws: Cell<u64>,
}

impl CudaTrainer {
    /// A trainer on CUDA device 0 starting from `init`, which
    /// [`crate::cuda::engine::supports`] must accept.
    pub fn new(init: &Network, math: Math, kernels: Kernels) -> Res<Self> {
        let engine = Engine::new(math, kernels)?;
        let net = DeviceNet::upload(&engine, init)?;
        // The row kernels' sums land on a layer's tensors as one run, in
        // tensor order: the flat buffer must hold them back to back.
        if net.spans.windows(2).any(|w| w[0].0 + w[0].1 != w[1].0) {
            return Err("the network's tensors are not contiguous".into());
        }
        let len = net.params.len();
        let (grads, m, v, loss) = (
            engine.zeros(len)?,
            engine.zeros(len)?,
            engine.zeros(len)?,
            engine.zeros(1)?,
        );
        let partial = engine.zeros::<f64>(LOSS_BLOCKS as usize)?;
        Ok(Self {
            engine,
            net,
            grads,
            m,
            v,
            time: 0,
            act: Activations::default(),
            back: None,
            partial,
            loss,
            seed: Cell::new(0),
            draws: Cell::new(0),
        })
    }

    /// The gradients of the last [`Self::loss_and_grads`], flat in the
    /// host engine's layout (tensor_specs order, matrices `[in, out]`).
    pub fn gradients(&self) -> Res<Vec<f32>> {
        self.engine
            .stream
            .clone_dtoh(&self.grads)
            .map_err(|e| format!("downloading gradients: {e:?}"))
    }

    /// Queues the loss on `pairs` (left on the device for
    /// [`Self::read_loss`]) and every parameter's gradient of it.
    pub fn loss_and_grads(&mut self, pairs: &DevicePairs) -> Res<()> {
        let Self {
            engine,
            net,
            grads,
            act,
            back,
            partial,
            loss,
            ..
        } = self;
        let (d, c, h) = (net.arch.in_dims, net.arch.out_dims, net.arch.hidden);
        let layers = net.layers();
        let n = pairs.n;
        let x = pairs.x.slice(..);
        net.forward(engine, &x, n, act)?;
        let (rows_cfg, rows) = engine.backward_grid(n, h);
        let (n_i, blocks) = (rows_i32(n)?, rows_cfg.grid_dim.0 as usize);
        let fused = engine.kernels == Kernels::Rows;
        // The last hidden layer's row kernel takes in the output layer's
        // products when the outputs are few enough.
        let c_in = if fused && c <= MAX_OUT { c } else { 0 };
        if back.as_ref().is_none_or(|b| b.rows != n) {
            *back = None;
            let width = 2 + 2 * d + c_in;
            *back = Some(Backward {
                rows: n,
                g: engine.zeros(n * h)?,
                q: engine.zeros(if fused { 1 } else { n * h })?,
                partial: engine.zeros(if fused { blocks * width * h } else { 1 })?,
                grouped: engine.zeros(if fused {
                    blocks.div_ceil(SUM_GROUP) * width * h
                } else {
                    1
                })?,
                ones: engine
                    .stream
                    .clone_htod(&vec![1f32; n])
                    .map_err(|e| format!("uploading: {e:?}"))?,
            });
        }
        let b = back.as_mut().expect("sized above");
        let y = act.y.as_mut().expect("sized by the forward pass");
        // Loss, and its gradient with respect to the output in place of it.
        {
            let total = (n * c) as i64;
            let (c_i, scale) = (c as i32, 2.0 / (n * c) as f32);
            let bo = net.tensor(net.output_tensor() + 1);
            let mut launch = engine.stream.launch_builder(&engine.mse_grad);
            launch
                .arg(&total)
                .arg(&c_i)
                .arg(&mut *y)
                .arg(&bo)
                .arg(&pairs.y)
                .arg(&scale)
                .arg(&mut *partial);
            let cfg = cudarc::driver::LaunchConfig {
                grid_dim: (LOSS_BLOCKS, 1, 1),
                block_dim: (256, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: the arguments match mse_grad's signature; y and the
            // targets hold n·c values, partial LOSS_BLOCKS.
            unsafe { launch.launch(cfg) }.map_err(|e| format!("the loss kernel: {e:?}"))?;
            let (m_i, count) = (LOSS_BLOCKS as i32, (n * c) as f64);
            let mut launch = engine.stream.launch_builder(&engine.mean_of);
            launch.arg(&m_i).arg(&*partial).arg(&count).arg(&mut *loss);
            let one = cudarc::driver::LaunchConfig {
                grid_dim: (1, 1, 1),
                block_dim: (256, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: as above; loss holds one value.
            unsafe { launch.launch(one) }.map_err(|e| format!("the loss kernel: {e:?}"))?;
        }
        let span = |t: usize| {
            let (start, len) = net.spans[t];
            start..start + len
        };
        let dy = y.slice(..);
        let ones = b.ones.slice(..);
        let out_t = net.output_tensor();
        let wo = net.tensor(out_t);
        // Output layer: dbo = Σ rows of dy; and unless the last hidden
        // layer's row kernel takes them in, dwo = zᵀ·dy and g = dy·woᵀ.
        engine.gemm(
            (false, false),
            (c, 1, n),
            (&dy, c),
            (&ones, n),
            (&mut grads.slice_mut(span(out_t + 1)), c),
        )?;
        if c_in == 0 {
            let last = act.z[layers - 1].slice(..);
            engine.gemm(
                (false, true),
                (c, h, n),
                (&dy, c),
                (&last, h),
                (&mut grads.slice_mut(span(out_t)), c),
            )?;
            engine.gemm(
                (true, false),
                (h, n, c),
                (&wo, c),
                (&dy, c),
                (&mut b.g.slice_mut(..), h),
            )?;
        }
        for i in (0..layers).rev() {
            let has_p = i > 0;
            let c_here = if i == layers - 1 { c_in } else { 0 };
            let first = net.first_tensor(i);
            let [wm, bm, wb, bb] = net.layer_tensors(i);
            {
                let total = (n * h) as i64;
                let (h_i, d_i, has_p_i) = (h as i32, d as i32, i32::from(has_p));
                let siren_i = i32::from(net.siren);
                let (w0, w) = (net.omega0, net.omegas[i]);
                let c_i = c_here as i32;
                let (mut launch, cfg) = if fused {
                    let mut launch = engine.stream.launch_builder(&engine.backward_sums);
                    launch.arg(&n_i).arg(&rows);
                    (launch, rows_cfg)
                } else {
                    let mut launch = engine.stream.launch_builder(&engine.backward);
                    launch.arg(&total);
                    (launch, Engine::grid(n * h))
                };
                launch
                    .arg(&h_i)
                    .arg(&d_i)
                    .arg(&siren_i)
                    .arg(&x)
                    .arg(&has_p_i)
                    .arg(&act.p[i])
                    .arg(&wm)
                    .arg(&bm)
                    .arg(&wb)
                    .arg(&bb)
                    .arg(&w0)
                    .arg(&w);
                if fused {
                    launch
                        .arg(&c_i)
                        .arg(&dy)
                        .arg(&wo)
                        .arg(&mut b.g)
                        .arg(&mut b.partial);
                } else {
                    launch.arg(&mut b.g);
                    launch.arg(&mut b.q);
                }
                // SAFETY: the arguments match layer_backward_sums's
                // signature (n, rows, …, c, dy, wo, g, partial) or
                // layer_backward's (total, …, g, gq); every buffer holds
                // n·h (or n·d, n·c) values, wo h·c, partial
                // blocks·(2 + 2d + c_in)·h.
                unsafe { launch.launch(cfg) }.map_err(|e| format!("a backward kernel: {e:?}"))?;
            }
            // The mask weight's input: the previous layer, or x.
            let (z_in, k): (CudaView<f32>, usize) = if has_p {
                (act.z[i - 1].slice(..), h)
            } else {
                (x.slice(..), d)
            };
            let gp = b.g.slice(..);
            // The mask weight's gradient z_inᵀ·gp, unless the first
            // layer's row kernel summed it.
            if has_p || !fused {
                engine.gemm(
                    (false, true),
                    (h, k, n),
                    (&gp, h),
                    (&z_in, k),
                    (&mut grads.slice_mut(span(first)), h),
                )?;
            }
            if fused {
                let run = summed_run(&net.spans, net.siren, i, d, h, c_here);
                sum_blocks(
                    engine,
                    blocks,
                    run.len(),
                    &b.partial,
                    &mut b.grouped,
                    &mut grads.slice_mut(run),
                )?;
            } else {
                engine.gemm(
                    (false, false),
                    (h, 1, n),
                    (&gp, h),
                    (&ones, n),
                    (&mut grads.slice_mut(span(first + 1)), h),
                )?;
                if !net.siren {
                    let gq = b.q.slice(..);
                    engine.gemm(
                        (false, true),
                        (h, d, n),
                        (&gq, h),
                        (&x, d),
                        (&mut grads.slice_mut(span(first + 2)), h),
                    )?;
                    engine.gemm(
                        (false, false),
                        (h, 1, n),
                        (&gq, h),
                        (&ones, n),
                        (&mut grads.slice_mut(span(first + 3)), h),
                    )?;
                }
            }
            if has_p {
                // The gradient with respect to this layer's input, gp·wmᵀ,
                // into p (no longer needed), which then flows on.
                engine.gemm(
                    (true, false),
                    (h, n, h),
                    (&wm, h),
                    (&gp, h),
                    (&mut act.p[i].slice_mut(..), h),
                )?;
                std::mem::swap(&mut b.g, &mut act.p[i]);
            }
        }
        Ok(())
    }

    /// The loss of the last [`Self::loss_and_grads`]; waits for the GPU.
    pub fn read_loss(&self) -> Res<f32> {
        let v = self
            .engine
            .stream
            .clone_dtoh(&self.loss)
            .map_err(|e| format!("reading the loss: {e:?}"))?;
        Ok(v[0])
    }

    /// Queues Adam (burn's formulation) at learning rate `lr`.
    fn adam(&mut self, lr: f32) -> Res<()> {
        self.time += 1;
        let bc2_sqrt = (1.0 - BETA2.powi(self.time)).sqrt();
        let factor = bc2_sqrt / (1.0 - BETA1.powi(self.time));
        let eps = EPSILON * bc2_sqrt;
        let total = self.net.params.len() as i64;
        let mut launch = self.engine.stream.launch_builder(&self.engine.adam);
        launch
            .arg(&total)
            .arg(&mut self.net.params)
            .arg(&self.grads)
            .arg(&mut self.m)
            .arg(&mut self.v)
            .arg(&lr)
            .arg(&factor)
            .arg(&eps)
            .arg(&BETA1)
            .arg(&BETA2);
        // SAFETY: the arguments match adam's signature; the four buffers
        // hold `total` values each.
        unsafe { launch.launch(Engine::grid(total as usize)) }
            .map_err(|e| format!("the Adam kernel: {e:?}"))?;
        Ok(())
    }

    pub(crate) fn upload_pairs(&self, coords: &[f32], targets: &[f32]) -> Res<DevicePairs> {
        let n = coords.len() / self.net.arch.in_dims;
        let up = |v: &[f32]| {
            self.engine
                .stream
                .clone_htod(v)
                .map_err(|e| format!("uploading pairs: {e:?}"))
        };
        Ok(DevicePairs {
            x: up(coords)?,
            y: up(targets)?,
            n,
        })
    }

    pub(crate) fn draw_pairs(&self, pool: &DevicePairs, b: usize) -> Res<DevicePairs> {
        let (d, c) = (self.net.arch.in_dims, self.net.arch.out_dims);
        let (mut x, mut y) = (self.engine.zeros(b * d)?, self.engine.zeros(b * c)?);
        let draw = self.draws.get();
        self.draws.set(draw + 1);
        let (b_i, len, d_i, c_i, seed) = (
            i32::try_from(b).map_err(|_| "a batch of more than 2³¹ rows".to_string())?,
            pool.n as i64,
            d as i32,
            c as i32,
            self.seed.get(),
        );
        let mut launch = self
            .engine
            .stream
            .launch_builder(&self.engine.gather_random);
        launch
            .arg(&b_i)
            .arg(&len)
            .arg(&d_i)
            .arg(&c_i)
            .arg(&pool.x)
            .arg(&pool.y)
            .arg(&mut x)
            .arg(&mut y)
            .arg(&seed)
            .arg(&draw);
        // SAFETY: the arguments match gather_random's signature; the pool
        // holds len rows, the outputs b.
        unsafe { launch.launch(Engine::grid(b)) }
            .map_err(|e| format!("the sampling kernel: {e:?}"))?;
        Ok(DevicePairs { x, y, n: b })
    }
}

/// `out[k] = Σ_b partial[b·len + k]` over `blocks` blocks, in two levels
/// of `sum_blocks` (groups of [`SUM_GROUP`] blocks into `grouped`, then
/// the groups), each adding in block order.
fn sum_blocks(
    engine: &Engine,
    blocks: usize,
    len: usize,
    partial: &CudaSlice<f32>,
    grouped: &mut CudaSlice<f32>,
    out: &mut cudarc::driver::CudaViewMut<f32>,
) -> Res<()> {
    let int = |v: usize| i32::try_from(v).map_err(|_| format!("{v} partial sums are too many"));
    let groups = blocks.div_ceil(SUM_GROUP);
    let (blocks_i, len_i) = (int(blocks)?, int(len)?);
    if groups <= 1 {
        let mut launch = engine.stream.launch_builder(&engine.sum_blocks);
        launch
            .arg(&blocks_i)
            .arg(&blocks_i)
            .arg(&len_i)
            .arg(partial)
            .arg(&mut *out);
        // SAFETY: the arguments match sum_blocks's signature; partial
        // holds blocks·len values, out len.
        return unsafe { launch.launch(Engine::grid(len)) }
            .map(drop)
            .map_err(|e| format!("a sum kernel: {e:?}"));
    }
    let (group_i, groups_i) = (SUM_GROUP as i32, int(groups)?);
    let mut launch = engine.stream.launch_builder(&engine.sum_blocks);
    launch
        .arg(&blocks_i)
        .arg(&group_i)
        .arg(&len_i)
        .arg(partial)
        .arg(&mut *grouped);
    // SAFETY: as above; grouped holds ⌈blocks / SUM_GROUP⌉·len values.
    unsafe { launch.launch(Engine::grid(groups * len)) }
        .map_err(|e| format!("a sum kernel: {e:?}"))?;
    let mut launch = engine.stream.launch_builder(&engine.sum_blocks);
    launch
        .arg(&groups_i)
        .arg(&groups_i)
        .arg(&len_i)
        .arg(&*grouped)
        .arg(&mut *out);
    // SAFETY: as above.
    unsafe { launch.launch(Engine::grid(len)) }
        .map(drop)
        .map_err(|e| format!("a sum kernel: {e:?}"))
}

impl CudaTrainer {
    /// Seeds the generator [`CudaTrainer::draw_pairs`] uses.
    pub(crate) fn set_seed(&self, seed: u64) {
        self.seed.set(seed);
    }

    /// One Adam step at learning rate `lr` on `pairs`: with `read`, the
    /// loss before the update, or `Err(loss)` (and no update) when it is
    /// not finite; without, the step is only queued.
    pub(crate) fn step(
        &mut self,
        pairs: &DevicePairs,
        lr: f64,
        read: bool,
    ) -> Res<Result<Option<f32>, f32>> {
        self.loss_and_grads(pairs)?;
        let value = if read {
            let v = self.read_loss()?;
            if !v.is_finite() {
                return Ok(Err(v));
            }
            Some(v)
        } else {
            None
        };
        self.adam(lr as f32)?;
        Ok(Ok(value))
    }

    /// The trained weights.
    pub(crate) fn into_network(self) -> Res<Network> {
        self.net.download(&self.engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Arch, flatten_in_out, init_network};

    /// The row kernel's sums of each layer land on exactly the tensors,
    /// in `Arch::tensor_specs`'s order and sizes, that the kernel's
    /// comment in kernels.cu lists: checked by name, for the networks the
    /// engine trains, without a GPU.
    #[test]
    fn each_layers_sums_land_on_its_tensors() {
        let siren = Arch::paper_image_of("siren", 3).unwrap();
        let mut shape = Arch::paper_image(1);
        shape.in_dims = 3;
        for arch in [Arch::paper_image(3), shape, siren] {
            let is_siren = arch.name() == "siren";
            let (d, h, c) = (arch.in_dims, arch.hidden, arch.out_dims);
            let net = init_network(&arch, 1);
            let (spans, _) = flatten_in_out(&net);
            let at = |name: &str| {
                let t = net.tensors.iter().position(|t| t.name == name);
                spans[t.unwrap_or_else(|| panic!("no tensor {name}"))]
            };
            let layers = arch.hidden_layers();
            // DeviceNet's indices: a layer's first tensor, the output's.
            let per_layer = tensors_per_layer(is_siren);
            assert_eq!(net.tensors[per_layer * layers].name, "output.weight");
            for c_in in [0, c] {
                for i in 0..layers {
                    let c_here = if i == layers - 1 { c_in } else { 0 };
                    let mut names = Vec::new();
                    let (w, b) = if is_siren {
                        (format!("hidden.{i}.weight"), format!("hidden.{i}.bias"))
                    } else {
                        (
                            format!("hidden.{i}.mask.weight"),
                            format!("hidden.{i}.mask.bias"),
                        )
                    };
                    assert_eq!(net.tensors[per_layer * i].name, w);
                    if i == 0 {
                        names.push(w);
                    }
                    names.push(b);
                    if !is_siren {
                        names.push(format!("hidden.{i}.basis.weight"));
                        names.push(format!("hidden.{i}.basis.bias"));
                    }
                    if c_here > 0 {
                        names.push("output.weight".into());
                    }
                    let mut expect = at(&names[0]).0..at(&names[0]).0;
                    for name in &names {
                        let (start, len) = at(name);
                        assert_eq!(
                            start,
                            expect.end,
                            "{} layer {i}: {name} is not next",
                            arch.label()
                        );
                        expect.end += len;
                    }
                    let run = summed_run(&spans, is_siren, i, d, h, c_here);
                    assert_eq!(run, expect, "{} layer {i}, c_in {c_in}", arch.label());
                }
            }
        }
    }
}
