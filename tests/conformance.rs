//! Checks the decoder against every vector in `samples/vectors/` and every
//! invalid file in `samples/invalid/` (spec/CONFORMANCE.md).

use scone::decode::Evaluator;
use scone::format::SconeFile;
use scone::signal::grid::image_coords;
use scone::signal::image::{load, to_sample};
use scone::signal::render::render_rows;
use std::path::{Path, PathBuf};

/// CONFORMANCE.md §2: largest error of a raw network output.
const MAX_OUTPUT_ERROR: f32 = 1e-4;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn manifest() -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(samples().join("vectors/vectors.json")).expect("vectors.json");
    serde_json::from_str(&text).expect("valid manifest")
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .expect("expected values")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn every_vector_decodes_within_tolerance() {
    let vectors = manifest();
    assert!(
        vectors.len() >= 6,
        "the manifest lists only {} vectors",
        vectors.len()
    );
    let dir = samples().join("vectors");
    for v in &vectors {
        let name = v["file"].as_str().unwrap();
        let file = SconeFile::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let eval = Evaluator::new(&file.network);
        for d in v["decodes"].as_array().unwrap() {
            let (w, h) = (
                d["width"].as_u64().unwrap() as usize,
                d["height"].as_u64().unwrap() as usize,
            );
            // Raw outputs.
            let expected = read_f32(&dir.join(d["values"].as_str().unwrap()));
            let coords = image_coords(w, h, 0, h, file.signal.convention);
            let mut out = vec![0f32; expected.len()];
            eval.eval(&coords, &mut out);
            let worst = out
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            println!("{name} at {w}x{h}: largest output error {worst:.2e}");
            assert!(
                worst <= MAX_OUTPUT_ERROR,
                "{name} at {w}x{h}: output error {worst:e}"
            );
            // 8-bit samples.
            let png = load(dir.join(d["png"].as_str().unwrap())).unwrap();
            assert_eq!(
                (png.width, png.height, png.layout),
                (w, h, file.signal.layout)
            );
            let values = render_rows(&eval, &file.signal, w, h, 0, h);
            for (i, (a, b)) in values.iter().zip(&png.data).enumerate() {
                let (a, b) = (to_sample(*a, 8) as i32, to_sample(*b, 8) as i32);
                assert!(
                    (a - b).abs() <= 1,
                    "{name} at {w}x{h}: sample {i} is {a}, expected {b}"
                );
            }
        }
    }
}

#[test]
fn vectors_cover_every_encoding_and_convention() {
    let dir = samples().join("vectors");
    let mut seen = std::collections::HashSet::new();
    for v in manifest() {
        let file = SconeFile::read(dir.join(v["file"].as_str().unwrap())).unwrap();
        seen.extend(file.encodings.iter().map(|e| e.name().to_string()));
        seen.insert(file.signal.convention.name().to_string());
        seen.insert(file.signal.layout.name().to_string());
    }
    for want in [
        "f32",
        "f16",
        "affine8",
        "cell-centre",
        "endpoints",
        "gray",
        "gray+alpha",
        "rgb",
        "rgba",
    ] {
        assert!(seen.contains(want), "no vector uses {want}");
    }
}

#[test]
fn every_invalid_file_is_rejected() {
    let dir = samples().join("invalid");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("samples/invalid") {
        let path = entry.unwrap().path();
        let result = SconeFile::read(&path);
        assert!(result.is_err(), "{} was accepted", path.display());
        let message = result.unwrap_err().to_string();
        assert!(!message.contains('\n'), "multi-line error: {message}");
        count += 1;
    }
    assert!(count >= 12, "only {count} invalid files");
}
