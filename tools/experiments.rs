//! The SCONE paper's experiments, rerun on this codec (not a test).
//!
//! Run from the crate root: `cargo run --release --example experiments -- COMMAND [OPTIONS]`
//!
//! Commands (each prints Markdown and writes its files under `--out DIR`,
//! default `target/experiments`):
//!
//! - `table2`: every architecture and SCONE mask variant fitted to Kodak
//!   images (the paper's Table 2 and Figure 7); PSNR and SSIM per image and
//!   their means (`table2.md`, `table2.csv`, the CSV rewritten after every
//!   fit). `merge A.csv B.csv …` joins the CSVs of runs split over images
//!   (one per core) into one table.
//! - `fig4`: PSNR against iterations for every network on one image
//!   (`--images`, default kodim23): `fig4.png` (plotters; `--font PATH`, a
//!   TTF, default DejaVu Sans) and `fig4.csv`. The PSNR is the float
//!   network's on the training pixels before each step (the full-batch
//!   loss).
//! - `table1`: SCONE and the four baselines (or `--archs`) fitted to the
//!   first `--frames` frames (default 8) of `--clip` (default
//!   ../shared/data/video/bikes_320x136.y4m); per-frame PSNR and SSIM,
//!   mean ± sd (`table1.md`).
//! - `table3d`: SCONE and the four baselines fitted to `--meshes` (default
//!   ../shared/data/meshes/{bunny,armadillo,dragon}.obj); occupancy IoU
//!   and Chamfer distance as docs/video-3d.md defines them (`table3d.md`).
//! - `params`: every network's trained-parameter count for images, clips
//!   and shapes under the protocol (`--protocol paper`: about 200k for
//!   images, 400k for shapes).
//! - `fig6`: a SCONE fitted to a generated Siemens star (36 spokes), and the
//!   mask, bases and product of the first eight units of every hidden
//!   layer as one image grid (`fig6.png`, rows: layer 1 mask, bases,
//!   product, layer 2 …), with the star and its decode.
//!
//! Protocols (`--protocol`):
//!
//! - `cpu` (default), sized for two cores:
//!   - images (table2, fig4): each image box-filtered to an eighth of its
//!     size (96×64 or 64×96, `--downscale`); SCONE 5 layers × 32 hidden,
//!     ω₀ = 30, ω = [90, 60, 30, 10] (3,747 parameters, 0.61 per pixel; the
//!     paper's 193k on 393k pixels is 0.49; `--width`); every other network
//!     as wide as fits the same trained-parameter budget at its paper depth
//!     (FORMAT.md §5.8; FFN keeps its 128 frequencies, which leaves its
//!     ReLU layers 13 wide: 16 frequencies and 34 units measured 4 dB
//!     lower on kodim23); 300 full-batch Adam steps, learning rate 5e-3
//!     decaying to 5e-5 (cosine, `--iterations`, `--lr`), the same for
//!     every network, as the paper uses one rate for all. SCONE sin² trains
//!     with its fused CPU layers (about 0.01 s per step here); the other
//!     masks and the baselines run burn's generic operations (0.03–0.09 s
//!     per step), about 3 minutes per image for all eleven.
//!   - clips (table1): 4× box-filtered frames (bikes: 80×34), the video
//!     default preset's depth (4 layers) with a SCONE budget 32 wide, 300
//!     steps of 8,192 random pixels, lr 5e-3.
//!   - shapes (table3d): the SDF default preset's depth (6 layers), a SCONE
//!     budget 32 wide, 500 steps of 8,192 samples, lr 1e-3 (the SDF default
//!     preset's; at 5e-3 SIREN, FFN and WIRE found no surface in 300
//!     steps), 100,000 surface points, IoU and Chamfer at 64³.
//!   - fig6: a 128×128 star, SCONE 5 × 64, 1,000 steps.
//! - `paper` (for a GPU): full-size images and the paper's networks (about
//!   200k parameters each), 10,000 full-batch steps, lr 1e-4 → 1e-6; a
//!   512×512 star; shapes at 512³.
//!
//! Options: `--images kodim01,kodim05` (default: all 24), `--archs
//! scone,siren` (labels as printed; default: all 11 for images), `--kodak
//! DIR` (default ../shared/data/kodak), `--device cpu|cuda`.
//!
//! PSNR and SSIM in the tables are those of the file the encoder writes
//! with 32-bit weights (the fitted network itself), after the last step:
//! the paper's code reports the best step instead, which can only be
//! higher.

// The binary's allocator settings, so that timings match `scone`'s.
#[path = "../src/cli/alloc.rs"]
mod alloc;

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
    /// CPU protocol: box-filter factor and SCONE's width (the budget).
    downscale: usize,
    width: usize,
    /// Learning rate of every network (the schedule ends 100× lower).
    lr: Option<f64>,
    /// Positional arguments after the command (CSV files for `merge`).
    files: Vec<PathBuf>,
    /// `table1`: the clip and how many of its first frames.
    clip: PathBuf,
    frames: usize,
    /// `table3d`: the meshes.
    meshes: Vec<PathBuf>,
    /// `fig4`: the TTF font for the plot's text.
    font: PathBuf,
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
        downscale: 8,
        width: 32,
        lr: None,
        files: Vec::new(),
        clip: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/video/bikes_320x136.y4m"
        )),
        frames: 8,
        meshes: ["bunny", "armadillo", "dragon"]
            .map(|m| {
                PathBuf::from(format!(
                    "{}/../shared/data/meshes/{m}.obj",
                    env!("CARGO_MANIFEST_DIR")
                ))
            })
            .to_vec(),
        font: PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    };
    let mut labels_given = false;
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
            "--archs" => {
                o.labels = list(args.next());
                labels_given = true;
            }
            "--clip" => o.clip = PathBuf::from(args.next().expect("PATH")),
            "--frames" => o.frames = args.next().expect("N").parse().expect("a number"),
            "--meshes" => o.meshes = list(args.next()).into_iter().map(PathBuf::from).collect(),
            "--font" => o.font = PathBuf::from(args.next().expect("PATH")),
            "--iterations" => {
                o.iterations = Some(args.next().expect("N").parse().expect("a number"))
            }
            "--lr" => o.lr = Some(args.next().expect("LR").parse().expect("a number")),
            "--downscale" => o.downscale = args.next().expect("F").parse().expect("a number"),
            "--width" => o.width = args.next().expect("W").parse().expect("a number"),
            "--kodak" => o.kodak = PathBuf::from(args.next().expect("DIR")),
            "--out" => o.out = PathBuf::from(args.next().expect("DIR")),
            "--device" => {
                o.device = match args.next().as_deref() {
                    Some("cuda") => Device::Cuda,
                    _ => Device::Cpu,
                }
            }
            other if !other.starts_with("--") => o.files.push(PathBuf::from(other)),
            other => panic!("unknown option {other}"),
        }
    }
    // Video and 3D: the networks of the paper's Tables 1 and 3 by default.
    if !labels_given && matches!(o.command.as_str(), "table1" | "table3d") {
        o.labels = ["scone", "siren", "ffn", "mfn", "wire"]
            .map(String::from)
            .to_vec();
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

/// The family and mask of a network label (`siren`, `scone-sigmoid`).
fn family_and_mask(label: &str) -> (&str, Mask) {
    match label.strip_prefix("scone-") {
        Some(m) => ("scone", Mask::from_name(m).expect("a mask label")),
        None => (label, Mask::Sin2),
    }
}

/// The encoder settings of network `label` under `o`'s protocol.
fn settings(label: &str, o: &Options) -> Settings {
    let (protocol, iterations, device, width) = (o.protocol, o.iterations, o.device, o.width);
    let mut s = Settings::preset(Preset::Paper);
    let (family, mask) = family_and_mask(label);
    s.arch = family.to_string();
    s.mask = mask;
    s.bits = 32;
    s.rate = None;
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
            s.hidden = width;
            s.match_budget = false;
            if family != "scone" {
                s.hidden = paper.with_trainable_budget(cpu_budget(width), true).hidden;
            }
            s.train = TrainConfig {
                iterations: 300,
                lr: 5e-3,
                lr_min: 5e-5,
                batch: Batch::Full,
                seed: 0,
            };
        }
    }
    if let Some(n) = iterations {
        s.train.iterations = n;
    }
    if let Some(lr) = o.lr {
        (s.train.lr, s.train.lr_min) = (lr, lr / 100.0);
    }
    s
}

/// The trained-parameter budget of the CPU protocol: SCONE 5 × 64.
fn cpu_budget(width: usize) -> usize {
    Arch::scone(
        2,
        3,
        5,
        width,
        30.0,
        vec![90.0, 60.0, 30.0, 10.0],
        Mask::Sin2,
    )
    .trainable_count()
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
        cpu_budget(o.width)
    );
    for name in &o.images {
        let path = o.kodak.join(format!("{name}.png"));
        let full = load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let img = match o.protocol {
            Protocol::Cpu => box_downscale(&full, o.downscale),
            Protocol::Paper => full,
        };
        for label in &o.labels {
            let s = settings(label, o);
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
    let md = markdown(&o.images, &o.labels, &rows);
    std::fs::write(o.out.join("table2.md"), &md).expect("a writable folder");
    print!("{md}");
}

/// Images as rows, networks as columns (PSNR / SSIM), and the means.
fn markdown(images: &[String], labels: &[String], rows: &[Row]) -> String {
    let mut md = String::new();
    let cell = |image: &str, label: &str| {
        rows.iter()
            .find(|r| r.image == image && r.label == label)
            .map(|r| format!("{:.2} / {:.3}", r.psnr, r.ssim))
            .unwrap_or_default()
    };
    let _ = writeln!(md, "| image | {} |", labels.join(" | "));
    let _ = writeln!(md, "| --- |{}", " --- |".repeat(labels.len()));
    let params: Vec<String> = labels
        .iter()
        .map(|l| {
            rows.iter()
                .find(|r| &r.label == l)
                .map(|r| r.params.to_string())
                .unwrap_or_default()
        })
        .collect();
    let _ = writeln!(md, "| parameters | {} |", params.join(" | "));
    for image in images {
        let cells: Vec<String> = labels.iter().map(|l| cell(image, l)).collect();
        let _ = writeln!(md, "| {image} | {} |", cells.join(" | "));
    }
    let means: Vec<String> = labels
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
    let seconds: Vec<String> = labels
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
    alloc::keep_freed_memory();
    let o = options();
    match o.command.as_str() {
        "table2" => table2(&o),
        "merge" => merge(&o),
        "fig4" => fig4(&o),
        "table1" => table1(&o),
        "table3d" => table3d(&o),
        "fig6" => fig6(&o),
        "params" => params(&o),
        other => {
            eprintln!(
                "unknown command {other}; one of: table2, merge, fig4, table1, table3d, fig6, params"
            );
            std::process::exit(2)
        }
    }
}

/// `merge A.csv B.csv …`: one Table 2 from the CSVs of several runs (one
/// per core, say), in `--images` order.
fn merge(o: &Options) {
    let mut rows = Vec::new();
    let mut csv = String::from("image,arch,trained_parameters,psnr_db,ssim,seconds\n");
    for f in &o.files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for line in text.lines().skip(1) {
            let v: Vec<&str> = line.split(',').collect();
            assert_eq!(v.len(), 6, "{}: bad row {line}", f.display());
            // A later file's row replaces an earlier one (a rerun).
            rows.retain(|r: &Row| !(r.image == v[0] && r.label == v[1]));
            rows.push(Row {
                image: v[0].into(),
                label: v[1].into(),
                params: v[2].parse().expect("a count"),
                psnr: v[3].parse().expect("a PSNR"),
                ssim: v[4].parse().expect("an SSIM"),
                seconds: v[5].parse().expect("seconds"),
            });
        }
    }
    // `--images` that have rows, in `--images` order.
    let images: Vec<String> = o
        .images
        .iter()
        .filter(|i| rows.iter().any(|r| &r.image == *i))
        .cloned()
        .collect();
    for image in &images {
        for r in rows.iter().filter(|r| &r.image == image) {
            let _ = writeln!(
                csv,
                "{},{},{},{:.4},{:.5},{:.2}",
                r.image, r.label, r.params, r.psnr, r.ssim, r.seconds
            );
        }
    }
    std::fs::create_dir_all(&o.out).expect("an output folder");
    std::fs::write(o.out.join("table2.csv"), &csv).expect("a writable folder");
    let md = markdown(&images, &o.labels, &rows);
    std::fs::write(o.out.join("table2.md"), &md).expect("a writable folder");
    print!("{md}");
}

/// PSNR (dB, signal range 1) of a full-batch step's loss: targets span
/// [−1, 1], twice the signal's range, so the MSE in signal units is a
/// quarter of the loss.
fn psnr_of_loss(loss: f32) -> f64 {
    10.0 * (4.0 / loss as f64).log10()
}

/// Figure 4: PSNR against iterations for every network on one image
/// (`--images`, default kodim23), under the chosen protocol. The PSNR is
/// that of the float network on the training pixels, before each step's
/// update (the full-batch loss); `DIR/fig4.png` and `DIR/fig4.csv`.
fn fig4(o: &Options) {
    use plotters::prelude::*;
    let name = if o.images.len() == 24 {
        "kodim23".to_string()
    } else {
        o.images[0].clone()
    };
    let path = o.kodak.join(format!("{name}.png"));
    let full = load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let img = match o.protocol {
        Protocol::Cpu => box_downscale(&full, o.downscale),
        Protocol::Paper => full,
    };
    std::fs::create_dir_all(&o.out).expect("an output folder");
    let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut csv = String::from("arch,iteration,psnr_db\n");
    for label in &o.labels {
        let s = settings(label, o);
        let mut curve = Vec::new();
        let enc = encode_image(&img, &s, &mut |r| {
            if let Some(loss) = r.loss {
                curve.push((r.step as f64 + 1.0, psnr_of_loss(loss)))
            }
        })
        .expect("a fit");
        eprintln!(
            "{name} {label:16} final {:.2} dB (file {:.2} dB)",
            curve.last().map_or(0.0, |c| c.1),
            enc.psnr
        );
        for (x, y) in &curve {
            let _ = writeln!(csv, "{label},{x},{y:.4}");
        }
        curves.push((label.clone(), curve));
    }
    std::fs::write(o.out.join("fig4.csv"), &csv).expect("a writable folder");
    let font = std::fs::read(&o.font)
        .unwrap_or_else(|e| panic!("{}: {e} (--font PATH)", o.font.display()));
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| "not a TrueType font")
    .expect("a font");
    let png = o.out.join("fig4.png");
    let root = BitMapBackend::new(&png, (1000, 640)).into_drawing_area();
    root.fill(&WHITE).expect("drawing");
    let iterations = curves.iter().map(|c| c.1.len()).max().unwrap_or(1) as f64;
    let ymax = curves
        .iter()
        .flat_map(|c| c.1.iter().map(|p| p.1))
        .fold(10.0, f64::max)
        + 1.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{name}: PSNR against iterations"),
            ("sans-serif", 24),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..iterations, 5f64..ymax)
        .expect("a chart");
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc("PSNR (dB)")
        .draw()
        .expect("axes");
    for (i, (label, curve)) in curves.iter().enumerate() {
        let style = Palette99::pick(i).stroke_width(2);
        chart
            .draw_series(LineSeries::new(curve.iter().copied(), style))
            .expect("a series")
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    Palette99::pick(i).stroke_width(2),
                )
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .expect("a legend");
    root.present().expect("the PNG is written");
    eprintln!("wrote {} and fig4.csv", png.display());
}

/// `video` averaged over `f`×`f` blocks, first `frames` frames.
fn box_downscale_video(
    video: &scone::signal::video::Video,
    f: usize,
    frames: usize,
) -> scone::signal::video::Video {
    let (w, h, n) = (video.width / f, video.height / f, frames.min(video.frames));
    let mut data = vec![0u8; w * h * n * 3];
    for t in 0..n {
        let src = &video.data[t * video.width * video.height * 3..];
        for y in 0..h {
            for x in 0..w {
                for k in 0..3 {
                    let mut sum = 0u32;
                    for dy in 0..f {
                        for dx in 0..f {
                            sum += src[((y * f + dy) * video.width + x * f + dx) * 3 + k] as u32;
                        }
                    }
                    let n2 = (f * f) as u32;
                    data[((t * h + y) * w + x) * 3 + k] = ((sum + n2 / 2) / n2) as u8;
                }
            }
        }
    }
    scone::signal::video::Video {
        width: w,
        height: h,
        frames: n,
        fps: video.fps,
        data,
    }
}

/// Settings of network `label` for a clip or a shape: the kind's default
/// preset, SCONE `width` wide (the budget) at the preset's depth, `steps`
/// steps at the protocol's learning rate.
fn kind_settings(
    label: &str,
    kind: scone::signal::Kind,
    o: &Options,
    steps: usize,
    batch: usize,
    lr: f64,
) -> Settings {
    let preset = match o.protocol {
        Protocol::Cpu => Preset::Default,
        Protocol::Paper => Preset::Paper,
    };
    let mut s = Settings::for_kind(kind, preset);
    let (family, mask) = family_and_mask(label);
    s.set_arch(family);
    s.mask = mask;
    s.bits = 32;
    s.rate = None;
    s.device = o.device;
    s.match_budget = true;
    s.complex_once = true;
    if o.protocol == Protocol::Cpu {
        s.hidden = o.width;
        s.train.iterations = steps;
        s.train.batch = Batch::Random(batch);
        (s.train.lr, s.train.lr_min) = (lr, lr / 100.0);
    }
    if let Some(n) = o.iterations {
        s.train.iterations = n;
    }
    if let Some(lr) = o.lr {
        (s.train.lr, s.train.lr_min) = (lr, lr / 100.0);
    }
    s
}

/// The parameter counts of every network under the chosen protocol:
/// images (Table 2), clips (Table 1) and shapes (3D), aligned as the
/// paper aligns them.
fn params(o: &Options) {
    use scone::signal::Kind;
    println!("| network | image | clip | shape |\n| --- | --- | --- | --- |");
    for label in all_labels() {
        let count = |a: Arch| {
            let (once, real) = (a.trainable_count_complex_once(), a.trainable_count());
            if once == real {
                format!("{real} ({}×{})", a.layers, a.hidden)
            } else {
                format!("{once} ({real} real; {}×{})", a.layers, a.hidden)
            }
        };
        let image = count(settings(&label, o).arch(2, 3).expect("valid settings"));
        let clip = count(
            kind_settings(&label, Kind::Video, o, 300, 8192, 5e-3)
                .arch(3, 3)
                .expect("valid settings"),
        );
        let shape = count(
            kind_settings(&label, Kind::Sdf, o, 500, 8192, 1e-3)
                .arch(3, 1)
                .expect("valid settings"),
        );
        println!("| {label} | {image} | {clip} | {shape} |");
    }
}

/// Table 1: every network (default: SCONE and the four baselines) fitted
/// to the first `--frames` frames of `--clip`, box-filtered by
/// `--downscale` (CPU protocol: bikes 320×136 → 40×17… see the defaults
/// printed); PSNR and SSIM per frame, mean ± sd.
fn table1(o: &Options) {
    use scone::metrics::mean_std;
    let full = scone::signal::video::load(&o.clip, None)
        .unwrap_or_else(|e| panic!("{}: {e}", o.clip.display()));
    let f = if o.protocol == Protocol::Cpu {
        o.downscale.clamp(1, 4)
    } else {
        1
    };
    let clip = box_downscale_video(&full, f, o.frames);
    let mut md = format!(
        "Clip {} (first {} frames, {}x{}), {} steps of {} random pixels, lr {:e}, SCONE budget {} wide\n\n| network | parameters | PSNR dB | SSIM | seconds |\n| --- | --- | --- | --- | --- |\n",
        o.clip
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        clip.frames,
        clip.width,
        clip.height,
        o.iterations.unwrap_or(300),
        8192,
        o.lr.unwrap_or(5e-3),
        o.width
    );
    for label in &o.labels {
        let s = kind_settings(label, scone::signal::Kind::Video, o, 300, 8192, 5e-3);
        let arch = s.arch(3, 3).expect("valid settings");
        let start = Instant::now();
        let enc = scone::encode::encode_video(&clip, &s, &mut |_| {}).expect("a fit");
        let seconds = start.elapsed().as_secs_f64();
        let (p, ps) = mean_std(&enc.frame_psnr);
        let (q, qs) = mean_std(&enc.frame_ssim);
        let row = format!(
            "| {label} | {} | {p:.2} ± {ps:.2} | {q:.4} ± {qs:.4} | {seconds:.1} |\n",
            arch.trainable_count_complex_once()
        );
        eprint!("{row}");
        md.push_str(&row);
    }
    std::fs::create_dir_all(&o.out).expect("an output folder");
    std::fs::write(o.out.join("table1.md"), &md).expect("a writable folder");
    print!("{md}");
}

/// The 3D table: every network (default: SCONE and the four baselines)
/// fitted to each of `--meshes`; IoU and Chamfer distance (docs/video-3d.md
/// defines both) at the protocol's resolution.
fn table3d(o: &Options) {
    use scone::encode::{SdfSettings, encode_sdf};
    let sdf = match o.protocol {
        Protocol::Cpu => SdfSettings {
            surface_points: 100_000,
            eval_resolution: 64,
            ..SdfSettings::default()
        },
        Protocol::Paper => SdfSettings {
            eval_resolution: 512,
            ..SdfSettings::default()
        },
    };
    let mut md = format!(
        "{} steps of 8192 samples, lr {:e}, SCONE budget {} wide (6 layers), IoU and Chamfer at {}³\n\n| mesh | network | parameters | IoU | Chamfer | seconds |\n| --- | --- | --- | --- | --- | --- |\n",
        o.iterations.unwrap_or(500),
        o.lr.unwrap_or(1e-3),
        o.width,
        sdf.eval_resolution
    );
    for mesh in &o.meshes {
        let shape = scone::mesh::load::load_shape(mesh)
            .unwrap_or_else(|e| panic!("{}: {e}", mesh.display()));
        let name = mesh
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for label in &o.labels {
            let s = kind_settings(label, scone::signal::Kind::Sdf, o, 500, 8192, 1e-3);
            let arch = s.arch(3, 1).expect("valid settings");
            let start = Instant::now();
            let row = match encode_sdf(&shape, &s, &sdf, &mut |_| {}) {
                Ok(e) => format!(
                    "| {name} | {label} | {} | {:.4} | {:.2e} | {:.1} |\n",
                    arch.trainable_count_complex_once(),
                    e.quality.iou,
                    e.quality.chamfer,
                    start.elapsed().as_secs_f64()
                ),
                // A fit whose zero level set is empty has no mesh.
                Err(e) => format!(
                    "| {name} | {label} | {} | – | – ({e}) | {:.1} |\n",
                    arch.trainable_count_complex_once(),
                    start.elapsed().as_secs_f64()
                ),
            };
            eprint!("{row}");
            md.push_str(&row);
        }
    }
    std::fs::create_dir_all(&o.out).expect("an output folder");
    std::fs::write(o.out.join("table3d.md"), &md).expect("a writable folder");
    print!("{md}");
}

/// A Siemens star: `spokes` black and white sectors around the centre of
/// an `n`×`n` gray image, anti-aliased by 4×4 supersampling.
fn siemens_star(n: usize, spokes: usize) -> Image {
    let mut data = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            let mut sum = 0.0;
            for sy in 0..4 {
                for sx in 0..4 {
                    let u = (x as f64 + (sx as f64 + 0.5) / 4.0) / n as f64 * 2.0 - 1.0;
                    let v = (y as f64 + (sy as f64 + 0.5) / 4.0) / n as f64 * 2.0 - 1.0;
                    let white = (spokes as f64 / 2.0 * v.atan2(u)).sin() >= 0.0;
                    sum += if white { 1.0 } else { 0.0 };
                }
            }
            data[y * n + x] = sum / 16.0;
        }
    }
    Image {
        width: n,
        height: n,
        layout: scone::signal::Layout::Gray,
        bit_depth: 8,
        data,
    }
}

/// Figure 6: a SCONE fitted to a generated Siemens star, and for each
/// hidden layer the mask, the bases and their product of its first eight
/// units, as one PNG grid (`DIR/fig6.png`; the star and the fit's decode
/// beside it as `fig6-star.png`, `fig6-decoded.png`).
fn fig6(o: &Options) {
    use scone::eval::reference::scone_activations;
    let n = if o.protocol == Protocol::Cpu {
        128
    } else {
        512
    };
    let star = siemens_star(n, 36);
    let mut s = settings("scone", o);
    if o.protocol == Protocol::Cpu {
        s.hidden = 64;
        s.train.iterations = o.iterations.unwrap_or(1000);
    }
    let enc = encode_image(&star, &s, &mut |_| {}).expect("a fit");
    eprintln!(
        "Siemens star {n}×{n}: {:.2} dB, SSIM {:.4}",
        enc.psnr, enc.ssim
    );
    let net = &enc.file.network;
    let (tile, units, gap) = (96usize, 8usize, 4usize);
    let layers = net.arch.hidden_layers();
    let (w, h) = (units * (tile + gap) + gap, 3 * layers * (tile + gap) + gap);
    let mut canvas = image::GrayImage::from_pixel(w as u32, h as u32, image::Luma([255]));
    for py in 0..tile {
        for px in 0..tile {
            let x = [
                (px as f64 + 0.5) / tile as f64 * 2.0 - 1.0,
                (py as f64 + 0.5) / tile as f64 * 2.0 - 1.0,
            ];
            let acts = scone_activations(net, &x).expect("a SCONE");
            for (l, (m, g)) in acts.iter().enumerate() {
                for j in 0..units.min(net.arch.hidden) {
                    // Rows per layer: mask in [0, 1], bases and product in [−1, 1].
                    let values = [m[j], 0.5 + 0.5 * g[j], 0.5 + 0.5 * m[j] * g[j]];
                    for (r, v) in values.iter().enumerate() {
                        let cx = gap + j * (tile + gap) + px;
                        let cy = gap + (3 * l + r) * (tile + gap) + py;
                        canvas.put_pixel(
                            cx as u32,
                            cy as u32,
                            image::Luma([(v.clamp(0.0, 1.0) * 255.0).round() as u8]),
                        );
                    }
                }
            }
        }
    }
    std::fs::create_dir_all(&o.out).expect("an output folder");
    canvas
        .save(o.out.join("fig6.png"))
        .expect("a writable folder");
    let gray = |img: &Image| {
        image::GrayImage::from_fn(img.width as u32, img.height as u32, |x, y| {
            image::Luma([(img.data[y as usize * img.width + x as usize] * 255.0).round() as u8])
        })
    };
    gray(&star)
        .save(o.out.join("fig6-star.png"))
        .expect("a writable folder");
    let ev = scone::eval::Evaluator::new(net).expect("a valid network");
    let coords = scone::signal::grid::image_coords(n, n, 0, n, s.convention);
    let mut out = vec![0f32; n * n];
    ev.eval(&coords, &mut out).expect("decodes");
    let decoded = Image {
        data: out
            .iter()
            .map(|&v| enc.file.signal.to_value(v).clamp(0.0, 1.0))
            .collect(),
        ..siemens_star(1, 2)
    };
    let decoded = Image {
        width: n,
        height: n,
        ..decoded
    };
    gray(&decoded)
        .save(o.out.join("fig6-decoded.png"))
        .expect("a writable folder");
    eprintln!(
        "wrote {}: {} hidden layers × (mask, bases, product) rows, first {units} units",
        o.out.join("fig6.png").display(),
        layers
    );
}
