//! Benchmarks of the encoder and decoder, printed as figures (not a test).
//!
//! Run from the crate root: `cargo run --release --example bench [-- OPTIONS]`
//!
//! - `--quick`: skip the Kodak encodes;
//! - `--images kodim01,kodim05,...`: which Kodak images to encode
//!   (default: kodim01, kodim05, kodim08, kodim15, kodim20, kodim23);
//! - `--kodak DIR`: where they are (default: ../shared/data/kodak);
//! - `--reps N`: timed repetitions of each step or decode (default 3);
//! - `--cuda-steps 65536,393216` (feature `cuda`): only time one training
//!   step of the paper model on the GPU at each number of coordinates, over
//!   `--reps` steps after three warm-up steps, printing one line
//!   `step_time engine=burn-cuda points=N seconds=S` each
//!   (tools/gpu_check.sh reads them).
//!
//! Each speed is printed next to a ceiling measured in the same run.

use scone::decode::{Evaluator, gemm_ceiling_gmacs};
use scone::encode::{Preset, Settings, encode_image};
use scone::model::{Arch, init_network};
use scone::signal::Convention;
use scone::signal::grid::image_coords;
use scone::signal::image::load;
use scone::train::{CpuBackend, Layers, time_step};
use std::path::PathBuf;
use std::time::Instant;

struct Options {
    quick: bool,
    images: Vec<String>,
    kodak: PathBuf,
    reps: usize,
    cuda_steps: Vec<usize>,
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
            "--cuda-steps" => {
                o.cuda_steps = args
                    .next()
                    .expect("--cuda-steps LIST")
                    .split(',')
                    .map(|n| n.parse().expect("a number of coordinates"))
                    .collect()
            }
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn main() {
    scone::alloc::keep_freed_memory();
    let o = options();
    if !o.cuda_steps.is_empty() {
        return cuda_steps(&o);
    }
    println!("threads: {}", rayon::current_num_threads());
    training_step(&o);
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
    for &points in &o.cuda_steps {
        match scone::train::time_step_cuda(&arch, points, o.reps) {
            Ok(secs) => println!("step_time engine=burn-cuda points={points} seconds={secs:.6}"),
            Err(e) => {
                eprintln!("bench: {e}");
                std::process::exit(1);
            }
        }
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_steps(_: &Options) {
    eprintln!("bench: --cuda-steps needs a build with --features cuda");
    std::process::exit(2);
}

fn training_step(o: &Options) {
    let arch = Arch::paper_image(3);
    println!(
        "\n## One training step, paper model ({} parameters), 65,536 coordinates",
        arch.parameter_count()
    );
    println!("| backend | hidden layers | s/step | vs encoder |");
    println!("| --- | --- | --- | --- |");
    let cases = [
        (
            CpuBackend::Flex,
            Layers::Fused,
            "Flex",
            "fused (the encoder)",
        ),
        (CpuBackend::NdArray, Layers::Fused, "NdArray", "fused"),
        (CpuBackend::Flex, Layers::Plain, "Flex", "burn ops"),
        (CpuBackend::NdArray, Layers::Plain, "NdArray", "burn ops"),
    ];
    let mut base = None;
    for (backend, layers, name, how) in cases {
        let secs = time_step(&arch, 65_536, backend, layers, o.reps);
        let base = *base.get_or_insert(secs);
        println!("| burn {name} | {how} | {secs:.3} | {:.2} |", secs / base);
    }
}

fn decoding(o: &Options) {
    let arch = Arch::paper_image(3);
    let eval = Evaluator::new(&init_network(&arch, 1));
    println!(
        "\n## Decoding, paper model ({} MAC per pixel)",
        eval.macs_per_point()
    );
    println!("| size | Mpixel/s | GMAC/s | plain GEMM GMAC/s | ratio |");
    println!("| --- | --- | --- | --- | --- |");
    for (w, h) in [(768, 512), (1536, 1024)] {
        let coords = image_coords(w, h, 0, h, Convention::CellCentre);
        let mut out = vec![0f32; w * h * 3];
        eval.eval(&coords, &mut out); // warm-up
        let start = Instant::now();
        for _ in 0..o.reps {
            eval.eval(&coords, &mut out);
        }
        let secs = start.elapsed().as_secs_f64() / o.reps as f64;
        let pixels = (w * h) as f64;
        let gmacs = pixels * eval.macs_per_point() as f64 / secs / 1e9;
        // The same hidden-layer products as one plain GEMM: pixels × 250 × 250.
        let ceiling = gemm_ceiling_gmacs(w * h, arch.hidden, arch.hidden, o.reps);
        println!(
            "| {w}×{h} | {:.2} | {gmacs:.1} | {ceiling:.1} | {:.2} |",
            pixels / secs / 1e6,
            gmacs / ceiling
        );
    }
}

fn encoding(o: &Options) {
    let settings = Settings::preset(Preset::Default);
    println!(
        "\n## Default preset: {} layers × {}, {} steps, {:?}, {} bits",
        settings.layers,
        settings.hidden,
        settings.train.iterations,
        settings.train.batch,
        settings.bits
    );
    println!("| image | size | encode s | bytes | bpp | PSNR dB | SSIM |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
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
        println!(
            "| {name} | {}×{} | {secs:.1} | {} | {bpp:.3} | {:.2} | {:.4} |",
            img.width,
            img.height,
            enc.bytes.len(),
            enc.psnr,
            enc.ssim
        );
        t_sum += secs;
        bpp_sum += bpp;
        psnr_sum += enc.psnr;
        n += 1.0;
    }
    if n > 0.0 {
        println!(
            "| mean | | {:.1} | | {:.3} | {:.2} | |",
            t_sum / n,
            bpp_sum / n,
            psnr_sum / n
        );
    }
}
