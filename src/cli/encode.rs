//! `scone encode`: fit an image and write a .scone file.

use super::output::{check_not_input, write_atomic};
use crate::Error;
use crate::encode::{Preset, Settings, default_omegas, encode_image};
use crate::signal::Convention;
use crate::signal::image::load;
use crate::train::{Batch, Device, StepReport};
use clap::builder::TypedValueParser;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Input image: PNG or JPEG; gray, gray+alpha, RGB or RGBA; 8 or 16 bits.
    input: PathBuf,
    /// Output file (default: the input's name with `.scone`).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// `default` (about two minutes for 768×512 on two cores) or `paper`
    /// (the paper's 5 × 250 network, 10k full-batch steps).
    #[arg(long, default_value = "default", value_parser = ["default", "paper"])]
    preset: String,
    /// Training steps.
    #[arg(long)]
    iterations: Option<usize>,
    /// Hidden width.
    #[arg(long)]
    width: Option<usize>,
    /// Number of layers L (L − 1 hidden layers and the output layer).
    #[arg(long)]
    depth: Option<usize>,
    /// ω₀ of the mask activation.
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
    /// Weight precision: 32 (f32), 16 (f16) or 8 (8-bit affine matrices, f16 elsewhere).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["32", "16", "8"]).map(|s| s.parse::<u8>().unwrap()))]
    bits: Option<u8>,
    /// Sampling convention: `cell-centre` or `endpoints` (FORMAT.md §4.3).
    #[arg(long, value_parser = ["cell-centre", "endpoints"])]
    grid: Option<String>,
    /// Where to train: `cpu` or `cuda`.
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    device: String,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

fn settings(args: &Args) -> Result<Settings, Error> {
    let preset = if args.preset == "paper" {
        Preset::Paper
    } else {
        Preset::Default
    };
    let mut s = Settings::preset(preset);
    if let Some(d) = args.depth {
        if !(2..=crate::model::MAX_LAYERS).contains(&d) {
            return Err(Error::Parameter(format!(
                "--depth must be 2 to {}, not {d}",
                crate::model::MAX_LAYERS
            )));
        }
        if d != s.layers {
            s.omegas = default_omegas(d - 1);
        }
        s.layers = d;
    }
    if let Some(w) = args.width {
        s.hidden = w;
    }
    if let Some(w) = args.omega0 {
        s.omega0 = w;
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
                    return Err(Error::Parameter(format!(
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
    }
    if let Some(g) = &args.grid {
        s.convention = if g == "endpoints" {
            Convention::Endpoints
        } else {
            Convention::CellCentre
        };
    }
    s.device = if args.device == "cuda" {
        Device::Cuda
    } else {
        Device::Cpu
    };
    if s.train.iterations == 0 {
        return Err(Error::Parameter("--iterations must be at least 1".into()));
    }
    let lr_ok = |v: f64| v.is_finite() && v > 0.0;
    if !lr_ok(s.train.lr) || !lr_ok(s.train.lr_min) || s.train.lr_min > s.train.lr {
        return Err(Error::Parameter(
            "learning rates must be positive, with --lr-min no larger than --lr".into(),
        ));
    }
    Ok(s)
}

pub fn run(args: Args) -> Result<(), Error> {
    let settings = settings(&args)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension("scone"));
    check_not_input(&args.input, &output)?;
    let img = load(&args.input)?;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(settings.train.iterations as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} step {pos}/{len} [{bar:30}] {msg} {elapsed} elapsed, {eta} left",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    };
    let start = Instant::now();
    let mut on_step = |r: &StepReport| {
        if r.step.is_multiple_of(10) || r.step + 1 == r.iterations {
            // Targets span [−1, 1]: a loss of 4·MSE on the [0, 1] scale.
            let psnr = crate::metrics::psnr_from_mse(r.loss as f64 / 4.0);
            bar.set_message(format!("loss {:.3e} psnr {psnr:.2} dB", r.loss));
        }
        bar.set_position(r.step as u64 + 1);
    };
    let encoded = encode_image(&img, &settings, &mut on_step)?;
    bar.finish_and_clear();
    write_atomic(&output, |w| {
        w.write_all(&encoded.bytes)
            .map_err(|e| Error::io(&output, e))
    })?;
    if !args.quiet {
        let pixels = (img.width * img.height) as f64;
        println!(
            "{} → {}: {}x{} {}, {} bytes ({:.3} bpp), PSNR {:.2} dB, SSIM {:.4}, {:.1} s",
            args.input.display(),
            output.display(),
            img.width,
            img.height,
            img.layout.name(),
            encoded.bytes.len(),
            8.0 * encoded.bytes.len() as f64 / pixels,
            encoded.psnr,
            encoded.ssim,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
