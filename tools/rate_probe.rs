//! How coding trades rate against PSNR on one trained network (the
//! figures of docs/rate.md): trains the default preset's SCONE on an image,
//! prints its size and PSNR with 8-bit rows and zstd, in f32, and coded
//! (FORMAT.md §6.4) at a sweep of the rate factor α, then after a few
//! steps through the quantiser at each α of `QAT_ALPHAS`.
//!
//! `cargo run --release --example rate_probe -- IMAGE [ITERATIONS [WIDTH
//! [QAT_STEPS [QAT_LR [RATE_SCALE]]]]]`; `BATCH=N` sets the pixels a step,
//! `QAT_ALPHAS=a,b` the αs of the quantisation-aware phase, and `CURVE=1`
//! reports each phase only at its own α.

// The binary's allocator settings, so that timings match `scone`'s.
#[path = "../src/cli/alloc.rs"]
mod alloc;

use scone::encode::rate;
use scone::encode::{Preset, Settings};
use scone::format::{Encoding, SconeFile};
use scone::metrics::quality;
use scone::model::init_network;
use scone::signal::grid::image_coords;
use scone::signal::image::load;
use scone::train::{GridData, fit};
use std::time::Instant;

fn main() {
    alloc::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let iterations: usize = args.get(2).map_or(1700, |s| s.parse().unwrap());
    let width: usize = args.get(3).map_or(128, |s| s.parse().unwrap());
    let img = load(path).unwrap();
    let mut settings = Settings::preset(Preset::Default);
    settings.train.iterations = iterations;
    settings.hidden = width;
    if let Ok(b) = std::env::var("BATCH") {
        settings.train.batch = scone::train::Batch::Random(b.parse().unwrap());
    }
    let signal = scone::encode::image_signal(&img, settings.convention);
    let arch = settings.arch(2, img.channels()).unwrap();
    let coords = image_coords(img.width, img.height, 0, img.height, settings.convention);
    let targets = img.data.iter().map(|&v| signal.to_target(v)).collect();
    let data = GridData::new(coords.clone(), targets, 2, img.channels()).unwrap();
    let t = Instant::now();
    let net = fit(
        init_network(&arch, 0),
        &data,
        &settings.train,
        settings.device,
        &mut |_| {},
    )
    .unwrap();
    println!(
        "trained {} params in {:.1} s",
        arch.parameter_count(),
        t.elapsed().as_secs_f64()
    );
    let pixels = (img.width * img.height) as f64;
    let report = |name: &str, file: &SconeFile| {
        let bytes = file.to_bytes().unwrap();
        let back = SconeFile::from_bytes(&bytes).unwrap();
        let (psnr, _) = quality::image(&back, &img).unwrap();
        println!(
            "{name:28} {:7} bytes {:.4} bpp {:.3} dB",
            bytes.len(),
            bytes.len() as f64 * 8.0 / pixels,
            psnr
        );
    };
    let base = SconeFile {
        signal: signal.clone(),
        network: net.clone(),
        encodings: scone::encode::encodings_for_bits(&net, 8).unwrap(),
        metadata: None,
    };
    report("affine8 + zstd", &base);
    let f32file = SconeFile {
        encodings: vec![Encoding::F32; net.tensors.len()],
        ..base.clone()
    };
    report("f32", &f32file);
    // Sensitivities on a sample of pixels.
    let sample: Vec<f32> = coords.chunks(2).step_by(7).flatten().copied().collect();
    let t = Instant::now();
    let g = rate::sensitivities(&net, &sample, 1).unwrap();
    println!("sensitivities in {:.2} s", t.elapsed().as_secs_f64());
    for (tensor, g) in net.tensors.iter().zip(&g) {
        println!("  {:24} n {:6} g {:.3e}", tensor.name, tensor.data.len(), g);
    }
    let alphas = [1e-4, 2e-4, 4e-4, 8e-4, 1.6e-3, 3.2e-3];
    if std::env::var("CURVE").is_err() {
        for alpha in alphas {
            let file = SconeFile {
                encodings: rate::encodings(&net, &g, alpha),
                ..base.clone()
            };
            report(&format!("coded alpha {alpha:e}"), &file);
        }
    }
    let qat_steps: usize = args.get(4).map_or(300, |s| s.parse().unwrap());
    let qat_lr: f64 = args.get(5).map_or(2e-4, |s| s.parse().unwrap());
    let rate_scale: f64 = args.get(6).map_or(1.0, |s| s.parse().unwrap());
    let qas: Vec<f64> = std::env::var("QAT_ALPHAS").map_or(vec![4e-4, 1.6e-3], |s| {
        s.split(',').map(|v| v.parse().unwrap()).collect()
    });
    for qa in qas {
        let steps = rate::steps(&net, &g, qa);
        let models = rate::tensor_models(&net, &steps);
        let lambda = rate::lambda(qa) * rate_scale;
        let rate_g: Vec<f32> = steps
            .iter()
            .zip(&models)
            .map(|(s, m)| match (s, m) {
                (Some(step), Some(m)) => {
                    let rho = m.ratio as f64 / 65536.0;
                    (lambda * -rho.log2() / *step as f64) as f32
                }
                _ => 0.0,
            })
            .collect();
        let q = scone::train::Quantisation {
            steps,
            rate: rate_g,
        };
        let cfg = scone::train::TrainConfig {
            iterations: qat_steps,
            lr: qat_lr,
            lr_min: qat_lr / 100.0,
            ..settings.train.clone()
        };
        let t = Instant::now();
        let tuned = scone::train::fit_quantised(net.clone(), &data, &cfg, &q, &mut |_| {}).unwrap();
        println!(
            "QAT at alpha {qa:e}, {qat_steps} steps, lr {qat_lr:e}, rate x{rate_scale}: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let list: Vec<f64> = if std::env::var("CURVE").is_ok() {
            vec![qa]
        } else {
            alphas.to_vec()
        };
        for alpha in list {
            let file = SconeFile {
                network: tuned.clone(),
                encodings: rate::encodings(&tuned, &g, alpha),
                ..base.clone()
            };
            report(&format!("  qat coded alpha {alpha:e}"), &file);
        }
    }
}
