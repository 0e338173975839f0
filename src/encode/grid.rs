//! Encoding an image as a `grid` network (FORMAT.md §5.9, §6.5): latent
//! grids and a small synthesis fitted together for a rate, the synthesis
//! then coded tensor by tensor (§6.4) at the steps that cost least in
//! distortion plus λ·rate.

use super::image::{budget, finish_image, measured};
use super::{Encoded, RateTarget, Settings, image_signal, metadata};
use crate::Error;
use crate::entropy::Geometric;
use crate::eval::Evaluator;
use crate::format::latents::{MAX_LATENT, grids_of};
use crate::format::{Encoding, SconeFile};
use crate::model::{Arch, Mask, Network, Synthesis, init_network};
use crate::signal::grid::image_coords;
use crate::signal::image::Image;
use crate::train::StepReport;
use crate::train::grid::{GridReport, GridTarget, fit_grid};

/// The image size the presets' steps are for: 768×512.
const REFERENCE_PIXELS: f64 = 393_216.0;

/// The synthesis of the `grid` preset: layers L and hidden width.
pub const SYNTHESIS_SIZE: (usize, usize) = (3, 24);

/// The `grid` architecture of `s` for a `width` × `height` image of
/// `channels` channels: the finest grid at the image's size.
pub fn grid_arch(
    s: &Settings,
    width: usize,
    height: usize,
    channels: usize,
) -> Result<Arch, Error> {
    let hidden_layers = s.layers.saturating_sub(1);
    if s.synthesis != "scone" && !s.omegas.is_empty() {
        return Err(Error::parameter(format!(
            "--omegas applies to SCONE networks, not the `{}` synthesis",
            s.synthesis
        )));
    }
    if s.synthesis == "relu" && s.omega0.is_some() {
        return Err(Error::parameter(
            "--omega0 applies to SCONE and SIREN networks, not the `relu` synthesis",
        ));
    }
    if s.synthesis == "scone" && !s.omegas.is_empty() && s.omegas.len() != hidden_layers {
        return Err(Error::parameter(format!(
            "{} layers need {hidden_layers} basis omegas, found {}",
            s.layers,
            s.omegas.len()
        )));
    }
    let synthesis = match s.synthesis.as_str() {
        "scone" => Synthesis::Scone {
            omega0: s.omega0.unwrap_or(s.grid_train.omega0),
            omegas: if s.omegas.is_empty() {
                vec![s.grid_train.omega; hidden_layers]
            } else {
                s.omegas.clone()
            },
            mask: s.mask,
        },
        "siren" => Synthesis::Siren {
            omega0: s.omega0.unwrap_or(s.grid_train.siren_omega0),
        },
        "relu" => Synthesis::Relu,
        other => {
            return Err(Error::parameter(format!(
                "unknown synthesis `{other}` (one of {})",
                Synthesis::NAMES.join(", ")
            )));
        }
    };
    if s.synthesis != "scone" && s.mask != Mask::Sin2 {
        return Err(Error::parameter(
            "--mask applies to SCONE networks: --arch scone, or --arch grid --synthesis scone",
        ));
    }
    let arch = Arch::grid(
        channels, s.layers, s.hidden, synthesis, s.levels, width, height,
    );
    arch.validate().map_err(|e| match e {
        Error::Format(e) => Error::parameter(e.detail),
        other => other,
    })?;
    Ok(arch)
}

/// Fits `img` as a `grid` network at `settings.rate` (0.8 bits per pixel
/// without one) and returns the file and its measured quality. A budget
/// that cannot pay for the file's header and synthesis is an error before
/// training, or with [`GridSettings::fallback`](super::GridSettings) the
/// coordinate SCONE's encode instead.
pub fn encode_grid(
    img: &Image,
    settings: &Settings,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Encoded, Error> {
    let pixels = img.width * img.height;
    let target = settings.rate.unwrap_or(RateTarget::Bpp(0.8));
    let budget = budget(target, pixels as f64)?;
    let signal = image_signal(img, settings.convention);
    let arch = grid_arch(settings, img.width, img.height, img.channels())?;
    let targets: Vec<f32> = img.data.iter().map(|&v| signal.to_target(v)).collect();
    let mut cfg = settings.grid_train.train.clone();
    if settings.steps_for_rate {
        // The preset's steps are for a 768×512 image; a smaller one takes
        // more (each is cheaper), a larger one fewer.
        let scale = (REFERENCE_PIXELS / pixels as f64).clamp(0.25, 4.0);
        cfg.steps = ((cfg.steps as f64 * scale).round() as usize).max(1);
    }
    // Aim a little under the budget: the coded file lands near the
    // estimate, and what is over is taken off afterwards.
    cfg.target_bpp = budget.map(|b| 0.95 * 8.0 * b as f64 / pixels as f64);
    if let RateTarget::Psnr(p) = target {
        // A little above the target: the coded synthesis loses some.
        cfg.target_bpp = None;
        cfg.target_psnr = Some(p + 0.1);
    }
    let init = init_network(&arch, settings.train.seed);
    // The settings as run, for the `meta` chunk.
    let mut ran = settings.clone();
    ran.grid_train.train.steps = cfg.steps;
    let settings = &ran;
    let placeholder = metadata(settings, measured(999.999, -0.9999));
    let fixed = fixed_bytes(&init, &signal, &placeholder)?;
    if let Some(b) = budget
        && b < fixed
    {
        if settings.grid_train.fallback {
            let mut coordinate = settings.clone();
            coordinate.set_arch("scone");
            return super::image::encode_image(img, &coordinate, progress);
        }
        return Err(Error::parameter(format!(
            "{b} bytes cannot pay for a `grid` file of this {}x{} image: its header and \
             synthesis take about {fixed}; ask for a higher rate, or use --arch scone",
            img.width, img.height
        )));
    }
    cfg.synthesis_bpp = 8.0 * fixed as f64 / pixels as f64;
    let steps = cfg.steps;
    let mut report = |r: &GridReport| {
        progress(&StepReport {
            step: r.step - 1,
            iterations: steps,
            loss: Some(10f64.powf(-r.psnr / 10.0) as f32),
            lr: r.lambda,
        })
    };
    let grid_target = crate::train::grid::GridTarget {
        width: img.width,
        height: img.height,
        channels: img.channels(),
        targets: &targets,
        convention: settings.convention,
    };
    let (net, lambda) = fit_grid(init, &grid_target, &cfg, settings.device, &mut report)?;
    let encodings = synthesis_steps(&net, &grid_target, lambda)?;
    let size_of = |net: &Network| -> Result<u64, Error> {
        let file = SconeFile {
            signal: signal.clone(),
            network: net.clone(),
            encodings: encodings.clone(),
            metadata: Some(placeholder.clone()),
        };
        Ok(file.to_bytes()?.len() as u64)
    };
    let net = match budget {
        Some(b) => fit_to_budget(net, b, &size_of)?,
        None => net,
    };
    finish_image(settings, signal, net, encodings, img)
}

/// What a `grid` file of `init`'s architecture costs besides its latents'
/// words: its chunks and tables, measured on the initial network (all-zero
/// latents, weights that code to nothing), and the synthesis's coded
/// weights at about 9 bits each (6 to 8 measured: the margin keeps a fit
/// whose rate has not settled from running over the budget, which the
/// thinning of [`fit_to_budget`] pays for dearly).
fn fixed_bytes(
    init: &Network,
    signal: &crate::signal::SignalInfo,
    meta: &str,
) -> Result<u64, Error> {
    let arch = &init.arch;
    let headers = SconeFile {
        signal: signal.clone(),
        network: init.clone(),
        encodings: arch
            .tensor_specs()
            .iter()
            .map(|s| {
                if s.latent {
                    Encoding::Latent
                } else {
                    Encoding::Coded { step: 1e3 }
                }
            })
            .collect(),
        metadata: Some(meta.to_owned()),
    }
    .to_bytes()?
    .len() as u64;
    let weights = (arch.trainable_count() - arch.latent_count()) as u64;
    Ok(headers + (9 * weights).div_ceil(8))
}

/// Bits of a tensor coded at `step` under its best geometric model.
fn coded_bits(data: &[f32], step: f32) -> Option<f64> {
    let mut counts = Vec::new();
    for &v in data {
        let k = (v / step).round();
        if k.is_nan() || k.abs() > crate::entropy::MAX_MAGNITUDE as f32 {
            return None;
        }
        let k = k.abs() as usize;
        if counts.len() <= k {
            counts.resize(k + 1, 0u64);
        }
        counts[k] += 1;
    }
    let max = counts.len().saturating_sub(1) as u16;
    Some(Geometric::best_for(&counts, max).cost(&counts))
}

/// Each synthesis tensor's coding step: starting from fine steps, one pass
/// over the tensors picks, for each, the step of 2⁻³ … 2⁻¹⁴ with the least
/// MSE + λ·bits/pixel, the MSE measured on a quarter of the pixels.
fn synthesis_steps(
    net: &Network,
    target: &GridTarget,
    lambda: f64,
) -> Result<Vec<Encoding>, Error> {
    let specs = net.arch.tensor_specs();
    let npix = target.width * target.height;
    let coords = image_coords(
        target.width,
        target.height,
        0,
        target.height,
        target.convention,
    );
    let every = 4;
    let sample: Vec<f32> = coords
        .chunks_exact(2)
        .step_by(every)
        .flatten()
        .copied()
        .collect();
    let c = target.channels;
    let truth: Vec<f32> = target
        .targets
        .chunks_exact(c)
        .step_by(every)
        .flatten()
        .copied()
        .collect();
    let mse = |n: &Network| -> Result<f64, Error> {
        let mut out = vec![0f32; truth.len()];
        Evaluator::new(n)?.eval(&sample, &mut out)?;
        let sq: f64 = out
            .iter()
            .zip(&truth)
            .map(|(a, b)| ((a.clamp(-1.0, 1.0) - b) as f64).powi(2))
            .sum();
        Ok(sq / (4.0 * truth.len() as f64))
    };
    let candidates: Vec<f32> = (3..=14).map(|k| 2f32.powi(-k)).collect();
    let finest = *candidates.last().unwrap();
    let mut steps: Vec<Option<f32>> = specs
        .iter()
        .map(|s| (!s.latent).then_some(finest))
        .collect();
    let quantised = |steps: &[Option<f32>]| -> Network {
        let mut n = net.clone();
        for (t, s) in n.tensors.iter_mut().zip(steps) {
            if let Some(step) = s {
                t.data
                    .iter_mut()
                    .for_each(|v| *v = (*v / step).round() * step);
            }
        }
        n
    };
    for i in 0..specs.len() {
        if specs[i].latent {
            continue;
        }
        let mut best = (f64::INFINITY, finest);
        for &step in &candidates {
            let Some(bits) = coded_bits(&net.tensors[i].data, step) else {
                continue;
            };
            let mut trial = steps.clone();
            trial[i] = Some(step);
            let cost = mse(&quantised(&trial))? + lambda * bits / npix as f64;
            if cost < best.0 {
                best = (cost, step);
            }
        }
        steps[i] = Some(best.1);
    }
    Ok(steps
        .iter()
        .map(|s| match s {
            Some(step) => Encoding::Coded { step: *step },
            None => Encoding::Latent,
        })
        .collect())
}

/// `net` with its latents thinned until its file fits `budget` bytes: a
/// growing share of the latents of magnitude 1 (then 2, …) set to zero,
/// the finest grid's first (each of its latents touches the fewest
/// pixels), in a fixed scattered order within a grid, the share found by
/// bisection. The fit aims under its budget, so this takes off a few
/// percent at most.
fn fit_to_budget(
    net: Network,
    budget: u64,
    size_of: &dyn Fn(&Network) -> Result<u64, Error>,
) -> Result<Network, Error> {
    if size_of(&net)? <= budget {
        return Ok(net);
    }
    let specs = net.arch.tensor_specs();
    let mut cur = net;
    for magnitude in 1..=MAX_LATENT as u32 {
        // Every latent of this magnitude, the finest grid's first, each
        // grid's in a scattered order (a multiplicative hash).
        let mut at: Vec<(u64, usize, usize)> = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            if !s.latent {
                continue;
            }
            for (j, v) in cur.tensors[i].data.iter().enumerate() {
                if v.abs() as u32 == magnitude {
                    let key = (j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
                    at.push(((i as u64) << 48 | key, i, j));
                }
            }
        }
        if at.is_empty() {
            if grids_of(&cur.arch, &cur.tensors)?
                .iter()
                .all(|(_, _, q)| q.iter().all(|&v| v == 0))
            {
                break;
            }
            continue;
        }
        at.sort_unstable();
        let thinned = |count: usize| -> Network {
            let mut n = cur.clone();
            for &(_, i, j) in &at[..count] {
                n.tensors[i].data[j] = 0.0;
            }
            n
        };
        if size_of(&thinned(at.len()))? > budget {
            cur = thinned(at.len());
            continue;
        }
        let (mut lo, mut hi) = (0, at.len());
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if size_of(&thinned(mid))? <= budget {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return Ok(thinned(hi));
    }
    Err(Error::parameter(format!(
        "the smallest `grid` file of this network (all latents zero) takes {} bytes, \
         more than the {budget} allowed: ask for a higher rate, or a narrower --width",
        size_of(&cur)?
    )))
}
