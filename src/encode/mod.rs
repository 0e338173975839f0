//! The encoder: fit a network to a signal, quantise it, write a file, and
//! measure the quality of what a decoder will get back.

use crate::Error;
use crate::decode::Evaluator;
use crate::format::{Encoding, SconeFile};
use crate::metrics;
use crate::model::{Arch, Mask, Network, init_network};
use crate::signal::grid::image_coords;
use crate::signal::image::{Image, quantise};
use crate::signal::render::render_rows;
use crate::signal::{Convention, Kind, SignalInfo};
use crate::train::{self, Batch, Device, GridData, StepReport, TrainConfig};

/// A named set of encoder settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Fits a 768×512 image in about two minutes on two CPU cores.
    Default,
    /// The paper's image setting: 5 × 250, ω₀ = 30, ω = [90, 60, 30, 10],
    /// 10k full-batch Adam steps, lr 1e-4 with cosine decay to 1e-6.
    Paper,
}

/// Everything that decides what the encoder produces.
#[derive(Clone, Debug)]
pub struct Settings {
    pub preset: Preset,
    pub layers: usize,
    pub hidden: usize,
    pub omega0: f32,
    pub omegas: Vec<f32>,
    pub train: TrainConfig,
    /// 32, 16 or 8 (see [`encodings_for_bits`]).
    pub bits: u8,
    pub convention: Convention,
    pub device: Device,
}

impl Settings {
    pub fn preset(preset: Preset) -> Self {
        match preset {
            Preset::Default => Self {
                preset,
                layers: 4,
                hidden: 128,
                omega0: 30.0,
                omegas: vec![90.0, 60.0, 30.0],
                train: TrainConfig {
                    iterations: 1200,
                    lr: 2e-3,
                    lr_min: 2e-5,
                    batch: Batch::Random(16_384),
                    seed: 0,
                },
                bits: 8,
                convention: Convention::CellCentre,
                device: Device::Cpu,
            },
            Preset::Paper => Self {
                preset,
                layers: 5,
                hidden: 250,
                omega0: 30.0,
                omegas: vec![90.0, 60.0, 30.0, 10.0],
                train: TrainConfig::paper(),
                bits: 16,
                // The paper's code samples with `linspace(-1, 1, N)`.
                convention: Convention::Endpoints,
                device: Device::Cpu,
            },
        }
    }

    /// The architecture these settings fit for a signal with `in_dims`
    /// coordinates and `out_dims` channels.
    pub fn arch(&self, in_dims: usize, out_dims: usize) -> Result<Arch, Error> {
        let arch = Arch {
            in_dims,
            out_dims,
            layers: self.layers,
            hidden: self.hidden,
            omega0: self.omega0,
            omegas: self.omegas.clone(),
            mask: Mask::Sin2,
        };
        // The same rules that make a file invalid make a request invalid.
        arch.validate().map_err(|e| match e {
            Error::Format(m) => Error::Parameter(m),
            other => other,
        })?;
        Ok(arch)
    }
}

/// Default basis frequencies for `hidden_layers` layers: the paper's
/// [90, 60, 30, 10] for four, otherwise evenly spaced from 90 down to 10.
pub fn default_omegas(hidden_layers: usize) -> Vec<f32> {
    match hidden_layers {
        4 => vec![90.0, 60.0, 30.0, 10.0],
        1 => vec![90.0],
        n => (0..n)
            .map(|i| 90.0 - 80.0 * i as f32 / (n - 1) as f32)
            .collect(),
    }
}

/// How each tensor is stored for a `--bits` choice: 32 stores everything
/// as f32; 16 and 8 store the large matrices (fan-in of at least 16: the
/// hidden mask maps and the output map) as f16 or 8-bit affine rows. The
/// basis maps straight from the coordinates stay f32 whatever `bits` is:
/// they are multiplied by ω (up to 90) before a sine, so f16's relative
/// error of 2⁻¹¹ already moves every phase by up to 0.03 rad, and they are
/// a few thousand values at most. Measured on a 64×64 Kodak crop (hidden
/// 48): all-f16 lost 0.52 dB against f32, f16 with f32 bases 0.02 dB.
/// The remaining small tensors (biases, the first mask map) are f16.
pub fn encodings_for_bits(net: &Network, bits: u8) -> Result<Vec<Encoding>, Error> {
    if !matches!(bits, 32 | 16 | 8) {
        return Err(Error::Parameter(format!(
            "--bits must be 32, 16 or 8, not {bits}"
        )));
    }
    let pick = |t: &crate::model::Tensor| {
        let matrix = t.shape.len() == 2 && t.shape[1] >= 16;
        match bits {
            32 => Encoding::F32,
            _ if t.name.contains(".basis.") => Encoding::F32,
            8 if matrix => Encoding::Affine8,
            _ => Encoding::F16,
        }
    };
    Ok(net.tensors.iter().map(pick).collect())
}

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
    }
}

/// Fits `img` and returns the encoded file and its measured quality.
pub fn encode_image(
    img: &Image,
    settings: &Settings,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Encoded, Error> {
    let signal = image_signal(img, settings.convention);
    let arch = settings.arch(2, img.channels())?;
    let coords = image_coords(img.width, img.height, 0, img.height, settings.convention);
    let targets = img.data.iter().map(|&v| signal.to_target(v)).collect();
    let data = GridData::new(coords, targets, 2, img.channels())?;
    let init = init_network(&arch, settings.train.seed);
    let net = train::fit(init, &data, &settings.train, settings.device, progress)?;
    let encodings = encodings_for_bits(&net, settings.bits)?;
    let mut file = SconeFile {
        signal,
        network: net,
        encodings,
        metadata: None,
    };
    // Measure what a decoder reads back, not the float network.
    let decoded = SconeFile::from_bytes(&file.to_bytes()?)?;
    let eval = Evaluator::new(&decoded.network);
    let mut values = render_rows(&eval, &decoded.signal, img.width, img.height, 0, img.height);
    quantise(&mut values, img.bit_depth);
    let psnr = metrics::psnr(&values, &img.data);
    let ssim = metrics::ssim(&values, &img.data, img.width, img.height, img.channels());
    file.metadata = Some(metadata(settings, psnr, ssim));
    let bytes = file.to_bytes()?;
    Ok(Encoded {
        file,
        bytes,
        psnr,
        ssim,
    })
}

fn metadata(s: &Settings, psnr: f64, ssim: f64) -> String {
    let batch = match s.train.batch {
        Batch::Full => serde_json::json!("full"),
        Batch::Random(n) => serde_json::json!(n),
    };
    serde_json::json!({
        "encoder": concat!("scone ", env!("CARGO_PKG_VERSION")),
        "preset": format!("{:?}", s.preset).to_lowercase(),
        "iterations": s.train.iterations,
        "lr": s.train.lr,
        "lr_min": s.train.lr_min,
        "batch": batch,
        "seed": s.train.seed,
        "bits": s.bits,
        "psnr_db": (psnr * 1000.0).round() / 1000.0,
        "ssim": (ssim * 10000.0).round() / 10000.0,
    })
    .to_string()
}
