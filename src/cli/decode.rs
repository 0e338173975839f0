//! `scone decode`: evaluate a file on a grid and write a PNG (an image, or
//! one frame of a clip), a YUV4MPEG2 clip or a numbered series of PNGs.

use super::output::{check_not_input, write_atomic};
use super::{say_note, with_evaluator};
use crate::Error;
use crate::decode::Evaluate;
use crate::format::SconeFile;
use crate::signal::grid::time_coordinate;
use crate::signal::image::write_png;
use crate::signal::render::{render_frame_rows, render_rows};
use crate::signal::video::{Chroma, frame_path, write_y4m};
use crate::signal::{Kind, SignalInfo};
use clap::builder::TypedValueParser;
use std::path::{Path, PathBuf};

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
    /// Allow outputs above the 64-megapixel (per frame) and 100,000-frame limits.
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
    #[arg(long, default_value = "auto", value_parser = crate::device::DeviceChoice::NAMES)]
    device: String,
}

/// Most frames written without `--force`.
pub const MAX_OUTPUT_FRAMES: u64 = 100_000;

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
    match signal.kind {
        Kind::Image => {}
        Kind::Video => return run_video(&args, &file),
        Kind::Sdf => {
            return Err(Error::Parameter(format!(
                "{} holds a signed-distance field; extract a surface with `scone mesh`",
                args.input.display()
            )));
        }
    }
    if args.frames.is_some() || args.fps.is_some() || args.frame.is_some() || args.time.is_some() {
        return Err(Error::Parameter(
            "--frames, --fps, --frame and --time apply to clips, and this file holds an image"
                .into(),
        ));
    }
    let (w0, h0) = (signal.sizes[0] as u64, signal.sizes[1] as u64);
    let (width, height) = output_size((w0, h0), args.scale, args.width, args.height, args.force)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension("decoded.png"));
    check_not_input(&args.input, &output)?;
    check_png_name(&output)?;
    let band_rows = (BAND_POINTS / width).max(1);
    let ((), note) = with_evaluator(&file.network, &args.device, "decoding", |eval| {
        write_atomic(&output, |w| {
            write_png(
                w,
                width,
                height,
                signal.layout,
                args.depth,
                band_rows,
                |y0, y1| render_rows(eval, signal, width, height, y0, y1),
            )
        })
    })?;
    say_note(note, false);
    Ok(())
}

/// Refuses a PNG output whose name says otherwise (e.g. `out.y4m` for an
/// image), rather than writing PNG bytes under a misleading name.
fn check_png_name(output: &Path) -> Result<(), Error> {
    let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext.eq_ignore_ascii_case("png") {
        return Ok(());
    }
    Err(Error::Parameter(format!(
        "{}: an image or a single frame decodes to a PNG file named .png; .y4m and frame patterns are for clips",
        output.display()
    )))
}

/// Which frames a clip decodes to: source frame positions u (frame k of
/// the source at u = k, FORMAT.md §4.5) and the output's frame rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub positions: Vec<f64>,
    pub rate: (u32, u32),
}

/// The frames asked for by `--frames`, `--fps`, or neither: the same time
/// span as the source (N/fps seconds with cell-centre sampling, from the
/// first to the last frame with endpoints), output frame k at k/fps′.
pub fn schedule(
    signal: &SignalInfo,
    frames: Option<u64>,
    fps: Option<(u32, u32)>,
    force: bool,
) -> Result<Schedule, Error> {
    use crate::signal::Convention;
    let n = signal.sizes[2] as u64;
    let rate = signal.frame_rate.expect("a video has a frame rate");
    let src = (rate.num as u64, rate.den as u64);
    let endpoints = signal.convention == Convention::Endpoints;
    // (count, output rate as a fraction num/den)
    let (count, out): (u64, (u64, u64)) = match (frames, fps) {
        (Some(0), _) => return Err(Error::Parameter("--frames must be at least 1".into())),
        (Some(m), _) if endpoints && m > 1 && n > 1 => (m, (src.0 * (m - 1), src.1 * (n - 1))),
        (Some(m), _) if endpoints => (m, src),
        (Some(m), _) => (m, (src.0 * m, src.1 * n)),
        (None, Some((a, b))) => {
            let ratio = (a as f64 / b as f64) / (src.0 as f64 / src.1 as f64);
            let count = if endpoints {
                ((n - 1) as f64 * ratio + 1e-9).floor() as u64 + 1
            } else {
                (n as f64 * ratio - 1e-9).ceil().max(1.0) as u64
            };
            (count, (a as u64, b as u64))
        }
        (None, None) => (n, src),
    };
    if count > MAX_OUTPUT_FRAMES && !force {
        return Err(Error::LimitsExceeded(format!(
            "{count} frames exceed {MAX_OUTPUT_FRAMES}; pass --force to decode them anyway"
        )));
    }
    if count > 1 << 32 {
        return Err(Error::LimitsExceeded(format!(
            "{count} frames are too many"
        )));
    }
    // Source frames advance (src / out) per output frame; computed from
    // integers so that whole source frames land exactly on u = k.
    let step_num = src.0 as u128 * out.1 as u128;
    let step_den = src.1 as u128 * out.0 as u128;
    let positions = (0..count)
        .map(|k| (k as u128 * step_num) as f64 / step_den as f64)
        .collect();
    Ok(Schedule {
        positions,
        rate: reduce(out),
    })
}

/// `num/den` in lowest terms, scaled into u32 if it does not fit.
fn reduce((mut n, mut d): (u64, u64)) -> (u32, u32) {
    let g = gcd(n, d);
    (n, d) = (n / g, d / g);
    while n > u32::MAX as u64 || d > u32::MAX as u64 {
        n = n.div_ceil(2);
        d = d.div_ceil(2);
    }
    (n.max(1) as u32, d.max(1) as u32)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

/// The source frame position of `--frame K` or `--time T`, checked against
/// the clip's span.
fn single_position(
    signal: &SignalInfo,
    frame: Option<u64>,
    time: Option<f64>,
) -> Result<f64, Error> {
    let n = signal.sizes[2] as f64;
    let fps = signal.frame_rate.expect("a video has a frame rate").fps();
    let last = n - 1.0;
    let u = match (frame, time) {
        (Some(k), _) => k as f64,
        (None, Some(t)) => t * fps,
        (None, None) => unreachable!("called for --frame or --time"),
    };
    if let Some(k) = frame
        && u > last
    {
        return Err(Error::Parameter(format!(
            "frame {k} is past the clip's last frame {last}"
        )));
    }
    // FORMAT.md §4.5: a cell-centre clip spans u ∈ [0, N), an endpoints
    // clip u ∈ [0, N − 1].
    let inside = match signal.convention {
        crate::signal::Convention::CellCentre => u < n,
        crate::signal::Convention::Endpoints => u <= last + 1e-9,
    };
    if !inside {
        let end = match signal.convention {
            crate::signal::Convention::CellCentre => n / fps,
            crate::signal::Convention::Endpoints => last / fps,
        };
        return Err(Error::Parameter(format!(
            "{} s is past the clip's end at {end:.6} s",
            time.unwrap_or(0.0)
        )));
    }
    Ok(u)
}

fn run_video(args: &Args, file: &SconeFile) -> Result<(), Error> {
    let ((), note) = with_evaluator(&file.network, &args.device, "decoding", |eval| {
        decode_video(args, file, eval)
    })?;
    say_note(note, false);
    Ok(())
}

fn decode_video(args: &Args, file: &SconeFile, eval: &dyn Evaluate) -> Result<(), Error> {
    let signal = &file.signal;
    let (w0, h0) = (signal.sizes[0] as u64, signal.sizes[1] as u64);
    let (width, height) = output_size((w0, h0), args.scale, args.width, args.height, args.force)?;
    let n = signal.sizes[2] as usize;
    let band_rows = (BAND_POINTS / width).max(1);
    let png = |w: &mut dyn std::io::Write, t: f32| {
        write_png(
            w,
            width,
            height,
            signal.layout,
            args.depth,
            band_rows,
            |y0, y1| render_frame_rows(eval, signal, width, height, t, y0, y1),
        )
    };
    if args.frame.is_some() || args.time.is_some() {
        let u = single_position(signal, args.frame, args.time)?;
        let t = time_coordinate(u, n, signal.convention) as f32;
        let output = args
            .output
            .clone()
            .unwrap_or_else(|| args.input.with_extension("decoded.png"));
        check_not_input(&args.input, &output)?;
        check_png_name(&output)?;
        return write_atomic(&output, |w| png(w, t));
    }
    let plan = schedule(signal, args.frames, args.fps, args.force)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension("decoded.y4m"));
    let name = output.to_string_lossy();
    let times: Vec<f32> = plan
        .positions
        .iter()
        .map(|&u| time_coordinate(u, n, signal.convention) as f32)
        .collect();
    if name.contains('%') {
        return write_frames(&args.input, &name, &times, |w, t| png(w, t));
    }
    let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !ext.eq_ignore_ascii_case("y4m") {
        return Err(Error::Parameter(format!(
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
    write_atomic(&output, |w| {
        write_y4m(w, width, height, times.len(), plan.rate, chroma, |k| {
            Ok(render_frame_rows(
                eval, signal, width, height, times[k], 0, height,
            ))
        })
    })
}

/// Writes one PNG per time through `pattern`; on failure removes the frames
/// already written, so no partial sequence is left behind.
fn write_frames(
    input: &Path,
    pattern: &str,
    times: &[f32],
    mut png: impl FnMut(&mut dyn std::io::Write, f32) -> Result<(), Error>,
) -> Result<(), Error> {
    let paths = (0..times.len())
        .map(|k| frame_path(pattern, k))
        .collect::<Result<Vec<_>, _>>()?;
    for p in &paths {
        check_not_input(input, p)?;
    }
    for (k, (path, &t)) in paths.iter().zip(times).enumerate() {
        if let Err(e) = write_atomic(path, |w| png(w, t)) {
            for done in &paths[..k] {
                let _ = std::fs::remove_file(done);
            }
            return Err(e);
        }
    }
    Ok(())
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

    fn clip(frames: u32, num: u32, den: u32, convention: crate::signal::Convention) -> SignalInfo {
        SignalInfo {
            kind: Kind::Video,
            layout: crate::signal::Layout::Rgb,
            sizes: vec![4, 4, frames],
            bit_depth: 8,
            value_range: [0.0, 1.0],
            convention,
            frame_rate: Some(crate::signal::FrameRate { num, den }),
            domain: None,
        }
    }

    #[test]
    fn frame_schedules_keep_the_time_span() {
        use crate::signal::Convention::{CellCentre, Endpoints};
        let s = schedule(&clip(8, 25, 1, CellCentre), None, Some((50, 1)), false).unwrap();
        assert_eq!(s.rate, (50, 1));
        assert_eq!(
            s.positions,
            (0..16).map(|k| k as f64 / 2.0).collect::<Vec<_>>()
        );
        let s = schedule(&clip(8, 25, 1, CellCentre), Some(3), None, false).unwrap();
        assert_eq!(s.positions, [0.0, 8.0 / 3.0, 16.0 / 3.0]);
        assert_eq!(s.rate, (75, 8));
        let s = schedule(&clip(5, 25, 1, Endpoints), Some(9), None, false).unwrap();
        assert_eq!(
            s.positions,
            (0..9).map(|k| k as f64 / 2.0).collect::<Vec<_>>()
        );
        assert_eq!(s.rate, (50, 1));
        let s = schedule(&clip(5, 25, 1, Endpoints), None, Some((50, 1)), false).unwrap();
        assert_eq!(s.positions.len(), 9);
        // Whole source frames land exactly on u = k, whatever the ratio.
        let s = schedule(&clip(39, 60, 1, Endpoints), Some(67), None, false).unwrap();
        for (k, &u) in s.positions.iter().enumerate() {
            if (k * 38) % 66 == 0 {
                assert_eq!(u, (k * 38 / 66) as f64);
            }
        }
        assert_eq!(*s.positions.last().unwrap(), 38.0);
        let s = schedule(
            &clip(10, 30000, 1001, CellCentre),
            None,
            Some((60000, 1001)),
            false,
        );
        assert_eq!(s.unwrap().positions.len(), 20);
        assert!(schedule(&clip(10, 25, 1, CellCentre), Some(0), None, false).is_err());
        assert!(schedule(&clip(10, 25, 1, CellCentre), Some(200_000), None, false).is_err());
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
