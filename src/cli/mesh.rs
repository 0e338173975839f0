//! `scone mesh`: extract a surface from a .scone signed-distance field or a
//! raw SDF volume (.npy) and write OBJ, binary PLY or STL.

use super::output::{check_not_input, write_atomic};
use super::{open_decoder, say_note};
use scone::Error;
use scone::mesh::TriMesh;
use scone::mesh::march::marching_cubes;
use scone::mesh::npy::read_npy_volume;
use scone::mesh::simplify::{check_ratio, simplify};
use scone::mesh::write::{MeshFormat, write_mesh};
use scone::signal::Kind;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// A .scone file holding an SDF, or a .npy float32/float64 D×H×W volume
    /// (value (z, y, x); vertices come out in voxel units, x along W).
    input: PathBuf,
    /// Output mesh: .obj, .ply (binary) or .stl (binary) (default: the
    /// input's name with `.decoded.obj`).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Samples per axis of the grid (.scone only; default: the file's).
    #[arg(long)]
    resolution: Option<u64>,
    /// Keep about this fraction of the triangles (0 < RATIO ≤ 1), with
    /// meshoptimizer's simplifier.
    #[arg(long)]
    simplify: Option<f32>,
    /// The distance of the surface (default 0).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    level: f32,
    /// Where to evaluate an SDF network: `auto` (CUDA when a GPU is usable,
    /// else the CPU), `cpu` or `cuda`.
    #[arg(long, default_value = "auto", value_parser = scone::device::DeviceChoice::NAMES)]
    device: String,
    /// No summary.
    #[arg(short, long)]
    quiet: bool,
    /// Lift the limits on the grid (2048 samples per axis, the compute
    /// budget): see `scone::Limits`.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), Error> {
    if !args.level.is_finite() {
        return Err(Error::parameter("--level must be a finite number"));
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension("decoded.obj"));
    let format = MeshFormat::from_path(&output)?;
    check_not_input(&args.input, &output)?;
    if let Some(r) = args.simplify {
        check_ratio(r)?;
    }
    let start = Instant::now();
    let (mesh, grid, note) = if is_npy(&args.input) {
        if args.resolution.is_some() {
            return Err(Error::parameter(
                "--resolution applies to .scone files; a volume has its own grid",
            ));
        }
        let (mesh, grid) = mesh_volume(&args.input, args.level)?;
        (mesh, grid, None)
    } else {
        mesh_scone(&args, args.resolution)?
    };
    if mesh.faces.is_empty() {
        return Err(Error::parameter(format!(
            "the surface at level {} is empty on the {grid} grid: nothing to write",
            args.level
        )));
    }
    let extracted = mesh.faces.len();
    let mesh = match args.simplify {
        Some(r) => simplify(&mesh, r)?.0,
        None => mesh,
    };
    write_atomic(&output, |w| write_mesh(w, &mesh, format))?;
    if !args.quiet {
        let simplified = if args.simplify.is_some() {
            format!(" (simplified from {extracted})")
        } else {
            String::new()
        };
        println!(
            "{} → {}: {grid} grid, {} vertices, {} triangles{simplified}, {:.1} s",
            args.input.display(),
            output.display(),
            mesh.vertices.len(),
            mesh.faces.len(),
            start.elapsed().as_secs_f64()
        );
    }
    say_note(note, args.quiet);
    Ok(())
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// The surface of a .scone SDF in the source's units, the grid it was
/// extracted on and `--device auto`'s note.
fn mesh_scone(
    args: &Args,
    resolution: Option<u64>,
) -> Result<(TriMesh, String, Option<String>), Error> {
    let (decoder, note) = open_decoder(&args.input, args.force, &args.device)?;
    let kind = decoder.info().kind;
    if kind != Kind::Sdf {
        return Err(Error::wrong_kind(
            Kind::Sdf,
            kind,
            format!(
                "{} holds a {}, not a signed-distance field; use `scone decode`",
                args.input.display(),
                kind.name()
            ),
        ));
    }
    let n = match resolution {
        Some(n) => n,
        None => decoder.native_resolution()?,
    };
    let mesh = decoder.mesh(n, args.level)?;
    Ok((mesh, format!("{n}³"), note))
}

/// The surface of a raw volume, in voxel units.
fn mesh_volume(path: &Path, level: f32) -> Result<(TriMesh, String), Error> {
    let volume = read_npy_volume(path)?;
    let [nx, ny, nz] = volume.dims;
    let plane = nx * ny;
    let mesh = marching_cubes(volume.dims, [0.0; 3], [1.0; 3], level, |k, out| {
        out.copy_from_slice(&volume.data[k * plane..(k + 1) * plane]);
        Ok(())
    })?;
    Ok((mesh, format!("{nx}x{ny}x{nz}")))
}
