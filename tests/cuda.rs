//! Training and evaluation on an NVIDIA GPU (feature `cuda`), held against
//! the CPU. Every test needs a GPU, so all are ignored by default; run them
//! on a machine with one (tools/gpu_check.sh does):
//!
//! `cargo test --release --features cuda,benchmarks --test cuda -- --ignored --test-threads 1`
#![cfg(feature = "cuda")]

use scone::device::{Device, cuda_device_name};
use scone::encode::{Preset, SdfSettings, Settings, encode_image, encode_sdf, encode_video};
use scone::eval::Evaluator;
use scone::eval::reference::rbm_gate_margin;
use scone::format::SconeFile;
use scone::signal::Kind;
use scone::train::Batch;
use scone::train::cuda_evaluator;

mod common;

use common::{assert_ok, s, sample, scone};

/// The largest difference between a CUDA and a CPU evaluation that
/// docs/gpu.md promises, per value in network units.
const TOLERANCE: f32 = 1e-3;

fn gpu_name() -> String {
    cuda_device_name().unwrap_or_else(|why| panic!("these tests need a usable GPU: {why}"))
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Points spread over [−1, 1]^d, the grid's corners and edges included.
fn points(d: usize, n: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_u64;
    (0..n * d)
        .map(|i| {
            if i < 2 * d {
                if i < d { -1.0 } else { 1.0 }
            } else {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            }
        })
        .collect()
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn a_gpu_is_found() {
    let name = gpu_name();
    println!("GPU: {name}");
    assert!(!name.trim().is_empty());
}

/// scone's CUDA engine in IEEE f32 against the CPU on one batch (named to
/// run among the first, before the slow burn-cuda vectors), with the row
/// kernels and with their elementwise twin: SCONE against the host
/// engine, SIREN against burn's autodiff. The loss within 1e-5 and every
/// gradient within 1e-3 of the largest of its tensor.
/// With tf32 products the figures are printed, not held: what tf32 costs
/// is measured on whole fits (docs/gpu.md).
#[test]
#[ignore = "needs an NVIDIA GPU"]
fn a_cuda_engine_step_has_the_cpus_gradients() {
    use scone::cuda::engine::{Kernels, Math};
    gpu_name();
    let sdf = Settings::for_kind(Kind::Sdf, Preset::Paper)
        .arch(3, 1)
        .unwrap();
    for (label, arch, points) in [
        (
            "image paper SCONE",
            scone::model::Arch::paper_image(3),
            20_000,
        ),
        ("3D paper SCONE", sdf, 30_000),
        (
            "image paper SIREN",
            scone::model::Arch::paper_image_of("siren", 3).unwrap(),
            20_000,
        ),
    ] {
        for kernels in [Kernels::Rows, Kernels::Elementwise] {
            for math in [Math::F32, Math::Tf32] {
                let (loss, worst, name) =
                    scone::bench::cuda_gradient_check(&arch, points, math, kernels).unwrap();
                println!(
                    "{label}, {kernels:?}, {math:?}: loss differs by {loss:.1e} (relative), gradients by at most {worst:.1e} of their tensor's largest ({name})"
                );
                if math == Math::F32 {
                    assert!(loss <= 1e-5, "{label}, {kernels:?}: loss {loss:e}");
                    assert!(worst <= 1e-3, "{label}, {kernels:?}: {name} {worst:e}");
                }
            }
        }
    }
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn every_vector_evaluates_on_the_gpu_as_on_the_cpu() {
    gpu_name();
    let dir = sample("vectors");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scone"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "{} vectors", names.len());
    let mut worst = 0f32;
    for path in names {
        let file = SconeFile::read(&path).unwrap();
        let net = &file.network;
        // rbm's gates are steps: keep away from their edges, where any
        // two f32 evaluations may differ (FORMAT.md §5.3).
        let d = net.arch.in_dims;
        let x: Vec<f32> = points(d, 70_000)
            .chunks(d)
            .filter(|p| {
                let p: Vec<f64> = p.iter().map(|&v| v as f64).collect();
                rbm_gate_margin(net, &p).is_none_or(|m| m > 1e-4)
            })
            .flatten()
            .copied()
            .collect();
        let n = x.len() / d;
        let (mut cpu, mut gpu) = (
            vec![0f32; n * net.arch.out_dims],
            vec![0f32; n * net.arch.out_dims],
        );
        Evaluator::new(net).unwrap().eval(&x, &mut cpu).unwrap();
        cuda_evaluator(net).unwrap().eval(&x, &mut gpu).unwrap();
        let d = max_diff(&cpu, &gpu);
        println!(
            "{:40} {:>16} max |cuda − cpu| {d:.2e}",
            path.file_name().unwrap().to_string_lossy(),
            net.arch.label()
        );
        assert!(d <= TOLERANCE, "{}: {d:e}", path.display());
        worst = worst.max(d);
    }
    println!("largest difference over all vectors: {worst:.2e}");
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn large_evaluations_are_chunked_and_match() {
    gpu_name();
    // More points than one launch takes, not a multiple of it.
    let file = SconeFile::read(sample("vectors/rgb-paper-size.scone")).unwrap();
    let net = &file.network;
    let x = points(2, scone::cuda::CHUNK_POINTS * 2 + 12_345);
    let n = x.len() / 2;
    let (mut cpu, mut gpu) = (vec![0f32; n * 3], vec![0f32; n * 3]);
    Evaluator::new(net).unwrap().eval(&x, &mut cpu).unwrap();
    cuda_evaluator(net).unwrap().eval(&x, &mut gpu).unwrap();
    let d = max_diff(&cpu, &gpu);
    println!("paper-size SCONE at {n} points: max |cuda − cpu| {d:.2e}");
    assert!(d <= TOLERANCE, "{d:e}");
}

/// Fits the 64×64 crop on the CPU and on the GPU with the same settings:
/// the GPU's file must not be worse by more than `slack` dB.
fn image_fit_matches(batch: Batch, iterations: usize, slack: f64) {
    gpu_name();
    let img = scone::signal::image::load(sample("kodim23-64x64.png")).unwrap();
    let mut settings = Settings::preset(Preset::Default);
    settings.hidden = 64;
    settings.train.iterations = iterations;
    settings.train.batch = batch;
    // Fixed 8-bit weights: the same file layout on both devices (the
    // quantisation-aware phase of coded weights runs on the CPU only).
    settings.rate = None;
    let mut psnr = Vec::new();
    for device in [Device::Cpu, Device::Cuda] {
        settings.device = device;
        let start = std::time::Instant::now();
        let mut losses = 0;
        let enc = encode_image(&img, &settings, &mut |r| {
            losses += r.loss.is_some() as usize
        })
        .unwrap();
        println!(
            "{batch:?} on {device:?}: PSNR {:.2} dB, SSIM {:.4}, {:.1} s, {losses} losses read",
            enc.psnr,
            enc.ssim,
            start.elapsed().as_secs_f64()
        );
        psnr.push(enc.psnr);
    }
    assert!(psnr[1] >= psnr[0] - slack, "cpu {psnr:?}");
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn a_full_batch_image_fit_on_the_gpu_is_as_good_as_on_the_cpu() {
    image_fit_matches(Batch::Full, 600, 0.5);
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn random_batches_drawn_on_the_gpu_train_as_well_as_the_cpus() {
    image_fit_matches(Batch::Random(1024), 600, 1.0);
}

/// `--arch grid` (latent grids, burn-cuda's autodiff on the GPU) against
/// the CPU's engine, the same settings and rate: the GPU's file must meet
/// the rate and be within 1 dB of the CPU's.
#[test]
#[ignore = "needs an NVIDIA GPU"]
fn a_grid_network_trains_on_the_gpu() {
    gpu_name();
    let img = scone::signal::image::load(sample("kodim23-64x64.png")).unwrap();
    let mut settings = Settings::preset(Preset::Default);
    settings.arch = "grid".into();
    (settings.layers, settings.hidden) = scone::encode::grid::SYNTHESIS_SIZE;
    settings.omegas = Vec::new();
    settings.grid_train.train.steps = 400;
    settings.steps_for_rate = false;
    settings.rate = Some(scone::encode::RateTarget::Bpp(1.0));
    let mut psnr = Vec::new();
    for device in [Device::Cpu, Device::Cuda] {
        settings.device = device;
        let start = std::time::Instant::now();
        let enc = encode_image(&img, &settings, &mut |_| {}).unwrap();
        let bpp = 8.0 * enc.bytes.len() as f64 / (64.0 * 64.0);
        println!(
            "grid on {device:?}: PSNR {:.2} dB at {bpp:.3} bpp, {:.1} s",
            enc.psnr,
            start.elapsed().as_secs_f64()
        );
        assert!(bpp <= 1.0, "{device:?}: {bpp} bpp");
        psnr.push(enc.psnr);
        if device == Device::Cuda {
            // Its decoder stays on the CPU, saying so.
            let dir = tempfile::tempdir().unwrap();
            let (file, png) = (dir.path().join("g.scone"), dir.path().join("g.png"));
            std::fs::write(&file, &enc.bytes).unwrap();
            let run = scone(&["decode", s(&file), "-o", s(&png), "--device", "cuda"]);
            assert_ok(&run);
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert!(
                stderr.contains("grid networks decode on the CPU"),
                "{stderr}"
            );
        }
    }
    assert!(psnr[1] >= psnr[0] - 1.0, "cpu, gpu: {psnr:?}");
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn a_clip_trains_on_the_gpu() {
    gpu_name();
    let clip = scone::signal::video::load(&sample("bikes-64x48x8.y4m"), None).unwrap();
    let mut settings = Settings::for_kind(Kind::Video, Preset::Default);
    settings.hidden = 64;
    settings.train.iterations = 400;
    let mut psnr = Vec::new();
    for device in [Device::Cpu, Device::Cuda] {
        settings.device = device;
        let enc = encode_video(&clip, &settings, &mut |_| {}).unwrap();
        let mean = enc.frame_psnr.iter().sum::<f64>() / enc.frame_psnr.len() as f64;
        println!("clip on {device:?}: mean PSNR {mean:.2} dB");
        psnr.push(mean);
    }
    assert!(psnr[1] >= psnr[0] - 1.0, "cpu {psnr:?}");
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn a_shape_trains_on_the_gpu() {
    gpu_name();
    let (shape, _) = scone::mesh::load::normalise(
        &scone::mesh::load::load_shape(&sample("bunny-coarse.obj")).unwrap(),
    )
    .unwrap();
    let mut settings = Settings::for_kind(Kind::Sdf, Preset::Default);
    settings.hidden = 64;
    settings.train.iterations = 400;
    let sdf = SdfSettings {
        eval_resolution: 64,
        ..SdfSettings::default()
    };
    let mut iou = Vec::new();
    for device in [Device::Cpu, Device::Cuda] {
        settings.device = device;
        let enc = encode_sdf(&shape, &settings, &sdf, &mut |_| {}).unwrap();
        println!("bunny on {device:?}: IoU {:.3}", enc.quality.iou);
        iou.push(enc.quality.iou);
    }
    assert!(iou[1] >= iou[0] - 0.05, "cpu {iou:?}");
}

fn read_png16(path: &std::path::Path) -> Vec<u16> {
    let img = image::open(path).unwrap().into_rgb16();
    img.into_raw()
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn the_command_line_decodes_and_meshes_on_the_gpu_like_the_cpu() {
    gpu_name();
    let dir = tempfile::tempdir().unwrap();
    let input = sample("vectors/fitted-kodim23-64x64.scone");
    let mut pngs = Vec::new();
    for device in ["cpu", "cuda"] {
        let out = dir.path().join(format!("{device}.png"));
        assert_ok(&scone(&[
            "decode",
            s(&input),
            "-o",
            s(&out),
            "--scale",
            "4",
            "--depth",
            "16",
            "--device",
            device,
        ]));
        pngs.push(read_png16(&out));
    }
    let worst = pngs[0]
        .iter()
        .zip(&pngs[1])
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    // Network units span [−1, 1], 16-bit levels [0, 1].
    println!("256×256 decode: largest difference {worst} of 65535");
    assert!(f32::from(worst) / 65535.0 <= TOLERANCE / 2.0 + 1.0 / 65535.0);

    let shape = sample("vectors/fitted-bunny-coarse.scone");
    let mut faces = Vec::new();
    for device in ["cpu", "cuda"] {
        let out = dir.path().join(format!("{device}.ply"));
        let stdout = assert_ok(&scone(&[
            "mesh",
            s(&shape),
            "-o",
            s(&out),
            "--resolution",
            "96",
            "--device",
            device,
        ]));
        println!("{}", stdout.trim());
        let triangles: usize = stdout
            .split(" triangles")
            .next()
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        faces.push(triangles as f64);
    }
    assert!((faces[0] - faces[1]).abs() <= 0.01 * faces[0], "{faces:?}");
}
