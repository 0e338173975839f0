//! The fuzz targets' bodies: one function per target, shared by the
//! coverage-guided fuzzers (tools/fuzz/, run by tools/fuzz.sh) and by
//! tests/fuzz.rs, which replays every seed and every finding under
//! tests/fuzz/findings/ on each `cargo test`.
//!
//! Each function takes arbitrary bytes and must return without a panic,
//! an abort or an unbounded allocation, whatever the bytes; where a
//! function has a twin (the entropy and latent-grid decoders) or a round
//! trip (the container), it also asserts that the two agree.
//!
//! Targets that splice their input into a valid file (weights, latents,
//! arch, signal, decoder) recompute the chunk CRCs, so that the fuzzer
//! reaches the parsers behind the CRC check instead of stopping at it.

#![allow(dead_code)]

use scone::format::SconeFile;
use scone::{ClipRequest, Decoder, Kind, Limits};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target: its name (the fuzzer's and the findings folder's) and
/// its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("container", container),
    ("chunks", chunks),
    ("signal", signal),
    ("arch", arch),
    ("weights", weights),
    ("latents", latents),
    ("entropy", entropy),
    ("decoder", decoder),
    ("y4m", y4m),
    ("gif", gif),
    ("png_frames", png_frames),
    ("image", image),
    ("obj", obj),
    ("ply", ply),
    ("stl", stl),
    ("xyz", xyz),
    ("npy", npy),
];

/// The repository's root, where samples/ is.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| p.join("samples/vectors").is_dir())
        .expect("the fuzz harness runs inside the repository")
        .to_path_buf()
}

/// The request limits small, so that one execution stays cheap; what a
/// file may hold keeps the defaults, the bounds under test.
fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_pixels = 1 << 12;
    l.max_side = 1 << 12;
    l.max_frames = 8;
    l.max_resolution = 12;
    l.max_macs = 1 << 23;
    l
}

/// The files of the repository's folder `dir` whose names end in `.ext`:
/// (file name, bytes), sorted by name.
fn read_files(dir: &str, ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// The valid files the splicing targets start from: every conformance
/// vector, sorted by name.
pub fn vectors() -> &'static [(String, Vec<u8>)] {
    static V: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    V.get_or_init(|| read_files("samples/vectors", "scone"))
}

/// The vectors with latent grids (a `LATN` chunk), with their parsed
/// architectures, for the `latents` target.
fn latent_vectors() -> &'static [(String, Vec<u8>, scone::model::Arch)] {
    static V: OnceLock<Vec<(String, Vec<u8>, scone::model::Arch)>> = OnceLock::new();
    V.get_or_init(|| {
        vectors()
            .iter()
            .filter(|(_, b)| chunk(b, b"LATN").is_some())
            .map(|(name, b)| {
                let arch = SconeFile::from_bytes(b)
                    .expect("a vector parses")
                    .network
                    .arch;
                (name.clone(), b.clone(), arch)
            })
            .collect()
    })
}

/// The payload of the first chunk `ty` of a file whose framing holds.
fn chunk(file: &[u8], ty: &[u8; 4]) -> Option<Vec<u8>> {
    split_chunks(file)?
        .into_iter()
        .find(|(t, _)| t == ty)
        .map(|(_, p)| p)
}

/// The chunks of a file whose framing holds: (type, payload).
pub fn split_chunks(file: &[u8]) -> Option<Vec<([u8; 4], Vec<u8>)>> {
    let mut out = Vec::new();
    let mut rest = file.get(12..)?;
    while rest.len() >= 12 {
        let ty: [u8; 4] = rest[..4].try_into().unwrap();
        let len = u32::from_le_bytes(rest[4..8].try_into().unwrap()) as usize;
        if rest.len() - 12 < len {
            return None;
        }
        out.push((ty, rest[8..8 + len].to_vec()));
        rest = &rest[12 + len..];
    }
    rest.is_empty().then_some(out)
}

/// A file of these chunks after the 12-byte header of `file`, each with
/// its CRC.
pub fn join_chunks(file: &[u8], chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = file[..12].to_vec();
    for (ty, payload) in chunks {
        out.extend_from_slice(ty);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&[0; 4]);
    }
    fix_crcs(&out)
}

/// `data` with every CRC it frames rewritten to match: the framing walk of
/// FORMAT.md §3, stopping where a length runs past the end.
pub fn fix_crcs(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut pos = 12;
    while pos + 12 <= out.len() {
        let len = u32::from_le_bytes(out[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if out.len() - pos - 12 < len {
            break;
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&out[pos..pos + 4]);
        h.update(&out[pos + 8..pos + 8 + len]);
        let crc = h.finalize().to_le_bytes();
        out[pos + 8 + len..pos + 12 + len].copy_from_slice(&crc);
        pos += 12 + len;
    }
    out
}

/// Parses a file; when it parses, writes it again and checks that what
/// was written parses to the same signal, architecture and metadata.
fn parse_and_round_trip(bytes: &[u8]) -> Option<SconeFile> {
    let file = SconeFile::from_bytes_with_limits(bytes, &limits()).ok()?;
    let again = file
        .to_bytes()
        .unwrap_or_else(|e| panic!("a file that parses does not write again: {e}"));
    let back = SconeFile::from_bytes(&again)
        .unwrap_or_else(|e| panic!("a file written from a parsed one does not parse: {e}"));
    assert_eq!(back.signal, file.signal);
    assert_eq!(back.network.arch, file.network.arch);
    assert_eq!(back.metadata, file.metadata);
    assert_eq!(back.encodings.len(), file.encodings.len());
    Some(file)
}

/// The container as it arrives, CRCs included.
pub fn container(data: &[u8]) {
    parse_and_round_trip(data);
}

/// The container with its CRCs made to match, so that every chunk parser
/// is reached.
pub fn chunks(data: &[u8]) {
    parse_and_round_trip(&fix_crcs(data));
}

/// `file` with the payload of its chunk `ty` replaced (CRC recomputed).
fn splice(file: &[u8], ty: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut parts = split_chunks(file).expect("a vector's chunks");
    let slot = parts.iter_mut().find(|(t, _)| t == ty).expect("the chunk");
    slot.1 = payload.to_vec();
    join_chunks(file, &parts)
}

/// `data[0]` picks a vector; the rest replaces its chunk `ty`; the result
/// is parsed and written again.
fn splice_and_parse(data: &[u8], ty: &[u8; 4]) {
    if let Some((&pick, payload)) = data.split_first() {
        let (_, file) = &vectors()[pick as usize % vectors().len()];
        parse_and_round_trip(&splice(file, ty, payload));
    }
}

/// The `SGNL` parser and the checks of a signal against its network.
pub fn signal(data: &[u8]) {
    splice_and_parse(data, b"SGNL");
}

/// The `ARCH` parser, and the weights read against what it declares.
pub fn arch(data: &[u8]) {
    splice_and_parse(data, b"ARCH");
}

/// The `WGHT` parser: every encoding, the coded tensors' entropy decoder.
pub fn weights(data: &[u8]) {
    splice_and_parse(data, b"WGHT");
}

/// The `LATN` parser (FORMAT.md §6.5) against its step-by-step twin:
/// `data[0]` picks a grid vector, the rest is its `LATN` payload.
pub fn latents(data: &[u8]) {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let (_, file, arch) = &latent_vectors()[pick as usize % latent_vectors().len()];
    let fast = scone::format::latents::decode(payload, arch, &Limits::default());
    let slow = scone::format::latents::reference_decode(payload, arch);
    match (fast, slow) {
        (Ok(fast), Ok(slow)) => {
            assert_eq!(fast.len(), slow.len());
            for (f, s) in fast.iter().zip(&slow) {
                let s: Vec<f32> = s.iter().map(|&v| v as f32).collect();
                assert_eq!(f.data, s, "the latent decoders disagree on `{}`", f.name);
            }
        }
        (Err(_), Err(_)) => {}
        (fast, slow) => panic!(
            "the latent decoders disagree: fast {:?}, reference {:?}",
            fast.map(|_| ()),
            slow.map(|_| ())
        ),
    }
    parse_and_round_trip(&splice(file, b"LATN", payload));
}

/// The entropy decoder (FORMAT.md §6.4) against its twin: the model's
/// ratio and largest magnitude and a symbol count (below 2⁹: the twin's
/// linear search is slow) from the
/// first six bytes, the words from the rest. The magnitude is below 2¹⁰
/// unless the fourth byte's top bit is set, to keep most runs fast.
pub fn entropy(data: &[u8]) {
    if data.len() < 6 {
        return;
    }
    let ratio = u16::from_le_bytes([data[0], data[1]]);
    let max = u16::from_le_bytes([data[2], data[3]]);
    let max = if data[3] & 0x80 == 0 {
        max & 0x3ff
    } else {
        max & 0x7fff
    };
    let n = (u16::from_le_bytes([data[4], data[5]]) & 0x1ff) as usize;
    let words: Vec<u32> = data[6..]
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
        .collect();
    let Ok(model) = scone::entropy::Geometric::new(ratio, max) else {
        return;
    };
    let fast = scone::entropy::decode(&words, n, &model);
    let slow = scone::entropy::reference_decode(&words, n, &model);
    assert_eq!(
        fast.is_ok(),
        slow.is_ok(),
        "the entropy decoders disagree: {fast:?} / {slow:?}"
    );
    if let (Ok(fast), Ok(slow)) = (&fast, &slow) {
        assert_eq!(fast, slow);
        let again = scone::entropy::encode(fast, &model).expect("decoded symbols encode");
        assert_eq!(
            again, words,
            "a stream that decodes is not what the encoder writes"
        );
    }
}

/// Reads little-endian fields off the front of the fuzzer's bytes, zeros
/// once they run out.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0; N];
        let n = N.min(self.0.len());
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        b
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    /// Small sizes mostly, any u64 sometimes.
    fn size(&mut self) -> u64 {
        let b = self.u8();
        if b & 0x80 != 0 {
            self.u64()
        } else {
            (b & 0x3f) as u64
        }
    }
    fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.take())
    }
}

/// The front API with hostile requests: `data[0]` picks a vector (or,
/// past their count, takes the file from the bytes after the request,
/// CRCs fixed); then sizes, scales, frame positions, times and grid
/// resolutions are read from the bytes and asked of the decoder, which
/// must answer each within its limits or refuse it.
pub fn decoder(data: &[u8]) {
    let mut f = Fields(data);
    let pick = f.u8() as usize;
    let (w, h, scale) = (f.size(), f.size(), f.f64());
    let (frames, num, den) = (f.size(), f.u8() as u32, f.u8() as u32);
    let (position, seconds, resolution, level) = (f.f64(), f.f64(), f.size(), f.f64() as f32);
    let which = f.u8();
    let own;
    let bytes = match vectors().get(pick) {
        Some((_, bytes)) => bytes,
        None => {
            own = fix_crcs(f.0);
            &own
        }
    };
    let Ok(d) = Decoder::builder().limits(limits()).from_bytes(bytes) else {
        return;
    };
    // Rendered as 8-bit or 16-bit samples, as `which` says.
    let check = |r: Result<scone::ImageRender<'_>, scone::Error>| {
        if let Ok(r) = r {
            let len = if which & 2 == 0 {
                r.to_vec::<u8>().expect("an accepted request decodes").len()
            } else {
                r.to_vec::<u16>()
                    .expect("an accepted request decodes")
                    .len()
            };
            assert_eq!(len, r.len());
        }
    };
    match d.info().kind {
        Kind::Image => {
            check(d.image(w, h));
            if which & 1 != 0 {
                check(d.image_at_scale(scale));
            }
        }
        Kind::Video => {
            let request = match which % 3 {
                0 => ClipRequest::Source,
                1 => ClipRequest::Frames(frames),
                _ => ClipRequest::Fps(num, den),
            };
            if let Ok(s) = d.schedule(request) {
                assert!(s.positions.len() as u64 <= d.limits().max_frames);
                if let Some(&p) = s.positions.first() {
                    check(d.frame(p, w, h));
                }
            }
            check(d.frame(position, w, h));
            if let Ok(p) = d.time_position(seconds) {
                check(d.frame(p, w.min(8), h.min(8)));
            }
            if let Ok(p) = d.frame_position(frames) {
                check(d.frame(p, 4, 4));
            }
        }
        Kind::Sdf => {
            if let Ok(grid) = d.sdf(resolution) {
                let values = grid.to_vec().expect("an accepted grid decodes");
                assert_eq!(values.len() as u64, resolution.pow(3));
            }
            let _ = d.mesh(resolution, level);
        }
    }
}

/// A scratch file per call, removed on drop, for the readers that take a
/// path (they choose the format by extension or magic, as `scone encode`
/// does).
struct Scratch(PathBuf);

impl Scratch {
    fn new(ext: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("scone-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Scratch(dir.join(format!("input-{n}{ext}")))
    }
    fn file(ext: &str, data: &[u8]) -> Self {
        let s = Self::new(ext);
        std::fs::write(&s.0, data).unwrap();
        s
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// What the clip readers must give when they accept a file.
fn check_video(v: Result<scone::signal::video::Video, scone::Error>) {
    if let Ok(v) = v {
        assert!(v.frames > 0 && v.width > 0 && v.height > 0);
        assert_eq!(v.data.len(), v.frames * v.width * v.height * 3);
        assert!(v.fps.0 > 0 && v.fps.1 > 0);
    }
}

/// YUV4MPEG2 clips.
pub fn y4m(data: &[u8]) {
    let s = Scratch::file(".y4m", data);
    check_video(scone::signal::video::load(s.path(), None));
}

/// Animated GIFs (the image crate's decoder driven by ours).
pub fn gif(data: &[u8]) {
    let s = Scratch::file(".gif", data);
    check_video(scone::signal::video::load(s.path(), None));
}

/// A folder of PNG frames: the bytes split at each `\0SPLIT\0` into up to
/// four files named by number.
pub fn png_frames(data: &[u8]) {
    let dir = Scratch::new("");
    std::fs::create_dir_all(dir.path()).unwrap();
    let mut rest = data;
    for k in 0..4 {
        let (frame, more) = match find(rest, b"\0SPLIT\0") {
            Some(i) if k < 3 => (&rest[..i], &rest[i + 7..]),
            _ => (rest, &[][..]),
        };
        std::fs::write(dir.path().join(format!("{k:03}.png")), frame).unwrap();
        rest = more;
        if rest.is_empty() {
            break;
        }
    }
    check_video(scone::signal::video::load(dir.path(), None));
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Still images (PNG, JPEG: the encoder's image input).
pub fn image(data: &[u8]) {
    let s = Scratch::file(".png", data);
    if let Ok(img) = scone::signal::image::load(s.path()) {
        assert!(img.width > 0 && img.height > 0);
        assert_eq!(img.data.len(), img.width * img.height * img.channels());
    }
}

/// What the shape readers must give when they accept a file.
fn check_shape(ext: &str, data: &[u8]) {
    let s = Scratch::file(ext, data);
    if let Ok(shape) = scone::mesh::load::load_shape(s.path()) {
        if let scone::mesh::Shape::Mesh(m) = &shape {
            let n = m.vertices.len() as u32;
            assert!(
                m.faces.iter().flatten().all(|&i| i < n),
                "a face past the vertices"
            );
        }
        let _ = scone::mesh::load::normalise(&shape);
    }
}

/// Wavefront OBJ meshes (tobj driven by ours).
pub fn obj(data: &[u8]) {
    check_shape(".obj", data);
}

/// PLY meshes and point clouds, ASCII and binary (ply-rs-bw driven by ours).
pub fn ply(data: &[u8]) {
    check_shape(".ply", data);
}

/// STL meshes, ASCII and binary.
pub fn stl(data: &[u8]) {
    check_shape(".stl", data);
}

/// `.xyz` oriented point clouds.
pub fn xyz(data: &[u8]) {
    check_shape(".xyz", data);
}

/// NumPy SDF volumes.
pub fn npy(data: &[u8]) {
    let s = Scratch::file(".npy", data);
    if let Ok(v) = scone::mesh::npy::read_npy_volume(s.path()) {
        assert_eq!(v.data.len(), v.dims.iter().product::<usize>());
    }
}

/// The seed corpus of a target, from samples/ and small files made here:
/// (name, bytes). tools/fuzz.sh starts each fuzzer from these, and
/// tests/fuzz.rs replays them.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let read = |p: &str| std::fs::read(root().join(p)).unwrap();
    // Each vector's chunk `ty`, after the byte that picks the vector.
    let chunk_of = |ty: &[u8; 4], files: Vec<(&String, &Vec<u8>)>| {
        files
            .into_iter()
            .enumerate()
            .map(|(i, (name, bytes))| {
                let mut seed = vec![i as u8];
                seed.extend(chunk(bytes, ty).expect("the chunk"));
                (name.clone(), seed)
            })
            .collect()
    };
    let all = || vectors().iter().map(|(n, b)| (n, b)).collect();
    match target {
        "container" | "chunks" => {
            let mut v = vectors().to_vec();
            v.extend(read_files("samples/invalid", "scone"));
            v
        }
        "signal" => chunk_of(b"SGNL", all()),
        "arch" => chunk_of(b"ARCH", all()),
        "weights" => chunk_of(b"WGHT", all()),
        "latents" => chunk_of(b"LATN", latent_vectors().iter().map(|(n, b, _)| (n, b)).collect()),
        "entropy" => [(40000u16, 20u16, 100u16), (65000, 300, 7), (2, 0, 3), (60000, 32767, 50)]
            .iter()
            .map(|&(ratio, max, n)| {
                let model = scone::entropy::Geometric::new(ratio, max).unwrap();
                let symbols: Vec<i32> =
                    (0..n as i32).map(|k| ((k * 7919) % (2 * max as i32 + 1)) - max as i32).collect();
                let words = scone::entropy::encode(&symbols, &model).unwrap();
                let field = if max > 0x3ff { max | 0x8000 } else { max };
                let mut seed = [ratio.to_le_bytes(), field.to_le_bytes(), n.to_le_bytes()].concat();
                seed.extend(words.iter().flat_map(|w| w.to_le_bytes()));
                (format!("ratio{ratio}-max{max}-n{n}"), seed)
            })
            .collect(),
        "decoder" => vectors()
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                // Sizes 5 × 3 (small), scale 1.5, 3 frames at 0/0 fps,
                // position 0.5, time 0.1 s, resolution 5, level 0.
                let mut seed = vec![i as u8, 5, 3];
                seed.extend_from_slice(&1.5f64.to_le_bytes());
                seed.extend_from_slice(&[3, 0, 0]);
                seed.extend_from_slice(&0.5f64.to_le_bytes());
                seed.extend_from_slice(&0.1f64.to_le_bytes());
                seed.push(5);
                seed.extend_from_slice(&0.0f64.to_le_bytes());
                seed.push(i as u8);
                (name.clone(), seed)
            })
            .collect(),
        "y4m" => {
            let mut v = vec![("bikes".to_string(), read("samples/bikes-64x48x8.y4m"))];
            for (tag, extra) in [("420jpeg", "C420jpeg"), ("444", "C444"), ("mono", "Cmono")] {
                let (w, h) = (4usize, 2usize);
                let samples = match tag {
                    "444" => 3 * w * h,
                    "mono" => w * h,
                    _ => w * h + 2 * (w / 2) * (h / 2),
                };
                let mut f = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 {extra}\n").into_bytes();
                for k in 0..2 {
                    f.extend_from_slice(b"FRAME\n");
                    f.extend((0..samples).map(|i| (i * 37 + k * 11) as u8));
                }
                v.push((tag.to_string(), f));
            }
            v
        }
        "gif" => {
            use image::codecs::gif::{GifEncoder, Repeat};
            use image::{Delay, Frame, RgbaImage};
            let mut bytes = Vec::new();
            {
                let mut enc = GifEncoder::new(&mut bytes);
                enc.set_repeat(Repeat::Infinite).unwrap();
                for k in 0..3u32 {
                    let img = RgbaImage::from_fn(6, 4, |x, y| {
                        image::Rgba([(x * 40) as u8, (y * 60) as u8, (k * 80) as u8, if x == 0 { 0 } else { 255 }])
                    });
                    enc.encode_frame(Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(40, 1)))
                        .unwrap();
                }
            }
            vec![("three-frames".to_string(), bytes)]
        }
        "png_frames" => {
            let a = read("samples/kodim05-gray-48x32.png");
            let mut two = a.clone();
            two.extend_from_slice(b"\0SPLIT\0");
            two.extend_from_slice(&a);
            vec![("one".to_string(), a), ("two".to_string(), two)]
        }
        "image" => {
            let mut v = vec![
                ("gray".to_string(), read("samples/kodim05-gray-48x32.png")),
                ("rgb".to_string(), read("samples/kodim23-64x64.png")),
            ];
            let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([(x * 30) as u8, (y * 30) as u8, 77]));
            let mut jpeg = Vec::new();
            img.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
            v.push(("jpeg".to_string(), jpeg));
            v
        }
        "obj" | "ply" | "stl" => {
            use scone::mesh::write::{MeshFormat, write_mesh};
            let format = match target {
                "obj" => MeshFormat::Obj,
                "ply" => MeshFormat::Ply,
                _ => MeshFormat::Stl,
            };
            let mut out = Vec::new();
            write_mesh(&mut out, &cube(), format).unwrap();
            let mut v = vec![("cube".to_string(), out)];
            match target {
                "obj" => v.push((
                    "quads".to_string(),
                    b"# a square\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//1 4//1\nf -4 -3 -2\n".to_vec(),
                )),
                "ply" => v.push((
                    "ascii-points".to_string(),
                    b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\nproperty float nz\nend_header\n0 0 0 0 0 1\n1 0 0 0 1 0\n0 1 0 1 0 0\n".to_vec(),
                )),
                _ => v.push((
                    "ascii".to_string(),
                    b"solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid t\n".to_vec(),
                )),
            }
            v
        }
        "xyz" => vec![(
            "three".to_string(),
            b"# x y z nx ny nz\n0 0 0 0 0 1\n1 0 0 0 1 0\n0 1 0 1 0 0\n0.5 0.5 0.5 0.577 0.577 0.577\n".to_vec(),
        )],
        "npy" => [("<f4", false), ("<f8", false), (">f4", true), ("<f2", false)]
            .iter()
            .map(|&(descr, fortran)| {
                let size = descr[2..].parse::<usize>().unwrap();
                let data: Vec<u8> = (0..12 * size).map(|i| (i % 7) as u8 + 0x3c).collect();
                let name = format!("{}-{}", descr.replace(['<', '>'], ""), fortran);
                (name, npy_file(descr, fortran, "(3, 2, 2)", &data))
            })
            .collect(),
        other => panic!("no fuzz target `{other}`"),
    }
}

/// A NumPy 1.0 file: its header (`descr`, `fortran_order`, `shape` as
/// Python writes them) padded to 64 bytes, then `data`.
fn npy_file(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}")
            .into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut f = b"\x93NUMPY\x01\x00".to_vec();
    f.extend_from_slice(&(header.len() as u16).to_le_bytes());
    f.extend_from_slice(&header);
    f.extend_from_slice(data);
    f
}

/// The unit cube as 12 triangles.
fn cube() -> scone::mesh::TriMesh {
    let vertices = (0..8)
        .map(|i| [(i & 1) as f32, ((i >> 1) & 1) as f32, ((i >> 2) & 1) as f32])
        .collect();
    let faces = vec![
        [0, 2, 1],
        [1, 2, 3],
        [4, 5, 6],
        [5, 7, 6],
        [0, 1, 4],
        [1, 5, 4],
        [2, 6, 3],
        [3, 6, 7],
        [0, 4, 2],
        [2, 4, 6],
        [1, 3, 5],
        [3, 7, 5],
    ];
    scone::mesh::TriMesh { vertices, faces }
}

/// Files that claim far more than they hold, each of which every reader
/// must refuse with one error, in bounded time and memory (those named
/// `bounded-…` are valid, and must be read within the limits): (file
/// name, bytes). tests/fuzz.rs checks the refusals; tools/hostile.sh measures
/// each one's time and peak memory through the command line.
pub fn hostile_inputs() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| v.push((name.to_string(), bytes));

    // Meshes whose headers claim 10⁹ elements.
    add(
        "ply-billion-vertices.ply",
        b"ply\nformat ascii 1.0\nelement vertex 1000000000\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n".to_vec(),
    );
    let mut ply = b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1000000000\nproperty list uchar int vertex_indices\nend_header\n".to_vec();
    ply.extend(
        [0f32, 0., 0., 1., 0., 0., 0., 1., 0.]
            .iter()
            .flat_map(|f| f.to_le_bytes()),
    );
    ply.push(3);
    ply.extend([0i32, 1, 2].iter().flat_map(|i| i.to_le_bytes()));
    add("ply-binary-billion-faces.ply", ply);
    let mut stl = vec![0u8; 80];
    stl.extend_from_slice(&1_000_000_000u32.to_le_bytes());
    stl.extend(
        [0f32, 0., 1., 0., 0., 0., 1., 0., 0., 0., 1., 0.]
            .iter()
            .flat_map(|f| f.to_le_bytes()),
    );
    stl.extend_from_slice(&[0, 0]);
    add("stl-billion-triangles.stl", stl);
    add(
        "obj-index-billion.obj",
        b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 1000000000\n".to_vec(),
    );

    // A clip of 10⁶ × 10⁶ frames.
    let mut y4m = b"YUV4MPEG2 W1000000 H1000000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".to_vec();
    y4m.extend_from_slice(&[128; 64]);
    add("y4m-huge-frame.y4m", y4m);

    // A GIF on a 65535 × 65535 canvas (one 1 × 1 frame), and one whose
    // frame claims the whole canvas.
    for (name, frame) in [("gif-huge-canvas.gif", 1u16), ("gif-huge-frame.gif", 65535)] {
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&65535u16.to_le_bytes());
        gif.extend_from_slice(&65535u16.to_le_bytes());
        gif.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        gif.push(0x2c);
        gif.extend_from_slice(&[0, 0, 0, 0]);
        gif.extend_from_slice(&frame.to_le_bytes());
        gif.extend_from_slice(&frame.to_le_bytes());
        gif.extend_from_slice(&[0, 2, 2, 0x44, 0x01, 0, 0x3b]);
        add(name, gif);
    }

    // NumPy volumes whose shapes overflow 64 bits, or claim 10¹⁵ values.
    for (name, shape) in [
        (
            "npy-shape-overflows.npy",
            "(4294967296, 4294967296, 4294967296)",
        ),
        ("npy-huge-shape.npy", "(100000, 100000, 100000)"),
    ] {
        add(name, npy_file("<f4", false, shape, &[0; 64]));
    }

    // .scone files: a network of 2·10⁹ coded weights in 3 kB, a latent
    // grid of 10¹² symbols, a grid larger than its image, a chunk that
    // claims 4 GiB.
    let vector = |name: &str| {
        vectors()
            .iter()
            .find(|(n, _)| n.strip_suffix(".scone") == Some(name))
            .unwrap_or_else(|| panic!("vector {name}"))
            .1
            .clone()
    };
    let patch = |file: &[u8], ty: &[u8; 4], key: &[u8], value: u32| {
        let mut parts = split_chunks(file).unwrap();
        let payload = &mut parts.iter_mut().find(|(t, _)| t == ty).unwrap().1;
        let at = find(payload, key).unwrap_or_else(|| panic!("no {key:?}")) + key.len();
        payload[at..at + 4].copy_from_slice(&value.to_le_bytes());
        join_chunks(file, &parts)
    };
    add(
        "weights-billions.scone",
        patch(&vector("coded-rgb"), b"ARCH", b"\x06hidden\x01", 31623),
    );
    // The widest network the format allows, its tensor table to match:
    // 3.4·10⁷ coded weights claimed by 2.6 kB of coded streams. This one is a
    // valid file (a geometric model codes its smallest symbol at no cost
    // once the stream is spent, FORMAT.md §6.4), so it is accepted, its
    // memory held by `Limits::max_weight_values`.
    add(
        "bounded-weights-widest.scone",
        widen(&patch(
            &vector("coded-rgb"),
            b"ARCH",
            b"\x06hidden\x01",
            4096,
        )),
    );
    let mut grid = vector("grid-relu-gray-smallest");
    // SGNL: kind, layout, depth, convention, axes, then the sizes.
    grid = patch(&grid, b"SGNL", b"\x00\x00\x08\x00\x02", 1 << 20);
    grid = patch(&grid, b"SGNL", &[0x00, 0x00, 0x10, 0x00], 1 << 20);
    grid = patch(&grid, b"ARCH", b"\ngrid_width\x01", 1 << 20);
    grid = patch(&grid, b"ARCH", b"\x0bgrid_height\x01", 1 << 20);
    add("latents-trillion.scone", grid);
    add(
        "grid-larger-than-image.scone",
        std::fs::read(root().join("samples/invalid/grid-larger-than-image.scone")).unwrap(),
    );
    let mut huge = vector("coded-rgb")[..12].to_vec();
    huge.extend_from_slice(b"SGNL");
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    huge.extend_from_slice(&[0; 64]);
    add("chunk-4-gib.scone", huge);
    v
}

/// A coded-rgb file (every tensor coded, hidden width 32) with every
/// width of 32 in its `WGHT` table made 4096, the coded streams kept.
fn widen(file: &[u8]) -> Vec<u8> {
    let mut parts = split_chunks(file).unwrap();
    let payload = &mut parts.iter_mut().find(|(t, _)| t == b"WGHT").unwrap().1;
    let count = u16::from_le_bytes([payload[0], payload[1]]);
    let mut at = 2;
    for _ in 0..count {
        at += 1 + payload[at] as usize;
        let rank = payload[at] as usize;
        at += 1;
        for _ in 0..rank {
            if payload[at..at + 4] == 32u32.to_le_bytes() {
                payload[at..at + 4].copy_from_slice(&4096u32.to_le_bytes());
            }
            at += 4;
        }
        assert_eq!(payload[at], 3, "coded-rgb's tensors are all coded");
        at += 1 + 4 + 2 + 2 + 4;
    }
    join_chunks(file, &parts)
}

/// Reads a hostile input with the reader its extension names, as `scone
/// encode` (or, for `.scone`, `scone info`) would.
pub fn read_hostile(name: &str, bytes: &[u8]) -> Result<(), scone::Error> {
    let ext = name.rsplit('.').next().unwrap();
    let s = Scratch::file(&format!(".{ext}"), bytes);
    match ext {
        "scone" => SconeFile::read(s.path()).map(drop),
        "y4m" | "gif" => scone::signal::video::load(s.path(), None).map(drop),
        "npy" => scone::mesh::npy::read_npy_volume(s.path()).map(drop),
        _ => scone::mesh::load::load_shape(s.path()).map(drop),
    }
}
