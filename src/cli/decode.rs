//! `scone decode`: evaluate a file on a grid and write a PNG (an image, or
//! one frame of a clip), a YUV4MPEG2 clip or a numbered series of PNGs.

use super::output::{check_not_input, write_atomic};
use super::{open_decoder, say_note};
use clap::builder::TypedValueParser;
use scone::signal::image::write_png_image;
use scone::signal::video::{Chroma, frame_path, write_y4m};
use scone::{ClipRequest, Decoder, Error, Kind, OutputSize};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The .scone file to decode.
    input: PathBuf,
    /// Output: a PNG for an image or one frame; for a clip a `.y4m` file or
    /// a frame pattern like `frames/%04d.png` (default: the input's name
    /// with `.decoded.png` or `.decoded.y4m`).
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
    /// Lift the limits on the output (pixels and side per frame, frames,
    /// compute): see `scone::Limits`.
    #[arg(long)]
    force: bool,
    /// Clips: this many frames over the clip's time span (temporal resampling).
    #[arg(long, conflicts_with_all = ["fps", "frame", "time"])]
    frames: Option<u64>,
    /// Clips: this frame rate over the clip's time span (e.g. 50 or 60000/1001).
    #[arg(long, value_parser = super::parse_rate, conflicts_with_all = ["frame", "time"])]
    fps: Option<(u32, u32)>,
    /// Clips: only frame K (0-based), as a PNG.
    #[arg(long, conflicts_with = "time")]
    frame: Option<u64>,
    /// Clips: only the frame at T seconds (any time within the clip), as a PNG.
    #[arg(long, value_parser = non_negative)]
    time: Option<f64>,
    /// Clips written as .y4m: chroma subsampling, 420 or 444.
    #[arg(long, default_value = "420", value_parser = ["420", "444"])]
    chroma: String,
    /// Where to evaluate the network: `auto` (CUDA when a GPU is usable,
    /// else the CPU), `cpu` or `cuda`.
    #[arg(long, default_value = "auto", value_parser = scone::device::DeviceChoice::NAMES)]
    device: String,
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a time in seconds")),
    }
}

fn positive_scale(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("the scale must be a positive number, not {s}"));
    }
    Ok(v)
}

/// The size `--scale`, `--width` and `--height` ask for.
fn requested_size(args: &Args) -> OutputSize {
    match (args.scale, args.width, args.height) {
        (Some(s), _, _) => OutputSize::Scale(s),
        (None, Some(w), Some(h)) => OutputSize::Exact(w, h),
        (None, Some(w), None) => OutputSize::Width(w),
        (None, None, Some(h)) => OutputSize::Height(h),
        (None, None, None) => OutputSize::Native,
    }
}

pub fn run(args: Args) -> Result<(), Error> {
    let (decoder, note) = open_decoder(&args.input, args.force, &args.device)?;
    match decoder.info().kind {
        Kind::Image => decode_image(&args, &decoder)?,
        Kind::Video => decode_clip(&args, &decoder)?,
        Kind::Sdf => {
            return Err(Error::wrong_kind(
                Kind::Image,
                Kind::Sdf,
                format!(
                    "{} holds a signed-distance field; extract a surface with `scone mesh`",
                    args.input.display()
                ),
            ));
        }
    }
    say_note(note, false);
    Ok(())
}

fn decode_image(args: &Args, decoder: &Decoder) -> Result<(), Error> {
    if args.frames.is_some() || args.fps.is_some() || args.frame.is_some() || args.time.is_some() {
        return Err(Error::parameter(
            "--frames, --fps, --frame and --time apply to clips, and this file holds an image",
        ));
    }
    let (width, height) = decoder.size(requested_size(args))?;
    check_png_size(width, height)?;
    let image = decoder.image(width, height)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension("decoded.png"));
    check_not_input(&args.input, &output)?;
    check_png_name(&output)?;
    write_atomic(&output, |w| write_png_image(w, &image, args.depth))
}

/// PNG's own limit on a side (2³¹ − 1), which `--force` does not lift.
fn check_png_size(width: u64, height: u64) -> Result<(), Error> {
    const PNG_SIDE: u64 = (1 << 31) - 1;
    let side = width.max(height);
    if side > PNG_SIDE {
        return Err(Error::limit(
            scone::Limit::Output,
            "a PNG's longest side",
            side,
            PNG_SIDE,
        ));
    }
    Ok(())
}

/// Refuses a PNG output whose name says otherwise (e.g. `out.y4m` for an
/// image), rather than writing PNG bytes under a misleading name.
fn check_png_name(output: &Path) -> Result<(), Error> {
    let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext.eq_ignore_ascii_case("png") {
        return Ok(());
    }
    Err(Error::parameter(format!(
        "{}: an image or a single frame decodes to a PNG file named .png; .y4m and frame patterns are for clips",
        output.display()
    )))
}

fn decode_clip(args: &Args, decoder: &Decoder) -> Result<(), Error> {
    let (width, height) = decoder.size(requested_size(args))?;
    if args.frame.is_some() || args.time.is_some() {
        let u = match (args.frame, args.time) {
            (Some(k), _) => decoder.frame_position(k)?,
            (None, Some(t)) => decoder.time_position(t)?,
            (None, None) => unreachable!("one of --frame and --time"),
        };
        check_png_size(width, height)?;
        let frame = decoder.frame(u, width, height)?;
        let output = args
            .output
            .clone()
            .unwrap_or_else(|| args.input.with_extension("decoded.png"));
        check_not_input(&args.input, &output)?;
        check_png_name(&output)?;
        return write_atomic(&output, |w| write_png_image(w, &frame, args.depth));
    }
    let request = match (args.frames, args.fps) {
        (Some(0), _) => {
            return Err(Error::misuse(
                scone::Misuse::EmptySize,
                "--frames must be at least 1",
            ));
        }
        (Some(m), _) => ClipRequest::Frames(m),
        (None, Some((a, b))) => ClipRequest::Fps(a, b),
        (None, None) => ClipRequest::Source,
    };
    let plan = decoder.schedule(request)?;
    let frame = |k: usize| decoder.frame(plan.positions[k], width, height);
    // Every frame has the first one's size and cost: checked before
    // anything is written.
    frame(0)?;
    let count = plan.positions.len();
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension("decoded.y4m"));
    let name = output.to_string_lossy();
    if name.contains('%') {
        check_png_size(width, height)?;
        return write_frames(&args.input, &name, count, |k, w| {
            write_png_image(w, &frame(k)?, args.depth)
        });
    }
    let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !ext.eq_ignore_ascii_case("y4m") {
        return Err(Error::parameter(format!(
            "{}: a clip decodes to a .y4m file or a frame pattern like frames/%04d.png; \
             use --frame K or --time T for one frame as a PNG",
            output.display()
        )));
    }
    check_not_input(&args.input, &output)?;
    let chroma = if args.chroma == "444" {
        Chroma::C444
    } else {
        Chroma::C420
    };
    let (w, h) = (width as usize, height as usize);
    write_atomic(&output, |out| {
        write_y4m(out, w, h, count, plan.rate, chroma, |k| {
            frame(k)?.to_vec::<f32>()
        })
    })
}

/// Writes `count` PNGs through `pattern`, frame k by `png(k, writer)`; on
/// failure removes the frames already written, so no partial sequence is
/// left behind.
fn write_frames(
    input: &Path,
    pattern: &str,
    count: usize,
    mut png: impl FnMut(usize, &mut dyn std::io::Write) -> Result<(), Error>,
) -> Result<(), Error> {
    let paths = (0..count)
        .map(|k| frame_path(pattern, k))
        .collect::<Result<Vec<_>, _>>()?;
    for p in &paths {
        check_not_input(input, p)?;
    }
    for (k, path) in paths.iter().enumerate() {
        if let Err(e) = write_atomic(path, |w| png(k, w)) {
            for done in &paths[..k] {
                let _ = std::fs::remove_file(done);
            }
            return Err(e);
        }
    }
    Ok(())
}
