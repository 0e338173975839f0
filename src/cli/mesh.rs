//! `scone mesh`: extract a surface from a .scone signed-distance field or a
//! raw SDF volume (.npy) and write OBJ, binary PLY or STL.

use super::output::{check_not_input, write_atomic};
use super::{say_note, with_evaluator};
use crate::Error;
use crate::format::SconeFile;
use crate::mesh::TriMesh;
use crate::mesh::extract::{check_resolution, extract_mesh};
use crate::mesh::march::marching_cubes;
use crate::mesh::npy::read_npy_volume;
use crate::mesh::simplify::{check_ratio, simplify};
use crate::mesh::write::{MeshFormat, write_mesh};
use crate::signal::Kind;
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
    resolution: Option<usize>,
    /// Keep about this fraction of the triangles (0 < RATIO ≤ 1), with
    /// meshoptimizer's simplifier.
    #[arg(long)]
    simplify: Option<f32>,
    /// The distance of the surface (default 0).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    level: f32,
    /// Where to evaluate an SDF network: `auto` (CUDA when a GPU is usable,
    /// else the CPU), `cpu` or `cuda`.
    #[arg(long, default_value = "auto", value_parser = crate::device::DeviceChoice::NAMES)]
    device: String,
    /// No summary.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<(), Error> {
    if !args.level.is_finite() {
        return Err(Error::Parameter("--level must be a finite number".into()));
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
            return Err(Error::Parameter(
                "--resolution applies to .scone files; a volume has its own grid".into(),
            ));
        }
        let (mesh, grid) = mesh_volume(&args.input, args.level)?;
        (mesh, grid, None)
    } else {
        mesh_scone(&args.input, args.resolution, args.level, &args.device)?
    };
    if mesh.faces.is_empty() {
        return Err(Error::Parameter(format!(
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
    path: &Path,
    resolution: Option<usize>,
    level: f32,
    device: &str,
) -> Result<(TriMesh, String, Option<String>), Error> {
    let file = SconeFile::read(path)?;
    let signal = &file.signal;
    if signal.kind != Kind::Sdf {
        return Err(Error::Parameter(format!(
            "{} holds a {}, not a signed-distance field; use `scone decode`",
            path.display(),
            signal.kind.name()
        )));
    }
    let n = resolution.unwrap_or(signal.sizes[0] as usize);
    check_resolution(n)?;
    let (mut mesh, note) =
        with_evaluator(&file.network, device, "extracting the surface", |eval| {
            extract_mesh(eval, signal, n, level)
        })?;
    let domain = signal.domain.expect("an SDF has a domain");
    mesh.vertices
        .iter_mut()
        .for_each(|v| *v = domain.to_world(*v));
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
