//! The encoder end to end: real fits, every input type, determinism and the
//! command line's handling of bad input.
#![cfg(feature = "train")]

use scone::encode::{Preset, Settings, encode_image};
use scone::format::SconeFile;
use scone::signal::image::load;
use scone::train::Batch;

mod common;

use common::{assert_fails, assert_ok, s, sample, scone};

/// Tiny settings for tests that only check plumbing.
const TINY: [&str; 8] = [
    "--iterations",
    "30",
    "--width",
    "16",
    "--depth",
    "3",
    "--quiet",
    "--lr=1e-3",
];

#[test]
fn a_crop_of_a_real_photo_reaches_45_db() {
    // 64×64 crop of Kodak's kodim23; a small network, full batch.
    let img = load(sample("kodim23-64x64.png")).unwrap();
    let mut settings = Settings::preset(Preset::Default);
    settings.hidden = 64;
    settings.train.iterations = 600;
    settings.train.batch = Batch::Full;
    settings.bits = 16;
    settings.rate = None;
    let enc = encode_image(&img, &settings, &mut |_| {}).unwrap();
    println!("64x64 crop: PSNR {:.2} dB, SSIM {:.4}", enc.psnr, enc.ssim);
    assert!(enc.psnr >= 45.0, "PSNR {:.2} dB", enc.psnr);
    assert!(enc.ssim >= 0.98, "SSIM {:.4}", enc.ssim);
    // The reported PSNR is the decoded file's.
    let file = SconeFile::from_bytes(&enc.bytes).unwrap();
    let meta: serde_json::Value = serde_json::from_str(file.metadata.as_deref().unwrap()).unwrap();
    assert!((meta["psnr_db"].as_f64().unwrap() - enc.psnr).abs() < 1e-3);
}

#[test]
fn eight_bit_weights_cost_little_quality() {
    let img = load(sample("kodim23-64x64.png")).unwrap();
    let mut settings = Settings::preset(Preset::Default);
    settings.hidden = 48;
    settings.train.iterations = 300;
    settings.train.batch = Batch::Full;
    settings.rate = None;
    let mut psnr = Vec::new();
    let mut size = Vec::new();
    for bits in [32, 16, 8] {
        settings.bits = bits;
        let enc = encode_image(&img, &settings, &mut |_| {}).unwrap();
        psnr.push(enc.psnr);
        size.push(enc.bytes.len());
    }
    println!("bits 32/16/8: PSNR {psnr:.3?} dB, {size:?} bytes");
    assert!(size[0] > size[1] && size[1] > size[2], "sizes {size:?}");
    assert!(
        psnr[0] - psnr[1] < 0.05,
        "f16 lost {:.3} dB",
        psnr[0] - psnr[1]
    );
    assert!(
        psnr[0] - psnr[2] < 1.0,
        "8 bits lost {:.3} dB",
        psnr[0] - psnr[2]
    );
}

#[test]
fn same_seed_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.scone"),
        dir.path().join("b.scone"),
        dir.path().join("c.scone"),
    );
    let input = sample("kodim05-gray-48x32.png");
    for (out, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
        let mut args = vec![
            "encode",
            s(&input),
            "-o",
            s(out),
            "--seed",
            seed,
            "--batch",
            "512",
        ];
        args.extend(TINY);
        let r = scone(&args);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert!(
            r.stdout.is_empty() && r.stderr.is_empty(),
            "--quiet printed something"
        );
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

#[test]
fn every_image_type_encodes_and_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (20u32, 12u32);
    let v8 = |x: u32, y: u32, c: u32| ((x * 11 + y * 7 + c * 50) % 256) as u8;
    let v16 = |x: u32, y: u32, c: u32| ((x * 2917 + y * 1733 + c * 9000) % 65536) as u16;
    let images: Vec<(&str, image::DynamicImage)> = vec![
        (
            "gray8.png",
            image::GrayImage::from_fn(w, h, |x, y| image::Luma([v8(x, y, 0)])).into(),
        ),
        (
            "graya8.png",
            image::GrayAlphaImage::from_fn(w, h, |x, y| image::LumaA([v8(x, y, 0), v8(x, y, 1)]))
                .into(),
        ),
        (
            "rgba8.png",
            image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([0, 1, 2, 3].map(|c| v8(x, y, c))))
                .into(),
        ),
        (
            "rgb16.png",
            image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(w, h, |x, y| {
                image::Rgb([0, 1, 2].map(|c| v16(x, y, c)))
            })
            .into(),
        ),
        (
            "gray16.png",
            image::ImageBuffer::<image::Luma<u16>, _>::from_fn(w, h, |x, y| {
                image::Luma([v16(x, y, 0)])
            })
            .into(),
        ),
        (
            "rgb8.jpg",
            image::RgbImage::from_fn(w, h, |x, y| image::Rgb([0, 1, 2].map(|c| v8(x, y, c))))
                .into(),
        ),
    ];
    for (name, img) in images {
        let input = dir.path().join(name);
        img.save(&input).unwrap();
        let encoded = dir.path().join(format!("{name}.scone"));
        let mut args = vec!["encode", s(&input), "-o", s(&encoded)];
        args.extend(TINY);
        let r = scone(&args);
        assert!(
            r.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let file = SconeFile::read(&encoded).unwrap();
        assert_eq!(file.signal.sizes, vec![w, h]);
        assert_eq!(
            file.signal.channels(),
            img.color().channel_count() as usize,
            "{name}"
        );
        let decoded = dir.path().join(format!("{name}.out.png"));
        let r = scone(&["decode", s(&encoded), "-o", s(&decoded), "--scale", "1.5"]);
        assert!(
            r.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let back = image::open(&decoded).unwrap();
        assert_eq!((back.width(), back.height()), (30, 18));
        assert_eq!(back.color().channel_count(), img.color().channel_count());
    }
}

#[test]
fn the_paper_preset_builds_the_paper_network() {
    let s = Settings::preset(Preset::Paper);
    let arch = s.arch(2, 3).unwrap();
    assert_eq!(arch, scone::model::Arch::paper_image(3));
    assert_eq!(arch.parameter_count(), 192_753);
    assert_eq!(
        (s.train.iterations, s.train.lr, s.train.lr_min),
        (10_000, 1e-4, 1e-6)
    );
    assert_eq!(s.train.batch, Batch::Full);
}

#[test]
fn bad_encoder_input_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.scone");
    let garbage = dir.path().join("garbage.png");
    std::fs::write(&garbage, b"not an image at all").unwrap();
    let empty = dir.path().join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let truncated = dir.path().join("truncated.png");
    let full = std::fs::read(sample("kodim23-64x64.png")).unwrap();
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    let input = s(&sample("kodim23-64x64.png")).to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["encode", "missing.png", "-o", s(&out)], "No such file"),
        (
            vec!["encode", s(&garbage), "-o", s(&out)],
            "not a PNG or JPEG",
        ),
        (
            vec!["encode", s(&empty), "-o", s(&out)],
            "not a PNG or JPEG",
        ),
        (
            vec!["encode", s(&truncated), "-o", s(&out)],
            "cannot decode",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--iterations", "0"],
            "at least 1",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--batch", "zero"],
            "--batch",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--depth", "1"],
            "--depth",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--width", "0"],
            "hidden width",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--omegas", "90,60"],
            "omegas",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--lr=-1"],
            "learning rate",
        ),
        (vec!["encode", &input, "-o", s(&out), "--bits", "4"], "4"),
        (vec!["encode", &input, "-o", &input], "over the input"),
    ];
    for (mut args, needle) in cases {
        // On the CPU: a build with CUDA notes its absence under `auto`.
        args.extend(["--device", "cpu"]);
        assert_fails(&scone(&args), needle);
        assert!(!out.exists(), "{args:?} left an output");
    }
}

/// Every architecture through the command line: encode, read back, decode,
/// export; a baseline without --width trains no more parameters than the
/// SCONE of the same settings, and within 3 % as many.
#[test]
fn every_architecture_encodes_decodes_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample("kodim23-64x64.png");
    let input = s(&input);
    let fit = |extra: &[&str], name: &str| {
        let out = dir.path().join(format!("{name}.scone"));
        let mut args = vec![
            "encode",
            input,
            "-o",
            s(&out),
            "--iterations",
            "15",
            "--depth",
            "3",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let r = scone(&args);
        assert!(
            r.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        SconeFile::read(&out).unwrap()
    };
    let base = fit(&["--arch", "scone"], "scone")
        .network
        .arch
        .trainable_count();
    for arch in ["rbm", "siren", "ffn", "mfn", "wire"] {
        let file = fit(&["--arch", arch], arch);
        assert_eq!(file.network.arch.name(), arch);
        let n = file.network.arch.trainable_count();
        assert!(
            n <= base && n * 100 >= base * 97,
            "{arch}: {n} against {base}"
        );
        let png = dir.path().join(format!("{arch}.png"));
        let scone_path = dir.path().join(format!("{arch}.scone"));
        let r = scone(&["decode", s(&scone_path), "-o", s(&png), "--scale", "2"]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert_eq!(load(&png).unwrap().width, 128);
        let json = dir.path().join(format!("{arch}.json"));
        let r = scone(&["export", s(&scone_path), "-o", s(&json), "--points", "10"]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(doc["arch"]["name"], arch);
        assert_eq!(doc["outputs"].as_array().unwrap().len(), (10 + 5) * 3);
    }
    for mask in ["sigmoid", "ntanh-l", "exp-sq"] {
        let file = fit(&["--arch", "scone", "--mask", mask], mask);
        assert_eq!(file.network.arch.mask().unwrap().name(), mask);
    }
    let out = dir.path().join("bad.scone");
    // An image's default network (`grid`, ReLU synthesis) has no mask.
    assert_fails(
        &scone(&["encode", input, "-o", s(&out), "--mask", "sigmoid"]),
        "--arch scone",
    );
    // Nor fixed-precision weights.
    assert_fails(
        &scone(&[
            "encode",
            input,
            "-o",
            s(&out),
            "--arch",
            "grid",
            "--bits",
            "8",
        ]),
        "--bits applies to coordinate networks",
    );
    assert_fails(
        &scone(&[
            "encode",
            input,
            "-o",
            s(&out),
            "--arch",
            "ffn",
            "--mask",
            "sigmoid",
        ]),
        "--mask",
    );
    assert_fails(
        &scone(&["encode", input, "-o", s(&out), "--arch", "relu"]),
        "relu",
    );
    assert!(!out.exists());
}

/// Without a usable GPU `--device cuda` fails at once with one line and
/// writes nothing; `--device auto` trains on the CPU.
#[test]
fn encoding_on_a_missing_gpu_fails_cleanly() {
    let Err(why) = scone::device::cuda_device_name() else {
        return println!("a GPU is usable here: tests/cuda.rs covers it");
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.scone");
    let input = sample("kodim05-gray-48x32.png");
    let mut args = vec!["encode", s(&input), "-o", s(&out), "--device", "cuda"];
    args.extend(TINY);
    assert_fails(&scone(&args), &why);
    assert!(!out.exists());
    args[5] = "auto";
    let run = scone(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.exists());
}

/// The crop with the default preset's rate path, shortened: the width
/// chosen for the rate, 300 steps.
fn coded(target: scone::encode::RateTarget) -> Settings {
    let mut settings = Settings::preset(Preset::Default);
    settings.rate = Some(target);
    settings.steps_for_rate = false;
    settings.train.iterations = 300;
    settings.qat.steps = 60;
    settings
}

#[test]
fn rate_targets_land_within_ten_percent_and_never_above() {
    use scone::encode::RateTarget::{Bpp, Bytes};
    let img = load(sample("kodim23-64x64.png")).unwrap();
    let pixels = (img.width * img.height) as f64;
    let mut last = (0usize, 0f64);
    for (target, budget) in [
        (Bpp(3.0), 3.0 * pixels / 8.0),
        (Bytes(2500), 2500.0),
        (Bpp(6.0), 6.0 * pixels / 8.0),
    ] {
        let enc = encode_image(&img, &coded(target), &mut |_| {}).unwrap();
        let n = enc.bytes.len() as f64;
        println!("{target:?}: {n} bytes of {budget}, PSNR {:.2} dB", enc.psnr);
        assert!(n <= budget && n >= 0.9 * budget, "{n} bytes for {budget}");
        // Every tensor but the fixed ones is coded.
        let file = SconeFile::from_bytes(&enc.bytes).unwrap();
        assert!(
            file.encodings
                .iter()
                .all(|e| matches!(e, scone::format::Encoding::Coded { .. }))
        );
        if n > last.0 as f64 {
            assert!(
                enc.psnr > last.1,
                "more bytes, less PSNR: {enc:?}",
                enc = enc.psnr
            );
        }
        last = (n as usize, enc.psnr);
    }
}

#[test]
fn a_psnr_target_is_reached_within_a_db() {
    let img = load(sample("kodim23-64x64.png")).unwrap();
    for target in [24.0, 27.0] {
        let enc = encode_image(
            &img,
            &coded(scone::encode::RateTarget::Psnr(target)),
            &mut |_| {},
        )
        .unwrap();
        println!(
            "{target} dB asked: {:.3} dB, {} bytes",
            enc.psnr,
            enc.bytes.len()
        );
        assert!(
            enc.psnr >= target && enc.psnr <= target + 1.0,
            "{:.3} dB for {target}",
            enc.psnr
        );
    }
    // Beyond what the network reaches: one clear error.
    let e = encode_image(
        &img,
        &coded(scone::encode::RateTarget::Psnr(90.0)),
        &mut |_| {},
    );
    assert!(
        matches!(e, Err(scone::Error::Parameter(_))),
        "{:?}",
        e.err()
    );
}

#[test]
fn the_quality_ladder_is_monotone_in_rate() {
    let img = load(sample("kodim23-64x64.png")).unwrap();
    let sizes: Vec<usize> = [30u8, 60, 90]
        .into_iter()
        .map(|q| {
            let mut s = coded(scone::encode::RateTarget::Quality(q));
            s.train.iterations = 150;
            encode_image(&img, &s, &mut |_| {}).unwrap().bytes.len()
        })
        .collect();
    println!("quality 30, 60, 90: {sizes:?} bytes");
    assert!(sizes[0] < sizes[1] && sizes[1] < sizes[2], "{sizes:?}");
    assert!((1..=100).all(|q| scone::encode::quality_bpp(q) < scone::encode::quality_bpp(q + 1)));
}

/// The coded path is deterministic: the same bytes with one and two
/// threads, the rate search and the quantisation-aware steps included.
#[test]
fn coded_files_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample("kodim23-64x64.png");
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}.scone"));
        let bin = std::env::var_os("SCONE_BIN").unwrap_or(env!("CARGO_BIN_EXE_scone").into());
        let r = std::process::Command::new(bin)
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "encode",
                s(&input),
                "-o",
                s(&out),
                "--size",
                "1.8k",
                "--iterations",
                "120",
                "-q",
            ])
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        files.push(std::fs::read(&out).unwrap());
    }
    assert!(files[0].len() <= 1800, "{} bytes", files[0].len());
    assert_eq!(files[0], files[1]);
}

#[test]
fn rate_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.scone");
    let input = s(&sample("kodim23-64x64.png")).to_string();
    let clip = s(&sample("bikes-64x48x8.y4m")).to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["encode", &clip, "-o", s(&out), "--bpp", "0.5"],
            "apply to images",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--bpp", "0"],
            "positive",
        ),
        (
            vec![
                "encode",
                &input,
                "-o",
                s(&out),
                "--bpp",
                "0.5",
                "--bits",
                "8",
            ],
            "--bits",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--size", "lots"],
            "size in bytes",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--size", "100"],
            "too few",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--quality", "101"],
            "101",
        ),
        (
            vec!["encode", &input, "-o", s(&out), "--psnr", "nan"],
            "PSNR",
        ),
    ];
    for (mut args, needle) in cases {
        // On the CPU: a build with CUDA notes its absence under `auto`.
        args.extend(["--device", "cpu"]);
        assert_fails(&scone(&args), needle);
        assert!(!out.exists(), "{args:?} left an output");
    }
}

/// `--arch grid` end to end on the command line: the file fits its rate,
/// its reported PSNR is the decoded file's, and it decodes at twice the
/// size; the synthesis and the latent grids show in `scone info`.
#[test]
fn grid_files_meet_their_rate_and_decode_at_any_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.scone");
    let input = sample("kodim23-64x64.png");
    let run = scone(&[
        "encode",
        s(&input),
        "-o",
        s(&out),
        "--arch",
        "grid",
        "--bpp",
        "4",
        "--iterations",
        "200",
        "--device",
        "cpu",
        "--quiet",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.len() <= 2048, "{} bytes", bytes.len());
    let file = SconeFile::from_bytes(&bytes).unwrap();
    assert_eq!(file.network.arch.name(), "grid");
    let meta: serde_json::Value = serde_json::from_str(file.metadata.as_deref().unwrap()).unwrap();
    let psnr = meta["psnr_db"].as_f64().unwrap();
    // Measured with the default (ReLU) synthesis: 1,534 bytes, 38.06 dB
    // (the crop's mean colour alone gives 16.4 dB).
    println!("64x64 at 4 bpp: {} bytes, {psnr:.2} dB", bytes.len());
    assert!(psnr > 34.0, "PSNR {psnr:.2} dB");
    let png = dir.path().join("k2.png");
    let run = scone(&["decode", s(&out), "-o", s(&png), "--scale", "2"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let img = load(&png).unwrap();
    assert_eq!((img.width, img.height), (128, 128));
    let info = scone(&["info", s(&out)]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("synthesis relu") && text.contains("latent grids"),
        "{text}"
    );
}

/// An image's default network is `grid`; a rate that cannot pay for a
/// grid file's header and synthesis (a small image at a low rate) falls
/// back to the coordinate SCONE, while an explicit `--arch grid` then
/// fails at once, writing nothing.
#[test]
fn small_budgets_fall_back_to_the_coordinate_network() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample("kodim23-64x64.png");
    let out = dir.path().join("x.scone");
    let encode = |extra: &[&str]| {
        let mut args = vec!["encode", s(&input), "-o", s(&out), "--iterations", "20"];
        args.extend_from_slice(&["--quiet", "--device", "cpu"]);
        args.extend_from_slice(extra);
        scone(&args)
    };
    // 0.8 bpp (the default quality): 409 bytes, under the ~1,700 a grid
    // file's header and synthesis are counted at.
    assert_ok(&encode(&[]));
    assert_eq!(SconeFile::read(&out).unwrap().network.arch.name(), "scone");
    // 4 bpp: 2,048 bytes, a grid.
    assert_ok(&encode(&["--bpp", "4"]));
    let file = SconeFile::read(&out).unwrap();
    assert_eq!(file.network.arch.name(), "grid");
    assert!(std::fs::metadata(&out).unwrap().len() <= 2048);
    std::fs::remove_file(&out).unwrap();
    assert_fails(&encode(&["--arch", "grid"]), "cannot pay for a `grid` file");
    assert!(!out.exists());
}

/// Every network the encoder trains writes the same file with one and two
/// threads (rayon's pool, which also runs gemm's and burn's parallel
/// work): the grid with each synthesis, SCONE with each mask (sin² on the
/// host engine, the others with burn's autodiff) and each baseline, all
/// coded at a rate through the quantisation-aware steps; a clip and a
/// shape. Each run is its own process, so no state (a hash map's order,
/// say) is shared between the two.
#[test]
fn every_family_encodes_the_same_bytes_with_one_and_two_threads() {
    use scone::model::{FAMILY_NAMES, Mask, Synthesis};
    let dir = tempfile::tempdir().unwrap();
    let image = sample("kodim23-64x64.png");
    let mut cases: Vec<(String, std::path::PathBuf, Vec<&str>)> = Vec::new();
    for synthesis in Synthesis::NAMES {
        let args = ["--synthesis", synthesis, "--iterations", "30", "--bpp", "4"];
        let args = [&["--arch", "grid"][..], &args].concat();
        cases.push((format!("grid {synthesis}"), image.clone(), args));
    }
    // Wide enough that gemm's and burn's parallel paths run; WIRE's
    // complex features cost as much at half the width.
    let coordinate = |arch: &str| {
        let width = if arch == "wire" { "24" } else { "48" };
        vec!["--iterations", "20", "--width", width, "--size", "3k"]
    };
    for mask in Mask::ALL {
        let args = [
            &["--arch", "scone", "--mask", mask.name()][..],
            &coordinate("scone"),
        ]
        .concat();
        cases.push((format!("scone {}", mask.name()), image.clone(), args));
    }
    for arch in FAMILY_NAMES.into_iter().filter(|&a| a != "scone") {
        let args = [&["--arch", arch][..], &coordinate(arch)].concat();
        cases.push((arch.into(), image.clone(), args));
    }
    cases.push((
        "clip".into(),
        sample("bikes-64x48x8.y4m"),
        vec!["--iterations", "10"],
    ));
    let sdf = ["--iterations", "10", "--surface-points", "2000"];
    cases.push((
        "shape".into(),
        sample("bunny-coarse.obj"),
        [&sdf[..], &["--eval-resolution", "16"]].concat(),
    ));
    let bin = std::env::var_os("SCONE_BIN").unwrap_or(env!("CARGO_BIN_EXE_scone").into());
    let mut differ = Vec::new();
    for (name, input, args) in &cases {
        let mut files = Vec::new();
        let start = std::time::Instant::now();
        for threads in ["1", "2"] {
            let out = dir
                .path()
                .join(format!("{}-{threads}.scone", name.replace(' ', "-")));
            let r = std::process::Command::new(&bin)
                .env("RAYON_NUM_THREADS", threads)
                .args(["encode", s(input), "-o", s(&out), "--device", "cpu", "-q"])
                .args(args)
                .output()
                .unwrap();
            assert_ok(&r);
            files.push(std::fs::read(&out).unwrap());
        }
        let seconds = start.elapsed().as_secs_f64();
        println!("{name}: {} bytes, {seconds:.1} s", files[0].len());
        if files[0] != files[1] {
            differ.push(name.clone());
        }
    }
    assert!(differ.is_empty(), "other bytes with 2 threads: {differ:?}");
}
