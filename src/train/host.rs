//! The CPU training engine for SCONE networks with the sin² mask (the
//! codec's default and the paper's network): forward pass, backward pass
//! and Adam written out by hand over host buffers, without an autodiff
//! graph.
//!
//! Each hidden layer runs the fused kernels of [`super::kernels`] (each
//! task of rows computes its matrix product and then, while it is in
//! cache, its sines, cosines and mask product in one vectorised pass; one
//! task per core); the output layer, the loss and Adam are short loops over
//! the same buffers.
//! Every activation buffer is kept from one step to the next, so a step
//! allocates almost nothing. burn's autodiff of [`super::NetModel::forward`]
//! computes the same gradients (a test holds them together) and stays the
//! engine for every other network and for CUDA.
//!
//! Results depend only on the inputs: every sum runs over tasks of a fixed
//! size whose partial results are added in task order, whatever the number
//! of threads.

use rayon::prelude::*;

use super::kernels::{self, Layer, ParamGrads};
use crate::model::{Arch, Family, Mask, Network, flatten_in_out, unflatten_in_out};

/// Adam's hyperparameters, as [`super::Trainer`] configures burn's.
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPSILON: f32 = 1e-8;

/// Rows per task of the output layer and loss.
const ROWS_PER_TASK: usize = 1024;

/// Values per task of the Adam update.
const ADAM_CHUNK: usize = 16 * 1024;

/// Whether [`HostTrainer`] can train `arch`.
pub(crate) fn supports(arch: &Arch) -> bool {
    matches!(
        arch.family,
        Family::Scone {
            mask: Mask::Sin2,
            ..
        }
    ) && arch.hidden_layers() > 0
}

/// A SCONE sin² network, its gradients and Adam's moments, all as flat
/// vectors in the order of [`Arch::tensor_specs`], with matrices stored
/// `[in, out]` (transposed from the file's `[out, in]`).
pub(crate) struct HostTrainer {
    arch: Arch,
    omega0: f32,
    omegas: Vec<f32>,
    /// Offset and length of each tensor in the flat vectors.
    spans: Vec<(usize, usize)>,
    params: Vec<f32>,
    grads: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    /// Adam steps taken.
    time: i32,
    work: Workspace,
    /// Quantisation-aware training, when set: the forward and backward
    /// passes run on the weights rounded to their steps, and the rate
    /// term's gradient is added.
    quant: Option<FlatQuantisation>,
    /// The rounded weights of the current step.
    shadow: Vec<f32>,
}

/// [`super::Quantisation`] per tensor of the flat layout.
struct FlatQuantisation {
    /// Each tensor's step; 0 for one left unrounded.
    steps: Vec<f32>,
    /// Each tensor's rate gradient per unit of sign: λ · bits per step.
    rate: Vec<f32>,
}

/// Activation buffers, sized for the last batch.
#[derive(Default)]
struct Workspace {
    rows: usize,
    /// Each hidden layer's output, `[n, h]`.
    z: Vec<Vec<f32>>,
    /// Each hidden layer's `z·wm`, `[n, h]`; reused for gradients on the
    /// way back.
    p: Vec<Vec<f32>>,
    /// The gradient flowing back, `[n, h]`.
    g: Vec<f32>,
    /// Network output, then its loss gradient, `[n, out]`.
    y: Vec<f32>,
}

/// `buf` cut into one slice per tensor.
fn split<'a>(mut buf: &'a mut [f32], spans: &[(usize, usize)]) -> Vec<&'a mut [f32]> {
    let mut parts = Vec::with_capacity(spans.len());
    for &(_, len) in spans {
        let (head, rest) = buf.split_at_mut(len);
        parts.push(head);
        buf = rest;
    }
    parts
}

impl HostTrainer {
    /// A trainer starting from `net`'s weights.
    ///
    /// # Panics
    ///
    /// If [`supports`] rejects `net`'s architecture.
    pub fn new(net: &Network) -> Self {
        assert!(
            supports(&net.arch),
            "the host engine trains SCONE sin² only"
        );
        let Family::Scone { omega0, omegas, .. } = &net.arch.family else {
            unreachable!("checked by supports")
        };
        let (spans, params) = flatten_in_out(net);
        let len = params.len();
        Self {
            arch: net.arch.clone(),
            omega0: *omega0,
            omegas: omegas.clone(),
            spans,
            params,
            grads: vec![0.0; len],
            m: vec![0.0; len],
            v: vec![0.0; len],
            time: 0,
            work: Workspace::default(),
            quant: None,
            shadow: Vec::new(),
        }
    }

    /// Trains through the quantiser from now on (or no longer, with
    /// `None`): see [`super::Quantisation`].
    pub fn set_quantisation(&mut self, q: Option<&super::Quantisation>) {
        self.quant = q.map(|q| FlatQuantisation {
            steps: q.steps.iter().map(|s| s.unwrap_or(0.0)).collect(),
            rate: q.rate.clone(),
        });
    }

    /// The current weights as a plain [`Network`].
    pub fn to_network(&self) -> Network {
        unflatten_in_out(&self.arch, &self.spans, &self.params)
    }

    /// The gradients of the last [`Self::loss_and_grads`] by tensor name,
    /// laid out as [`super::NetModel`]'s parameters (matrices `[in, out]`).
    #[cfg(any(test, feature = "cuda"))]
    pub fn grads(&self) -> Vec<(String, Vec<f32>)> {
        self.arch
            .tensor_specs()
            .into_iter()
            .zip(&self.spans)
            .map(|(spec, &(start, len))| (spec.name, self.grads[start..start + len].to_vec()))
            .collect()
    }

    /// One Adam step on `x` (`[n, in]`) and targets `t` (`[n, out]`) at
    /// learning rate `lr`. Returns the loss before the update, or an error
    /// (and no update) if it is not finite.
    pub fn step(&mut self, x: &[f32], t: &[f32], lr: f64) -> Result<f32, f32> {
        let loss = match self.quant.take() {
            None => self.loss_and_grads(x, t),
            Some(q) => {
                let loss = self.quantised_loss_and_grads(x, t, &q);
                self.quant = Some(q);
                loss
            }
        };
        if !loss.is_finite() {
            return Err(loss);
        }
        self.adam(lr as f32);
        Ok(loss)
    }

    /// [`Self::loss_and_grads`] through the quantiser: the passes run on
    /// the weights rounded to multiples of their steps (a straight-through
    /// estimate: the gradient at the rounded weights updates the float
    /// ones), then each weight's gradient gains the rate term's,
    /// λ · bits per step · sign(w).
    fn quantised_loss_and_grads(&mut self, x: &[f32], t: &[f32], q: &FlatQuantisation) -> f32 {
        self.shadow.clear();
        self.shadow.extend_from_slice(&self.params);
        for (&(start, len), &step) in self.spans.iter().zip(&q.steps) {
            if step > 0.0 {
                for v in &mut self.shadow[start..start + len] {
                    *v = step * (*v / step).round();
                }
            }
        }
        std::mem::swap(&mut self.params, &mut self.shadow);
        let loss = self.loss_and_grads(x, t);
        std::mem::swap(&mut self.params, &mut self.shadow);
        for (&(start, len), &rate) in self.spans.iter().zip(&q.rate) {
            if rate != 0.0 {
                let (g, p) = (
                    &mut self.grads[start..start + len],
                    &self.params[start..start + len],
                );
                for (g, &p) in g.iter_mut().zip(p) {
                    if p != 0.0 {
                        *g += rate * p.signum();
                    }
                }
            }
        }
        loss
    }

    /// The mean squared error of the network on `(x, t)`; leaves every
    /// parameter's gradient of it in `self.grads`.
    pub fn loss_and_grads(&mut self, x: &[f32], t: &[f32]) -> f32 {
        let (d, c, h) = (self.arch.in_dims, self.arch.out_dims, self.arch.hidden);
        let layers = self.omegas.len();
        let n = x.len() / d;
        assert!(x.len() == n * d && t.len() == n * c, "batch shapes");
        self.work.fit(n, layers, h, c);
        let Self {
            omega0,
            omegas,
            spans,
            params,
            grads,
            work,
            ..
        } = self;
        let w = split(params, spans);
        // Forward, keeping each layer's output and z·wm.
        for i in 0..layers {
            let (done, rest) = work.z.split_at_mut(i);
            let z_in = if i == 0 { x } else { &done[i - 1][..] };
            kernels::forward_into(
                &hidden_layer(&w, i, z_in, x, *omega0, omegas[i]),
                &mut work.p[i],
                &mut rest[0],
            );
        }
        let (wo, bo) = (&*w[4 * layers], &*w[4 * layers + 1]);
        let last = &work.z[layers - 1];
        kernels::matmul(
            (n, c, h),
            &mut work.y,
            (last, h as isize, 1),
            (wo, c as isize, 1),
        );
        // Loss, and its gradient with respect to the output in place of it.
        let scale = 2.0 / (n * c) as f32;
        let sums: Vec<f64> = work
            .y
            .par_chunks_mut(ROWS_PER_TASK * c)
            .zip(t.par_chunks(ROWS_PER_TASK * c))
            .map(|(y, t)| {
                let mut sum = 0f64;
                for (y_row, t_row) in y.chunks_exact_mut(c).zip(t.chunks_exact(c)) {
                    for ((y, &t), &b) in y_row.iter_mut().zip(t_row).zip(bo) {
                        let e = *y + b - t;
                        sum += (e * e) as f64;
                        *y = e * scale;
                    }
                }
                sum
            })
            .collect();
        let loss = (sums.iter().sum::<f64>() / (n * c) as f64) as f32;
        // Backward.
        let mut g = split(grads, spans);
        let dy = &work.y;
        let (g_hidden, g_out) = g.split_at_mut(4 * layers);
        kernels::matmul_summed((h, c, n), &mut *g_out[0], last, dy);
        column_sums(dy, c, &mut *g_out[1]);
        kernels::matmul(
            (n, h, c),
            &mut work.g,
            (dy, c as isize, 1),
            (wo, 1, c as isize),
        );
        for i in (0..layers).rev() {
            let z_in = if i == 0 { x } else { &work.z[i - 1][..] };
            let [dwm, dbm, dwb, dbb] = &mut g_hidden[4 * i..4 * i + 4] else {
                unreachable!("four tensors per hidden layer")
            };
            let out = ParamGrads { dwm, dbm, dwb, dbb };
            let need_dz = i > 0;
            kernels::backward_into(
                &hidden_layer(&w, i, z_in, x, *omega0, omegas[i]),
                &mut work.p[i],
                &mut work.g,
                need_dz,
                out,
            );
            if need_dz {
                // p now holds the gradient with respect to this layer's
                // input, which flows on.
                std::mem::swap(&mut work.g, &mut work.p[i]);
            }
        }
        loss
    }

    /// Adam (burn's formulation) at learning rate `lr` from `self.grads`.
    fn adam(&mut self, lr: f32) {
        self.time += 1;
        let bc2_sqrt = (1.0 - BETA2.powi(self.time)).sqrt();
        let factor = bc2_sqrt / (1.0 - BETA1.powi(self.time));
        let eps = EPSILON * bc2_sqrt;
        self.params
            .par_chunks_mut(ADAM_CHUNK)
            .zip(self.grads.par_chunks(ADAM_CHUNK))
            .zip(self.m.par_chunks_mut(ADAM_CHUNK))
            .zip(self.v.par_chunks_mut(ADAM_CHUNK))
            .for_each(|(((p, g), m), v)| {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
                    *m = *m * BETA1 + g * (1.0 - BETA1);
                    *v = *v * BETA2 + g * g * (1.0 - BETA2);
                    *p -= lr * (*m * factor / (v.sqrt() + eps));
                }
            });
    }
}

/// Hidden layer `i` of the weights `w` (one slice per tensor: tensor 4i is
/// its mask weight, then mask bias, basis weight and basis bias; the output
/// weight and bias come last).
fn hidden_layer<'a>(
    w: &'a [&mut [f32]],
    i: usize,
    z: &'a [f32],
    x: &'a [f32],
    omega0: f32,
    omega: f32,
) -> Layer<'a> {
    Layer {
        z,
        x,
        wm: &*w[4 * i],
        bm: &*w[4 * i + 1],
        wb: &*w[4 * i + 2],
        bb: &*w[4 * i + 3],
        omega0,
        omega,
    }
}

/// `out[j] = Σ_rows m[row, j]` for row-major `m` with `c` columns, summed in
/// row order.
fn column_sums(m: &[f32], c: usize, out: &mut [f32]) {
    out.fill(0.0);
    for row in m.chunks_exact(c) {
        for (o, v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

impl Workspace {
    /// Sizes every buffer for `n` rows.
    fn fit(&mut self, n: usize, layers: usize, h: usize, c: usize) {
        if self.rows == n && self.z.len() == layers {
            return;
        }
        let buf = || vec![0f32; n * h];
        self.z = (0..layers).map(|_| buf()).collect();
        self.p = (0..layers).map(|_| buf()).collect();
        self.g = buf();
        self.y = vec![0f32; n * c];
        self.rows = n;
    }
}
