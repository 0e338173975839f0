//! Benchmarks of video and 3D encoding at CPU-sized settings, printed as
//! figures (not a test).
//!
//! Run from the crate root:
//! `cargo run --release --example bench_video_sdf [-- OPTIONS]`
//!
//! - `--clip PATH`: a y4m clip (default ../shared/data/video/bikes_320x136.y4m);
//! - `--frames N`: encode its first N frames (default 25: one second);
//! - `--mesh PATH`: a mesh (default ../shared/data/meshes/bunny.obj);
//! - `--iterations N`: override the default preset's steps for both;
//! - `--skip-video`, `--skip-sdf`.

// The binary's allocator settings, so that timings match `scone`'s.
#[path = "../src/cli/alloc.rs"]
mod alloc;

use scone::encode::{Preset, SdfSettings, Settings, encode_sdf, encode_video};
use scone::eval::Evaluator;
use scone::mesh::extract::extract_mesh;
use scone::mesh::simplify::simplify;
use scone::metrics::mean_std;
use scone::signal::Kind;
use scone::signal::video::{Video, load};
use std::path::PathBuf;
use std::time::Instant;

struct Options {
    clip: PathBuf,
    frames: usize,
    mesh: PathBuf,
    iterations: Option<usize>,
    video: bool,
    sdf: bool,
}

fn options() -> Options {
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
    let mut o = Options {
        clip: PathBuf::from(format!("{shared}/video/bikes_320x136.y4m")),
        frames: 25,
        mesh: PathBuf::from(format!("{shared}/meshes/bunny.obj")),
        iterations: None,
        video: true,
        sdf: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| panic!("{a} needs {what}"));
        match a.as_str() {
            "--clip" => o.clip = PathBuf::from(value("a path")),
            "--frames" => o.frames = value("a number").parse().expect("a number"),
            "--mesh" => o.mesh = PathBuf::from(value("a path")),
            "--iterations" => o.iterations = Some(value("a number").parse().expect("a number")),
            "--skip-video" => o.video = false,
            "--skip-sdf" => o.sdf = false,
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn main() {
    alloc::keep_freed_memory();
    let o = options();
    println!("threads: {}", rayon::current_num_threads());
    if o.video {
        video(&o);
    }
    if o.sdf {
        sdf(&o);
    }
}

fn video(o: &Options) {
    let full = load(&o.clip, None).expect("the clip loads");
    let frames = o.frames.min(full.frames);
    let clip = Video {
        frames,
        data: full.data[..full.width * full.height * 3 * frames].to_vec(),
        ..full
    };
    let mut s = Settings::for_kind(Kind::Video, Preset::Default);
    if let Some(n) = o.iterations {
        s.train.iterations = n;
    }
    println!(
        "\n## Video: {} ({}x{}, first {} frames at {:.2} fps), default preset: {} x {}, {} steps, batch {:?}",
        o.clip.display(),
        clip.width,
        clip.height,
        frames,
        clip.fps_f64(),
        s.layers,
        s.hidden,
        s.train.iterations,
        s.train.batch
    );
    let start = Instant::now();
    let e = encode_video(&clip, &s, &mut |_| {}).expect("the clip encodes");
    let secs = start.elapsed().as_secs_f64();
    let pixels = (clip.width * clip.height * frames) as f64;
    let (p, p_sd) = mean_std(&e.frame_psnr);
    let (q, q_sd) = mean_std(&e.frame_ssim);
    let eval = Evaluator::new(&e.file.network).expect("a valid network");
    let start = Instant::now();
    let (w, h) = (clip.width, clip.height);
    for k in 0..frames {
        let t = scone::signal::coordinate(k, frames, e.file.signal.convention) as f32;
        scone::signal::render::render_frame_rows(&eval, &e.file.signal, w, h, t, 0, h)
            .expect("a frame");
    }
    let decode = start.elapsed().as_secs_f64();
    println!(
        "| encode s | bytes | bpp | PSNR dB (mean ± sd) | SSIM (mean ± sd) | decode frames/s |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {secs:.1} | {} | {:.4} | {p:.2} ± {p_sd:.2} | {q:.4} ± {q_sd:.4} | {:.1} |",
        e.bytes.len(),
        8.0 * e.bytes.len() as f64 / pixels,
        frames as f64 / decode
    );
}

fn sdf(o: &Options) {
    let shape = scone::mesh::load::load_shape(&o.mesh).expect("the mesh loads");
    let mut s = Settings::for_kind(Kind::Sdf, Preset::Default);
    if let Some(n) = o.iterations {
        s.train.iterations = n;
    }
    let sdf = SdfSettings::default();
    println!(
        "\n## SDF: {}, default preset: {} x {}, {} steps, batch {:?}, {} surface points",
        o.mesh.display(),
        s.layers,
        s.hidden,
        s.train.iterations,
        s.train.batch,
        sdf.surface_points
    );
    let start = Instant::now();
    let e = encode_sdf(&shape, &s, &sdf, &mut |_| {}).expect("the mesh encodes");
    let secs = start.elapsed().as_secs_f64();
    let eval = Evaluator::new(&e.file.network).expect("a valid network");
    let start = Instant::now();
    let mesh = extract_mesh(&eval, &e.file.signal, 256, 0.0).expect("a mesh");
    let extract = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let (small, _) = simplify(&mesh, 0.1).expect("simplifies");
    let simp = start.elapsed().as_secs_f64();
    let q = e.quality;
    println!(
        "| encode s | bytes | parameters | IoU ({}³) | Chamfer | mesh 256³ s | vertices | triangles | simplify 0.1 s |",
        q.resolution
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {secs:.1} | {} | {} | {:.4} | {:.3e} | {extract:.2} | {} | {} | {simp:.2} ({} triangles) |",
        e.bytes.len(),
        e.file.network.parameter_count(),
        q.iou,
        q.chamfer,
        mesh.vertices.len(),
        mesh.faces.len(),
        small.faces.len()
    );
}
