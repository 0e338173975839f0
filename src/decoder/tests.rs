//! The front API on the sample vectors: every misuse an error of the
//! right kind, the limits and the compute budget enforced, bands and
//! sample types consistent, results independent of the thread count.

use super::*;
use crate::{Limit, Misuse};

fn vector(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/vectors")
        .join(name)
}

fn open(name: &str) -> Decoder {
    Decoder::open(vector(name)).unwrap()
}

fn misuse_of(e: Error) -> Misuse {
    match e {
        Error::Parameter(p) => p.misuse,
        other => panic!("not a request error: {other}"),
    }
}

fn limit_of(e: Error) -> crate::LimitError {
    match e {
        Error::LimitsExceeded(l) => l,
        other => panic!("not a limit: {other}"),
    }
}

const IMAGE: &str = "rgb-f16-endpoints.scone";
const CLIP: &str = "video-rgb-centre-25fps.scone";
const SDF: &str = "sdf-endpoints-f16.scone";

#[test]
fn a_clip_asked_for_an_image_is_the_wrong_kind() {
    let clip = open(CLIP);
    let wrong = Misuse::WrongKind {
        expected: Kind::Image,
        found: Kind::Video,
    };
    assert_eq!(misuse_of(clip.image(12, 8).unwrap_err()), wrong);
    assert_eq!(misuse_of(clip.image_at_scale(2.0).unwrap_err()), wrong);
    // Its frames are fine.
    let frame = clip.frame(0.0, 12, 8).unwrap();
    assert_eq!(frame.to_vec::<u8>().unwrap().len(), 12 * 8 * 3);
}

#[test]
fn an_sdf_asked_for_frames_or_an_image_is_the_wrong_kind() {
    let sdf = open(SDF);
    let no_clip = Misuse::WrongKind {
        expected: Kind::Video,
        found: Kind::Sdf,
    };
    assert_eq!(
        misuse_of(sdf.schedule(ClipRequest::Source).unwrap_err()),
        no_clip
    );
    assert_eq!(misuse_of(sdf.frame_position(0).unwrap_err()), no_clip);
    assert_eq!(misuse_of(sdf.time_position(0.0).unwrap_err()), no_clip);
    assert_eq!(misuse_of(sdf.frame(0.0, 4, 4).unwrap_err()), no_clip);
    assert!(matches!(
        misuse_of(sdf.image(4, 4).unwrap_err()),
        Misuse::WrongKind {
            found: Kind::Sdf,
            ..
        }
    ));
    // And an image has no grid.
    let image = open(IMAGE);
    assert_eq!(
        misuse_of(image.sdf(16).unwrap_err()),
        Misuse::WrongKind {
            expected: Kind::Sdf,
            found: Kind::Image
        }
    );
    assert!(image.mesh(16, 0.0).is_err());
    assert!(image.schedule(ClipRequest::Source).is_err());
}

#[test]
fn empty_and_huge_sizes_are_refused() {
    let image = open(IMAGE);
    assert_eq!(misuse_of(image.image(0, 5).unwrap_err()), Misuse::EmptySize);
    assert_eq!(misuse_of(image.image(5, 0).unwrap_err()), Misuse::EmptySize);
    let e = limit_of(image.image(1 << 16, 1 << 15).unwrap_err());
    assert_eq!((e.limit, e.value, e.max), (Limit::Pixels, 1 << 31, 1 << 30));
    let e = limit_of(image.image(u64::MAX, 1).unwrap_err());
    assert_eq!((e.limit, e.value), (Limit::Side, u64::MAX));
    assert!(image.image_at_scale(0.0).is_err());
    assert!(image.image_at_scale(f64::NAN).is_err());
    assert!(image.image_at_scale(-1.0).is_err());
    let sdf = open(SDF);
    assert_eq!(misuse_of(sdf.sdf(1).unwrap_err()), Misuse::EmptySize);
    let e = limit_of(sdf.sdf(1 << 20).unwrap_err());
    assert_eq!(e.limit, Limit::Resolution);
    let clip = open(CLIP);
    assert_eq!(
        misuse_of(clip.schedule(ClipRequest::Frames(0)).unwrap_err()),
        Misuse::EmptySize
    );
    let e = limit_of(clip.schedule(ClipRequest::Frames(1 << 40)).unwrap_err());
    assert_eq!(e.limit, Limit::Frames);
    assert_eq!(
        misuse_of(clip.frame_position(5).unwrap_err()),
        Misuse::OutOfRange
    );
    assert_eq!(
        misuse_of(clip.frame(5.0, 12, 8).unwrap_err()),
        Misuse::OutOfRange
    );
}

#[test]
fn the_compute_budget_is_enforced_before_any_evaluation() {
    let file = SconeFile::read(vector(IMAGE)).unwrap();
    let macs = file.network.arch.macs_per_point() as u64;
    let budget = 100 * 100 * macs;
    let limits = Limits {
        max_macs: budget,
        ..Limits::default()
    };
    let decoder = Decoder::builder().limits(limits).from_file(file).unwrap();
    decoder.image(100, 100).unwrap();
    let e = limit_of(decoder.image(101, 100).unwrap_err());
    assert_eq!(
        (e.limit, e.value, e.max),
        (Limit::Macs, 101 * 100 * macs, budget)
    );
    assert!(e.to_string().contains("max_macs"), "{e}");
    let sdf = Decoder::builder()
        .limits(Limits {
            max_macs: 1000,
            ..Limits::default()
        })
        .open(vector(SDF))
        .unwrap();
    assert_eq!(limit_of(sdf.sdf(16).unwrap_err()).limit, Limit::Macs);
    assert_eq!(limit_of(sdf.mesh(16, 0.0).unwrap_err()).limit, Limit::Macs);
    // Lifted, as `--force` does.
    let open = Decoder::builder()
        .limits(Limits::default().without_request_limits())
        .open(vector(IMAGE))
        .unwrap();
    open.image(1 << 16, 1 << 15).unwrap();
}

#[test]
fn sizes_follow_scale_and_aspect() {
    let image = open(IMAGE); // 32 × 24
    assert_eq!(image.size(OutputSize::Native).unwrap(), (32, 24));
    assert_eq!(image.size(OutputSize::Scale(2.0)).unwrap(), (64, 48));
    assert_eq!(image.size(OutputSize::Width(16)).unwrap(), (16, 12));
    assert_eq!(image.size(OutputSize::Height(48)).unwrap(), (64, 48));
    assert_eq!(image.size(OutputSize::Exact(5, 1)).unwrap(), (5, 1));
    assert!(image.size(OutputSize::Scale(1e-4)).is_err());
    assert_eq!(image.size(OutputSize::Width(1)).unwrap(), (1, 1));
    assert!(open(SDF).size(OutputSize::Native).is_err());
}

#[test]
fn bands_sample_types_and_whole_images_agree() {
    let image = open(IMAGE);
    let render = image.image(37, 23).unwrap();
    assert_eq!(
        (render.width(), render.height(), render.channels()),
        (37, 23, 3)
    );
    assert_eq!(render.layout(), crate::Layout::Rgb);
    let whole: Vec<f32> = render.to_vec().unwrap();
    let bytes: Vec<u8> = render.to_vec().unwrap();
    let words: Vec<u16> = render.to_vec().unwrap();
    assert_eq!(whole.len(), render.len());
    for ((v, b), w) in whole.iter().zip(&bytes).zip(&words) {
        assert!((0.0..=1.0).contains(v));
        assert_eq!(*b, (v * 255.0).round() as u8);
        assert_eq!(*w, (v * 65535.0).round() as u16);
    }
    // Rows in uneven bands, into the caller's buffer.
    let row = 37 * 3;
    let mut banded = vec![0f32; whole.len()];
    for (y0, y1) in [(0, 1), (1, 8), (8, 8), (8, 23)] {
        render
            .rows(y0, y1, &mut banded[y0 * row..y1 * row])
            .unwrap();
    }
    assert_eq!(banded, whole);
    let mut short = vec![0u8; row];
    assert_eq!(
        misuse_of(render.rows(0, 2, &mut short).unwrap_err()),
        Misuse::BufferLength {
            needed: 2 * row,
            given: row
        }
    );
    assert_eq!(
        misuse_of(render.rows(5, 24, &mut short).unwrap_err()),
        Misuse::OutOfRange
    );
}

#[test]
fn the_caller_bounds_the_threads_and_the_result_does_not_change() {
    let decoder = open("rgb-paper-size.scone");
    let render = decoder.image(160, 120).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            // Inside the caller's pool, evaluation uses its threads only.
            assert_eq!(rayon::current_num_threads(), threads);
            render.to_vec::<f32>().unwrap()
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        let many = run(threads);
        assert!(
            one.iter()
                .zip(&many)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{threads} threads"
        );
    }
}

#[test]
fn paths_readers_and_bytes_open_the_same_file() {
    let bytes = std::fs::read(vector(CLIP)).unwrap();
    let a = Decoder::open(vector(CLIP)).unwrap();
    let b = Decoder::read(&bytes[..]).unwrap();
    let c = Decoder::from_bytes(&bytes).unwrap();
    assert_eq!(a.file(), b.file());
    assert_eq!(b.file(), c.file());
    let info = a.info();
    assert_eq!(
        (info.kind, info.width(), info.height(), info.frames()),
        (Kind::Video, 12, 8, Some(5))
    );
    assert_eq!(info.frame_rate.unwrap().fps(), 25.0);
    assert_eq!(a.macs_per_point(), a.network().arch.macs_per_point() as u64);
    // A reader is read no further than the file limit.
    let small = Limits {
        max_file_bytes: bytes.len() as u64 - 1,
        ..Limits::default()
    };
    let e = limit_of(
        Decoder::builder()
            .limits(small.clone())
            .read(&bytes[..])
            .unwrap_err(),
    );
    assert_eq!(e.limit, Limit::FileBytes);
    let e = limit_of(
        Decoder::builder()
            .limits(small)
            .open(vector(CLIP))
            .unwrap_err(),
    );
    assert_eq!(e.limit, Limit::FileBytes);
}

#[test]
fn an_engine_for_another_network_is_refused() {
    let mut image = open(IMAGE);
    let other = open("gray-f32-centre.scone");
    let engine = Evaluator::new(other.network()).unwrap();
    assert_eq!(
        misuse_of(image.set_engine(Box::new(engine)).unwrap_err()),
        Misuse::WrongNetwork
    );
    let same = Evaluator::new(image.network()).unwrap();
    image.set_engine(Box::new(same)).unwrap();
    image.image(4, 4).unwrap().to_vec::<u8>().unwrap();
}

#[test]
fn a_bad_network_in_a_hand_built_file_is_an_error() {
    let mut file = SconeFile::read(vector(IMAGE)).unwrap();
    file.network.tensors[0].data[0] = f32::INFINITY;
    let e = Decoder::builder().from_file(file).unwrap_err();
    assert_eq!(e.section(), Some("§6.2"));
}

#[test]
fn shapes_give_distances_and_a_mesh_in_the_source_units() {
    let sdf = open(SDF);
    let domain = sdf.info().domain.unwrap();
    assert_eq!(sdf.native_resolution().unwrap(), 16);
    let grid = sdf.sdf(9).unwrap();
    assert_eq!(grid.resolution(), 9);
    let values = grid.to_vec().unwrap();
    assert_eq!(values.len(), 9 * 9 * 9);
    let mut slice = vec![0f32; 81];
    grid.slice(4, &mut slice).unwrap();
    assert_eq!(&values[4 * 81..5 * 81], &slice[..]);
    assert_eq!(
        misuse_of(grid.slice(9, &mut slice).unwrap_err()),
        Misuse::OutOfRange
    );
    let mesh = sdf.mesh(24, 0.0).unwrap();
    assert!(!mesh.faces.is_empty());
    for v in &mesh.vertices {
        for a in 0..3 {
            let x = (v[a] - domain.centre[a]) / domain.half_extent;
            assert!(
                (-1.0001..=1.0001).contains(&x),
                "{v:?} is outside the domain"
            );
        }
    }
    assert!(sdf.mesh(24, f32::NAN).is_err());
}

/// Everything a vector decodes to, as bytes: an image at its own size and
/// at another (f32 bits and 8-bit samples); every source frame of a clip
/// and one between the first two at another size; a shape's distances on
/// a grid and its mesh.
fn decoded_bytes(decoder: &Decoder) -> Vec<u8> {
    fn floats(out: &mut Vec<u8>, values: &[f32]) {
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
    fn render(out: &mut Vec<u8>, render: ImageRender<'_>) {
        floats(out, &render.to_vec::<f32>().unwrap());
        out.extend(render.to_vec::<u8>().unwrap());
    }
    let mut out = Vec::new();
    match decoder.info().kind {
        Kind::Image => {
            let (w, h) = decoder.size(OutputSize::Native).unwrap();
            render(&mut out, decoder.image(w, h).unwrap());
            render(&mut out, decoder.image(61, 47).unwrap());
        }
        Kind::Video => {
            let (w, h) = decoder.size(OutputSize::Native).unwrap();
            let schedule = decoder.schedule(ClipRequest::Source).unwrap();
            for &p in &schedule.positions {
                render(&mut out, decoder.frame(p, w, h).unwrap());
            }
            if let [a, b, ..] = schedule.positions[..] {
                render(&mut out, decoder.frame((a + b) / 2.0, 37, 29).unwrap());
            }
        }
        Kind::Sdf => {
            floats(&mut out, &decoder.sdf(17).unwrap().to_vec().unwrap());
            let mesh = decoder.mesh(24, 0.0).unwrap();
            for v in &mesh.vertices {
                floats(&mut out, v);
            }
            out.extend(mesh.faces.iter().flatten().flat_map(|i| i.to_le_bytes()));
        }
    }
    out
}

#[test]
fn every_vector_decodes_to_the_same_bytes_with_1_2_and_16_threads() {
    let mut names: Vec<String> = std::fs::read_dir(vector(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".scone"))
        .collect();
    names.sort();
    // Every family of vectors is here.
    for family in ["arch-", "grid-", "video-", "sdf-", "coded-", "fitted-"] {
        assert!(
            names.iter().any(|n| n.starts_with(family)),
            "no {family}* vector"
        );
    }
    let pools: Vec<(usize, rayon::ThreadPool)> = [1, 2, 16]
        .into_iter()
        .map(|n| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            (n, pool)
        })
        .collect();
    let mut kinds = std::collections::BTreeSet::new();
    for name in &names {
        let decoder = open(name);
        kinds.insert(decoder.info().kind.name());
        let mut first: Option<Vec<u8>> = None;
        for (n, pool) in &pools {
            let bytes = pool.install(|| {
                assert_eq!(rayon::current_num_threads(), *n);
                decoded_bytes(&decoder)
            });
            match &first {
                None => first = Some(bytes),
                Some(one) => assert!(
                    *one == bytes,
                    "{name}: {n} threads decode other bytes than 1 thread"
                ),
            }
        }
    }
    assert_eq!(kinds.len(), 3, "{kinds:?}");
}
