//! `scone decode`: evaluate a file on a grid and write a PNG.

use super::output::{check_not_input, write_atomic};
use crate::Error;
use crate::decode::Evaluator;
use crate::format::SconeFile;
use crate::signal::image::write_png;
use crate::signal::render::render_rows;
use clap::builder::TypedValueParser;
use std::path::PathBuf;

/// Largest output, in pixels, written without `--force` (64 megapixels).
pub const MAX_OUTPUT_PIXELS: u64 = 1 << 26;
/// Largest output side, even with `--force` (PNG's own limit is 2³¹ − 1).
pub const MAX_OUTPUT_SIDE: u64 = 1 << 20;
/// Points evaluated per band of rows: bounds the decoder's memory.
const BAND_POINTS: usize = 1 << 16;

#[derive(clap::Args)]
pub struct Args {
    /// The .scone file to decode.
    input: PathBuf,
    /// Output PNG (default: the input's name with `.decoded.png`).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Scale factor relative to the encoded size (e.g. 2 for twice the size).
    #[arg(long, conflicts_with_all = ["width", "height"], value_parser = positive_scale)]
    scale: Option<f64>,
    /// Output width in pixels (the height follows the aspect ratio if not given).
    #[arg(long)]
    width: Option<u64>,
    /// Output height in pixels (the width follows the aspect ratio if not given).
    #[arg(long)]
    height: Option<u64>,
    /// Bits per sample of the PNG: 8 or 16 (default: 8).
    #[arg(long, default_value_t = 8, value_parser = clap::builder::PossibleValuesParser::new(["8", "16"]).map(|s| s.parse::<u8>().unwrap()))]
    depth: u8,
    /// Allow outputs above the 64-megapixel limit.
    #[arg(long)]
    force: bool,
}

fn positive_scale(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("the scale must be a positive number, not {s}"));
    }
    Ok(v)
}

/// The output size for the requested scale or sizes, bounded.
pub fn output_size(
    encoded: (u64, u64),
    scale: Option<f64>,
    width: Option<u64>,
    height: Option<u64>,
    force: bool,
) -> Result<(usize, usize), Error> {
    let (w0, h0) = encoded;
    let round = |v: f64| v.round().max(0.0).min(u64::MAX as f64) as u64;
    let (w, h) = match (scale, width, height) {
        (Some(s), _, _) => (round(w0 as f64 * s), round(h0 as f64 * s)),
        (None, Some(w), Some(h)) => (w, h),
        (None, Some(w), None) => (w, round(w as f64 * h0 as f64 / w0 as f64).max(1)),
        (None, None, Some(h)) => (round(h as f64 * w0 as f64 / h0 as f64).max(1), h),
        (None, None, None) => (w0, h0),
    };
    if w == 0 || h == 0 {
        return Err(Error::Parameter(format!(
            "the output size {w}x{h} is empty"
        )));
    }
    if w > MAX_OUTPUT_SIDE || h > MAX_OUTPUT_SIDE {
        return Err(Error::LimitsExceeded(format!(
            "the output size {w}x{h} exceeds {MAX_OUTPUT_SIDE} pixels on a side"
        )));
    }
    if w * h > MAX_OUTPUT_PIXELS && !force {
        return Err(Error::LimitsExceeded(format!(
            "the output size {w}x{h} exceeds {} megapixels; pass --force to decode it anyway",
            MAX_OUTPUT_PIXELS >> 20
        )));
    }
    Ok((w as usize, h as usize))
}

pub fn run(args: Args) -> Result<(), Error> {
    let file = SconeFile::read(&args.input)?;
    let signal = &file.signal;
    let (w0, h0) = (signal.sizes[0] as u64, signal.sizes[1] as u64);
    let (width, height) = output_size((w0, h0), args.scale, args.width, args.height, args.force)?;
    let output = args
        .output
        .unwrap_or_else(|| args.input.with_extension("decoded.png"));
    check_not_input(&args.input, &output)?;
    let eval = Evaluator::new(&file.network);
    let band_rows = (BAND_POINTS / width).max(1);
    write_atomic(&output, |w| {
        write_png(
            w,
            width,
            height,
            signal.layout,
            args.depth,
            band_rows,
            |y0, y1| render_rows(&eval, signal, width, height, y0, y1),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_scale_and_aspect() {
        assert_eq!(
            output_size((768, 512), Some(2.0), None, None, false).unwrap(),
            (1536, 1024)
        );
        assert_eq!(
            output_size((768, 512), None, Some(384), None, false).unwrap(),
            (384, 256)
        );
        assert_eq!(
            output_size((768, 512), None, None, Some(1024), false).unwrap(),
            (1536, 1024)
        );
        assert_eq!(
            output_size((768, 512), None, None, None, false).unwrap(),
            (768, 512)
        );
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert!(output_size((768, 512), Some(1e-4), None, None, false).is_err());
        assert!(output_size((768, 512), None, Some(0), Some(5), false).is_err());
        assert!(output_size((768, 512), Some(20.0), None, None, false).is_err());
        assert!(output_size((768, 512), Some(20.0), None, None, true).is_ok());
        assert!(output_size((768, 512), Some(1e9), None, None, true).is_err());
    }
}
