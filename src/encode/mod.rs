//! The encoder: fit a network to a signal, quantise it, write a file, and
//! measure the quality of what a decoder will get back.
//!
//! One file per signal kind: `image.rs`, `video.rs`, `sdf.rs`.

pub mod grid;
mod image;
pub mod rate;
mod sdf;
mod video;

pub use image::{Encoded, encode_image, image_signal};
pub use sdf::{EncodedSdf, SdfData, SdfSettings, encode_sdf, sdf_signal};
pub use video::{EncodedVideo, VideoData, encode_video, video_signal};

use crate::Error;
use crate::format::{Encoding, SconeFile};
pub use crate::model::default_omegas;
use crate::model::{Arch, Family, Mask, Network};
use crate::signal::{Convention, Kind};
use crate::train::{Batch, Device, TrainConfig};

/// A named set of encoder settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Fits a 768×512 image in about two minutes on two CPU cores.
    Default,
    /// The paper's image setting: 5 × 250, ω₀ = 30, ω = [90, 60, 30, 10],
    /// 10k full-batch Adam steps, lr 1e-4 with cosine decay to 1e-6.
    Paper,
    /// [`Preset::Default`] with six times the steps for `--arch grid`
    /// (about 15 minutes for 768×512 on two cores); the same as the default
    /// for the other networks.
    Slow,
}

/// Everything that decides what the encoder produces.
#[derive(Clone, Debug)]
pub struct Settings {
    pub preset: Preset,
    /// The architecture family (`scone`, `rbm`, `siren`, `ffn`, `mfn`,
    /// `wire`; FORMAT.md §5).
    pub arch: String,
    /// SCONE's mask activation.
    pub mask: Mask,
    pub layers: usize,
    /// Hidden width. For a family other than SCONE it is only used when
    /// `match_budget` is false; otherwise the width is chosen so that the
    /// network trains as many parameters as the SCONE of these settings.
    pub hidden: usize,
    /// See `hidden`.
    pub match_budget: bool,
    /// With `match_budget`, count a complex weight once (the paper's way
    /// of aligning WIRE); otherwise count stored real numbers.
    pub complex_once: bool,
    /// ω₀ of SCONE, SIREN, rbm or WIRE; `None` for the family's default
    /// (30; WIRE 20).
    pub omega0: Option<f32>,
    /// SCONE's basis frequencies, one per hidden layer.
    pub omegas: Vec<f32>,
    pub train: TrainConfig,
    /// 32, 16 or 8 (see [`encodings_for_bits`]), when `rate` is `None`.
    pub bits: u8,
    /// Images: coded weights (FORMAT.md §6.4) at this rate or quality,
    /// with quantisation-aware training; `None` stores them as `bits`
    /// says.
    pub rate: Option<RateTarget>,
    /// With `rate`, choose the network's width for the rate: the default
    /// preset does unless the width or depth is given.
    pub size_for_rate: bool,
    /// With `rate`, choose the batch and the steps that keep the default
    /// preset's time for the network (unless `--iterations` or `--batch`
    /// is given).
    pub steps_for_rate: bool,
    /// With `rate`: the quantisation-aware phase that ends training.
    pub qat: QatSettings,
    pub convention: Convention,
    pub device: Device,
    /// `grid` (FORMAT.md §5.9): the synthesis network (`relu`, the
    /// default, `scone` or `siren`).
    pub synthesis: String,
    /// `grid`: the number of latent grids.
    pub levels: usize,
    /// `grid`: how it trains, and its synthesis's default frequencies.
    pub grid_train: GridSettings,
}

/// How a `grid` network trains, and the frequencies its synthesis takes
/// unless `--omega0` and `--omegas` say otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct GridSettings {
    pub train: crate::train::grid::GridTrainConfig,
    /// ω₀ of the SCONE synthesis's masks, which read the latents.
    pub omega0: f32,
    /// ω of every SCONE synthesis basis.
    pub omega: f32,
    /// ω₀ of the SIREN synthesis.
    pub siren_omega0: f32,
    /// When the rate asked cannot pay for a `grid` file's fixed bytes (its
    /// header and synthesis: a small image at a low rate), code the image
    /// with the coordinate SCONE instead. Set by the presets that make
    /// `grid` the images' default; an explicit `--arch grid` fails then.
    pub fallback: bool,
}

impl Default for GridSettings {
    fn default() -> Self {
        Self {
            train: crate::train::grid::GridTrainConfig::default(),
            // Tuned at 300 steps on kodim05 and kodim23 at 0.3 bpp
            // (docs/grid.md): ω₀ 0.3 … 30 and ω 2 … 30.
            omega0: 10.0,
            omega: 2.0,
            siren_omega0: 1.0,
            fallback: false,
        }
    }
}

/// What rate an image is coded at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateTarget {
    /// The whole file, every chunk counted, in at most this many bytes.
    Bytes(u64),
    /// This many bits per pixel, the whole file counted.
    Bpp(f64),
    /// The smallest file whose PSNR (dB) is at least this.
    Psnr(f64),
    /// A point of the quality ladder, 1 … 100 ([`quality_bpp`]).
    Quality(u8),
}

/// The quality the default preset codes images at.
pub const DEFAULT_QUALITY: u8 = 70;

/// The rate of quality `q` (1 … 100): 0.2 bits per pixel at 30, doubling
/// every 20 steps (0.4 at 50, 0.8 at 70, 1.0 at about 76, 1.6 at 90),
/// so that a higher quality always asks for more bits.
pub fn quality_bpp(q: u8) -> f64 {
    0.2 * 2f64.powf((q as f64 - 30.0) / 20.0)
}

/// The quantisation-aware phase: `steps` Adam steps through the quantiser
/// at learning rate `lr` (cosine to a hundredth), the rate term weighted
/// `rate_scale` times the λ of [`rate::lambda`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QatSettings {
    pub steps: usize,
    pub lr: f64,
    pub rate_scale: f64,
}

impl Default for QatSettings {
    fn default() -> Self {
        Self {
            steps: 300,
            lr: 1e-4,
            rate_scale: 1.0,
        }
    }
}

impl Settings {
    pub fn preset(preset: Preset) -> Self {
        match preset {
            Preset::Slow => {
                let mut s = Self::preset(Preset::Default);
                s.preset = Preset::Slow;
                s.grid_train.train.steps *= 6;
                s
            }
            Preset::Default => Self {
                preset,
                arch: "scone".into(),
                mask: Mask::Sin2,
                layers: 4,
                hidden: 128,
                match_budget: true,
                complex_once: false,
                omega0: None,
                omegas: vec![90.0, 60.0, 30.0],
                train: TrainConfig {
                    iterations: 1700,
                    lr: 2e-3,
                    lr_min: 2e-5,
                    batch: Batch::Random(16_384),
                    seed: 0,
                },
                bits: 8,
                rate: Some(RateTarget::Quality(DEFAULT_QUALITY)),
                size_for_rate: true,
                steps_for_rate: true,
                qat: QatSettings::default(),
                convention: Convention::CellCentre,
                device: Device::Cpu,
                synthesis: "relu".into(),
                levels: 7,
                grid_train: GridSettings::default(),
            },
            Preset::Paper => Self {
                preset,
                arch: "scone".into(),
                mask: Mask::Sin2,
                layers: 5,
                hidden: 250,
                match_budget: true,
                complex_once: false,
                omega0: None,
                omegas: vec![90.0, 60.0, 30.0, 10.0],
                train: TrainConfig::paper(),
                bits: 16,
                rate: None,
                size_for_rate: false,
                steps_for_rate: false,
                qat: QatSettings::default(),
                // The paper's code samples with `linspace(-1, 1, N)`.
                convention: Convention::Endpoints,
                device: Device::Cpu,
                synthesis: "relu".into(),
                levels: 7,
                grid_train: GridSettings::default(),
            },
        }
    }

    /// The settings of `preset` for a signal of `kind`.
    pub fn for_kind(kind: Kind, preset: Preset) -> Self {
        let mut s = Self::preset(preset);
        if kind != Kind::Image {
            // Clips and shapes keep their presets' fixed encodings.
            s.rate = None;
            s.size_for_rate = false;
            s.steps_for_rate = false;
        }
        match (kind, preset) {
            // Images are coded on latent grids, except by the paper's
            // preset.
            (Kind::Image, Preset::Default | Preset::Slow) => {
                s.set_arch("grid");
                s.grid_train.fallback = true;
            }
            (Kind::Image, Preset::Paper) => {}
            (Kind::Video, Preset::Default | Preset::Slow) => {
                s.hidden = 160;
            }
            // The paper's video setting: the image network, random batches
            // of 262,144 coordinates.
            (Kind::Video, Preset::Paper) => s.train.batch = Batch::Random(262_144),
            (Kind::Sdf, Preset::Default | Preset::Slow) => {
                s.layers = 6;
                s.hidden = 128;
                s.omegas = vec![70.0, 60.0, 50.0, 40.0, 30.0];
                s.train.iterations = 1000;
                s.train.lr = 1e-3;
                s.train.lr_min = 1e-5;
                s.train.batch = Batch::Random(16_384);
                s.convention = Convention::Endpoints;
            }
            // The paper's 3D setting: ω = [70, 70, 60, 50, 40, 40, 30, 30]
            // for eight hidden layers, width 240 for about 400k parameters,
            // lr 5e-4, 10k steps. The batch size is our choice.
            (Kind::Sdf, Preset::Paper) => {
                s.layers = 9;
                s.hidden = 240;
                s.omegas = vec![70.0, 70.0, 60.0, 50.0, 40.0, 40.0, 30.0, 30.0];
                s.train.lr = 5e-4;
                s.train.lr_min = 5e-6;
                s.train.batch = Batch::Random(65_536);
                s.convention = Convention::Endpoints;
            }
        }
        s
    }

    /// Switches these settings to network `arch` (a name of
    /// [`crate::model::ARCH_NAMES`]), chosen, so without `grid`'s
    /// fallback ([`GridSettings::fallback`]): `grid` takes its synthesis's
    /// size ([`grid::SYNTHESIS_SIZE`]) and frequencies, a coordinate
    /// network leaving `grid` takes back the preset's size and
    /// frequencies (unless a size was given: `size_for_rate` unset).
    pub fn set_arch(&mut self, arch: &str) {
        self.grid_train.fallback = false;
        if arch == self.arch {
            return;
        }
        if arch == "grid" {
            (self.layers, self.hidden) = grid::SYNTHESIS_SIZE;
            self.omegas = Vec::new();
        } else if self.arch == "grid" {
            if self.size_for_rate {
                let coordinate = Self::preset(self.preset);
                (self.layers, self.hidden, self.omegas) =
                    (coordinate.layers, coordinate.hidden, coordinate.omegas);
            } else if self.omegas.len() + 1 != self.layers {
                // A size given for the grid's synthesis is kept.
                self.omegas = crate::model::default_omegas(self.layers.saturating_sub(1));
            }
        }
        self.arch = arch.into();
    }

    /// The architecture these settings fit for a signal with `in_dims`
    /// coordinates and `out_dims` channels.
    pub fn arch(&self, in_dims: usize, out_dims: usize) -> Result<Arch, Error> {
        let scone = Arch::scone(
            in_dims,
            out_dims,
            self.layers,
            self.hidden,
            self.omega0.unwrap_or(30.0),
            self.omegas.clone(),
            self.mask,
        );
        let as_parameter = |e: Error| match e {
            Error::Format(e) => Error::parameter(e.detail),
            other => other,
        };
        // The same rules that make a file invalid make a request invalid.
        let arch = if self.arch == "scone" {
            scone
        } else {
            if self.mask != Mask::Sin2 {
                return Err(Error::parameter(format!(
                    "--mask applies to --arch scone, not {}",
                    self.arch
                )));
            }
            let mut family = Family::default_of(&self.arch, self.layers)?;
            if let (
                Family::Siren { omega0 } | Family::Rbm { omega0, .. } | Family::Wire { omega0, .. },
                Some(w),
            ) = (&mut family, self.omega0)
            {
                *omega0 = w;
            }
            let arch = Arch {
                family,
                ..scone.clone()
            };
            if self.match_budget {
                let mut budget = scone.clone();
                budget.family = Family::default_of("scone", self.layers)?;
                budget.validate().map_err(as_parameter)?;
                arch.with_trainable_budget(budget.trainable_count(), self.complex_once)
            } else {
                arch
            }
        };
        arch.validate().map_err(as_parameter)?;
        Ok(arch)
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
/// The remaining small tensors (biases, the first mask map) are f16. The
/// baselines' maps of the coordinates and their fixed random tensors are
/// likewise f32 (the specs' `precise` flag).
pub fn encodings_for_bits(net: &Network, bits: u8) -> Result<Vec<Encoding>, Error> {
    if !matches!(bits, 32 | 16 | 8) {
        return Err(Error::parameter(format!(
            "--bits must be 32, 16 or 8, not {bits}"
        )));
    }
    // A network's tensors follow its specs, in order (`Network::new`).
    let pick = |spec: &crate::model::TensorSpec| {
        let matrix = spec.shape.len() == 2 && spec.shape[1] >= 16;
        match bits {
            _ if spec.latent => Encoding::Latent,
            32 => Encoding::F32,
            _ if spec.precise => Encoding::F32,
            8 if matrix => Encoding::Affine8,
            _ => Encoding::F16,
        }
    };
    Ok(net.arch.tensor_specs().iter().map(pick).collect())
}

/// Quantises `net` into a file for `signal`, measures what a decoder
/// reads back (not the float network) with `measure`, which returns its
/// figures and their `meta` entries, and returns the file with its bytes.
fn finish<T>(
    settings: &Settings,
    signal: crate::signal::SignalInfo,
    net: Network,
    measure: impl FnOnce(&SconeFile) -> Result<(T, serde_json::Value), Error>,
) -> Result<(SconeFile, Vec<u8>, T), Error> {
    let encodings = encodings_for_bits(&net, settings.bits)?;
    finish_with(settings, signal, net, encodings, measure)
}

/// [`finish`] with the encodings given.
fn finish_with<T>(
    settings: &Settings,
    signal: crate::signal::SignalInfo,
    net: Network,
    encodings: Vec<Encoding>,
    measure: impl FnOnce(&SconeFile) -> Result<(T, serde_json::Value), Error>,
) -> Result<(SconeFile, Vec<u8>, T), Error> {
    let mut file = SconeFile {
        signal,
        network: net,
        encodings,
        metadata: None,
    };
    let decoded = SconeFile::from_bytes(&file.to_bytes()?)?;
    let (figures, measured) = measure(&decoded)?;
    file.metadata = Some(metadata(settings, measured));
    let bytes = file.to_bytes()?;
    Ok((file, bytes, figures))
}

/// The `meta` chunk: how the file was made and what it measured.
fn metadata(s: &Settings, measured: serde_json::Value) -> String {
    let batch = match s.train.batch {
        Batch::Full => serde_json::json!("full"),
        Batch::Random(n) => serde_json::json!(n),
    };
    let mut meta = serde_json::json!({
        "encoder": concat!("scone ", env!("CARGO_PKG_VERSION")),
        "preset": format!("{:?}", s.preset).to_lowercase(),
        "iterations": s.train.iterations,
        "lr": s.train.lr,
        "lr_min": s.train.lr_min,
        "batch": batch,
        "seed": s.train.seed,
    });
    if s.arch == "grid" {
        // Whole-image steps, the synthesis's learning rate.
        let g = &s.grid_train.train;
        meta["iterations"] = serde_json::json!(g.steps);
        meta["lr"] = serde_json::json!(g.lr_synthesis);
        meta["lr_min"] = serde_json::json!(g.lr_synthesis * g.lr_floor);
        meta["batch"] = serde_json::json!("full");
    }
    match s.rate {
        None => meta["bits"] = serde_json::json!(s.bits),
        Some(target) => {
            meta["rate"] = match target {
                RateTarget::Bytes(n) => serde_json::json!({ "bytes": n }),
                RateTarget::Bpp(b) => serde_json::json!({ "bpp": b }),
                RateTarget::Psnr(d) => serde_json::json!({ "psnr_db": d }),
                RateTarget::Quality(q) => serde_json::json!({ "quality": q }),
            };
        }
    }
    if let (Some(m), serde_json::Value::Object(extra)) = (meta.as_object_mut(), measured) {
        m.extend(extra);
    }
    meta.to_string()
}

/// Rounds `v` to `digits` decimals for the `meta` chunk.
fn rounded(v: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (v * k).round() / k
}
