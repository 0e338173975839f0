//! Writes the conformance vectors in `samples/vectors/` and the invalid
//! files in `samples/invalid/` (spec/CONFORMANCE.md).
//!
//! Expected outputs come from `decode::reference`, the slow f64 evaluation
//! of FORMAT.md §5.2, applied to the network as read back from each file,
//! never from the fast decoder the vectors check.
//!
//! Run: `cargo run --release --example make_vectors` from the crate root.

use scone::decode::reference::eval_reference;
use scone::format::{Encoding, SconeFile};
use scone::model::{Arch, Mask, init_network};
use scone::signal::{Convention, Kind, Layout, SignalInfo, coordinate};
use serde_json::json;
use std::path::Path;

struct Vector {
    name: &'static str,
    arch: Arch,
    layout: Layout,
    sizes: [u32; 2],
    convention: Convention,
    value_range: [f32; 2],
    /// Encoding per tensor, cycling.
    encodings: &'static [Encoding],
    /// Extra decode sizes besides the encoded one.
    decodes: &'static [[usize; 2]],
}

fn arch(out_dims: usize, layers: usize, hidden: usize, omegas: &[f32]) -> Arch {
    Arch {
        in_dims: 2,
        out_dims,
        layers,
        hidden,
        omega0: 30.0,
        omegas: omegas.to_vec(),
        mask: Mask::Sin2,
    }
}

fn vectors() -> Vec<Vector> {
    use Encoding::*;
    vec![
        Vector {
            name: "gray-f32-centre",
            arch: arch(1, 3, 16, &[30.0, 10.0]),
            layout: Layout::Gray,
            sizes: [24, 16],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[F32],
            decodes: &[[37, 23], [1, 1]],
        },
        Vector {
            name: "rgb-f16-endpoints",
            arch: arch(3, 4, 32, &[90.0, 60.0, 30.0]),
            layout: Layout::Rgb,
            sizes: [32, 24],
            convention: Convention::Endpoints,
            value_range: [0.0, 1.0],
            encodings: &[F16],
            decodes: &[[64, 48], [5, 1]],
        },
        Vector {
            name: "rgba-affine8-one-hidden-layer",
            arch: arch(4, 2, 24, &[45.0]),
            layout: Layout::Rgba,
            sizes: [20, 20],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[Affine8, F16],
            decodes: &[[13, 29]],
        },
        Vector {
            name: "grayalpha-mixed-range",
            arch: arch(2, 5, 20, &[90.0, 60.0, 30.0, 10.0]),
            layout: Layout::GrayAlpha,
            sizes: [18, 27],
            convention: Convention::Endpoints,
            value_range: [-0.25, 1.25],
            encodings: &[Affine8, F32, F16],
            decodes: &[[9, 14]],
        },
        Vector {
            name: "rgb-paper-size",
            arch: Arch::paper_image(3),
            layout: Layout::Rgb,
            sizes: [32, 32],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[Affine8, F16],
            decodes: &[[48, 40]],
        },
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = root.join("vectors");
    std::fs::create_dir_all(&dir)?;
    let mut manifest = Vec::new();
    for (seed, v) in vectors().into_iter().enumerate() {
        let mut network = init_network(&v.arch, 100 + seed as u64);
        // Random initialisation leaves outputs near zero; widen the output
        // map to U(−2/√H, 2/√H) so the vectors span the value range.
        for t in &mut network.tensors {
            if t.name.starts_with("output.") {
                t.data.iter_mut().for_each(|w| *w *= 60.0 / 6f32.sqrt());
            }
        }
        let encodings = (0..network.tensors.len())
            .map(|i| v.encodings[i % v.encodings.len()])
            .collect();
        let signal = SignalInfo {
            kind: Kind::Image,
            layout: v.layout,
            sizes: v.sizes.to_vec(),
            bit_depth: 8,
            value_range: v.value_range,
            convention: v.convention,
        };
        let file = SconeFile {
            signal,
            network,
            encodings,
            metadata: Some(json!({"vector": v.name}).to_string()),
        };
        let name = format!("{}.scone", v.name);
        let bytes = file.to_bytes()?;
        std::fs::write(dir.join(&name), &bytes)?;
        manifest.push(expected_outputs(&dir, &name, v.sizes, v.decodes)?);
    }
    // An unknown ancillary chunk must be skipped: same outputs as its source.
    let source = std::fs::read(dir.join("rgb-f16-endpoints.scone"))?;
    let mut chunks = split(&source);
    chunks.insert(2, (*b"xtra", b"skip me".to_vec()));
    std::fs::write(dir.join("unknown-ancillary-chunk.scone"), join(&chunks))?;
    manifest.push(expected_outputs(
        &dir,
        "unknown-ancillary-chunk.scone",
        [32, 24],
        &[],
    )?);
    // Files fitted by the encoder, committed beside the synthetic ones.
    for entry in std::fs::read_dir(&dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with("fitted-") && name.ends_with(".scone") {
            let file = SconeFile::read(dir.join(&name))?;
            let sizes = [file.signal.sizes[0], file.signal.sizes[1]];
            let double = [2 * sizes[0] as usize, 2 * sizes[1] as usize];
            manifest.push(expected_outputs(&dir, &name, sizes, &[double])?);
        }
    }
    std::fs::write(
        dir.join("vectors.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    write_invalid(
        &root.join("invalid"),
        &std::fs::read(dir.join("rgb-f16-endpoints.scone"))?,
    )?;
    println!("wrote {} vectors to {}", manifest.len(), dir.display());
    Ok(())
}

/// Evaluates `name` with the reference at its own size and at `extra`
/// sizes; writes raw outputs (`.f32`) and 8-bit PNGs; returns the
/// manifest entry.
fn expected_outputs(
    dir: &Path,
    name: &str,
    sizes: [u32; 2],
    extra: &[[usize; 2]],
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let file = SconeFile::read(dir.join(name))?;
    let stem = name.trim_end_matches(".scone");
    let mut decodes = Vec::new();
    let own = [sizes[0] as usize, sizes[1] as usize];
    for &[w, h] in std::iter::once(&own).chain(extra) {
        let mut coords = Vec::with_capacity(2 * w * h);
        for y in 0..h {
            for x in 0..w {
                coords.push(coordinate(x, w, file.signal.convention));
                coords.push(coordinate(y, h, file.signal.convention));
            }
        }
        let out = eval_reference(&file.network, &coords);
        let raw: Vec<u8> = out.iter().flat_map(|&y| (y as f32).to_le_bytes()).collect();
        let values = format!("{stem}.{w}x{h}.f32");
        std::fs::write(dir.join(&values), raw)?;
        let samples: Vec<f32> = out
            .iter()
            .map(|&y| file.signal.to_value(y as f32))
            .collect();
        let png = format!("{stem}.{w}x{h}.png");
        let f = std::fs::File::create(dir.join(&png))?;
        scone::signal::image::write_png(f, w, h, file.signal.layout, 8, h, |y0, y1| {
            let c = file.signal.channels();
            samples[y0 * w * c..y1 * w * c].to_vec()
        })?;
        decodes.push(json!({"width": w, "height": h, "values": values, "png": png}));
    }
    Ok(json!({"file": name, "channels": file.signal.channels(), "decodes": decodes}))
}

/// Files every decoder must reject, made by corrupting a valid file.
fn write_invalid(dir: &Path, valid: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes);
    put("empty.scone", &[])?;
    put("truncated-header.scone", &valid[..10])?;
    put("truncated-weights.scone", &valid[..valid.len() / 2])?;
    put("no-done.scone", &valid[..valid.len() - 12])?;
    let mut bad_crc = valid.to_vec();
    bad_crc[40] ^= 0x01;
    put("bad-crc.scone", &bad_crc)?;
    let mut version = valid.to_vec();
    version[8] = 2;
    put("version-2.scone", &version)?;
    let mut trailing = valid.to_vec();
    trailing.extend_from_slice(b"extra");
    put("trailing-data.scone", &trailing)?;
    let mut huge = valid.to_vec();
    huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    put("huge-chunk-length.scone", &huge)?;
    // A PNG renamed to .scone.
    let mut png = Vec::new();
    scone::signal::image::write_png(&mut png, 2, 2, Layout::Gray, 8, 2, |_, _| vec![0.5; 4])?;
    put("png-renamed.scone", &png)?;
    // Chunk-level edits with valid CRCs.
    let chunks = split(valid);
    let mut unknown = chunks.clone();
    unknown.insert(1, (*b"XTRA", vec![0; 4]));
    put("unknown-critical-chunk.scone", &join(&unknown))?;
    let mut zero = chunks.clone();
    zero[0].1[5..9].copy_from_slice(&0u32.to_le_bytes());
    put("zero-width.scone", &join(&zero))?;
    let mut giant = chunks.clone();
    giant[0].1[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
    put("absurd-width.scone", &join(&giant))?;
    let order = vec![
        chunks[1].clone(),
        chunks[0].clone(),
        chunks[2].clone(),
        chunks[4].clone(),
    ];
    put("arch-before-sgnl.scone", &join(&order))?;
    Ok(())
}

fn split(bytes: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 12;
    while pos < bytes.len() {
        let ty: [u8; 4] = bytes[pos..pos + 4].try_into().unwrap();
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        out.push((ty, bytes[pos + 8..pos + 8 + len].to_vec()));
        pos += 12 + len;
    }
    out
}

fn join(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = valid_header();
    for (ty, payload) in chunks {
        out.extend_from_slice(ty);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        let mut h = crc32fast::Hasher::new();
        h.update(ty);
        h.update(payload);
        out.extend_from_slice(&h.finalize().to_le_bytes());
    }
    out
}

fn valid_header() -> Vec<u8> {
    let mut out = scone::format::MAGIC.to_vec();
    out.extend_from_slice(&scone::format::VERSION.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}
