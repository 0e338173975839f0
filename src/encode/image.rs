//! Encoding an image.

use super::{Settings, finish, rounded};
use crate::Error;
use crate::format::SconeFile;
use crate::metrics::quality;
use crate::model::init_network;
use crate::signal::grid::image_coords;
use crate::signal::image::Image;
use crate::signal::{Convention, Kind, SignalInfo};
use crate::train::{self, GridData, StepReport};

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
    let (file, bytes, (psnr, ssim)) = finish(settings, signal, net, |decoded| {
        let (psnr, ssim) = quality::image(decoded, img)?;
        let measured = serde_json::json!({
            "psnr_db": rounded(psnr, 3),
            "ssim": rounded(ssim, 4),
        });
        Ok(((psnr, ssim), measured))
    })?;
    Ok(Encoded {
        file,
        bytes,
        psnr,
        ssim,
    })
}
