//! The SCONE paper's experiments, rerun on this codec (not a test).
//!
//! Run from the crate root: `cargo run --release --example experiments -- COMMAND [OPTIONS]`
//!
//! Commands:
//!
//! - `table2`: every architecture and SCONE mask variant fitted to Kodak
//!   images (the paper's Table 2 and Figure 7); PSNR and SSIM per image and
//!   their means, as Markdown (stdout and `--out DIR/table2.md`) and CSV
//!   (`DIR/table2.csv`).
//!
//! Protocols (`--protocol`):
//!
//! - `cpu` (default): each image box-filtered
//!   to a quarter of its size (192×128 or 128×192); SCONE 5 layers × 64
//!   hidden, ω₀ = 30, ω = [90, 60, 30, 10] (13,635 parameters, 0.55 per
//!   pixel, the paper's ratio is 0.49); every other network as wide as fits
//!   the same trained-parameter budget at the paper's depth; 500 full-batch
//!   Adam steps, learning rate 1e-3 decaying to 1e-5 (cosine), the same for
//!   every network, as the paper uses one rate for all. Measured on two
//!   cores (kodim23, 50 steps): SCONE sin² 0.11 s per step with its fused
//!   CPU layers; the other masks and the baselines 0.17–0.8 s per step
//!   through burn's generic operations, so all eleven networks take about
//!   45 minutes per image.
//! - `paper` (for a GPU): full-size images, the paper's networks (FORMAT.md
//!   §5.8: about 200k parameters each), 10,000 full-batch steps, learning
//!   rate 1e-4 to 1e-6.
//!
//! Options: `--images kodim01,kodim05` (default: all 24), `--archs
//! scone,siren` (labels as printed; default: all 11), `--iterations N`,
//! `--kodak DIR` (default ../shared/data/kodak), `--out DIR` (default
//! target/experiments), `--device cpu|cuda`.
//!
//! PSNR and SSIM are those of the file the encoder writes with 32-bit
//! weights (the fitted network itself), after the last step: the paper's
//! code reports the best step instead, which can only be higher.

use scone::encode::{Preset, Settings, encode_image};
use scone::model::{Arch, FAMILY_NAMES, Mask};
use scone::signal::Convention;
use scone::signal::image::{Image, load};
use scone::train::{Batch, Device, TrainConfig};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// The networks of Table 2 / Figure 7, by label.
fn all_labels() -> Vec<String> {
    let mut labels = vec!["scone".to_string()];
    labels.extend(Mask::ALL[1..].iter().map(|m| format!("scone-{}", m.name())));
    labels.extend(FAMILY_NAMES[1..].iter().map(|s| s.to_string()));
    labels
}

#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    Cpu,
    Paper,
}

struct Options {
    command: String,
    protocol: Protocol,
    images: Vec<String>,
    labels: Vec<String>,
    iterations: Option<usize>,
    kodak: PathBuf,
    out: PathBuf,
    device: Device,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| {
        eprintln!("usage: experiments table2 [OPTIONS] (see tools/experiments.rs)");
        std::process::exit(2)
    });
    let mut o = Options {
        command,
        protocol: Protocol::Cpu,
        images: (1..=24).map(|i| format!("kodim{i:02}")).collect(),
        labels: all_labels(),
        iterations: None,
        kodak: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/kodak")),
        out: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/experiments")),
        device: Device::Cpu,
    };
    let list = |v: Option<String>| -> Vec<String> {
        v.expect("a comma-separated list")
            .split(',')
            .map(String::from)
            .collect()
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--protocol" => {
                o.protocol = match args.next().as_deref() {
                    Some("cpu") => Protocol::Cpu,
                    Some("paper") => Protocol::Paper,
                    other => panic!("--protocol cpu|paper, not {other:?}"),
                }
            }
            "--images" => o.images = list(args.next()),
            "--archs" => o.labels = list(args.next()),
            "--iterations" => {
                o.iterations = Some(args.next().expect("N").parse().expect("a number"))
            }
            "--kodak" => o.kodak = PathBuf::from(args.next().expect("DIR")),
            "--out" => o.out = PathBuf::from(args.next().expect("DIR")),
            "--device" => {
                o.device = match args.next().as_deref() {
                    Some("cuda") => Device::Cuda,
                    _ => Device::Cpu,
                }
            }
            other => panic!("unknown option {other}"),
        }
    }
    for l in &o.labels {
        assert!(all_labels().contains(l), "unknown architecture label {l}");
    }
    o
}

/// `img` averaged over `f`×`f` blocks (the last partial blocks dropped).
fn box_downscale(img: &Image, f: usize) -> Image {
    let (w, h, c) = (img.width / f, img.height / f, img.channels());
    let mut data = vec![0f32; w * h * c];
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                let mut sum = 0f32;
                for dy in 0..f {
                    for dx in 0..f {
                        sum += img.data[((y * f + dy) * img.width + x * f + dx) * c + k];
                    }
                }
                data[(y * w + x) * c + k] = sum / (f * f) as f32;
            }
        }
    }
    Image {
        width: w,
        height: h,
        layout: img.layout,
        bit_depth: img.bit_depth,
        data,
    }
}

/// The encoder settings of network `label` under `protocol`.
fn settings(
    label: &str,
    protocol: Protocol,
    iterations: Option<usize>,
    device: Device,
) -> Settings {
    let mut s = Settings::preset(Preset::Paper);
    let (family, mask) = match label.strip_prefix("scone-") {
        Some(m) => ("scone", Mask::from_name(m).expect("a mask label")),
        None => (label, Mask::Sin2),
    };
    s.arch = family.to_string();
    s.mask = mask;
    s.bits = 32;
    s.device = device;
    s.convention = Convention::Endpoints;
    let paper = Arch::paper_image_of(family, 3).expect("a family");
    s.layers = paper.layers;
    s.omegas = vec![90.0, 60.0, 30.0, 10.0];
    match protocol {
        Protocol::Paper => {
            s.hidden = paper.hidden;
            s.match_budget = false;
            s.train = TrainConfig::paper();
        }
        Protocol::Cpu => {
            // The budget is SCONE's 5 × 64 whatever this network's depth.
            s.hidden = 64;
            s.match_budget = false;
            if family != "scone" {
                s.hidden = paper.with_trainable_budget(cpu_budget()).hidden;
            }
            s.train = TrainConfig {
                iterations: 500,
                lr: 1e-3,
                lr_min: 1e-5,
                batch: Batch::Full,
                seed: 0,
            };
        }
    }
    if let Some(n) = iterations {
        s.train.iterations = n;
    }
    s
}

/// The trained-parameter budget of the CPU protocol: SCONE 5 × 64.
fn cpu_budget() -> usize {
    Arch::scone(2, 3, 5, 64, 30.0, vec![90.0, 60.0, 30.0, 10.0], Mask::Sin2).trainable_count()
}

struct Row {
    image: String,
    label: String,
    params: usize,
    psnr: f64,
    ssim: f64,
    seconds: f64,
}

fn table2(o: &Options) {
    std::fs::create_dir_all(&o.out).expect("an output folder");
    let mut rows: Vec<Row> = Vec::new();
    let mut csv = String::from("image,arch,trained_parameters,psnr_db,ssim,seconds\n");
    eprintln!(
        "protocol {}, budget {} trained parameters (CPU protocol)",
        if o.protocol == Protocol::Cpu {
            "cpu"
        } else {
            "paper"
        },
        cpu_budget()
    );
    for name in &o.images {
        let path = o.kodak.join(format!("{name}.png"));
        let full = load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let img = match o.protocol {
            Protocol::Cpu => box_downscale(&full, 4),
            Protocol::Paper => full,
        };
        for label in &o.labels {
            let s = settings(label, o.protocol, o.iterations, o.device);
            let arch = s.arch(2, 3).expect("valid settings");
            let start = Instant::now();
            let enc = encode_image(&img, &s, &mut |_| {}).expect("a fit");
            let seconds = start.elapsed().as_secs_f64();
            let row = Row {
                image: name.clone(),
                label: label.clone(),
                params: arch.trainable_count_complex_once(),
                psnr: enc.psnr,
                ssim: enc.ssim,
                seconds,
            };
            eprintln!(
                "{name} {}x{} {label:16} {:>7} params ({} real) {:6.2} dB SSIM {:.4} {:6.1} s",
                img.width,
                img.height,
                row.params,
                arch.trainable_count(),
                row.psnr,
                row.ssim,
                seconds
            );
            let _ = writeln!(
                csv,
                "{},{},{},{:.4},{:.5},{:.2}",
                row.image, row.label, row.params, row.psnr, row.ssim, row.seconds
            );
            rows.push(row);
            // Written after every fit, so an interrupted run keeps its rows.
            std::fs::write(o.out.join("table2.csv"), &csv).expect("a writable folder");
        }
    }
    let md = markdown(o, &rows);
    std::fs::write(o.out.join("table2.md"), &md).expect("a writable folder");
    print!("{md}");
}

/// Images as rows, networks as columns (PSNR / SSIM), and the means.
fn markdown(o: &Options, rows: &[Row]) -> String {
    let mut md = String::new();
    let cell = |image: &str, label: &str| {
        rows.iter()
            .find(|r| r.image == image && r.label == label)
            .map(|r| format!("{:.2} / {:.3}", r.psnr, r.ssim))
            .unwrap_or_default()
    };
    let _ = writeln!(md, "| image | {} |", o.labels.join(" | "));
    let _ = writeln!(md, "| --- |{}", " --- |".repeat(o.labels.len()));
    let params: Vec<String> = o
        .labels
        .iter()
        .map(|l| {
            rows.iter()
                .find(|r| &r.label == l)
                .map(|r| r.params.to_string())
                .unwrap_or_default()
        })
        .collect();
    let _ = writeln!(md, "| parameters | {} |", params.join(" | "));
    for image in &o.images {
        let cells: Vec<String> = o.labels.iter().map(|l| cell(image, l)).collect();
        let _ = writeln!(md, "| {image} | {} |", cells.join(" | "));
    }
    let means: Vec<String> = o
        .labels
        .iter()
        .map(|l| {
            let of: Vec<&Row> = rows.iter().filter(|r| &r.label == l).collect();
            if of.is_empty() {
                return String::new();
            }
            let n = of.len() as f64;
            format!(
                "**{:.2} / {:.3}**",
                of.iter().map(|r| r.psnr).sum::<f64>() / n,
                of.iter().map(|r| r.ssim).sum::<f64>() / n
            )
        })
        .collect();
    let _ = writeln!(md, "| **mean** | {} |", means.join(" | "));
    let seconds: Vec<String> = o
        .labels
        .iter()
        .map(|l| {
            let of: Vec<&Row> = rows.iter().filter(|r| &r.label == l).collect();
            let n = of.len().max(1) as f64;
            format!("{:.1}", of.iter().map(|r| r.seconds).sum::<f64>() / n)
        })
        .collect();
    let _ = writeln!(md, "| seconds per fit | {} |", seconds.join(" | "));
    md
}

fn main() {
    let o = options();
    match o.command.as_str() {
        "table2" => table2(&o),
        other => {
            eprintln!("unknown command {other}; one of: table2");
            std::process::exit(2)
        }
    }
}
