//! `scone eval`: measure a .scone file against its source, as the encoder
//! reports it: PSNR and SSIM for images, per-frame mean ± standard
//! deviation for clips, occupancy IoU and Chamfer distance for shapes.

use scone::Error;
use scone::format::SconeFile;
use scone::metrics::{mean_std, quality};
use scone::signal::Kind;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The .scone file.
    input: PathBuf,
    /// Its source: the image, clip or shape it was encoded from. An image
    /// or clip of another size is compared at that size (the file is
    /// decoded on the reference's grid).
    reference: PathBuf,
    /// Shapes: grid resolution of the IoU and of the mesh for the Chamfer
    /// distance.
    #[arg(long, default_value_t = 128)]
    resolution: usize,
    /// Shapes: points sampled on a mesh's surface for the reference
    /// distances (default: as the file's encoder did, else 500,000).
    #[arg(long)]
    surface_points: Option<usize>,
    /// Frame rate of a folder of PNG frames (unused otherwise).
    #[arg(long, value_parser = super::parse_rate)]
    fps: Option<(u32, u32)>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), Error> {
    let file = SconeFile::read(&args.input)?;
    let report = match file.signal.kind {
        Kind::Image => {
            let img = scone::signal::image::load(&args.reference)?;
            if img.channels() != file.signal.channels() {
                return Err(Error::parameter(format!(
                    "the file has {} channels, the reference {}",
                    file.signal.channels(),
                    img.channels()
                )));
            }
            let (psnr, ssim) = quality::image(&file, &img)?;
            json!({"kind": "image", "width": img.width, "height": img.height,
                   "psnr_db": psnr, "ssim": ssim})
        }
        Kind::Video => {
            let clip = scone::signal::video::load(&args.reference, args.fps)?;
            if file.signal.channels() != 3 {
                return Err(Error::parameter("only RGB clips can be compared"));
            }
            let (psnr, ssim) = quality::video(&file, &clip)?;
            let (p, p_sd) = mean_std(&psnr);
            let (q, q_sd) = mean_std(&ssim);
            json!({"kind": "video", "width": clip.width, "height": clip.height,
                   "frames": clip.frames, "psnr_db": p, "psnr_db_sd": p_sd,
                   "ssim": q, "ssim_sd": q_sd, "frame_psnr_db": psnr, "frame_ssim": ssim})
        }
        Kind::Sdf => {
            let shape = scone::mesh::load::load_shape(&args.reference)?;
            let meta: serde_json::Value = file
                .metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or_default();
            let points = args
                .surface_points
                .or(meta["surface_points"].as_u64().map(|n| n as usize))
                .unwrap_or(500_000)
                .clamp(1000, 1 << 26);
            let seed = meta["seed"].as_u64().unwrap_or(0);
            let domain = file.signal.domain.expect("an SDF has a domain");
            let normalised = quality::normalised_by(&shape, &domain);
            let oracle = scone::mesh::surface::sdf_for_shape(&normalised, points, seed)?;
            let q = quality::sdf(&file, &oracle, args.resolution)?;
            json!({"kind": "sdf", "resolution": q.resolution, "iou": q.iou,
                   "chamfer": q.chamfer, "mesh_vertices": q.vertices, "mesh_faces": q.faces,
                   "surface_points": points})
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("JSON values serialise")
        );
        return Ok(());
    }
    let r = &report;
    match file.signal.kind {
        Kind::Image => println!(
            "{}x{}: PSNR {:.3} dB, SSIM {:.4}",
            r["width"],
            r["height"],
            r["psnr_db"].as_f64().unwrap_or(f64::NAN),
            r["ssim"].as_f64().unwrap_or(f64::NAN)
        ),
        Kind::Video => println!(
            "{}x{}, {} frames: PSNR {:.3} ± {:.3} dB, SSIM {:.4} ± {:.4} (mean ± sd over frames)",
            r["width"],
            r["height"],
            r["frames"],
            r["psnr_db"].as_f64().unwrap_or(f64::NAN),
            r["psnr_db_sd"].as_f64().unwrap_or(f64::NAN),
            r["ssim"].as_f64().unwrap_or(f64::NAN),
            r["ssim_sd"].as_f64().unwrap_or(f64::NAN)
        ),
        Kind::Sdf => println!(
            "IoU {:.5} at {res}³, Chamfer distance {:.4e} (normalised units; mesh at {res}³: {} vertices)",
            r["iou"].as_f64().unwrap_or(f64::NAN),
            r["chamfer"].as_f64().unwrap_or(f64::NAN),
            r["mesh_vertices"],
            res = r["resolution"]
        ),
    }
    Ok(())
}
