//! Benchmarks of the encoder and decoder, printed as figures (not a test).
//!
//! Run from the crate root: `cargo run --release --example bench [-- OPTIONS]`
//!
//! - `--quick`: skip the Kodak encodes;
//! - `--images kodim01,kodim05,...`: which Kodak images to encode
//!   (default: kodim01, kodim05, kodim08, kodim15, kodim20, kodim23);
//! - `--kodak DIR`: where they are (default: ../shared/data/kodak);
//! - `--reps N`: timed repetitions of each step or decode (default 3);
//! - `--rounds N`: time each training step N times, alternating PyTorch
//!   and each engine, and print the medians (default 1);
//! - `--python PATH`: the interpreter with torch that times PyTorch on the
//!   same shapes in the same run (default: `tools/reference/.venv/bin/python`,
//!   which `tools/reference/setup.sh` creates); `--no-torch` skips it;
//! - `--burn-ops`: also time a step with burn's own operations (slow);
//! - `--only-step image|3d`: only time that network's training step with
//!   the encoder's engine and PyTorch (no burn rows, no decoding);
//! - `--cuda-steps 65536,393216` (feature `cuda`): only time one training
//!   step of the paper model on the GPU at each number of coordinates:
//!   three warm-up steps one by one (`warm_up ... step=K seconds=S`; the
//!   first compiles and tunes the kernels), then `--reps` steps queued
//!   and `--reps` steps each waited for, printing
//!   `step_time engine=E points=N seconds=S synced=T`
//!   (tools/gpu_check.sh reads them), for scone's CUDA engine in f32 and
//!   in tf32 (`engine=scone-cuda-f32`, `scone-cuda-tf32`), and with
//!   `--cuda-burn` also for burn-cuda (`engine=burn-cuda`; its first step
//!   compiles and tunes kernels for minutes).
//!
//! Each speed is printed next to a ceiling measured in the same run.

// The binary's allocator settings, so that timings match `scone`'s.
#[path = "../src/cli/alloc.rs"]
mod alloc;

use scone::bench::{CpuBackend, gemm_ceiling_gmacs, time_step, time_step_encoder};
use scone::encode::{Preset, Settings, encode_image};
use scone::eval::Evaluator;
use scone::model::{Arch, init_network};
use scone::signal::grid::image_coords;
use scone::signal::image::load;
use scone::signal::{Convention, Kind};
use std::path::PathBuf;
use std::time::Instant;

struct Options {
    quick: bool,
    images: Vec<String>,
    kodak: PathBuf,
    reps: usize,
    cuda_steps: Vec<usize>,
    cuda_burn: bool,
    python: Option<PathBuf>,
    burn_ops: bool,
    only_step: Option<String>,
    rounds: usize,
}

fn options() -> Options {
    let mut o = Options {
        quick: false,
        images: [
            "kodim01", "kodim05", "kodim08", "kodim15", "kodim20", "kodim23",
        ]
        .map(String::from)
        .to_vec(),
        kodak: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/kodak")),
        reps: 3,
        cuda_steps: Vec::new(),
        cuda_burn: false,
        python: Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/reference/.venv/bin/python"
        ))),
        burn_ops: false,
        only_step: None,
        rounds: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--images" => {
                o.images = args
                    .next()
                    .expect("--images LIST")
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            "--kodak" => o.kodak = PathBuf::from(args.next().expect("--kodak DIR")),
            "--reps" => o.reps = args.next().expect("--reps N").parse().expect("a number"),
            "--rounds" => {
                o.rounds = args.next().expect("--rounds N").parse().expect("a number");
                assert!(o.rounds > 0, "--rounds N: at least 1");
            }
            "--cuda-steps" => {
                o.cuda_steps = args
                    .next()
                    .expect("--cuda-steps LIST")
                    .split(',')
                    .map(|n| n.parse().expect("a number of coordinates"))
                    .collect()
            }
            "--python" => o.python = Some(PathBuf::from(args.next().expect("--python PATH"))),
            "--no-torch" => o.python = None,
            "--burn-ops" => o.burn_ops = true,
            "--cuda-burn" => o.cuda_burn = true,
            "--only-step" => {
                let which = args.next().expect("--only-step image|3d");
                assert!(which == "image" || which == "3d", "--only-step image|3d");
                o.only_step = Some(which);
            }
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn main() {
    alloc::keep_freed_memory();
    let o = options();
    if !o.cuda_steps.is_empty() {
        return cuda_steps(&o);
    }
    println!("threads: {}", rayon::current_num_threads());
    training_step(&o);
    if o.only_step.is_some() {
        return;
    }
    decoding(&o);
    if !o.quick {
        encoding(&o);
    }
}

#[cfg(feature = "cuda")]
fn cuda_steps(o: &Options) {
    let arch = Arch::paper_image(3);
    match scone::device::cuda_device_name() {
        Ok(name) => println!("device: {name}"),
        Err(why) => {
            eprintln!("bench: {why}");
            std::process::exit(1);
        }
    }
    let fail = |e: scone::Error| -> ! {
        eprintln!("bench: {e}");
        std::process::exit(1);
    };
    use scone::bench::CudaEngine;
    use scone::cuda::engine::{Kernels, Math};
    let mut engines = vec![
        (
            "scone-cuda-f32",
            CudaEngine::Scone(Math::F32, Kernels::Rows),
        ),
        (
            "scone-cuda-tf32",
            CudaEngine::Scone(Math::Tf32, Kernels::Rows),
        ),
        (
            "scone-cuda-tf32-elementwise",
            CudaEngine::Scone(Math::Tf32, Kernels::Elementwise),
        ),
    ];
    if o.cuda_burn {
        engines.push(("burn-cuda", CudaEngine::Burn));
    }
    for (name, engine) in engines {
        for &points in &o.cuda_steps {
            let mut timer =
                scone::bench::CudaStepTimer::new(&arch, points, engine).unwrap_or_else(|e| fail(e));
            for k in 1..=3 {
                let secs = timer.time(1, true).unwrap_or_else(|e| fail(e));
                println!("warm_up engine={name} points={points} step={k} seconds={secs:.3}");
            }
            let queued = timer.time(o.reps, false).unwrap_or_else(|e| fail(e));
            let synced = timer.time(o.reps, true).unwrap_or_else(|e| fail(e));
            println!(
                "step_time engine={name} points={points} seconds={queued:.6} synced={synced:.6}"
            );
        }
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_steps(_: &Options) {
    eprintln!("bench: --cuda-steps needs a build with --features cuda");
    std::process::exit(2);
}

/// Runs `tools/reference/step_time.py` with `args` and returns the
/// `seconds=` and `cores=` of each line it prints, or why it did not run.
fn torch(o: &Options, args: &[String]) -> Result<Vec<(f64, f64)>, String> {
    let python = o.python.as_ref().ok_or("--no-torch")?;
    if !python.exists() {
        return Err(format!(
            "{} missing: run tools/reference/setup.sh",
            python.display()
        ));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/reference/step_time.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args(["--device", "cpu", "--threads"])
        .arg(rayon::current_num_threads().to_string())
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "step_time.py failed: {}",
            err.lines().last().unwrap_or("")
        ));
    }
    let field = |line: &str, key: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            Some((
                field(l, "seconds=")?,
                field(l, "cores=").unwrap_or(f64::NAN),
            ))
        })
        .collect())
}

fn training_step(o: &Options) {
    println!("\n## One training step (forward, MSE, backward, Adam), full batch");
    println!("| network | points | engine | s/step | cores busy | vs PyTorch |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let sdf = Settings::for_kind(Kind::Sdf, Preset::Paper)
        .arch(3, 1)
        .expect("the paper's 3D network is valid");
    let image = Arch::paper_image(3);
    let cases = [
        ("image", "image SCONE 5×250", image, 65_536, "scone"),
        ("3d", "3D SCONE 9×240", sdf, 27_000, "scone3d"),
    ];
    let mut notes = Vec::new();
    for (key, label, arch, points, torch_arch) in cases {
        if o.only_step.as_ref().is_some_and(|k| k != key) {
            continue;
        }
        let label = format!("{label} ({} params)", arch.parameter_count());
        let torch_args = [
            "--modes",
            "eager",
            "--arch",
            torch_arch,
            "--points",
            &points.to_string(),
            "--reps",
            &o.reps.to_string(),
        ]
        .map(String::from);
        // None: the encoder's own engine; Some: burn's autodiff on that
        // backend.
        let mut engines = vec![("scone host engine (the encoder)", None)];
        if o.burn_ops && o.only_step.is_none() {
            engines.push(("burn Flex, burn ops", Some(CpuBackend::Flex)));
        }
        // Rounds alternate PyTorch and each engine, so that a slow spell of
        // the machine falls on all of them.
        let mut base: Result<Vec<(f64, f64)>, String> = Ok(Vec::new());
        let mut ours = vec![Vec::new(); engines.len()];
        for _ in 0..o.rounds {
            if let Ok(rounds) = &mut base {
                match torch(o, &torch_args) {
                    Ok(v) => rounds.push(v[0]),
                    Err(why) => base = Err(why),
                }
            }
            for ((_, backend), times) in engines.iter().zip(&mut ours) {
                let t = match backend {
                    None => time_step_encoder(&arch, points, o.reps),
                    Some(backend) => time_step(&arch, points, *backend, o.reps),
                };
                times.push((t.seconds, t.cores));
            }
        }
        let each = base;
        let base = each.as_ref().map(|rounds| median_pair(rounds));
        let ratio = |secs: f64| match &base {
            Ok((t, _)) => format!("{:.2}", secs / t),
            Err(_) => "–".into(),
        };
        for ((name, _), times) in engines.iter().zip(&ours) {
            let (secs, cores) = median_pair(times);
            println!(
                "| {label} | {points} | {name} | {secs:.3} | {cores:.2} | {} |",
                ratio(secs)
            );
        }
        match &base {
            Ok((secs, cores)) => println!(
                "| {label} | {points} | PyTorch eager, {} threads | {secs:.3} | {cores:.2} | 1.00 |",
                rayon::current_num_threads()
            ),
            Err(why) => println!("| {label} | {points} | PyTorch: not run ({why}) | | | |"),
        }
        if o.rounds > 1 {
            notes.push(rounds_line(&label, &ours[0], &each));
        }
    }
    for note in notes {
        print!("{note}");
    }
}

/// The median of each of the pairs' two fields.
fn median_pair(v: &[(f64, f64)]) -> (f64, f64) {
    let median = |mut x: Vec<f64>| {
        x.sort_by(f64::total_cmp);
        let n = x.len();
        if n % 2 == 1 {
            x[n / 2]
        } else {
            (x[n / 2 - 1] + x[n / 2]) / 2.0
        }
    };
    (
        median(v.iter().map(|p| p.0).collect()),
        median(v.iter().map(|p| p.1).collect()),
    )
}

/// The encoder's and PyTorch's seconds in each round and each round's
/// ratio (the table gives medians, and the medians' ratio).
fn rounds_line(label: &str, ours: &[(f64, f64)], base: &Result<Vec<(f64, f64)>, String>) -> String {
    let list = |v: &mut dyn Iterator<Item = f64>| {
        v.map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(", ")
    };
    let mut out = format!("\n{label}, each round (the table gives the medians):\n");
    out += &format!(
        "- encoder s/step: {}\n",
        list(&mut ours.iter().map(|t| t.0))
    );
    if let Ok(base) = base {
        out += &format!(
            "- PyTorch s/step: {}\n",
            list(&mut base.iter().map(|t| t.0))
        );
        out += &format!(
            "- ratio: {}\n",
            list(&mut ours.iter().zip(base).map(|(a, b)| a.0 / b.0))
        );
    }
    out
}

fn decoding(o: &Options) {
    let arch = Arch::paper_image(3);
    let eval = Evaluator::new(&init_network(&arch, 1)).expect("a valid network");
    println!(
        "\n## Decoding, paper model ({} MAC per pixel)",
        eval.macs_per_point()
    );
    println!(
        "| size | Mpixel/s | GMAC/s | plain GEMM GMAC/s | vs GEMM | PyTorch s | scone s | speed-up |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (w, h) in [(768, 512), (1536, 1024)] {
        let coords = image_coords(w, h, 0, h, Convention::CellCentre);
        let mut out = vec![0f32; w * h * 3];
        eval.eval(&coords, &mut out).expect("decodes"); // warm-up
        let start = Instant::now();
        for _ in 0..o.reps {
            eval.eval(&coords, &mut out).expect("decodes");
        }
        let secs = start.elapsed().as_secs_f64() / o.reps as f64;
        let pixels = (w * h) as f64;
        let gmacs = pixels * eval.macs_per_point() as f64 / secs / 1e9;
        // The same hidden-layer products as one plain GEMM: pixels × 250 × 250.
        let ceiling = gemm_ceiling_gmacs(w * h, arch.hidden, arch.hidden, o.reps);
        let args = [
            "--modes",
            "infer",
            "--points",
            &(w * h).to_string(),
            "--reps",
            "1",
        ]
        .map(String::from);
        let (torch_s, speedup) = match torch(o, &args) {
            Ok(v) => (format!("{:.2}", v[0].0), format!("{:.1}×", v[0].0 / secs)),
            Err(why) => (format!("not run ({why})"), "–".into()),
        };
        println!(
            "| {w}×{h} | {:.2} | {gmacs:.1} | {ceiling:.1} | {:.2} | {torch_s} | {secs:.2} | {speedup} |",
            pixels / secs / 1e6,
            gmacs / ceiling
        );
    }
}

fn encoding(o: &Options) {
    let settings = Settings::preset(Preset::Default);
    println!(
        "\n## Default preset: {} layers, coded at {:?} (width and steps chosen for the rate)",
        settings.layers, settings.rate
    );
    println!("| image | size | encode s | bytes | bpp | PSNR dB | SSIM | network |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let (mut t_sum, mut bpp_sum, mut psnr_sum, mut n) = (0.0, 0.0, 0.0, 0.0);
    for name in &o.images {
        let path = o.kodak.join(format!("{name}.png"));
        let img = match load(&path) {
            Ok(img) => img,
            Err(e) => {
                println!("| {name} | skipped: {e} | | | | | |");
                continue;
            }
        };
        let start = Instant::now();
        let enc = encode_image(&img, &settings, &mut |_| {}).expect("encode");
        let secs = start.elapsed().as_secs_f64();
        let bpp = 8.0 * enc.bytes.len() as f64 / (img.width * img.height) as f64;
        let arch = &enc.file.network.arch;
        println!(
            "| {name} | {}×{} | {secs:.1} | {} | {bpp:.3} | {:.2} | {:.4} | {} × {} |",
            img.width,
            img.height,
            enc.bytes.len(),
            enc.psnr,
            enc.ssim,
            arch.layers,
            arch.hidden
        );
        t_sum += secs;
        bpp_sum += bpp;
        psnr_sum += enc.psnr;
        n += 1.0;
    }
    if n > 0.0 {
        println!(
            "| mean | | {:.1} | | {:.3} | {:.2} | | |",
            t_sum / n,
            bpp_sum / n,
            psnr_sum / n
        );
    }
}
