//! Checks the decoder against every vector in `samples/vectors/` and every
//! invalid file in `samples/invalid/` (spec/CONFORMANCE.md).
//!
//! Coordinates are computed here from FORMAT.md §4.3 and §4.5 where the
//! decoder's own grid functions could share a mistake with the generator:
//! video frame positions are worked out independently of the decoder's
//! frame schedule. Raw outputs go through the evaluator; samples, frames
//! and distances through the front API, [`scone::Decoder`]. The expected
//! PNGs are read with the `png` crate, so that this runs on the library
//! alone (no features).

use scone::eval::Evaluator;
use scone::format::SconeFile;
use scone::mesh::extract::slice_coords;
use scone::signal::grid::image_coords;
use scone::{ClipRequest, Convention, Decoder, SignalInfo};
use serde_json::Value;
use std::collections::BTreeMap;
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

/// A PNG of `depth` (8 or 16) bits per sample: width, height, channels
/// and samples.
fn read_png(path: &Path, depth: u8) -> (usize, usize, usize, Vec<u16>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let samples = match info.bit_depth {
        png::BitDepth::Eight if depth == 8 => buf.iter().map(|&b| b as u16).collect(),
        // Big-endian, as PNG stores them.
        png::BitDepth::Sixteen if depth == 16 => buf
            .chunks_exact(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .collect(),
        d => panic!("{}: a {d:?} PNG, expected {depth} bits", path.display()),
    };
    let channels = info.color_type.samples();
    (info.width as usize, info.height as usize, channels, samples)
}

/// CONFORMANCE.md §2 rule 2: how far a sample may be from the expected
/// PNG's at `depth` bits.
fn sample_tolerance(depth: u8) -> i32 {
    if depth == 16 { 4 } else { 1 }
}

/// The samples of `decoder` at `w` × `h` and `depth` bits.
fn decoded_samples(decoder: &Decoder, w: usize, h: usize, depth: u8) -> Vec<u16> {
    let image = decoder.image(w as u64, h as u64).unwrap();
    if depth == 16 {
        image.to_vec::<u16>().unwrap()
    } else {
        let samples: Vec<u8> = image.to_vec().unwrap();
        samples.into_iter().map(u16::from).collect()
    }
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
    eval.eval(coords, &mut out).unwrap();
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
        let eval = Evaluator::new(&file.network).unwrap();
        let decoder = Decoder::open(dir.join(name)).unwrap();
        for d in v["decodes"].as_array().unwrap() {
            let (w, h) = (usize_of(d, "width"), usize_of(d, "height"));
            // Raw outputs.
            let expected = read_f32(&dir.join(d["values"].as_str().unwrap()));
            assert_eq!(expected.len(), w * h * file.signal.channels());
            let coords = image_coords(w, h, 0, h, file.signal.convention);
            let what = format!("{name} at {w}x{h}");
            largest = largest.max(check_outputs(&eval, &coords, &expected, &what));
            // Samples at the file's bit depth, from the front API.
            let depth = file.signal.bit_depth;
            let (pw, ph, pc, png) = read_png(&dir.join(d["png"].as_str().unwrap()), depth);
            assert_eq!((pw, ph, pc), (w, h, file.signal.channels()));
            let samples = decoded_samples(&decoder, w, h, depth);
            assert_eq!(samples.len(), png.len());
            for (i, (a, b)) in samples.iter().zip(&png).enumerate() {
                let (a, b) = (*a as i32, *b as i32);
                assert!(
                    (a - b).abs() <= sample_tolerance(depth),
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
/// output frame k of m over the span of a clip of n frames.
fn frame_position(k: usize, m: usize, n: usize, convention: Convention) -> f64 {
    let (k, m, n) = (k as f64, m as f64, n as f64);
    match convention {
        Convention::CellCentre => k * n / m,
        Convention::Endpoints if m > 1.0 => k * (n - 1.0) / (m - 1.0),
        Convention::Endpoints => 0.0,
    }
}

/// FORMAT.md §4.5, written out again: the time coordinate of output frame
/// k of m over the span of a clip of n frames.
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

/// CONFORMANCE.md §1.4: the integers of every coded tensor (FORMAT.md
/// §6.4), listed beside a vector, are what its values are multiples of,
/// and the stored bytes are as listed.
#[test]
fn coded_vectors_hold_their_listed_symbols() {
    let dir = vectors_dir();
    let mut checked = 0;
    for v in manifest() {
        let Some(symbols) = v["symbols"].as_str() else {
            continue;
        };
        let name = v["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let file = SconeFile::from_bytes(&bytes).unwrap();
        let stored = scone::format::stored_weights(&bytes).unwrap();
        let listed: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(symbols)).unwrap()).unwrap();
        for t in listed["tensors"].as_array().unwrap() {
            let tname = t["name"].as_str().unwrap();
            let i = file
                .network
                .tensors
                .iter()
                .position(|x| x.name == tname)
                .unwrap_or_else(|| panic!("{name}: no tensor {tname}"));
            let step = t["step"].as_f64().unwrap() as f32;
            assert_eq!(
                stored.tensors[i].encoding,
                scone::format::Encoding::Coded { step },
                "{name} {tname}"
            );
            assert_eq!(
                Some(stored.tensors[i].bytes),
                t["bytes"].as_u64(),
                "{name} {tname}"
            );
            let q: Vec<i64> = t["symbols"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect();
            let values = &file.network.tensors[i].data;
            assert_eq!(q.len(), values.len(), "{name} {tname}");
            for (k, (&v, &q)) in values.iter().zip(&q).enumerate() {
                assert_eq!(v, step * q as f32, "{name} {tname} value {k}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} coded tensors listed");
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
        let eval = Evaluator::new(&file.network).unwrap();
        let decoder = Decoder::open(dir.join(name)).unwrap();
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
            // The decoder's schedule for M frames: the positions of §4.5.
            let schedule = decoder.schedule(ClipRequest::Frames(m as u64)).unwrap();
            assert_eq!(schedule.positions.len(), m);
            for k in 0..m {
                let u = frame_position(k, m, n, signal.convention);
                assert!(
                    (schedule.positions[k] - u).abs() < 1e-9,
                    "{name}: frame {k} of {m} at u = {}, expected {u}",
                    schedule.positions[k]
                );
                let t = frame_time(k, m, n, signal.convention);
                let coords = frame_coords(w, h, t, signal.convention);
                let expected = &expected[k * frame..(k + 1) * frame];
                let what = format!("{name} at {w}x{h}x{m}, frame {k} (t = {t:.4})");
                largest = largest.max(check_outputs(&eval, &coords, expected, &what));
                // The front API's frame: values of §4.4, clamped.
                let render = decoder.frame(u, w as u64, h as u64).unwrap();
                let values: Vec<f32> = render.to_vec().unwrap();
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
        let eval = Evaluator::new(&file.network).unwrap();
        let decoder = Decoder::open(dir.join(name)).unwrap();
        for d in v["decodes"].as_array().unwrap() {
            let n = usize_of(d, "resolution");
            let expected = read_f32(&dir.join(d["values"].as_str().unwrap()));
            assert_eq!(expected.len(), n * n * n, "{name}: wrong value count");
            // The decoder's grid, slice by slice: x fastest, then y, then z.
            let coords: Vec<f32> = (0..n).flat_map(|k| slice_coords(signal, n, k)).collect();
            let what = format!("{name} at {n}³");
            largest = largest.max(check_outputs(&eval, &coords, &expected, &what));
            // The front API's distances: the values of §4.4.
            let grid = decoder.sdf(n as u64).unwrap().to_vec().unwrap();
            for (i, (got, y)) in grid.iter().zip(&expected).enumerate() {
                let want = signal.to_value(*y);
                assert!(
                    (got - want).abs() <= value_tolerance(signal),
                    "{what}: distance {i} is {got}, expected {want}"
                );
            }
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
            let value = signal.to_value(eval.eval_point(&x).unwrap()[0]) as f64;
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
        "coded",
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

/// CONFORMANCE.md §3's tables: each invalid file and the FORMAT.md
/// section of the rule it breaks.
fn invalid_files_listed() -> BTreeMap<String, String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/CONFORMANCE.md");
    let text = std::fs::read_to_string(doc).expect("spec/CONFORMANCE.md");
    let section = text
        .split("\n## 3. Invalid files")
        .nth(1)
        .expect("CONFORMANCE.md has a section 3");
    let mut listed = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 3 || !cells[1].starts_with('`') || !cells[1].ends_with(".scone`") {
            continue;
        }
        let name = cells[1].trim_matches('`').to_owned();
        let rule = cells[2].split(':').next().unwrap().trim().to_owned();
        assert!(
            rule.starts_with('§') && !rule.contains(','),
            "{name}: `{rule}` is not one section"
        );
        assert!(listed.insert(name.clone(), rule).is_none(), "{name} twice");
    }
    listed
}

#[test]
fn every_invalid_file_is_rejected_for_its_rule() {
    let dir = samples().join("invalid");
    let listed = invalid_files_listed();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("samples/invalid") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let error = Decoder::open(&path)
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        let message = error.to_string();
        assert!(!message.contains('\n'), "multi-line error: {message}");
        let want = listed
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is not listed in CONFORMANCE.md §3"));
        assert_eq!(
            error.section(),
            Some(want.as_str()),
            "{name}: rejected with {message}"
        );
        // The same from bytes and from a reader.
        let bytes = std::fs::read(&path).unwrap();
        let from_bytes = Decoder::from_bytes(&bytes).unwrap_err();
        let from_reader = Decoder::read(&bytes[..]).unwrap_err();
        assert_eq!(from_bytes.section(), error.section(), "{name}");
        assert_eq!(from_reader.section(), error.section(), "{name}");
        count += 1;
    }
    assert_eq!(
        count,
        listed.len(),
        "CONFORMANCE.md lists files that are missing"
    );
    assert!(count >= 29, "only {count} invalid files");
}

/// The manifest entry and file of the image vector `name`.
fn image_vector(name: &str) -> (Value, SconeFile) {
    vectors_of("image")
        .into_iter()
        .find(|(v, _)| v["file"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no image vector {name}"))
}

/// The largest raw-output error of `network` over every decode of the
/// image vector `v` of `file`.
fn largest_image_error(network: &scone::model::Network, v: &Value, file: &SconeFile) -> f32 {
    let eval = Evaluator::new(network).unwrap();
    let mut worst = 0f32;
    for d in v["decodes"].as_array().unwrap() {
        let (w, h) = (usize_of(d, "width"), usize_of(d, "height"));
        let expected = read_f32(&vectors_dir().join(d["values"].as_str().unwrap()));
        let coords = image_coords(w, h, 0, h, file.signal.convention);
        let mut out = vec![0f32; expected.len()];
        eval.eval(&coords, &mut out).unwrap();
        worst = worst.max(largest_error(&out, &expected));
    }
    worst
}

/// The `-l` masks' scales a_i (FORMAT.md §5.2) are far from 1 in their
/// `-scales` vectors, so that a decoder ignoring them fails there.
#[test]
fn mask_scale_vectors_catch_ignored_scales() {
    use scone::model::Mask;
    for mask in [Mask::NTanhL, Mask::SigmoidL] {
        let name = format!("arch-scone-{}-scales.scone", mask.name());
        let (v, file) = image_vector(&name);
        let scales: Vec<&Vec<f32>> = file
            .network
            .tensors
            .iter()
            .filter(|t| t.name.ends_with(".mask.scale"))
            .map(|t| &t.data)
            .collect();
        assert_eq!(scales.len(), file.network.arch.layers - 1, "{name}");
        assert!(scales.len() >= 3, "{name}: {} layers", scales.len());
        for (i, a) in scales.iter().enumerate() {
            for &a in a.iter() {
                assert!(
                    (0.25..=3.0).contains(&a) && (a - 1.0).abs() >= 0.25,
                    "{name}: layer {i} has scale {a}"
                );
            }
            let mut distinct = a.to_vec();
            distinct.sort_by(f32::total_cmp);
            distinct.dedup();
            assert!(distinct.len() >= 5, "{name}: layer {i}: {distinct:?}");
        }
        assert!(
            scales.windows(2).all(|p| p[0] != p[1]),
            "{name}: layers with the same scales"
        );
        // A decoder taking a_i = 1 misses the expected outputs by far.
        let mut ignored = file.network.clone();
        for t in &mut ignored.tensors {
            if t.name.ends_with(".mask.scale") {
                t.data.fill(1.0);
            }
        }
        let miss = largest_image_error(&ignored, &v, &file);
        println!("{name}: scales taken as 1 miss by {miss:.2e}");
        assert!(
            miss > 100.0 * MAX_OUTPUT_ERROR,
            "{name}: misses by {miss:e}"
        );
    }
}

/// `mfn` has a vector with at least three multiplicative layers
/// (FORMAT.md §5.6: L − 2 of them).
#[test]
fn mfn_vector_has_three_multiplicative_layers() {
    let (_, file) = image_vector("arch-mfn-five-layers.scone");
    assert_eq!(file.network.arch.label(), "mfn");
    assert!(file.network.arch.layers >= 5);
    let multiplicative = file
        .network
        .tensors
        .iter()
        .filter(|t| t.name.starts_with("hidden.") && t.name.ends_with(".weight"))
        .count();
    assert!(
        multiplicative >= 3,
        "{multiplicative} multiplicative layers"
    );
}

/// A 16-bit image vector's PNGs hold 16-bit samples that 8-bit samples
/// widened (× 257) do not reproduce within the tolerance.
#[test]
fn sixteen_bit_vector_needs_sixteen_bits() {
    let dir = vectors_dir();
    let mut checked = 0;
    for (v, file) in vectors_of("image") {
        if file.signal.bit_depth != 16 {
            continue;
        }
        let name = v["file"].as_str().unwrap();
        let decoder = Decoder::open(dir.join(name)).unwrap();
        for d in v["decodes"].as_array().unwrap() {
            let (w, h) = (usize_of(d, "width"), usize_of(d, "height"));
            let (_, _, _, png) = read_png(&dir.join(d["png"].as_str().unwrap()), 16);
            let widened = decoded_samples(&decoder, w, h, 8);
            let miss = png
                .iter()
                .zip(&widened)
                .map(|(&a, &b)| (a as i32 - 257 * b as i32).abs())
                .max()
                .unwrap();
            assert!(
                miss > 10 * sample_tolerance(16),
                "{name} at {w}x{h}: 8-bit samples miss by {miss} only"
            );
        }
        checked += 1;
    }
    assert!(checked >= 1, "no 16-bit image vector");
}

/// A vector stores `f32`, `f16` and `affine8` data without compression
/// (FORMAT.md §6.1, `compression` 0).
#[test]
fn uncompressed_vector_stores_plain_weights() {
    let name = "rgb-uncompressed.scone";
    image_vector(name);
    let bytes = std::fs::read(vectors_dir().join(name)).unwrap();
    let stored = scone::format::stored_weights(&bytes).unwrap();
    assert_eq!(stored.compression, "none", "{name}");
    assert_eq!(stored.raw_bytes, stored.packed_bytes, "{name}");
    let file = SconeFile::from_bytes(&bytes).unwrap();
    for want in ["f32", "f16", "affine8"] {
        assert!(
            file.encodings.iter().any(|e| e.name() == want),
            "{name}: no {want} tensor"
        );
    }
}

/// The chunk types of a file, in order (FORMAT.md §3.1).
fn chunk_types(bytes: &[u8]) -> Vec<[u8; 4]> {
    let mut types = Vec::new();
    let mut pos = 12;
    while pos < bytes.len() {
        types.push(bytes[pos..pos + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        pos += 12 + len;
    }
    types
}

/// The `*ancillary-every-position` vectors have an ancillary chunk in
/// every place FORMAT.md §3.2 allows one, `LATN`'s included, and decode
/// exactly as the files they were made from.
#[test]
fn ancillary_vectors_fill_every_place() {
    let dir = vectors_dir();
    let mut after = std::collections::HashSet::new();
    for (name, source) in [
        ("ancillary-every-position", "rgb-f16-endpoints"),
        ("grid-ancillary-every-position", "grid-scone-rgb"),
    ] {
        let (v, _) = image_vector(&format!("{name}.scone"));
        let types = chunk_types(&std::fs::read(dir.join(format!("{name}.scone"))).unwrap());
        let ancillary = |t: &[u8; 4]| t[0].is_ascii_lowercase();
        for (i, t) in types.iter().enumerate() {
            if !ancillary(t) && t != b"DONE" {
                assert!(ancillary(&types[i + 1]), "{name}: nothing after {t:?}");
                after.insert(*t);
            }
        }
        assert_eq!(types.last(), Some(b"DONE"));
        assert!(
            ancillary(&types[types.len() - 2]),
            "{name}: nothing before DONE"
        );
        // The same outputs as the source, to the bit.
        let d = &v["decodes"][0];
        let (w, h) = (usize_of(d, "width"), usize_of(d, "height"));
        let ours = std::fs::read(dir.join(d["values"].as_str().unwrap())).unwrap();
        let theirs = std::fs::read(dir.join(format!("{source}.{w}x{h}.f32"))).unwrap();
        assert!(ours == theirs, "{name}: outputs differ from {source}'s");
    }
    for t in [b"SGNL", b"ARCH", b"WGHT", b"LATN"] {
        assert!(after.contains(t), "no ancillary chunk after {t:?}");
    }
}

/// The `grid` vectors (FORMAT.md §5.9) cover the smallest grids (1×1), the
/// largest (the finest as large as the image, eight of them) and a finest
/// grid smaller than its image on both axes.
#[test]
fn grid_vectors_cover_the_grid_sizes() {
    let mut seen = std::collections::HashSet::new();
    for (_, file) in vectors_of("image") {
        let scone::model::Family::Grid {
            levels,
            grid_width,
            grid_height,
            ..
        } = file.network.arch.family
        else {
            continue;
        };
        let [w, h] = [0, 1].map(|a| file.signal.sizes[a] as usize);
        if (grid_width, grid_height) == (1, 1) {
            seen.insert("smallest");
        }
        if (grid_width, grid_height) == (w, h) && levels == 8 {
            seen.insert("largest");
        }
        if grid_width < w && grid_height < h {
            seen.insert("smaller than the image");
        }
    }
    for want in ["smallest", "largest", "smaller than the image"] {
        assert!(seen.contains(want), "no {want} grid vector");
    }
}
