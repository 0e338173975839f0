//! The `scone` command line: decoding, `info`, and its handling of bad
//! input (one line on stderr, non-zero exit, no partial or clobbered file).

mod common;

use common::{assert_fails, s, sample, scone};
use std::path::PathBuf;

fn vector(name: &str) -> PathBuf {
    sample(&format!("vectors/{name}"))
}

fn invalid(name: &str) -> PathBuf {
    sample(&format!("invalid/{name}"))
}

#[test]
fn decode_at_native_and_double_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let input = vector("rgb-f16-endpoints.scone");
    let r = scone(&["decode", s(&input), "-o", s(&out)]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let expected = image::open(vector("rgb-f16-endpoints.32x24.png"))
        .unwrap()
        .to_rgb8();
    let got = image::open(&out).unwrap().to_rgb8();
    assert_eq!(got.dimensions(), (32, 24));
    for (a, b) in got.as_raw().iter().zip(expected.as_raw()) {
        assert!((*a as i32 - *b as i32).abs() <= 1);
    }
    let r = scone(&["decode", s(&input), "-o", s(&out), "--scale", "2"]);
    assert!(r.status.success());
    assert_eq!(image::open(&out).unwrap().to_rgb8().dimensions(), (64, 48));
    let r = scone(&[
        "decode",
        s(&input),
        "-o",
        s(&out),
        "--width",
        "10",
        "--depth",
        "16",
    ]);
    assert!(r.status.success());
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (10, 8));
    assert_eq!(img.color(), image::ColorType::Rgb16);
}

#[test]
fn decode_defaults_to_a_name_beside_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("v.scone");
    std::fs::copy(vector("gray-f32-centre.scone"), &input).unwrap();
    assert!(scone(&["decode", s(&input)]).status.success());
    let img = image::open(dir.path().join("v.decoded.png")).unwrap();
    assert_eq!((img.width(), img.height()), (24, 16));
}

#[test]
fn info_prints_text_and_json() {
    let input = vector("rgba-affine8-one-hidden-layer.scone");
    let r = scone(&["info", s(&input)]);
    assert!(r.status.success());
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(
        text.contains("20x20") && text.contains("affine8") && text.contains("scone"),
        "{text}"
    );
    let r = scone(&["info", "--json", s(&input)]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["signal"]["sizes"], serde_json::json!([20, 20]));
    assert_eq!(v["architecture"]["layers"], 2);
    assert_eq!(v["architecture"]["hidden"], 24);
    assert_eq!(v["tensors"].as_array().unwrap().len(), 6);
}

#[test]
fn bad_files_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let cases = [
        ("missing.scone", "No such file"),
        ("empty.scone", "empty"),
        ("truncated-weights.scone", "truncated"),
        ("no-done.scone", "truncated"),
        ("bad-crc.scone", "CRC"),
        ("png-renamed.scone", "not a .scone file"),
        ("version-2.scone", "version 2"),
        ("absurd-width.scone", "grid size"),
        ("huge-chunk-length.scone", "truncated"),
        ("unknown-critical-chunk.scone", "unknown critical chunk"),
    ];
    for (name, needle) in cases {
        for cmd in ["decode", "info"] {
            let input = invalid(name);
            let r = if cmd == "decode" {
                scone(&[cmd, s(&input), "-o", s(&out)])
            } else {
                scone(&[cmd, s(&input)])
            };
            assert_fails(&r, needle);
        }
        assert!(!out.exists(), "{name} left an output file");
    }
}

#[test]
fn bad_sizes_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let input = vector("gray-f32-centre.scone");
    assert_fails(
        &scone(&["decode", s(&input), "-o", s(&out), "--scale", "0"]),
        "positive",
    );
    assert_fails(
        &scone(&["decode", s(&input), "-o", s(&out), "--scale", "-2"]),
        "",
    );
    assert_fails(
        &scone(&["decode", s(&input), "-o", s(&out), "--scale", "nan"]),
        "positive",
    );
    assert_fails(
        &scone(&["decode", s(&input), "-o", s(&out), "--width", "-5"]),
        "",
    );
    assert_fails(
        &scone(&["decode", s(&input), "-o", s(&out), "--width", "0"]),
        "empty",
    );
    // 72,000 × 48,000 pixels: above the limit of 2³⁰, which --force
    // lifts; the error names the limit and the value.
    let r = scone(&["decode", s(&input), "-o", s(&out), "--scale", "3000"]);
    assert_fails(&r, "--force");
    assert_fails(&r, "max_pixels = 1073741824");
    assert_fails(&r, "3456000000");
    // PNG's own limit on a side stays.
    assert_fails(
        &scone(&[
            "decode",
            s(&input),
            "-o",
            s(&out),
            "--width",
            "3000000000",
            "--height",
            "2",
            "--force",
        ]),
        "PNG",
    );
    assert!(!out.exists());
}

#[test]
fn never_writes_over_the_input_or_leaves_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("v.scone");
    std::fs::copy(vector("gray-f32-centre.scone"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    assert_fails(
        &scone(&["decode", s(&input), "-o", s(&input)]),
        "over the input",
    );
    let same = dir.path().join(".").join("v.scone");
    assert_fails(
        &scone(&["decode", s(&input), "-o", s(&same)]),
        "over the input",
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // An output in a missing directory fails cleanly.
    let nowhere = dir.path().join("no/such/dir/out.png");
    let r = scone(&["decode", s(&input), "-o", s(&nowhere)]);
    assert!(!r.status.success());
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn an_existing_output_is_replaced_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    std::fs::write(&out, vec![7u8; 100_000]).unwrap();
    let r = scone(&["decode", s(&vector("gray-f32-centre.scone")), "-o", s(&out)]);
    assert!(r.status.success());
    assert_eq!(image::open(&out).unwrap().width(), 24);
}

/// `--device cuda` decodes where a GPU is usable and otherwise fails with
/// one line and no output; `--device auto` always decodes, saying in one
/// line when it falls back to the CPU. Holds with and without the `cuda`
/// feature, on machines with and without a GPU.
#[test]
fn devices_are_chosen_or_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let input = vector("rgb-f16-endpoints.scone");
    let gpu = scone::device::cuda_device_name();
    let out = dir.path().join("cuda.png");
    let run = scone(&["decode", s(&input), "-o", s(&out), "--device", "cuda"]);
    match &gpu {
        Ok(_) => assert!(run.status.success() && out.exists()),
        Err(why) => {
            assert_fails(&run, why);
            assert!(String::from_utf8_lossy(&run.stderr).contains("--device cuda"));
            assert!(!out.exists(), "an output was left behind");
        }
    }
    let out = dir.path().join("auto.png");
    let run = scone(&["decode", s(&input), "-o", s(&out), "--device", "auto"]);
    assert!(run.status.success() && out.exists());
    let stderr = String::from_utf8_lossy(&run.stderr);
    match (&gpu, cfg!(feature = "cuda")) {
        (Err(why), true) => {
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.contains(why.as_str()) && stderr.contains("using the CPU"));
        }
        _ => assert!(stderr.is_empty(), "{stderr}"),
    }
    // The CPU and the default give the same bytes as `--device cpu`.
    let cpu = dir.path().join("cpu.png");
    assert!(
        scone(&["decode", s(&input), "-o", s(&cpu), "--device", "cpu"])
            .status
            .success()
    );
    if gpu.is_err() {
        assert_eq!(std::fs::read(&cpu).unwrap(), std::fs::read(&out).unwrap());
    }
    let run = scone(&["decode", s(&input), "-o", s(&out), "--device", "tpu"]);
    assert_fails(&run, "tpu");
    // Meshing takes the same choice.
    let mesh = dir.path().join("m.ply");
    let sdf = vector("sdf-endpoints-f16.scone");
    let run = scone(&[
        "mesh",
        s(&sdf),
        "-o",
        s(&mesh),
        "--resolution",
        "16",
        "--device",
        "cuda",
    ]);
    if let Err(why) = &gpu {
        assert_fails(&run, why);
        assert!(!mesh.exists());
    }
}
