//! Encoding an image: at fixed precision (`--bits`), or coded at a rate
//! or quality (FORMAT.md §6.4) with quantisation-aware training.

use super::rate;
use super::{
    RateTarget, Settings, encodings_for_bits, finish_with, metadata, quality_bpp, rounded,
};
use crate::Error;
use crate::format::{Encoding, SconeFile};
use crate::metrics::quality;
use crate::model::{Arch, Network, init_network};
use crate::signal::grid::image_coords;
use crate::signal::image::Image;
use crate::signal::{Convention, Kind, SignalInfo};
use crate::train::{self, GridData, Quantisation, StepReport, TrainConfig};

/// The result of encoding.
pub struct Encoded {
    pub file: SconeFile,
    pub bytes: Vec<u8>,
    /// PSNR in dB of the decoded file at the source's size and bit depth.
    pub psnr: f64,
    pub ssim: f64,
}

/// The signal description for an image encoded with `convention`.
pub fn image_signal(img: &Image, convention: Convention) -> SignalInfo {
    SignalInfo {
        kind: Kind::Image,
        layout: img.layout,
        sizes: vec![img.width as u32, img.height as u32],
        bit_depth: img.bit_depth,
        value_range: [0.0, 1.0],
        convention,
        frame_rate: None,
        domain: None,
    }
}

/// Fits `img` and returns the encoded file and its measured quality: coded
/// at `settings.rate` when it is set, else at `settings.bits`.
pub fn encode_image(
    img: &Image,
    settings: &Settings,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Encoded, Error> {
    if settings.arch == "grid" {
        return super::grid::encode_grid(img, settings, progress);
    }
    if let Some(target) = settings.rate {
        return encode_coded(img, settings, target, progress);
    }
    let signal = image_signal(img, settings.convention);
    let arch = settings.arch(2, img.channels())?;
    let data = grid_data(img, &signal, settings.convention)?;
    let init = init_network(&arch, settings.train.seed);
    let net = train::fit(init, &data, &settings.train, settings.device, progress)?;
    let encodings = encodings_for_bits(&net, settings.bits)?;
    finish_image(settings, signal, net, encodings, img)
}

/// The file of `net` stored with `encodings`, and the PSNR and SSIM of
/// its decoded image against `img`.
pub(super) fn finish_image(
    settings: &Settings,
    signal: SignalInfo,
    net: Network,
    encodings: Vec<Encoding>,
    img: &Image,
) -> Result<Encoded, Error> {
    let (file, bytes, (psnr, ssim)) = finish_with(settings, signal, net, encodings, |decoded| {
        let (psnr, ssim) = quality::image(decoded, img)?;
        Ok(((psnr, ssim), measured(psnr, ssim)))
    })?;
    Ok(Encoded {
        file,
        bytes,
        psnr,
        ssim,
    })
}

fn grid_data(img: &Image, signal: &SignalInfo, convention: Convention) -> Result<GridData, Error> {
    let coords = image_coords(img.width, img.height, 0, img.height, convention);
    let targets = img.data.iter().map(|&v| signal.to_target(v)).collect();
    GridData::new(coords, targets, 2, img.channels())
}

pub(super) fn measured(psnr: f64, ssim: f64) -> serde_json::Value {
    serde_json::json!({
        "psnr_db": rounded(psnr, 3),
        "ssim": rounded(ssim, 4),
    })
}

/// Bits a coded trained parameter costs where the rate search lands for
/// networks sized by [`plan`]: how many parameters a rate buys. These
/// networks are sensitive to their weights: on kodim05, 4 × 320 lost
/// 0.15 dB to coding at 5.5 bits a parameter, 1.0 dB at 4.5 and 3.0 dB at
/// 3.4, while 1.2 times the parameters buys about 0.35 dB at equal time;
/// 5.5 is where the two balance.
const BITS_PER_PARAMETER: f64 = 5.5;

/// Bytes of a coded file besides its weights: header, `SGNL`, `ARCH`, the
/// tensor table, `meta`, `DONE` (about 930 for a 4-layer SCONE).
const OVERHEAD_BYTES: f64 = 900.0;

/// Random pixels per step of a network sized for a rate (all of them for
/// smaller images): on kodim05 at equal time, 4 × 192 reached 18.6 dB
/// with 8,192 pixels a step, 22.3 with 16,384, 24.8 with 32,768 and 4 ×
/// 256 25.5 with 65,536; 131,072 gave fewer steps and 25.0.
const BATCH: usize = 65_536;

/// Seconds of training (float and quantisation-aware) a fit sized for a
/// rate takes on the 2-core Xeon the presets were timed on.
const TRAIN_SECONDS: f64 = 115.0;

/// Seconds a training step takes per pixel of its batch on that machine,
/// for a 4-layer SCONE of `params` trained parameters and width `width`:
/// 4.7·10⁻¹¹ per parameter (the matrix products) plus 1.4·10⁻⁸ per unit
/// of width (the sines, cosines and products around them), fitted to fits
/// of widths 96 to 320.
fn step_seconds_per_pixel(params: f64, width: f64) -> f64 {
    4.7e-11 * params + 1.4e-8 * width
}

/// The fewest and most steps a network sized for a rate takes.
const STEPS: (usize, usize) = (100, 6000);

/// The widest network [`plan`] picks.
const MAX_WIDTH: usize = 384;

/// The part of the steps that trains through the quantiser.
const QAT_SHARE: f64 = 0.15;

/// `s` with the network's width (with `size_for_rate`) chosen for `bits` of
/// weights on an image of `pixels` pixels with `channels` channels, and
/// (with `steps_for_rate`) its batch and steps for the time budget.
fn plan(s: &mut Settings, bits: f64, pixels: usize, channels: usize) -> Result<(), Error> {
    if s.size_for_rate {
        let params = ((bits - 8.0 * OVERHEAD_BYTES) / BITS_PER_PARAMETER).max(64.0) as usize;
        // The SCONE of this many parameters; another family matches its
        // budget as the settings say.
        let scone = Arch::scone(
            2,
            channels,
            s.layers,
            1,
            s.omega0.unwrap_or(30.0),
            s.omegas.clone(),
            s.mask,
        );
        s.hidden = scone
            .with_trainable_budget(params, false)
            .hidden
            .clamp(8, MAX_WIDTH);
    }
    if s.steps_for_rate {
        let batch = BATCH.min(pixels);
        s.train.batch = crate::train::Batch::Random(batch);
        let trained = s.arch(2, channels)?.trainable_count() as f64;
        let per_step = batch as f64 * step_seconds_per_pixel(trained, s.hidden as f64);
        s.train.iterations = ((TRAIN_SECONDS / per_step) as usize).clamp(STEPS.0, STEPS.1);
        s.qat.steps = (s.train.iterations as f64 * QAT_SHARE).round() as usize;
    }
    Ok(())
}

/// The byte budget of `target` for an image of `pixels` pixels; `None` for
/// a PSNR target. A quality's budget is for the weights: the file adds the
/// bytes of the network's smallest file (headers, table, `meta`), so that a
/// small image never fails at the default quality.
pub(super) fn budget(target: RateTarget, pixels: f64) -> Result<Option<u64>, Error> {
    let bpp = match target {
        RateTarget::Bytes(n) => return Ok(Some(n)),
        RateTarget::Psnr(d) => {
            if !(d.is_finite() && d > 0.0) {
                return Err(Error::parameter(format!(
                    "a PSNR target must be a positive number of dB, not {d}"
                )));
            }
            return Ok(None);
        }
        RateTarget::Bpp(b) => b,
        RateTarget::Quality(q) => {
            if !(1..=100).contains(&q) {
                return Err(Error::parameter(format!(
                    "the quality must be 1 to 100, not {q}"
                )));
            }
            quality_bpp(q)
        }
    };
    if !(bpp.is_finite() && bpp > 0.0) {
        return Err(Error::parameter(format!(
            "a rate must be a positive number of bits per pixel, not {bpp}"
        )));
    }
    Ok(Some((bpp * pixels / 8.0).round() as u64))
}

/// The coded path: a network sized for the rate, trained in float, then
/// through the quantiser at the steps that meet the target, then coded at
/// the steps that meet it exactly.
fn encode_coded(
    img: &Image,
    settings: &Settings,
    target: RateTarget,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Encoded, Error> {
    let pixels = (img.width * img.height) as f64;
    let budget = budget(target, pixels)?;
    let mut s = settings.clone();
    // A quality's rate is for the weights; an explicit one counts the whole
    // file. A PSNR target gets the network of the ladder's top quality, so
    // that the target is within its reach; the step search then spends no
    // more bits than the target needs.
    let planned_bits = match (budget, target) {
        (Some(b), RateTarget::Quality(_)) => 8.0 * (b as f64 + OVERHEAD_BYTES),
        (Some(b), _) => 8.0 * b as f64,
        (None, _) => quality_bpp(100) * pixels + 8.0 * OVERHEAD_BYTES,
    };
    plan(&mut s, planned_bits, img.width * img.height, img.channels())?;
    let signal = image_signal(img, s.convention);
    let arch = s.arch(2, img.channels())?;
    let data = grid_data(img, &signal, s.convention)?;
    let qat_steps = if train_through_quantiser(&arch, &s) {
        s.qat.steps.min(s.train.iterations / 2)
    } else {
        0
    };
    let total = s.train.iterations;
    let float_cfg = TrainConfig {
        iterations: total - qat_steps,
        ..s.train.clone()
    };
    let init = init_network(&arch, s.train.seed);
    let mut net = train::fit(init, &data, &float_cfg, s.device, progress)?;
    // Sensitivities on at most 65,536 pixels spread over the image.
    let every = (img.width * img.height).div_ceil(1 << 16).max(1);
    let sample: Vec<f32> = data
        .coords
        .chunks_exact(2)
        .step_by(every)
        .flatten()
        .copied()
        .collect();
    let g = rate::sensitivities(&net, &sample, s.train.seed)?;
    // The search counts every chunk: `meta` at least as long as the final
    // one (its figures are rounded to 3 and 4 decimals).
    let placeholder = metadata(&s, measured(999.999, -0.9999));
    let file_of = |net: &Network| SconeFile {
        signal: signal.clone(),
        network: net.clone(),
        encodings: vec![Encoding::F32; net.tensors.len()],
        metadata: Some(placeholder.clone()),
    };
    let search = |net: &Network| -> Result<f64, Error> {
        let budget = match (budget, target) {
            (Some(b), RateTarget::Quality(_)) => Some(b + rate::smallest_bytes(&file_of(net), &g)?),
            (b, _) => b,
        };
        match budget {
            Some(b) => match rate::fit_budget(&file_of(net), &g, b)? {
                Some((alpha, _)) => Ok(alpha),
                None => Err(Error::parameter(format!(
                    "{b} bytes are too few for this network: try a smaller --width, or a higher rate"
                ))),
            },
            None => {
                let RateTarget::Psnr(d) = target else {
                    unreachable!("a target without a budget is a PSNR")
                };
                rate::fit_psnr(&file_of(net), &g, d, |f| Ok(quality::image(f, img)?.0))?
                    .ok_or_else(|| {
                        Error::parameter(format!(
                            "this network does not reach {d} dB: try a larger --width, more --iterations or a lower target"
                        ))
                    })
            }
        }
    };
    if qat_steps > 0 {
        let alpha = search(&net)?;
        let steps = rate::steps(&net, &g, alpha);
        let lambda = rate::lambda(alpha) * s.qat.rate_scale;
        let rate_grads = rate::tensor_models(&net, &steps)
            .iter()
            .zip(&steps)
            .map(|(m, step)| match (m, step) {
                (Some(m), Some(step)) => (lambda * m.bits_per_step() / *step as f64) as f32,
                _ => 0.0,
            })
            .collect();
        let q = Quantisation {
            steps,
            rate: rate_grads,
        };
        let qat_cfg = TrainConfig {
            iterations: qat_steps,
            lr: s.qat.lr,
            lr_min: s.qat.lr / 100.0,
            seed: s.train.seed.wrapping_add(1),
            ..s.train.clone()
        };
        let done = total - qat_steps;
        net = train::fit_quantised(net, &data, &qat_cfg, &q, &mut |r| {
            progress(&StepReport {
                step: done + r.step,
                iterations: total,
                ..*r
            })
        })?;
    }
    let alpha = search(&net)?;
    let encodings = rate::encodings(&net, &g, alpha);
    finish_image(&s, signal, net, encodings, img)
}

/// Whether the fit ends through the quantiser: every network on the CPU
/// (SCONE sin² on the host engine, the others with burn's autodiff); the
/// CUDA engine has no such phase, so a network trained there is coded
/// after its float training.
fn train_through_quantiser(arch: &Arch, s: &Settings) -> bool {
    s.qat.steps > 0 && s.device == crate::device::Device::Cpu && train::trains_quantised(arch)
}
