//! Writes the conformance vectors in `samples/vectors/` and the invalid
//! files in `samples/invalid/` (spec/CONFORMANCE.md).
//!
//! Expected outputs come from `eval::reference`, the slow f64 evaluation
//! of FORMAT.md §5.2, applied to the network as read back from each file,
//! never from the fast decoder the vectors check.
//!
//! Files named `fitted-*.scone` in `samples/vectors/` were written by
//! `scone encode` (the commands are in spec/CONFORMANCE.md); they are kept
//! and get expected outputs by kind: an image at its own size and twice
//! it, a video at its own size and frame count and at half the size with
//! twice the frames, an SDF on 16³ and 9³ grids.
//!
//! Run: `cargo run --release --example make_vectors` from the crate root
//! (feature `train`, for the initial weights of the synthetic networks).

use scone::eval::reference::{eval_reference, normalise_outputs, rbm_gate_margin};
use scone::format::{Encoding, SconeFile};
use scone::model::{Arch, Family, Mask, Network, Synthesis, init_network};
use scone::signal::grid::{coordinate, time_coordinate};
use scone::signal::{Convention, Domain, FrameRate, Kind, Layout, SignalInfo};
use serde_json::json;
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

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

/// A synthetic RGB video (FORMAT.md §4.5), value range [0, 1].
struct VideoVector {
    name: &'static str,
    arch: Arch,
    /// Width, height, frames.
    sizes: [u32; 3],
    convention: Convention,
    frame_rate: FrameRate,
    encodings: &'static [Encoding],
    /// Extra decodes besides the encoded grid: width, height, frames.
    decodes: &'static [[usize; 3]],
}

/// A synthetic SDF (FORMAT.md §4.6), value range ±`half_extent`.
struct SdfVector {
    name: &'static str,
    arch: Arch,
    /// Samples per axis of the file's grid (sizes [n, n, n]).
    size: u32,
    convention: Convention,
    domain: Domain,
    encodings: &'static [Encoding],
}

/// Grid resolutions every SDF vector is decoded at.
const SDF_RESOLUTIONS: [usize; 2] = [16, 9];

/// Network coordinates of the `points` checks of SDF vectors: the centre,
/// two opposite corners of the domain and a few points inside.
const SDF_POINTS: [[f64; 3]; 8] = [
    [0.0, 0.0, 0.0],
    [-1.0, -1.0, -1.0],
    [1.0, 1.0, 1.0],
    [1.0, -0.5, 0.25],
    [0.5, -0.25, 0.75],
    [-0.8, 0.3, -0.1],
    [0.123, 0.456, -0.789],
    [-0.375, -0.9, 0.6],
];

fn arch(in_dims: usize, out_dims: usize, layers: usize, hidden: usize, omegas: &[f32]) -> Arch {
    Arch::scone(
        in_dims,
        out_dims,
        layers,
        hidden,
        30.0,
        omegas.to_vec(),
        Mask::Sin2,
    )
}

fn vectors() -> Vec<Vector> {
    use Encoding::*;
    let mut out = vec![
        Vector {
            name: "gray-f32-centre",
            arch: arch(2, 1, 3, 16, &[30.0, 10.0]),
            layout: Layout::Gray,
            sizes: [24, 16],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[F32],
            decodes: &[[37, 23], [1, 1]],
        },
        Vector {
            name: "rgb-f16-endpoints",
            arch: arch(2, 3, 4, 32, &[90.0, 60.0, 30.0]),
            layout: Layout::Rgb,
            sizes: [32, 24],
            convention: Convention::Endpoints,
            value_range: [0.0, 1.0],
            encodings: &[F16],
            decodes: &[[64, 48], [5, 1]],
        },
        Vector {
            name: "rgba-affine8-one-hidden-layer",
            arch: arch(2, 4, 2, 24, &[45.0]),
            layout: Layout::Rgba,
            sizes: [20, 20],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[Affine8, F16],
            decodes: &[[13, 29]],
        },
        Vector {
            name: "grayalpha-mixed-range",
            arch: arch(2, 2, 5, 20, &[90.0, 60.0, 30.0, 10.0]),
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
    ];
    // One vector per other family and per other SCONE mask (FORMAT.md
    // §5.2–§5.7), small enough to read by hand.
    let families = ["rbm", "siren", "ffn", "mfn", "wire"].map(|name| {
        let mut family = Family::default_of(name, 3).expect("a known family");
        if let Family::Ffn { frequencies, .. } = &mut family {
            *frequencies = 12;
        }
        Arch {
            in_dims: 2,
            out_dims: 3,
            layers: 3,
            // rbm at 12: at 16 one sample of seed 105 lies 2e-5 from a
            // pattern edge.
            hidden: if name == "rbm" { 12 } else { 16 },
            family,
        }
    });
    let masks = Mask::ALL[1..]
        .iter()
        .map(|&m| Arch::scone(2, 3, 3, 16, 30.0, vec![60.0, 20.0], m));
    for arch in families.into_iter().chain(masks) {
        let name: &'static str = Box::leak(format!("arch-{}", arch.label()).into_boxed_str());
        out.push(Vector {
            name,
            arch,
            layout: Layout::Rgb,
            sizes: [24, 16],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[F32, F16, Affine8],
            decodes: &[[37, 23]],
        });
    }
    // Appended last: a vector's seed is its place in this list.
    out.extend([
        Vector {
            name: "coded-rgb",
            arch: arch(2, 3, 4, 32, &[90.0, 60.0, 30.0]),
            layout: Layout::Rgb,
            sizes: [32, 24],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[Coded { step: 1.0 / 40.0 }],
            decodes: &[[64, 48], [7, 5]],
        },
        Vector {
            name: "coded-mixed-gray",
            arch: arch(2, 1, 3, 24, &[60.0, 20.0]),
            layout: Layout::Gray,
            sizes: [20, 30],
            convention: Convention::Endpoints,
            value_range: [0.0, 1.0],
            encodings: &[
                Coded { step: 1.0 / 400.0 },
                F16,
                Coded { step: 1.0 / 8.0 },
                Affine8,
            ],
            decodes: &[[10, 15]],
        },
    ]);
    // `grid` (FORMAT.md §5.9, §6.5): each synthesis; the most grids on
    // odd sizes, and the smallest grids (1×1) there are.
    out.extend([
        Vector {
            name: "grid-scone-rgb",
            arch: grid(
                Synthesis::Scone {
                    omega0: 1.0,
                    omegas: vec![3.0, 2.0],
                    mask: Mask::Sin2,
                },
                7,
                37,
                23,
                3,
            ),
            layout: Layout::Rgb,
            sizes: [37, 23],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[Coded { step: 1.0 / 64.0 }],
            decodes: &[[74, 46], [9, 5]],
        },
        Vector {
            name: "grid-siren-rgba-eight-grids",
            arch: grid(Synthesis::Siren { omega0: 2.0 }, 8, 40, 30, 4),
            layout: Layout::Rgba,
            sizes: [40, 30],
            convention: Convention::Endpoints,
            value_range: [0.0, 1.0],
            encodings: &[F32, F16, Coded { step: 1.0 / 100.0 }],
            decodes: &[[13, 31]],
        },
        Vector {
            name: "grid-relu-gray-smallest",
            arch: grid(Synthesis::Relu, 2, 1, 1, 1),
            layout: Layout::Gray,
            sizes: [1, 1],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[Coded { step: 1.0 / 50.0 }],
            decodes: &[[3, 2]],
        },
    ]);
    out
}

/// A `grid` architecture (FORMAT.md §5.9) of 3 layers of 12 units: its
/// synthesis, G and the finest grid's width and height, for `c` channels.
fn grid(synthesis: Synthesis, levels: usize, w: usize, h: usize, c: usize) -> Arch {
    Arch::grid(c, 3, 12, synthesis, levels, w, h)
}

/// An image vector added after those of [`vectors`], for a reading they
/// let pass: its `SGNL` bit depth, an edit of the random network (before
/// its outputs are widened) and whether its weights are stored without
/// compression.
struct MoreVector {
    vector: Vector,
    bit_depth: u8,
    edit: fn(&mut Network),
    uncompressed: bool,
}

impl From<Vector> for MoreVector {
    /// The vector as the first list writes it: 8 bits, no edit, zstd.
    fn from(vector: Vector) -> Self {
        Self {
            vector,
            bit_depth: 8,
            edit: |_| {},
            uncompressed: false,
        }
    }
}

/// Mask scales a_i (FORMAT.md §5.2) far from 1: 0.25 … 3, none within
/// 0.25 of 1, different from unit to unit and from layer to layer.
const MASK_SCALES: [f32; 10] = [0.25, 2.5, 0.5, 3.0, 0.4, 1.75, 0.3, 2.0, 0.6, 1.5];

/// Sets every `hidden.{i}.mask.scale` value j to a [`MASK_SCALES`] entry
/// that depends on i and j.
fn spread_mask_scales(network: &mut Network) {
    let mut layer = 0;
    for t in &mut network.tensors {
        if t.name.ends_with(".mask.scale") {
            for (j, a) in t.data.iter_mut().enumerate() {
                *a = MASK_SCALES[(3 * layer + 7 * j) % MASK_SCALES.len()];
            }
            layer += 1;
        }
    }
}

fn more_vectors() -> Vec<MoreVector> {
    use Encoding::*;
    // The `-l` masks with their scales far from 1 (the initial scales are
    // all 1, so that a decoder ignoring them passes the `arch-*` vectors),
    // over three hidden layers.
    let scaled = [Mask::NTanhL, Mask::SigmoidL].map(|mask| {
        let arch = Arch::scone(2, 3, 4, 16, 30.0, vec![60.0, 40.0, 20.0], mask);
        let name: &'static str =
            Box::leak(format!("arch-{}-scales", arch.label()).into_boxed_str());
        MoreVector {
            edit: spread_mask_scales,
            ..MoreVector::from(Vector {
                name,
                arch,
                layout: Layout::Rgb,
                sizes: [24, 16],
                convention: Convention::CellCentre,
                value_range: [0.0, 1.0],
                encodings: &[F32, F16],
                decodes: &[[37, 23]],
            })
        }
    });
    let mut out: Vec<MoreVector> = scaled.into_iter().collect();
    out.extend([
        // `mfn` with L = 5: four filters and three multiplicative layers
        // (FORMAT.md §5.6), W_0, W_1 and W_2.
        MoreVector::from(Vector {
            name: "arch-mfn-five-layers",
            arch: Arch {
                in_dims: 2,
                out_dims: 3,
                layers: 5,
                hidden: 16,
                family: Family::default_of("mfn", 5).expect("a known family"),
            },
            layout: Layout::Rgb,
            sizes: [24, 16],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[F32, F16, Affine8],
            decodes: &[[37, 23]],
        }),
        // A 16-bit image (FORMAT.md §4.1, §4.4): 16-bit PNGs.
        MoreVector {
            bit_depth: 16,
            ..MoreVector::from(Vector {
                name: "rgb-16-bit",
                arch: arch(2, 3, 3, 24, &[60.0, 20.0]),
                layout: Layout::Rgb,
                sizes: [24, 16],
                convention: Convention::CellCentre,
                value_range: [0.0, 1.0],
                encodings: &[F32],
                decodes: &[[50, 7]],
            })
        },
        // `compression` 0 over `f32`, `f16` and `affine8` data (FORMAT.md
        // §6.1), which the encoder would store with zstd.
        MoreVector {
            uncompressed: true,
            ..MoreVector::from(Vector {
                name: "rgb-uncompressed",
                arch: arch(2, 3, 3, 16, &[60.0, 20.0]),
                layout: Layout::Rgb,
                sizes: [20, 12],
                convention: Convention::Endpoints,
                value_range: [0.0, 1.0],
                encodings: &[F32, F16, Affine8],
                decodes: &[[31, 9]],
            })
        },
        // `grid` whose finest grid is smaller than the image on both axes
        // (7×3 on 30×20): grid sizes come from the architecture, not from
        // `SGNL`.
        MoreVector::from(Vector {
            name: "grid-relu-rgb-coarse-grid",
            arch: grid(Synthesis::Relu, 3, 7, 3, 3),
            layout: Layout::Rgb,
            sizes: [30, 20],
            convention: Convention::CellCentre,
            value_range: [0.0, 1.0],
            encodings: &[Coded { step: 1.0 / 100.0 }],
            decodes: &[[11, 16]],
        }),
        // The largest grids: the finest as large as the image (129×3) and
        // the most of them (8), each ⌈·/2⌉ of the one before: widths 129,
        // 65, 33, 17, 9, 5, 3, 2 (never 1) while the heights reach 1 at
        // the third grid.
        MoreVector::from(Vector {
            name: "grid-siren-gray-largest",
            arch: grid(Synthesis::Siren { omega0: 1.0 }, 8, 129, 3, 1),
            layout: Layout::Gray,
            sizes: [129, 3],
            convention: Convention::Endpoints,
            value_range: [0.0, 1.0],
            encodings: &[F32],
            decodes: &[[200, 5]],
        }),
    ]);
    out
}

fn video_vectors() -> Vec<VideoVector> {
    use Encoding::*;
    vec![
        VideoVector {
            name: "video-rgb-centre-25fps",
            arch: arch(3, 3, 3, 24, &[60.0, 20.0]),
            sizes: [12, 8, 5],
            convention: Convention::CellCentre,
            frame_rate: FrameRate { num: 25, den: 1 },
            encodings: &[F32, F16],
            // Twice the frames at another size (u = k/2), 3 frames
            // (u = 5k/3) and 1 frame (u = 0, t = 1/5 − 1).
            decodes: &[[18, 10, 10], [12, 8, 3], [12, 8, 1]],
        },
        VideoVector {
            name: "video-rgb-endpoints-ntsc",
            arch: arch(3, 3, 4, 32, &[90.0, 60.0, 30.0]),
            sizes: [10, 8, 7],
            convention: Convention::Endpoints,
            frame_rate: FrameRate {
                num: 30000,
                den: 1001,
            },
            encodings: &[Affine8, F16],
            // Twice the frames at another size (u = 6k/13), 2N − 1 frames
            // (u = k/2) and 1 frame (u = 0, t = −1, not c(0, 1) = 0).
            decodes: &[[16, 12, 14], [10, 8, 13], [10, 8, 1]],
        },
    ]
}

fn sdf_vectors() -> Vec<SdfVector> {
    use Encoding::*;
    vec![
        SdfVector {
            name: "sdf-endpoints-f16",
            arch: arch(3, 1, 4, 32, &[60.0, 40.0, 20.0]),
            size: 16,
            convention: Convention::Endpoints,
            domain: Domain {
                centre: [0.1, -2.0, 3.5],
                half_extent: 0.75,
            },
            encodings: &[F16],
        },
        SdfVector {
            name: "sdf-cell-centre-mixed",
            arch: arch(3, 1, 3, 20, &[50.0, 25.0]),
            size: 16,
            convention: Convention::CellCentre,
            domain: Domain {
                centre: [-40.5, 12.25, 0.0],
                half_extent: 64.0,
            },
            encodings: &[Affine8, F32, F16],
        },
    ]
}

/// A random network for a synthetic vector, written to `dir/name.scone`.
fn write_synthetic(
    dir: &Path,
    name: &str,
    arch: &Arch,
    seed: u64,
    signal: SignalInfo,
    encodings: &[Encoding],
    edit: fn(&mut Network),
) -> Result<String> {
    let mut network = init_network(arch, seed);
    let specs = arch.tensor_specs();
    if matches!(arch.family, Family::Grid { .. }) {
        // Latents start at zero: draw integers in −7 … 7, with zeros, and
        // a synthesis that reads them.
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (s, t) in specs.iter().zip(&mut network.tensors) {
            if s.latent {
                t.data
                    .iter_mut()
                    .for_each(|v| *v = (next() % 15) as f32 - 7.0);
            } else if !s.name.starts_with("output.") {
                t.data
                    .iter_mut()
                    .for_each(|v| *v = (next() % 2001) as f32 / 2000.0 - 0.5);
            }
        }
    }
    edit(&mut network);
    if arch.mask() == Some(Mask::Sin2) {
        // Random initialisation leaves outputs near zero; widen the output
        // map to U(−2/√H, 2/√H) so the vectors span the value range.
        for t in &mut network.tensors {
            if t.name.starts_with("output.") {
                t.data.iter_mut().for_each(|w| *w *= 60.0 / 6f32.sqrt());
            }
        }
    } else {
        // The other families' initialisations differ: scale their output
        // maps so that outputs reach ±1 over the domain.
        let d = arch.in_dims;
        let coords: Vec<f64> = (0..997 * d)
            .map(|i| ((i * 7919 + 13) % 2001) as f64 / 1000.0 - 1.0)
            .collect();
        normalise_outputs(&mut network, &coords);
    }
    // In the lists, a coded encoding's step is a fraction of the tensor's
    // largest magnitude (a fiftieth of that for the precise tensors, the
    // maps of the coordinates). A coded vector also has one tensor of
    // zeros, whose model has M = 0 and whose stream is empty.
    let coded = encodings
        .iter()
        .any(|e| matches!(e, Encoding::Coded { .. }));
    if coded
        && let Some(t) = network
            .tensors
            .iter_mut()
            .find(|t| t.name == "hidden.1.mask.bias")
    {
        t.data.iter_mut().for_each(|v| *v = 0.0);
    }
    let encodings = (0..network.tensors.len())
        .map(|i| match encodings[i % encodings.len()] {
            _ if specs[i].latent => Encoding::Latent,
            Encoding::Coded { step } => {
                let t = &network.tensors[i];
                let top = t.data.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
                let fraction = if specs[i].precise { step / 50.0 } else { step };
                Encoding::Coded {
                    step: top * fraction,
                }
            }
            e => e,
        })
        .collect();
    let file = SconeFile {
        signal,
        network,
        encodings,
        metadata: Some(json!({"vector": name}).to_string()),
    };
    let file_name = format!("{name}.scone");
    std::fs::write(dir.join(&file_name), file.to_bytes()?)?;
    Ok(file_name)
}

/// The integers of every coded tensor of `dir/name` (FORMAT.md §6.4),
/// written to `dir/<stem>.symbols.json` beside it; returns that name, or
/// `None` for a file without coded tensors.
fn write_symbols(dir: &Path, name: &str) -> Result<Option<String>> {
    let bytes = std::fs::read(dir.join(name))?;
    let file = SconeFile::from_bytes(&bytes)?;
    let stored = scone::format::stored_weights(&bytes)?;
    let mut tensors = Vec::new();
    for (t, st) in file.network.tensors.iter().zip(&stored.tensors) {
        if let Encoding::Coded { step } = st.encoding {
            let q: Vec<i32> = t.data.iter().map(|v| (v / step).round() as i32).collect();
            tensors.push(json!({"name": t.name, "step": step, "bytes": st.bytes, "symbols": q}));
        }
    }
    if tensors.is_empty() {
        return Ok(None);
    }
    let out = format!("{}.symbols.json", name.trim_end_matches(".scone"));
    std::fs::write(
        dir.join(&out),
        serde_json::to_string(&json!({"file": name, "tensors": tensors}))? + "\n",
    )?;
    Ok(Some(out))
}

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = root.join("vectors");
    std::fs::create_dir_all(&dir)?;
    let fitted = fitted_files(&dir)?;
    let mut manifest = Vec::new();
    // Images: a vector's seed is its place in the two lists.
    let plain = vectors().into_iter().map(MoreVector::from);
    for (seed, m) in plain.chain(more_vectors()).enumerate() {
        let v = &m.vector;
        let signal = SignalInfo {
            kind: Kind::Image,
            layout: v.layout,
            sizes: v.sizes.to_vec(),
            bit_depth: m.bit_depth,
            value_range: v.value_range,
            convention: v.convention,
            frame_rate: None,
            domain: None,
        };
        let name = write_synthetic(
            &dir,
            v.name,
            &v.arch,
            100 + seed as u64,
            signal,
            v.encodings,
            m.edit,
        )?;
        if m.uncompressed {
            store_uncompressed(&dir.join(&name))?;
        }
        let mut entry = expected_outputs(&dir, &name, v.sizes, v.decodes)?;
        if let Some(symbols) = write_symbols(&dir, &name)? {
            entry["symbols"] = json!(symbols);
        }
        manifest.push(entry);
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
    // Ancillary chunks in every place FORMAT.md §3.2 allows them: after
    // `SGNL`, after each critical chunk and before `DONE`, in a file
    // without and a file with `LATN`. Their types are the critical ones
    // with the first letter lower case, which a decoder comparing types
    // without case would take for repeated critical chunks; the payloads
    // are empty, not UTF-8 or the first bytes of the critical chunk's.
    for (source, name, sizes) in [
        ("rgb-f16-endpoints", "ancillary-every-position", [32, 24]),
        ("grid-scone-rgb", "grid-ancillary-every-position", [37, 23]),
    ] {
        let chunks = split(&std::fs::read(dir.join(format!("{source}.scone")))?);
        let mut out = Vec::new();
        for (i, (ty, payload)) in chunks.iter().enumerate() {
            if ty == b"DONE" {
                // Two in a row, the last one typed `dONE` and empty.
                out.push((*b"zzzz", vec![0xff, 0xfe, 0x00, 0x80]));
                out.push((*b"dONE", Vec::new()));
            }
            out.push((*ty, payload.clone()));
            if ty[0].is_ascii_uppercase() && ty != b"DONE" {
                let mut lower = *ty;
                lower[0] = lower[0].to_ascii_lowercase();
                let payload = match i % 3 {
                    0 => Vec::new(),
                    1 => vec![0xc3, 0x28, 0xa0, 0xa1, 0xff],
                    _ => payload[..payload.len().min(12)].to_vec(),
                };
                out.push((lower, payload));
            }
        }
        let file = format!("{name}.scone");
        std::fs::write(dir.join(&file), join(&out))?;
        manifest.push(expected_outputs(&dir, &file, sizes, &[])?);
    }
    // Videos.
    for (seed, v) in video_vectors().into_iter().enumerate() {
        let signal = SignalInfo {
            kind: Kind::Video,
            layout: Layout::Rgb,
            sizes: v.sizes.to_vec(),
            bit_depth: 8,
            value_range: [0.0, 1.0],
            convention: v.convention,
            frame_rate: Some(v.frame_rate),
            domain: None,
        };
        let name = write_synthetic(
            &dir,
            v.name,
            &v.arch,
            200 + seed as u64,
            signal,
            v.encodings,
            |_| {},
        )?;
        manifest.push(video_outputs(&dir, &name, v.decodes)?);
    }
    // Signed-distance fields.
    for (seed, v) in sdf_vectors().into_iter().enumerate() {
        let h = v.domain.half_extent;
        let signal = SignalInfo {
            kind: Kind::Sdf,
            layout: Layout::Distance,
            sizes: vec![v.size; 3],
            bit_depth: 32,
            value_range: [-h, h],
            convention: v.convention,
            frame_rate: None,
            domain: Some(v.domain),
        };
        let name = write_synthetic(
            &dir,
            v.name,
            &v.arch,
            300 + seed as u64,
            signal,
            v.encodings,
            |_| {},
        )?;
        manifest.push(sdf_outputs(&dir, &name)?);
    }
    // Files fitted by the encoder, committed beside the synthetic ones.
    for name in &fitted {
        let file = SconeFile::read(dir.join(name))?;
        let s = &file.signal.sizes;
        let mut entry = match file.signal.kind {
            Kind::Image => {
                let double = [2 * s[0] as usize, 2 * s[1] as usize];
                expected_outputs(&dir, name, [s[0], s[1]], &[double])?
            }
            Kind::Video => {
                let half = [(s[0] as usize).div_ceil(2), (s[1] as usize).div_ceil(2)];
                video_outputs(&dir, name, &[[half[0], half[1], 2 * s[2] as usize]])?
            }
            Kind::Sdf => sdf_outputs(&dir, name)?,
        };
        if let Some(symbols) = write_symbols(&dir, name)? {
            entry["symbols"] = json!(symbols);
        }
        manifest.push(entry);
    }
    // Group the manifest by kind (stable: synthetic before fitted).
    let rank = |v: &serde_json::Value| match v["kind"].as_str() {
        Some("image") => 0,
        Some("video") => 1,
        _ => 2,
    };
    manifest.sort_by_key(rank);
    std::fs::write(
        dir.join("vectors.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    let invalid = root.join("invalid");
    write_invalid(
        &invalid,
        &std::fs::read(dir.join("rgb-f16-endpoints.scone"))?,
    )?;
    write_invalid_kinds(
        &invalid,
        &std::fs::read(dir.join("gray-f32-centre.scone"))?,
        &std::fs::read(dir.join("video-rgb-centre-25fps.scone"))?,
        &std::fs::read(dir.join("sdf-endpoints-f16.scone"))?,
    )?;
    write_affine8_overflow(
        &invalid,
        &std::fs::read(dir.join("rgba-affine8-one-hidden-layer.scone"))?,
    )?;
    write_invalid_coded(&invalid, &std::fs::read(dir.join("coded-rgb.scone"))?)?;
    write_invalid_grid(&invalid, &std::fs::read(dir.join("grid-scone-rgb.scone"))?)?;
    println!("wrote {} vectors to {}", manifest.len(), dir.display());
    Ok(())
}

/// The `fitted-*.scone` files in `dir`, sorted by name.
fn fitted_files(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with("fitted-") && name.ends_with(".scone") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Raw outputs as little-endian f32, written to `dir/name`.
fn write_values(dir: &Path, name: &str, out: &[f64]) -> Result<()> {
    let raw: Vec<u8> = out.iter().flat_map(|&y| (y as f32).to_le_bytes()).collect();
    std::fs::write(dir.join(name), raw)?;
    Ok(())
}

/// Evaluates `name` with the reference at its own size and at `extra`
/// sizes; writes raw outputs (`.f32`) and PNGs at the file's bit depth;
/// returns the manifest entry.
fn expected_outputs(
    dir: &Path,
    name: &str,
    sizes: [u32; 2],
    extra: &[[usize; 2]],
) -> Result<serde_json::Value> {
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
        // An rbm gate may switch within rounding of a pattern edge
        // (FORMAT.md §5.3): vectors keep clear of them.
        for x in coords.chunks_exact(2) {
            if let Some(m) = rbm_gate_margin(&file.network, x)
                && m < 2e-5
            {
                return Err(format!("{name}: a sample lies {m:e} from an rbm pattern edge").into());
            }
        }
        let out = eval_reference(&file.network, &coords);
        let values = format!("{stem}.{w}x{h}.f32");
        write_values(dir, &values, &out)?;
        let samples: Vec<f32> = out
            .iter()
            .map(|&y| file.signal.to_value(y as f32))
            .collect();
        let png = format!("{stem}.{w}x{h}.png");
        let f = std::fs::File::create(dir.join(&png))?;
        let depth = file.signal.bit_depth;
        scone::signal::image::write_png(f, w, h, file.signal.layout, depth, h, |y0, y1| {
            let c = file.signal.channels();
            Ok(samples[y0 * w * c..y1 * w * c].to_vec())
        })?;
        decodes.push(json!({"width": w, "height": h, "values": values, "png": png}));
    }
    Ok(
        json!({"file": name, "kind": "image", "channels": file.signal.channels(),
              "decodes": decodes}),
    )
}

/// The source-frame positions u of `m` output frames spread over the span
/// of a clip of `n` frames (FORMAT.md §4.5): u = k·N/M for cell-centre,
/// u = k·(N − 1)/(M − 1) for endpoints (u = 0 when M = 1).
fn frame_positions(n: usize, m: usize, convention: Convention) -> Vec<f64> {
    (0..m)
        .map(|k| match convention {
            Convention::CellCentre => k as f64 * n as f64 / m as f64,
            Convention::Endpoints if m <= 1 => 0.0,
            Convention::Endpoints => k as f64 * (n - 1) as f64 / (m - 1) as f64,
        })
        .collect()
}

/// Evaluates the video `name` with the reference on its own grid and on
/// each `extra` grid (width, height, frames): raw outputs frame by frame,
/// rows from the top, x fastest. Returns the manifest entry.
fn video_outputs(dir: &Path, name: &str, extra: &[[usize; 3]]) -> Result<serde_json::Value> {
    let file = SconeFile::read(dir.join(name))?;
    let signal = &file.signal;
    let stem = name.trim_end_matches(".scone");
    let n = signal.sizes[2] as usize;
    let own = [signal.sizes[0] as usize, signal.sizes[1] as usize, n];
    let mut decodes = Vec::new();
    for &[w, h, m] in std::iter::once(&own).chain(extra) {
        let mut coords = Vec::with_capacity(3 * w * h * m);
        for u in frame_positions(n, m, signal.convention) {
            let t = time_coordinate(u, n, signal.convention);
            for y in 0..h {
                for x in 0..w {
                    coords.push(coordinate(x, w, signal.convention));
                    coords.push(coordinate(y, h, signal.convention));
                    coords.push(t);
                }
            }
        }
        let out = eval_reference(&file.network, &coords);
        report_range(name, &format!("{w}x{h}x{m}"), &out);
        let values = format!("{stem}.{w}x{h}x{m}.f32");
        write_values(dir, &values, &out)?;
        decodes.push(json!({"width": w, "height": h, "frames": m, "values": values}));
    }
    Ok(
        json!({"file": name, "kind": "video", "channels": signal.channels(),
              "decodes": decodes}),
    )
}

/// Evaluates the SDF `name` with the reference on the n³ grids of
/// [`SDF_RESOLUTIONS`] (x fastest, then y, then z) and at the world-space
/// points standing for [`SDF_POINTS`]. Returns the manifest entry.
fn sdf_outputs(dir: &Path, name: &str) -> Result<serde_json::Value> {
    let file = SconeFile::read(dir.join(name))?;
    let signal = &file.signal;
    let stem = name.trim_end_matches(".scone");
    let mut decodes = Vec::new();
    for n in SDF_RESOLUTIONS {
        let c: Vec<f64> = (0..n)
            .map(|j| coordinate(j, n, signal.convention))
            .collect();
        let mut coords = Vec::with_capacity(3 * n * n * n);
        for &z in &c {
            for &y in &c {
                for &x in &c {
                    coords.extend_from_slice(&[x, y, z]);
                }
            }
        }
        let out = eval_reference(&file.network, &coords);
        report_range(name, &format!("{n}³"), &out);
        let values = format!("{stem}.{n}.f32");
        write_values(dir, &values, &out)?;
        decodes.push(json!({"resolution": n, "values": values}));
    }
    // World-space points: p = centre + x · half_extent rounded to six
    // decimals, then mapped back exactly as a decoder does (FORMAT.md
    // §4.6) so that the expected value is that of the stored p.
    let domain = signal.domain.expect("an SDF has a domain");
    let centre = domain.centre.map(f64::from);
    let h = domain.half_extent as f64;
    let [lo, hi] = signal.value_range.map(f64::from);
    let mut points = Vec::new();
    for x in SDF_POINTS {
        let p: [f64; 3] = std::array::from_fn(|a| ((centre[a] + x[a] * h) * 1e6).round() / 1e6);
        let x: [f64; 3] = std::array::from_fn(|a| (p[a] - centre[a]) / h);
        let y = eval_reference(&file.network, &x)[0];
        let v = lo + (y + 1.0) / 2.0 * (hi - lo);
        points.push(json!([p[0], p[1], p[2], v]));
    }
    Ok(
        json!({"file": name, "kind": "sdf", "channels": signal.channels(),
              "decodes": decodes, "points": points}),
    )
}

/// Prints the range of raw outputs, to see that a vector spans its values.
fn report_range(name: &str, grid: &str, out: &[f64]) {
    let lo = out.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    println!("{name} at {grid}: outputs in [{lo:.3}, {hi:.3}]");
}

/// Files every decoder must reject, made by corrupting a valid file.
fn write_invalid(dir: &Path, valid: &[u8]) -> Result<()> {
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
    scone::signal::image::write_png(&mut png, 2, 2, Layout::Gray, 8, 2, |_, _| Ok(vec![0.5; 4]))?;
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
    let mut early = chunks.clone();
    early.insert(0, (*b"xtra", b"skip me".to_vec()));
    put("ancillary-before-sgnl.scone", &join(&early))?;
    let mut digit = chunks.clone();
    digit.insert(2, (*b"x7ra", b"skip me".to_vec()));
    put("chunk-type-not-a-letter.scone", &join(&digit))?;
    // FORMAT.md §6.1: the WGHT data's zstd frames and nothing else.
    let frame = |raw: &[u8]| zstd::bulk::compress(raw, 19).expect("zstd compresses");
    let skippable = [0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
    let weights = |packed: &dyn Fn(&[u8]) -> Vec<u8>| {
        let mut c = chunks.clone();
        let (_, raw) = unpack_weights(&c[2].1);
        c[2].1 = repack(&c[2].1, 1, &packed(&raw));
        join(&c)
    };
    put(
        "weights-trailing-byte.scone",
        &weights(&|raw| [frame(raw), vec![0]].concat()),
    )?;
    put(
        "weights-extra-frame.scone",
        &weights(&|raw| [frame(raw), frame(&[])].concat()),
    )?;
    put(
        "weights-skippable-frame.scone",
        &weights(&|raw| [skippable.to_vec(), frame(raw)].concat()),
    )?;
    // The unchanged payload repacked is valid: each file breaks only its
    // rule.
    SconeFile::from_bytes(&weights(&|raw| frame(raw)))?;
    Ok(())
}

/// Writes each file to `dir` after checking that the decoder rejects it,
/// printing the reason.
fn put_rejected(dir: &Path, files: Vec<(&str, Vec<u8>)>) -> Result<()> {
    for (name, bytes) in files {
        let err = SconeFile::from_bytes(&bytes)
            .err()
            .ok_or_else(|| format!("{name} is accepted"))?;
        println!("invalid/{name}: {err}");
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

/// Files breaking the rules of coded tensors (FORMAT.md §6.4), from the
/// valid `coded-rgb`: its first tensor's table fields or words edited,
/// the sizes kept consistent so that only the named rule is broken.
fn write_invalid_coded(dir: &Path, valid: &[u8]) -> Result<()> {
    // Edited in the clear: the payload's data stored uncompressed.
    let mut chunks = split(valid);
    let (_, raw) = unpack_weights(&chunks[2].1);
    chunks[2].1 = repack(&chunks[2].1, 0, &raw);
    let chunks = chunks;
    let w = &chunks[2].1;
    // The first table entry: count, name (str8), rank, dims, encoding,
    // then step (4), ratio (2), max (2), length (4).
    let rank_at = 2 + 1 + w[2] as usize;
    let fields = rank_at + 1 + 4 * w[rank_at] as usize + 1;
    assert_eq!(w[fields - 1], 3, "the first tensor is coded");
    let length = u32::from_le_bytes(w[fields + 8..fields + 12].try_into().unwrap()) as usize;
    let (data_at, raw_len_at) = data_offsets(w);
    let field = |at: usize, bytes: &[u8]| {
        let mut c = chunks.clone();
        c[2].1[fields + at..fields + at + bytes.len()].copy_from_slice(bytes);
        join(&c)
    };
    // The first tensor's words replaced, its length and raw_size adjusted.
    let words = |new: &[u8]| {
        let mut c = chunks.clone();
        let p = &mut c[2].1;
        let raw_len =
            u32::from_le_bytes(p[raw_len_at..raw_len_at + 4].try_into().unwrap()) as usize;
        let new_raw = raw_len - length + new.len();
        p[fields + 8..fields + 12].copy_from_slice(&(new.len() as u32).to_le_bytes());
        p[raw_len_at..raw_len_at + 4].copy_from_slice(&(new_raw as u32).to_le_bytes());
        p.splice(data_at..data_at + length, new.iter().copied());
        join(&c)
    };
    let original = &w[data_at..data_at + length];
    assert!(length >= 8, "the first tensor takes at least two words");
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("coded-step-zero.scone", field(0, &0f32.to_le_bytes())),
        ("coded-step-nan.scone", field(0, &f32::NAN.to_le_bytes())),
        ("coded-ratio-zero.scone", field(4, &0u16.to_le_bytes())),
        (
            "coded-max-too-large.scone",
            field(6, &32768u16.to_le_bytes()),
        ),
        ("coded-length-not-words.scone", {
            // Two bytes more in the table and in the data.
            let mut c = chunks.clone();
            let p = &mut c[2].1;
            let raw_len = u32::from_le_bytes(p[raw_len_at..raw_len_at + 4].try_into().unwrap());
            p[fields + 8..fields + 12].copy_from_slice(&(length as u32 + 2).to_le_bytes());
            p[raw_len_at..raw_len_at + 4].copy_from_slice(&(raw_len + 2).to_le_bytes());
            p.splice(data_at + length..data_at + length, [0, 0]);
            join(&c)
        }),
        (
            "coded-extra-word.scone",
            words(&[&[1, 0, 0, 0], original].concat()),
        ),
        (
            "coded-last-word-zero.scone",
            words(&[original, &[0, 0, 0, 0]].concat()),
        ),
        ("coded-truncated.scone", words(&original[4..])),
    ];
    SconeFile::from_bytes(&words(original))?;
    put_rejected(dir, files)
}

/// Files breaking the rules of `grid` (FORMAT.md §5.9, §6.5), from the
/// valid `grid-scone-rgb` (chunks SGNL, ARCH, WGHT, LATN, meta, DONE).
fn write_invalid_grid(dir: &Path, valid: &[u8]) -> Result<()> {
    let chunks = split(valid);
    let at = chunks
        .iter()
        .position(|c| &c.0 == b"LATN")
        .ok_or("no LATN")?;
    let latn = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut c = chunks.clone();
        edit(&mut c[at].1);
        join(&c)
    };
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("grid-latn-missing.scone", {
            let mut c = chunks.clone();
            c.remove(at);
            join(&c)
        }),
        ("grid-larger-than-image.scone", {
            // SGNL's width, one less than the finest grid's 37.
            let mut c = chunks.clone();
            c[0].1[5..9].copy_from_slice(&36u32.to_le_bytes());
            join(&c)
        }),
        ("grid-latn-levels-differ.scone", latn(&|p| p[0] = 6)),
        ("grid-latn-classes-zero.scone", latn(&|p| p[9] = 0)),
        (
            "grid-latn-truncated.scone",
            latn(&|p| {
                // The last word removed, the length kept.
                p.truncate(p.len() - 4)
            }),
        ),
    ];
    put_rejected(dir, files)
}

/// Rewrites the file at `path` with its `WGHT` data stored as it is
/// (`compression` 0, FORMAT.md §6.1); the file had it compressed.
fn store_uncompressed(path: &Path) -> Result<()> {
    let mut chunks = split(&std::fs::read(path)?);
    assert_eq!(&chunks[2].0, b"WGHT");
    let w = &chunks[2].1;
    let (_, raw_len_at) = data_offsets(w);
    if w[raw_len_at - 1] != 1 {
        return Err(format!("{}: the weights are not compressed", path.display()).into());
    }
    let (_, raw) = unpack_weights(w);
    chunks[2].1 = repack(w, 0, &raw);
    let bytes = join(&chunks);
    SconeFile::from_bytes(&bytes)?;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Where the data of a WGHT payload written by this crate starts (after
/// `compression` and `raw_size`), and where `raw_size` is.
fn data_offsets(w: &[u8]) -> (usize, usize) {
    let count = u16::from_le_bytes([w[0], w[1]]) as usize;
    let mut pos = 2;
    for _ in 0..count {
        pos += 1 + w[pos] as usize;
        let rank = w[pos] as usize;
        pos += 1 + 4 * rank;
        pos += if w[pos] == 3 { 13 } else { 1 };
    }
    (pos + 5, pos + 1)
}

/// Where the packed data of a WGHT payload written by this crate starts,
/// and the data decompressed.
fn unpack_weights(w: &[u8]) -> (usize, Vec<u8>) {
    let (at, raw_len_at) = data_offsets(w);
    let raw_len = u32::from_le_bytes(w[raw_len_at..raw_len_at + 4].try_into().unwrap()) as usize;
    let raw = match w[raw_len_at - 1] {
        0 => w[at..].to_vec(),
        _ => zstd::bulk::decompress(&w[at..], raw_len).expect("the vector decompresses"),
    };
    (at, raw)
}

/// A WGHT payload with its packed data replaced by `packed` under
/// `compression`.
fn repack(w: &[u8], compression: u8, packed: &[u8]) -> Vec<u8> {
    let (at, raw_len_at) = data_offsets(w);
    let mut out = w[..at].to_vec();
    out[raw_len_at - 1] = compression;
    out.extend_from_slice(packed);
    out
}

/// An `affine8` row whose s · q overflows binary32 while o + s · q is
/// finite in binary64 (FORMAT.md §6.3): the first tensor of
/// `rgba-affine8-one-hidden-layer`, `hidden.0.mask.weight` [24, 2], stored
/// as `affine8`, gets s₀ = 2·10³⁶, o₀ = −3·10³⁸ and q = 255 for value 0.
fn write_affine8_overflow(dir: &Path, valid: &[u8]) -> Result<()> {
    let file = SconeFile::from_bytes(valid)?;
    let t = &file.network.tensors[0];
    assert_eq!(file.encodings[0], Encoding::Affine8, "{}", t.name);
    let rows = t.shape[0];
    let mut c = split(valid);
    let (_, mut raw) = unpack_weights(&c[2].1);
    raw[0..4].copy_from_slice(&2e36f32.to_le_bytes());
    raw[4..8].copy_from_slice(&(-3e38f32).to_le_bytes());
    raw[8 * rows] = 255;
    assert!(((-3e38f64 + 2e36 * 255.0) as f32).is_finite());
    c[2].1 = repack(&c[2].1, 0, &raw);
    let bytes = join(&c);
    let err = SconeFile::from_bytes(&bytes)
        .err()
        .ok_or("affine8-overflow.scone is accepted")?;
    println!("invalid/affine8-overflow.scone: {err}");
    std::fs::write(dir.join("affine8-overflow.scone"), bytes)?;
    Ok(())
}

/// Files breaking the kind rules of FORMAT.md §4.2, each made by editing
/// the `SGNL` payload of a valid file (a gray image, an RGB video, an SDF)
/// and recomputing its CRC, so that only the named rule is broken.
fn write_invalid_kinds(dir: &Path, gray: &[u8], video: &[u8], sdf: &[u8]) -> Result<()> {
    // SGNL offsets (FORMAT.md §4.1): kind 0, layout 1, bit_depth 2,
    // convention 3, axes 4, sizes 5; for three axes value_lo 17,
    // value_hi 21, then fps_num 25 and fps_den 29 (video) or the centre
    // 25, 29, 33 and half_extent 37 (SDF). For two axes value_lo is at 13.
    let edit = |valid: &[u8], f: &dyn Fn(&mut Vec<u8>)| {
        let mut chunks = split(valid);
        assert_eq!(&chunks[0].0, b"SGNL");
        f(&mut chunks[0].1);
        join(&chunks)
    };
    let u32_at =
        |at: usize, v: u32| move |p: &mut Vec<u8>| p[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let f32_at =
        |at: usize, v: f32| move |p: &mut Vec<u8>| p[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let byte_at = |at: usize, v: u8| move |p: &mut Vec<u8>| p[at] = v;
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("unknown-kind.scone", edit(gray, &byte_at(0, 3))),
        ("unknown-layout.scone", edit(gray, &byte_at(1, 5))),
        ("unknown-convention.scone", edit(gray, &byte_at(3, 2))),
        ("image-distance-layout.scone", edit(gray, &byte_at(1, 4))),
        ("image-bit-depth-32.scone", edit(gray, &byte_at(2, 32))),
        (
            "image-with-frame-rate.scone",
            edit(gray, &|p| {
                p.extend_from_slice(&25u32.to_le_bytes());
                p.extend_from_slice(&1u32.to_le_bytes());
            }),
        ),
        ("video-fps-den-zero.scone", edit(video, &u32_at(29, 0))),
        ("video-fps-num-zero.scone", edit(video, &u32_at(25, 0))),
        (
            "video-no-frame-rate.scone",
            edit(video, &|p| p.truncate(25)),
        ),
        (
            "video-two-axes.scone",
            edit(video, &|p| {
                p[4] = 2;
                p.drain(13..17);
            }),
        ),
        ("video-bit-depth-32.scone", edit(video, &byte_at(2, 32))),
        ("sdf-half-extent-zero.scone", edit(sdf, &f32_at(37, 0.0))),
        (
            "sdf-half-extent-negative.scone",
            edit(sdf, &f32_at(37, -0.75)),
        ),
        (
            "sdf-half-extent-nan.scone",
            edit(sdf, &f32_at(37, f32::NAN)),
        ),
        (
            "sdf-centre-infinite.scone",
            edit(sdf, &f32_at(25, f32::INFINITY)),
        ),
        ("sdf-gray-layout.scone", edit(sdf, &byte_at(1, 0))),
        ("sdf-bit-depth-8.scone", edit(sdf, &byte_at(2, 8))),
        ("sdf-no-domain.scone", edit(sdf, &|p| p.truncate(25))),
        (
            "sdf-two-axes.scone",
            edit(sdf, &|p| {
                p[4] = 2;
                p.drain(13..17);
            }),
        ),
    ];
    // The sources themselves are valid, so each file breaks only its edit.
    for valid in [gray, video, sdf] {
        SconeFile::from_bytes(&join(&split(valid)))?;
    }
    put_rejected(dir, files)
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
