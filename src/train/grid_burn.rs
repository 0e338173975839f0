//! Fitting a `grid` network (FORMAT.md §5.9) with burn's autodiff: the
//! trainer of `--device cuda` (burn-cuda), run on the CPU's Flex backend by
//! the tests that hold it to [`super::grid`]'s own engine.
//!
//! The steps are those of [`super::grid`], as tensor operations on the
//! whole image:
//! 1. each grid (`latent.{k}`, stored `[w, h]` in the [`NetModel`] as every
//!    matrix is, hence transposed back) plus uniform noise, or rounded
//!    straight through, is upsampled with Catmull-Rom's cubic: four
//!    gathered columns weighted and summed, then four gathered rows;
//! 2. the synthesis runs on the `[pixels, levels]` latents
//!    ([`NetModel::forward_grid`]);
//! 3. the rate: each latent's bits under a discretised Laplace whose mean
//!    is the context model's prediction from its rounded neighbours and
//!    whose scale is its class's, the model refitted on the host to the
//!    rounded latents every few steps;
//! 4. Adam on the synthesis and on the latents, each at its own rate.
//!
//! [`super::grid::drive`] runs the schedule, as for the CPU's engine.

use burn::module::{AutodiffModule, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, ElementConversion, Int, Tensor, TensorData};

use super::grid::{
    AxisTaps, Context, GridEngine, GridReport, GridTarget, GridTrainConfig, StepSettings,
    axis_coords, check_target, context_of, drive, latent_grids,
};
use super::model::NetModel;
use crate::Error;
use crate::format::latents::{self, MAX_LATENT, PREDICTOR_SHIFT};
use crate::model::Network;

/// [`super::grid::fit_grid`] on burn backend `B`: reads the MSE only
/// before each refit and at the last step, so that a GPU runs ahead of
/// the host.
pub(crate) fn fit_grid_burn<B: AutodiffBackend>(
    init: Network,
    target: &GridTarget,
    cfg: &GridTrainConfig,
    device: &B::Device,
    progress: &mut dyn FnMut(&GridReport),
) -> Result<(Network, f64), Error> {
    check_target(&init, target)?;
    let mut engine = BurnGrid::<B>::new(&init, target, device);
    B::seed(device, cfg.seed ^ 0x6772_6964);
    let lambda = drive(&mut engine, cfg, false, progress)?;
    Ok((engine.into_network()?, lambda))
}

/// One grid's taps on the image's columns and rows.
struct LevelTaps<B: Backend> {
    w: usize,
    h: usize,
    /// The four columns each image column reads, and their weights `[1, W]`.
    ix: Vec<Tensor<B, 1, Int>>,
    wx: Vec<Tensor<B, 2>>,
    /// The four rows each image row reads, and their weights `[H, 1]`.
    iy: Vec<Tensor<B, 1, Int>>,
    wy: Vec<Tensor<B, 2>>,
}

impl<B: Backend> LevelTaps<B> {
    fn new(xs: &[f32], ys: &[f32], w: usize, h: usize, device: &B::Device) -> Self {
        let (tx, ty) = (AxisTaps::new(xs, w), AxisTaps::new(ys, h));
        let index = |t: &AxisTaps, a: usize| {
            let v: Vec<i64> = t.idx.iter().map(|i| i[a] as i64).collect();
            Tensor::<B, 1, Int>::from_data(TensorData::new(v, [t.idx.len()]), device)
        };
        let weight = |t: &AxisTaps, a: usize, shape: [usize; 2]| {
            let v: Vec<f32> = t.w.iter().map(|w| w[a]).collect();
            Tensor::<B, 2>::from_data(TensorData::new(v, shape), device)
        };
        Self {
            w,
            h,
            ix: (0..4).map(|a| index(&tx, a)).collect(),
            wx: (0..4).map(|a| weight(&tx, a, [1, xs.len()])).collect(),
            iy: (0..4).map(|a| index(&ty, a)).collect(),
            wy: (0..4).map(|a| weight(&ty, a, [ys.len(), 1])).collect(),
        }
    }

    /// `q` (`[h, w]`) upsampled to the image, `[H, W]`.
    fn upsample(&self, q: Tensor<B, 2>) -> Tensor<B, 2> {
        let sum = |parts: Vec<Tensor<B, 2>>| parts.into_iter().reduce(|a, b| a.add(b)).unwrap();
        let rows = sum((0..4)
            .map(|a| {
                q.clone()
                    .select(1, self.ix[a].clone())
                    .mul(self.wx[a].clone())
            })
            .collect());
        sum((0..4)
            .map(|b| {
                rows.clone()
                    .select(0, self.iy[b].clone())
                    .mul(self.wy[b].clone())
            })
            .collect())
    }
}

/// The latents each step reads: the float ones plus this noise (one
/// `[h, w]` tensor per grid), or rounded, straight through.
pub(crate) enum Latents<B: Backend> {
    Noise(Vec<Tensor<B, 2>>),
    Rounded,
}

/// The engine of [`fit_grid_burn`].
pub(crate) struct BurnGrid<B: AutodiffBackend> {
    /// Always `Some` between steps; the optimiser consumes and returns it.
    model: Option<NetModel<B>>,
    optim: OptimizerAdaptor<Adam, NetModel<B>, B>,
    device: B::Device,
    /// The ids of the grids' parameters and of the synthesis's, each
    /// stepped by Adam at its own rate.
    latent_ids: Vec<ParamId>,
    synthesis_ids: Vec<ParamId>,
    taps: Vec<LevelTaps<B>>,
    contexts: Vec<Context>,
    /// `[pixels, 2]` coordinates and `[pixels, channels]` targets.
    x: Tensor<B, 2>,
    targets: Tensor<B, 2>,
    npix: usize,
}

impl<B: AutodiffBackend> BurnGrid<B> {
    /// The engine for `init`, which [`check_target`] has accepted.
    pub(crate) fn new(init: &Network, target: &GridTarget, device: &B::Device) -> Self {
        let (width, height, c) = (target.width, target.height, target.channels);
        let npix = width * height;
        let (xs, ys) = (
            axis_coords(width, target.convention),
            axis_coords(height, target.convention),
        );
        let grids = latent_grids(init);
        let taps = grids
            .iter()
            .map(|(w, h, _)| LevelTaps::new(&xs, &ys, *w, *h, device))
            .collect();
        let contexts = grids
            .iter()
            .map(|_| Context {
                predictor: [0; 4],
                scales: vec![1.0; latents::ENCODER_CLASSES],
                bits: 0.0,
            })
            .collect();
        let model = NetModel::from_network(init, device);
        let (mut latent_ids, mut synthesis_ids) = (Vec::new(), Vec::new());
        for (s, p) in init.arch.tensor_specs().iter().zip(&model.params) {
            if s.latent {
                latent_ids.push(p.id);
            } else {
                synthesis_ids.push(p.id);
            }
        }
        let mut coords = Vec::with_capacity(2 * npix);
        for &y in &ys {
            for &x in &xs {
                coords.extend_from_slice(&[x, y]);
            }
        }
        Self {
            model: Some(model),
            optim: AdamConfig::new()
                .with_beta_1(0.9)
                .with_beta_2(0.999)
                .with_epsilon(1e-8)
                .init(),
            device: device.clone(),
            latent_ids,
            synthesis_ids,
            taps,
            contexts,
            x: Tensor::from_data(TensorData::new(coords, [npix, 2]), device),
            targets: Tensor::from_data(TensorData::new(target.targets.to_vec(), [npix, c]), device),
            npix,
        }
    }

    fn model(&self) -> &NetModel<B> {
        self.model
            .as_ref()
            .expect("the model is present between steps")
    }

    /// The float latents, `[h, w]` each, finest first.
    fn latents(&self, model: &NetModel<B>) -> Vec<Tensor<B, 2>> {
        (0..self.taps.len())
            .map(|k| model.param(&format!("latent.{k}")).transpose())
            .collect()
    }

    /// Uniform noise in [−½, ½) for every latent.
    fn noise(&self) -> Vec<Tensor<B, 2>> {
        self.taps
            .iter()
            .map(|t| Tensor::random([t.h, t.w], Distribution::Uniform(-0.5, 0.5), &self.device))
            .collect()
    }

    /// The loss, MSE (samples in [0, 1]) + λ·bits/pixel, and the MSE.
    pub(crate) fn loss(
        &self,
        model: &NetModel<B>,
        latents: &Latents<B>,
        lambda: f64,
    ) -> (Tensor<B, 1>, Tensor<B, 1>) {
        let mut lat = Vec::with_capacity(self.taps.len());
        let mut bits: Option<Tensor<B, 1>> = None;
        for (k, y) in self.latents(model).into_iter().enumerate() {
            let rounded = y.clone().detach().round();
            let q = match latents {
                Latents::Noise(n) => y.add(n[k].clone()),
                // round(y), with y's gradient.
                Latents::Rounded => y.clone().add(rounded.clone().sub(y.detach())),
            };
            lat.push(self.taps[k].upsample(q.clone()).reshape([self.npix, 1]));
            let b = self.level_bits(&self.contexts[k], rounded, q);
            bits = Some(match bits {
                Some(acc) => acc.add(b),
                None => b,
            });
        }
        let pred = model.forward_grid(Tensor::cat(lat, 1), self.x.clone());
        // MSE on [0, 1] samples is a quarter of it on [−1, 1].
        let mse = pred
            .sub(self.targets.clone())
            .square()
            .mean()
            .mul_scalar(0.25);
        let rate = bits
            .expect("a grid network has a grid")
            .mul_scalar(lambda / self.npix as f64);
        (mse.clone().add(rate), mse)
    }

    /// Σ bits of the latents `q` of one grid under `ctx`, predicted from
    /// the rounded latents `r` (both `[h, w]`).
    fn level_bits(&self, ctx: &Context, r: Tensor<B, 2>, q: Tensor<B, 2>) -> Tensor<B, 1> {
        let [h, w] = r.dims();
        let zeros = |rows, cols| Tensor::<B, 2>::zeros([rows, cols], &self.device);
        // The neighbour to the left / right of each latent, 0 off the grid.
        let left = |t: Tensor<B, 2>| {
            if w == 1 {
                zeros(h, 1)
            } else {
                Tensor::cat(vec![zeros(h, 1), t.narrow(1, 0, w - 1)], 1)
            }
        };
        let right = |t: Tensor<B, 2>| {
            if w == 1 {
                zeros(h, 1)
            } else {
                Tensor::cat(vec![t.narrow(1, 1, w - 1), zeros(h, 1)], 1)
            }
        };
        let up = if h == 1 {
            zeros(1, w)
        } else {
            Tensor::cat(vec![zeros(1, w), r.clone().narrow(0, 0, h - 1)], 0)
        };
        let n = [left(r), up.clone(), left(up.clone()), right(up)];
        // μ = ⌊(Σ cₙ·n + 32) / 64⌋ clamped (FORMAT.md §6.5); exact in f32
        // for the latents' magnitudes.
        let c = ctx.predictor;
        let s = n
            .iter()
            .zip(c)
            .map(|(t, c)| t.clone().mul_scalar(c as f32))
            .reduce(|a, b| a.add(b))
            .unwrap();
        let half = (1 << (PREDICTOR_SHIFT - 1)) as f32;
        let mu = s
            .add_scalar(half)
            .div_scalar((1 << PREDICTOR_SHIFT) as f32)
            .floor()
            .clamp(-(MAX_LATENT as f32), MAX_LATENT as f32);
        // The class: bit length of |A| + |B| + |C| + |D|, at most
        // classes − 1; each class's scale added as a step.
        let e = n
            .into_iter()
            .map(|t| t.abs())
            .reduce(|a, b| a.add(b))
            .unwrap();
        let scales = &ctx.scales;
        let mut b = zeros(h, w).add_scalar(scales[0]);
        for k in 0..scales.len() - 1 {
            let step = scales[k + 1] - scales[k];
            if step != 0.0 {
                let over = e.clone().greater_equal_elem((1u32 << k) as f32).float();
                b = b.add(over.mul_scalar(step));
            }
        }
        laplace_bits(q.sub(mu), b).sum()
    }

    /// Downloads one grid's float latents, `[h, w]` row-major.
    fn download(t: Tensor<B, 2>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().expect("latents are f32")
    }
}

/// Bits of latents at distances `r` from their predictions under
/// Laplaces of scales `b` discretised to unit bins, as
/// [`super::grid`]'s `laplace_bits`: the tail's closed form beyond ½, the
/// central bin's within (each branch fed values in its own range, so that
/// the other's gradient stays finite).
fn laplace_bits<B: Backend>(r: Tensor<B, 2>, b: Tensor<B, 2>) -> Tensor<B, 2> {
    let ln2 = std::f32::consts::LN_2;
    let a = r.abs();
    let tail = a.clone().greater_equal_elem(0.5);
    let outer = a
        .clone()
        .clamp_min(0.5)
        .sub_scalar(0.5)
        .div(b.clone())
        .sub(
            b.clone()
                .recip()
                .neg()
                .exp()
                .neg()
                .add_scalar(1.0)
                .mul_scalar(0.5)
                .log(),
        )
        .div_scalar(ln2);
    let inner_a = a.clamp_max(0.5);
    let e1 = inner_a.clone().sub_scalar(0.5).div(b.clone()).exp();
    let e2 = inner_a.add_scalar(0.5).neg().div(b).exp();
    let p = e1.add(e2).mul_scalar(-0.5).add_scalar(1.0).clamp_min(1e-9);
    let inner = p.log().neg().div_scalar(ln2);
    inner.mask_where(tail, outer)
}

impl<B: AutodiffBackend> GridEngine for BurnGrid<B> {
    fn refit(&mut self) -> Result<f64, Error> {
        let grids: Vec<Vec<f32>> = self
            .latents(self.model())
            .into_iter()
            .map(|t| Self::download(t.detach()))
            .collect();
        let mut bits = 0.0;
        for ((ctx, taps), y) in self.contexts.iter_mut().zip(&self.taps).zip(&grids) {
            *ctx = context_of(taps.w, taps.h, y);
            bits += ctx.bits;
        }
        Ok(bits / self.npix as f64)
    }

    fn step(&mut self, s: StepSettings, read: bool) -> Result<Option<f64>, Error> {
        let model = self
            .model
            .take()
            .expect("the model is present between steps");
        let latents = if s.noisy {
            Latents::Noise(self.noise())
        } else {
            Latents::Rounded
        };
        let (loss, mse) = self.loss(&model, &latents, s.lambda);
        let value = read.then(|| mse.into_scalar().elem::<f64>());
        let mut grads = loss.backward();
        let syn = GradientsParams::from_params(&mut grads, &model, &self.synthesis_ids);
        let lat = GradientsParams::from_params(&mut grads, &model, &self.latent_ids);
        let model = self.optim.step(s.lr_synthesis as f64, model, syn);
        self.model = Some(self.optim.step(s.lr_latents as f64, model, lat));
        Ok(value)
    }

    fn into_network(self) -> Result<Network, Error> {
        let mut net = self
            .model
            .expect("the model is present between steps")
            .valid()
            .to_network();
        let specs = net.arch.tensor_specs();
        for (s, t) in specs.iter().zip(&mut net.tensors) {
            if s.latent {
                t.data
                    .iter_mut()
                    .for_each(|v| *v = v.round().clamp(-(MAX_LATENT as f32), MAX_LATENT as f32));
            }
        }
        Network::new(net.arch, net.tensors)
    }
}

#[cfg(test)]
impl<B: AutodiffBackend> BurnGrid<B> {
    /// The loss of the latents plus `noise` (host values, one grid each)
    /// at λ under the contexts given, and every tensor's gradient in
    /// [`crate::model::Arch::tensor_specs`] order, matrices as stored.
    pub(crate) fn loss_and_grads(
        &mut self,
        noise: &[Vec<f32>],
        contexts: Vec<Context>,
        lambda: f64,
    ) -> (f64, Vec<Vec<f32>>) {
        self.contexts = contexts;
        let model = self.model.take().unwrap();
        let noise = noise
            .iter()
            .zip(&self.taps)
            .map(|(n, t)| Tensor::from_data(TensorData::new(n.clone(), [t.h, t.w]), &self.device))
            .collect();
        let (loss, _) = self.loss(&model, &Latents::Noise(noise), lambda);
        let value = loss.clone().into_scalar().elem::<f64>();
        let grads = loss.backward();
        let specs = model.arch().tensor_specs();
        let out = specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let g = model.params[i]
                    .val()
                    .grad(&grads)
                    .expect("every tensor is trained");
                let v = g.into_data().to_vec::<f32>().unwrap();
                if s.shape.len() == 2 {
                    crate::model::transposed(&v, s.shape[1], s.shape[0])
                } else {
                    v
                }
            })
            .collect();
        self.model = Some(model);
        (value, out)
    }
}
