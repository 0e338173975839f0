//! Encoding a video: a network of (x, y, t) fitted to random batches of
//! pixels gathered from the clip on demand.

use super::{Settings, finish, rounded};
use crate::Error;
use crate::format::SconeFile;
use crate::metrics::{self, quality};
use crate::model::init_network;
use crate::signal::grid::coordinate;
use crate::signal::video::Video;
use crate::signal::{Convention, FrameRate, Kind, Layout, SignalInfo};
use crate::train::{self, Batch, IndexedData, StepReport};

/// Largest clip, in pixels over all frames, that trains on a full batch:
/// beyond it the coordinates alone would take gigabytes.
pub const MAX_FULL_BATCH_PIXELS: usize = 1 << 22;

/// The pixels of a clip as training pairs: pair `i` is pixel
/// (x, y) of frame t with i = (t · height + y) · width + x. Coordinates
/// are computed from the index and targets read from the 8-bit frames, so
/// memory holds the clip once and never a grid of coordinates.
pub struct VideoData<'a> {
    video: &'a Video,
    xs: Vec<f32>,
    ys: Vec<f32>,
    ts: Vec<f32>,
    /// Network targets of the 256 sample values.
    targets: [f32; 256],
}

impl<'a> VideoData<'a> {
    pub fn new(video: &'a Video, signal: &SignalInfo) -> Self {
        let axis = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|j| coordinate(j, n, signal.convention) as f32)
                .collect()
        };
        Self {
            video,
            xs: axis(video.width),
            ys: axis(video.height),
            ts: axis(video.frames),
            targets: std::array::from_fn(|v| signal.to_target(v as f32 / 255.0)),
        }
    }
}

impl IndexedData for VideoData<'_> {
    fn in_dims(&self) -> usize {
        3
    }

    fn out_dims(&self) -> usize {
        3
    }

    fn len(&self) -> usize {
        self.video.width * self.video.height * self.video.frames
    }

    fn gather(&self, indices: &[usize], coords: &mut Vec<f32>, targets: &mut Vec<f32>) {
        let (w, h) = (self.video.width, self.video.height);
        coords.clear();
        targets.clear();
        coords.reserve(indices.len() * 3);
        targets.reserve(indices.len() * 3);
        for &i in indices {
            let (x, rest) = (i % w, i / w);
            let (y, t) = (rest % h, rest / h);
            coords.extend_from_slice(&[self.xs[x], self.ys[y], self.ts[t]]);
            let rgb = &self.video.data[3 * i..3 * i + 3];
            targets.extend(rgb.iter().map(|&v| self.targets[v as usize]));
        }
    }
}

/// Scales the initial weights on t (input 2) of the maps that read the
/// coordinates by frames / max(width, height), at most 1: frequencies
/// along each axis then start in proportion to the samples along it. With
/// the spatial frequencies on t too, a network fitted to 8 frames
/// oscillates between them, and frames decoded at another rate (`--fps`)
/// fall far from both neighbours.
fn slow_time_axis(net: &mut crate::model::Network, video: &Video) {
    let factor = (video.frames as f32 / video.width.max(video.height) as f32).min(1.0);
    for t in &mut net.tensors {
        // Maps of the coordinates (SCONE's first mask map and basis maps,
        // the baselines' first layers, filters and frequencies): every
        // matrix with 3 columns but GaborNet's centres, which are points.
        let reads_coords = t.shape.len() == 2 && t.shape[1] == 3 && !t.name.ends_with(".mu");
        if reads_coords {
            t.data
                .iter_mut()
                .skip(2)
                .step_by(3)
                .for_each(|w| *w *= factor);
        }
    }
}

/// The signal description of `video` encoded with `convention`.
pub fn video_signal(video: &Video, convention: Convention) -> SignalInfo {
    SignalInfo {
        kind: Kind::Video,
        layout: Layout::Rgb,
        sizes: vec![video.width as u32, video.height as u32, video.frames as u32],
        bit_depth: 8,
        value_range: [0.0, 1.0],
        convention,
        frame_rate: Some(FrameRate {
            num: video.fps.0,
            den: video.fps.1,
        }),
        domain: None,
    }
}

/// The result of encoding a clip.
pub struct EncodedVideo {
    pub file: SconeFile,
    pub bytes: Vec<u8>,
    /// PSNR (dB) and SSIM of each decoded frame against the source, at the
    /// source's size, after rounding to 8 bits.
    pub frame_psnr: Vec<f64>,
    pub frame_ssim: Vec<f64>,
}

/// Fits `video` and returns the encoded file and its per-frame quality.
pub fn encode_video(
    video: &Video,
    settings: &Settings,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<EncodedVideo, Error> {
    let pixels = video.width * video.height * video.frames;
    if settings.train.batch == Batch::Full && pixels > MAX_FULL_BATCH_PIXELS {
        return Err(Error::parameter(format!(
            "a full batch of {pixels} pixels is too large; use --batch N (e.g. 262144)"
        )));
    }
    let signal = video_signal(video, settings.convention);
    let arch = settings.arch(3, 3)?;
    let data = VideoData::new(video, &signal);
    let mut init = init_network(&arch, settings.train.seed);
    slow_time_axis(&mut init, video);
    let net = train::fit(init, &data, &settings.train, settings.device, progress)?;
    let (file, bytes, (frame_psnr, frame_ssim)) = finish(settings, signal, net, |decoded| {
        let (frame_psnr, frame_ssim) = quality::video(decoded, video)?;
        let (psnr, psnr_sd) = metrics::mean_std(&frame_psnr);
        let (ssim, ssim_sd) = metrics::mean_std(&frame_ssim);
        let measured = serde_json::json!({
            "psnr_db": rounded(psnr, 3),
            "psnr_db_sd": rounded(psnr_sd, 3),
            "ssim": rounded(ssim, 4),
            "ssim_sd": rounded(ssim_sd, 4),
        });
        Ok(((frame_psnr, frame_ssim), measured))
    })?;
    Ok(EncodedVideo {
        file,
        bytes,
        frame_psnr,
        frame_ssim,
    })
}
