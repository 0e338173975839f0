//! `scone encode`: fit an image, a clip or a shape and write a .scone file.

use super::output::{check_not_input, write_atomic};
use clap::builder::TypedValueParser;
use indicatif::{ProgressBar, ProgressStyle};
use scone::Error;
use scone::encode::{
    Preset, RateTarget, SdfSettings, Settings, default_omegas, encode_image, encode_sdf,
    encode_video,
};
use scone::metrics::mean_std;
use scone::signal::{Convention, Kind};
use scone::train::{Batch, Device, StepReport};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Input: an image (PNG, JPEG), a clip (YUV4MPEG2 .y4m, animated GIF,
    /// or a folder of numbered PNG frames) or a shape (mesh: OBJ, PLY, STL;
    /// oriented point cloud: .xyz or PLY with normals).
    input: PathBuf,
    /// Output file (default: the input's name with `.scone`).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// `default` (about three minutes for a 768×512 image on two cores),
    /// `slow` (`default` with six times the steps of a grid network) or
    /// `paper` (the paper's coordinate 5 × 250 network, 10k full-batch
    /// steps).
    #[arg(long, default_value = "default", value_parser = ["default", "slow", "paper"])]
    preset: String,
    /// Network: `grid` (latent grids and a small synthesis; images only,
    /// the default for images with the `default` and `slow` presets),
    /// `scone` (the coordinate network; the default otherwise), or a
    /// baseline the paper compares it with: `siren`, `ffn` (random Fourier
    /// features + ReLU MLP), `mfn` (GaborNet), `wire`, `rbm` (SCONE's
    /// random-binary-mask ablation). Without --width a baseline gets the
    /// width that trains as many parameters as the SCONE of the preset.
    /// `--bits` without `--arch` selects `scone`.
    #[arg(long, value_parser = scone_model_names())]
    arch: Option<String>,
    /// SCONE's mask activation: `sin2` (the paper's), `sigmoid`, `ntanh`,
    /// `ntanh-l`, `sigmoid-l` or `exp-sq` (-l: with a trainable input scale).
    #[arg(long, default_value = "sin2", value_parser = ["sin2", "sigmoid", "ntanh", "ntanh-l", "sigmoid-l", "exp-sq"])]
    mask: String,
    /// `--arch grid`: the synthesis network reading the latent grids:
    /// `relu` (the default: it measured best), `scone` (its masks read the
    /// latents, its bases the coordinates) or `siren`.
    #[arg(long, default_value = "relu", value_parser = scone::model::Synthesis::NAMES)]
    synthesis: String,
    /// `--arch grid`: the number of latent grids (full resolution, then
    /// each half the last), 1 to 8.
    #[arg(long)]
    levels: Option<usize>,
    /// Training steps.
    #[arg(long)]
    iterations: Option<usize>,
    /// Hidden width (complex features for `wire`).
    #[arg(long)]
    width: Option<usize>,
    /// Number of layers L (L − 1 hidden layers and the output layer).
    #[arg(long)]
    depth: Option<usize>,
    /// ω₀: SCONE's mask frequency, SIREN's and rbm's sine frequency, WIRE's
    /// wavelet frequency.
    #[arg(long)]
    omega0: Option<f32>,
    /// Basis frequencies, one per hidden layer, comma-separated (e.g. 90,60,30,10).
    #[arg(long, value_delimiter = ',')]
    omegas: Option<Vec<f32>>,
    /// Initial learning rate (cosine decay to --lr-min).
    #[arg(long)]
    lr: Option<f64>,
    /// Final learning rate.
    #[arg(long)]
    lr_min: Option<f64>,
    /// `full` for the whole image every step, or a number of random pixels per step.
    #[arg(long)]
    batch: Option<String>,
    /// Seed of the initialisation and of the batches.
    #[arg(long)]
    seed: Option<u64>,
    /// Weight precision: 32 (f32), 16 (f16) or 8 (8-bit affine matrices,
    /// f16 elsewhere), instead of coded weights at a rate.
    #[arg(long, conflicts_with_all = ["bpp", "size", "psnr", "quality"], value_parser = clap::builder::PossibleValuesParser::new(["32", "16", "8"]).map(|s| s.parse::<u8>().unwrap()))]
    bits: Option<u8>,
    /// Images: code the weights for this many bits per pixel, the whole
    /// file counted.
    #[arg(long, conflicts_with_all = ["size", "psnr", "quality"])]
    bpp: Option<f64>,
    /// Images: code the weights for a file of at most this many bytes
    /// (`20k` = 20,000, `1M` = 1,000,000).
    #[arg(long, value_parser = parse_size, conflicts_with_all = ["psnr", "quality"])]
    size: Option<u64>,
    /// Images: the smallest file of the network `--quality 100` trains
    /// that decodes to at least this PSNR (dB).
    #[arg(long, conflicts_with = "quality")]
    psnr: Option<f64>,
    /// Images: a point of the quality ladder, 1 to 100 (default 70: 0.8
    /// bits per pixel; the rate doubles every 20 steps).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: Option<u8>,
    /// Sampling convention: `cell-centre` or `endpoints` (FORMAT.md §4.3).
    #[arg(long, value_parser = ["cell-centre", "endpoints"])]
    grid: Option<String>,
    /// Frame rate of a folder of PNG frames: `25` or a fraction like `30000/1001`.
    #[arg(long, value_parser = super::parse_rate)]
    fps: Option<(u32, u32)>,
    /// Shapes: points sampled on a mesh's surface for the distance labels.
    #[arg(long, default_value_t = SdfSettings::default().surface_points)]
    surface_points: usize,
    /// Shapes: grid resolution of the reported IoU and Chamfer distance.
    #[arg(long, default_value_t = SdfSettings::default().eval_resolution)]
    eval_resolution: usize,
    /// Where to train: `auto` (CUDA when a GPU is usable, else the CPU),
    /// `cpu` or `cuda`.
    #[arg(long, default_value = "auto", value_parser = scone::device::DeviceChoice::NAMES)]
    device: String,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

/// A size in bytes: a whole number, or with `k` (thousands) or `M`
/// (millions), e.g. `20k`.
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1_000.0),
        None => match s.strip_suffix('M') {
            Some(d) => (d, 1_000_000.0),
            None => (s, 1.0),
        },
    };
    match digits.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 1.0 && v * unit <= u64::MAX as f64 => {
            Ok((v * unit).round() as u64)
        }
        _ => Err(format!(
            "`{s}` is not a size in bytes like 20000, 20k or 1.5M"
        )),
    }
}

fn scone_model_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(scone::model::ARCH_NAMES)
}

/// What kind of signal `path` holds: a folder is a clip of PNG frames,
/// otherwise the extension decides and the loaders check the content.
pub fn input_kind(path: &std::path::Path) -> Result<Kind, Error> {
    if path.is_dir() {
        return Ok(Kind::Video);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" => Ok(Kind::Image),
        "y4m" | "gif" => Ok(Kind::Video),
        "obj" | "ply" | "stl" | "xyz" => Ok(Kind::Sdf),
        _ => Err(Error::Input(format!(
            "{}: unknown input type; expected an image (.png, .jpg), a clip (.y4m, .gif, \
             a folder of PNG frames) or a shape (.obj, .ply, .stl, .xyz)",
            path.display()
        ))),
    }
}

fn settings(args: &Args, kind: Kind) -> Result<Settings, Error> {
    let preset = match args.preset.as_str() {
        "paper" => Preset::Paper,
        "slow" => Preset::Slow,
        _ => Preset::Default,
    };
    let mut s = Settings::for_kind(kind, preset);
    match (&args.arch, args.bits) {
        (Some(a), Some(_)) if a == "grid" => {
            return Err(Error::parameter(
                "--bits applies to coordinate networks: a grid network's latents and weights are entropy-coded (use --bpp, --size, --psnr or --quality)",
            ));
        }
        (Some(a), _) => s.set_arch(a),
        // Fixed-precision weights are the coordinate network's.
        (None, Some(_)) => s.set_arch("scone"),
        (None, None) => {}
    }
    if s.arch == "grid" && kind != Kind::Image {
        return Err(Error::parameter("--arch grid encodes images"));
    }
    if let Some(d) = args.depth {
        if !(2..=scone::model::MAX_LAYERS).contains(&d) {
            return Err(Error::parameter(format!(
                "--depth must be 2 to {}, not {d}",
                scone::model::MAX_LAYERS
            )));
        }
        if d != s.layers {
            // A grid's SCONE synthesis takes its own frequencies.
            s.omegas = if s.arch == "grid" {
                Vec::new()
            } else {
                default_omegas(d - 1)
            };
        }
        s.layers = d;
    }
    s.mask = scone::model::Mask::from_name(&args.mask)?;
    s.synthesis = args.synthesis.clone();
    if let Some(l) = args.levels {
        s.levels = l;
    }
    if s.arch == "grid" {
        if let Some(n) = args.iterations {
            s.grid_train.train.steps = n;
        }
        if let Some(lr) = args.lr {
            s.grid_train.train.lr_synthesis = lr;
        }
    }
    if let Some(w) = args.width {
        s.hidden = w;
        s.match_budget = false;
    }
    if let Some(w) = args.omega0 {
        s.omega0 = Some(w);
    }
    if let Some(o) = &args.omegas {
        s.omegas = o.clone();
    }
    if let Some(n) = args.iterations {
        s.train.iterations = n;
    }
    if let Some(lr) = args.lr {
        s.train.lr = lr;
    }
    if let Some(lr) = args.lr_min {
        s.train.lr_min = lr;
    }
    if let Some(b) = &args.batch {
        s.train.batch = match b.as_str() {
            "full" => Batch::Full,
            n => match n.parse::<usize>() {
                Ok(n) if n > 0 => Batch::Random(n),
                _ => {
                    return Err(Error::parameter(format!(
                        "--batch must be `full` or a positive number, not `{n}`"
                    )));
                }
            },
        };
    }
    if let Some(seed) = args.seed {
        s.train.seed = seed;
    }
    if let Some(bits) = args.bits {
        s.bits = bits;
        s.rate = None;
    }
    let target = match (args.bpp, args.size, args.psnr, args.quality) {
        (Some(b), ..) => Some(RateTarget::Bpp(b)),
        (_, Some(n), ..) => Some(RateTarget::Bytes(n)),
        (_, _, Some(d), _) => Some(RateTarget::Psnr(d)),
        (.., Some(q)) => Some(RateTarget::Quality(q)),
        _ => None,
    };
    if let Some(target) = target {
        if kind != Kind::Image {
            return Err(Error::parameter(
                "--bpp, --size, --psnr and --quality apply to images; clips and shapes keep their presets",
            ));
        }
        s.rate = Some(target);
    }
    if args.width.is_some() || args.depth.is_some() {
        s.size_for_rate = false;
    }
    if args.iterations.is_some() || args.batch.is_some() {
        s.steps_for_rate = false;
    }
    if let Some(g) = &args.grid {
        s.convention = if g == "endpoints" {
            Convention::Endpoints
        } else {
            Convention::CellCentre
        };
    }
    if s.train.iterations == 0 {
        return Err(Error::parameter("--iterations must be at least 1"));
    }
    let lr_ok = |v: f64| v.is_finite() && v > 0.0;
    if !lr_ok(s.train.lr) || !lr_ok(s.train.lr_min) || s.train.lr_min > s.train.lr {
        return Err(Error::parameter(
            "learning rates must be positive, with --lr-min no larger than --lr",
        ));
    }
    Ok(s)
}

pub fn run(args: Args) -> Result<(), Error> {
    let kind = input_kind(&args.input)?;
    let settings = settings(&args, kind)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension("scone"));
    check_not_input(&args.input, &output)?;
    let sdf = SdfSettings {
        surface_points: args.surface_points,
        eval_resolution: args.eval_resolution,
        ..SdfSettings::default()
    };
    if kind == Kind::Sdf {
        check_sdf_settings(&sdf)?;
    }
    let mut settings = settings;
    let (device, note) = super::resolve_device(&args.device)?;
    settings.device = device;
    // Said once training starts, after the input has been read and checked.
    let mut note = note.filter(|_| !args.quiet);
    let bar = progress_bar(args.quiet, settings.train.iterations);
    let mut loss = None;
    let start = Instant::now();
    let mut on_step = |r: &StepReport| {
        if let Some(note) = note.take() {
            bar.suspend(|| eprintln!("scone: {note}"));
        }
        loss = r.loss.or(loss);
        bar.set_length(r.iterations as u64);
        if let Some(loss) = loss.filter(|_| r.step.is_multiple_of(10) || r.step + 1 == r.iterations)
        {
            if kind == Kind::Sdf {
                bar.set_message(format!("loss {loss:.3e}"));
            } else {
                // Targets span [−1, 1]: a loss of 4·MSE on the [0, 1] scale.
                let psnr = scone::metrics::psnr_from_mse(loss as f64 / 4.0);
                bar.set_message(format!("loss {loss:.3e} psnr {psnr:.2} dB"));
            }
        }
        bar.set_position(r.step as u64 + 1);
    };
    let (bytes, summary) = match kind {
        Kind::Image => {
            let (img, notes) = scone::signal::image::load_with_notes(&args.input)?;
            if !args.quiet {
                for n in notes {
                    bar.suspend(|| eprintln!("scone: warning: {}: {n}", args.input.display()));
                }
            }
            let e = encode_image(&img, &settings, &mut on_step)?;
            let pixels = (img.width * img.height) as f64;
            let summary = format!(
                "{}x{} {}, {} bytes ({:.3} bpp), PSNR {:.2} dB, SSIM {:.4}",
                img.width,
                img.height,
                img.layout.name(),
                e.bytes.len(),
                8.0 * e.bytes.len() as f64 / pixels,
                e.psnr,
                e.ssim
            );
            (e.bytes, summary)
        }
        Kind::Video => {
            let clip = scone::signal::video::load(&args.input, args.fps)?;
            let e = encode_video(&clip, &settings, &mut on_step)?;
            let pixels = (clip.width * clip.height * clip.frames) as f64;
            let (p, p_sd) = mean_std(&e.frame_psnr);
            let (q, q_sd) = mean_std(&e.frame_ssim);
            let summary = format!(
                "{}x{}, {} frames at {:.3} fps, {} bytes ({:.4} bpp), \
                 PSNR {p:.2} ± {p_sd:.2} dB, SSIM {q:.4} ± {q_sd:.4} over frames",
                clip.width,
                clip.height,
                clip.frames,
                clip.fps_f64(),
                e.bytes.len(),
                8.0 * e.bytes.len() as f64 / pixels,
            );
            (e.bytes, summary)
        }
        Kind::Sdf => {
            let shape = scone::mesh::load::load_shape(&args.input)?;
            let e = encode_sdf(&shape, &settings, &sdf, &mut on_step)?;
            let q = e.quality;
            let summary = format!(
                "{} bytes, {} parameters, IoU {:.4} and Chamfer {:.3e} at {}³",
                e.bytes.len(),
                e.file.network.parameter_count(),
                q.iou,
                q.chamfer,
                q.resolution
            );
            (e.bytes, summary)
        }
    };
    bar.finish_and_clear();
    write_atomic(&output, |w| {
        w.write_all(&bytes).map_err(|e| Error::io(&output, e))
    })?;
    if !args.quiet {
        let on = match settings.device {
            Device::Cpu => String::new(),
            Device::Cuda => format!(
                " on {}",
                scone::device::cuda_device_name().unwrap_or_else(|_| "CUDA".into())
            ),
        };
        println!(
            "{} → {}: {summary}, {:.1} s{on}",
            args.input.display(),
            output.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn check_sdf_settings(s: &SdfSettings) -> Result<(), Error> {
    if !(1000..=(1 << 26)).contains(&s.surface_points) {
        return Err(Error::parameter(format!(
            "--surface-points must be 1000 to {}, not {}",
            1u64 << 26,
            s.surface_points
        )));
    }
    scone::Limits::default().check_resolution(s.eval_resolution as u64)
}

fn progress_bar(quiet: bool, steps: usize) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} step {pos}/{len} [{bar:30}] {msg} {elapsed} elapsed, {eta} left",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}
