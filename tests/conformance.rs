//! Checks the decoder against every vector in `samples/vectors/` and every
//! invalid file in `samples/invalid/` (spec/CONFORMANCE.md).
//!
//! Coordinates are computed here from FORMAT.md §4.3 and §4.5 where the
//! decoder's own grid functions could share a mistake with the generator:
//! video frame positions are worked out independently of `scone decode`'s
//! frame schedule.

use scone::decode::Evaluator;
use scone::format::SconeFile;
use scone::mesh::extract::slice_coords;
use scone::signal::grid::image_coords;
use scone::signal::image::{load, to_sample};
use scone::signal::render::{render_frame_rows, render_rows};
use scone::signal::{Convention, SignalInfo};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// CONFORMANCE.md §2: largest error of a raw network output.
const MAX_OUTPUT_ERROR: f32 = 1e-4;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn vectors_dir() -> PathBuf {
    samples().join("vectors")
}

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(vectors_dir().join("vectors.json")).expect("vectors.json");
    serde_json::from_str(&text).expect("valid manifest")
}

/// The manifest entries of one kind (`image`, `video` or `sdf`), with
/// their files read.
fn vectors_of(kind: &str) -> Vec<(Value, SconeFile)> {
    manifest()
        .into_iter()
        .filter(|v| v["kind"].as_str() == Some(kind))
        .map(|v| {
            let name = v["file"].as_str().unwrap();
            let file =
                SconeFile::read(vectors_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(file.signal.kind.name(), kind, "{name}: wrong kind");
            assert_eq!(
                v["channels"].as_u64(),
                Some(file.signal.channels() as u64),
                "{name}: wrong channel count"
            );
            (v, file)
        })
        .collect()
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .expect("expected values")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn usize_of(v: &Value, key: &str) -> usize {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}")) as usize
}

/// Largest absolute difference; panics on a length mismatch.
fn largest_error(got: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(got.len(), expected.len(), "wrong number of values");
    got.iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max)
}

/// Evaluates `coords` and checks the raw outputs against `expected`
/// (CONFORMANCE.md §2, rule 1); returns the largest error.
fn check_outputs(eval: &Evaluator, coords: &[f32], expected: &[f32], what: &str) -> f32 {
    let mut out = vec![0f32; expected.len()];
    eval.eval(coords, &mut out);
    let worst = largest_error(&out, expected);
    println!("{what}: largest output error {worst:.2e}");
    assert!(worst <= MAX_OUTPUT_ERROR, "{what}: output error {worst:e}");
    worst
}

#[test]
fn image_vectors_decode_within_tolerance() {
    let vectors = vectors_of("image");
    assert!(vectors.len() >= 6, "only {} image vectors", vectors.len());
    let dir = vectors_dir();
    let mut largest = 0f32;
    for (v, file) in &vectors {
        let name = v["file"].as_str().unwrap();
        let eval = Evaluator::new(&file.network);
        for d in v["decodes"].as_array().unwrap() {
            let (w, h) = (usize_of(d, "width"), usize_of(d, "height"));
            // Raw outputs.
            let expected = read_f32(&dir.join(d["values"].as_str().unwrap()));
            assert_eq!(expected.len(), w * h * file.signal.channels());
            let coords = image_coords(w, h, 0, h, file.signal.convention);
            let what = format!("{name} at {w}x{h}");
            largest = largest.max(check_outputs(&eval, &coords, &expected, &what));
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
    println!("images: largest output error {largest:.2e}");
    // Every family and every SCONE mask has a vector (FORMAT.md §5).
    let labels: Vec<String> = vectors
        .iter()
        .map(|(_, f)| f.network.arch.label())
        .collect();
    for family in scone::model::FAMILY_NAMES {
        assert!(labels.iter().any(|l| l == family), "no {family} vector");
    }
    for mask in &scone::model::Mask::ALL[1..] {
        let label = format!("scone-{}", mask.name());
        assert!(labels.contains(&label), "no {label} vector");
    }
}

/// FORMAT.md §4.5, written out again: the source-frame position u of
/// output frame k of m over the span of a clip of n frames, and its time
/// coordinate.
fn frame_time(k: usize, m: usize, n: usize, convention: Convention) -> f64 {
    let (k, m, n) = (k as f64, m as f64, n as f64);
    match convention {
        // u = k·N/M over [0, N); t = (2u + 1)/N − 1.
        Convention::CellCentre => {
            let u = k * n / m;
            (2.0 * u + 1.0) / n - 1.0
        }
        // u = k·(N − 1)/(M − 1), u = 0 for M = 1; t = 2u/(N − 1) − 1,
        // t = 0 for N = 1.
        Convention::Endpoints => {
            let u = if m > 1.0 {
                k * (n - 1.0) / (m - 1.0)
            } else {
                0.0
            };
            if n > 1.0 {
                2.0 * u / (n - 1.0) - 1.0
            } else {
                0.0
            }
        }
    }
}

#[test]
fn frame_times_follow_the_format() {
    use Convention::*;
    // Whole frames decode at the encoded coordinates.
    assert_eq!(frame_time(0, 5, 5, CellCentre), -0.8);
    assert_eq!(frame_time(4, 5, 5, CellCentre), 0.8);
    assert_eq!(frame_time(0, 7, 7, Endpoints), -1.0);
    assert_eq!(frame_time(6, 7, 7, Endpoints), 1.0);
    // One frame is the first source frame, not c(0, 1) = 0.
    assert_eq!(frame_time(0, 1, 5, CellCentre), -0.8);
    assert_eq!(frame_time(0, 1, 7, Endpoints), -1.0);
    // Twice the frames: cell-centre frames fall on half frames u = k/2, the
    // last at t = 1; endpoints keep both ends.
    assert!((frame_time(9, 10, 5, CellCentre) - 1.0).abs() < 1e-12);
    assert!((frame_time(1, 10, 5, CellCentre) - (-0.6)).abs() < 1e-12);
    assert_eq!(frame_time(13, 14, 7, Endpoints), 1.0);
}

/// A video frame at time `t`: (x, y, t) triples, x fastest.
fn frame_coords(w: usize, h: usize, t: f64, convention: Convention) -> Vec<f32> {
    image_coords(w, h, 0, h, convention)
        .chunks_exact(2)
        .flat_map(|xy| [xy[0], xy[1], t as f32])
        .collect()
}

#[test]
fn video_vectors_decode_within_tolerance() {
    let vectors = vectors_of("video");
    assert!(vectors.len() >= 3, "only {} video vectors", vectors.len());
    let dir = vectors_dir();
    let mut largest = 0f32;
    for (v, file) in &vectors {
        let name = v["file"].as_str().unwrap();
        let signal = &file.signal;
        let (c, n) = (signal.channels(), signal.sizes[2] as usize);
        let eval = Evaluator::new(&file.network);
        let decodes = v["decodes"].as_array().unwrap();
        let own = &decodes[0];
        let own_grid = ["width", "height", "frames"].map(|k| usize_of(own, k) as u32);
        assert_eq!(
            own_grid[..],
            signal.sizes[..],
            "{name}: the first decode is not the file's own grid"
        );
        for d in decodes {
            let (w, h, m) = (
                usize_of(d, "width"),
                usize_of(d, "height"),
                usize_of(d, "frames"),
            );
            let expected = read_f32(&dir.join(d["values"].as_str().unwrap()));
            assert_eq!(expected.len(), w * h * m * c, "{name}: wrong value count");
            let frame = w * h * c;
            for k in 0..m {
                let t = frame_time(k, m, n, signal.convention);
                let coords = frame_coords(w, h, t, signal.convention);
                let expected = &expected[k * frame..(k + 1) * frame];
                let what = format!("{name} at {w}x{h}x{m}, frame {k} (t = {t:.4})");
                largest = largest.max(check_outputs(&eval, &coords, expected, &what));
                // The decoder's frame renderer: values of §4.4, clamped.
                let values = render_frame_rows(&eval, signal, w, h, t as f32, 0, h);
                let want: Vec<f32> = expected
                    .iter()
                    .map(|&y| signal.to_value(y).clamp(0.0, 1.0))
                    .collect();
                let worst = largest_error(&values, &want);
                assert!(
                    worst <= value_tolerance(signal),
                    "{what}: rendered value error {worst:e}"
                );
            }
        }
    }
    println!("videos: largest output error {largest:.2e}");
}

/// CONFORMANCE.md §2 rule 1 carried through the value mapping of
/// FORMAT.md §4.4: an output error e is a value error e·|hi − lo|/2 (for
/// an SDF, e · half_extent). A little is added for the binary32 rounding
/// of the mapping itself.
fn value_tolerance(signal: &SignalInfo) -> f32 {
    let [lo, hi] = signal.value_range;
    MAX_OUTPUT_ERROR * (hi - lo).abs() / 2.0 + 4.0 * f32::EPSILON * lo.abs().max(hi.abs())
}

#[test]
fn sdf_vectors_decode_within_tolerance() {
    let vectors = vectors_of("sdf");
    assert!(vectors.len() >= 3, "only {} SDF vectors", vectors.len());
    let dir = vectors_dir();
    let mut largest = 0f32;
    let mut largest_value = 0f64;
    for (v, file) in &vectors {
        let name = v["file"].as_str().unwrap();
        let signal = &file.signal;
        let eval = Evaluator::new(&file.network);
        for d in v["decodes"].as_array().unwrap() {
            let n = usize_of(d, "resolution");
            let expected = read_f32(&dir.join(d["values"].as_str().unwrap()));
            assert_eq!(expected.len(), n * n * n, "{name}: wrong value count");
            // The decoder's grid, slice by slice: x fastest, then y, then z.
            let coords: Vec<f32> = (0..n).flat_map(|k| slice_coords(signal, n, k)).collect();
            let what = format!("{name} at {n}³");
            largest = largest.max(check_outputs(&eval, &coords, &expected, &what));
        }
        // World-space points: x = (p − centre)/half_extent (FORMAT.md §4.6),
        // in binary64 then rounded, as grid coordinates are (§4.3).
        let domain = signal.domain.expect("an SDF has a domain");
        let points = v["points"].as_array().expect("points");
        assert!(!points.is_empty(), "{name}: no points");
        for p in points {
            let p: Vec<f64> = p
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let x: [f32; 3] = std::array::from_fn(|a| {
                ((p[a] - domain.centre[a] as f64) / domain.half_extent as f64) as f32
            });
            let value = signal.to_value(eval.eval_point(&x)[0]) as f64;
            let error = (value - p[3]).abs();
            largest_value = largest_value.max(error / domain.half_extent as f64);
            assert!(
                error <= value_tolerance(signal) as f64,
                "{name}: at {:?} the distance is {value}, expected {}",
                &p[..3],
                p[3]
            );
        }
    }
    println!(
        "SDFs: largest output error {largest:.2e} on grids, {largest_value:.2e} (value error / half extent) at points"
    );
}

#[test]
fn vectors_cover_every_kind_encoding_and_convention() {
    let dir = vectors_dir();
    let mut seen = std::collections::HashSet::new();
    for v in manifest() {
        let name = v["file"].as_str().unwrap();
        let file = SconeFile::read(dir.join(name)).unwrap();
        let s = &file.signal;
        assert_eq!(v["kind"].as_str(), Some(s.kind.name()), "{name}: kind");
        seen.extend(file.encodings.iter().map(|e| e.name().to_string()));
        seen.insert(s.convention.name().to_string());
        seen.insert(s.layout.name().to_string());
        seen.insert(s.kind.name().to_string());
        seen.insert(format!("{} {}", s.kind.name(), s.convention.name()));
        if let Some(r) = s.frame_rate
            && r.den > 1
        {
            seen.insert("fractional frame rate".into());
        }
        if let Some(d) = s.domain {
            // What an encoder writes (FORMAT.md §4.6).
            assert_eq!(s.value_range, [-d.half_extent, d.half_extent], "{name}");
            assert_eq!(s.bit_depth, 32, "{name}");
        }
        if name.starts_with("fitted-") {
            seen.insert(format!("fitted {}", s.kind.name()));
        }
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
        "distance",
        "image",
        "video",
        "sdf",
        "video cell-centre",
        "video endpoints",
        "sdf cell-centre",
        "sdf endpoints",
        "fractional frame rate",
        "fitted image",
        "fitted video",
        "fitted sdf",
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
    assert!(count >= 29, "only {count} invalid files");
}
