//! Measuring a decoded file against its source, as the encoder reports and
//! `scone eval` checks it.

use crate::Error;
use crate::Limits;
use crate::eval::Evaluator;
use crate::format::SconeFile;
use crate::mesh::extract::{extract_mesh, slice_coords};
use crate::mesh::metrics::{Occupancy, chamfer};
use crate::mesh::surface::SurfaceSdf;
use crate::mesh::{PointCloud, Shape, TriMesh};
use crate::signal::Domain;
use crate::signal::grid::coordinate;
use crate::signal::image::Image;
use crate::signal::image::quantise;
use crate::signal::render::render_frame_rows;
use crate::signal::render::render_rows;
use crate::signal::video::Video;

/// PSNR and SSIM of `file` decoded at the size of `img`, rounded to its
/// bit depth, against `img`.
pub fn image(file: &SconeFile, img: &Image) -> Result<(f64, f64), Error> {
    let eval = Evaluator::new(&file.network)?;
    let (w, h) = (img.width, img.height);
    let mut values = render_rows(&eval, &file.signal, w, h, 0, h)?;
    quantise(&mut values, img.bit_depth);
    let psnr = super::psnr(&values, &img.data);
    let ssim = super::ssim(&values, &img.data, w, h, img.channels());
    Ok((psnr, ssim))
}

/// PSNR and SSIM of every frame of `file` decoded at the size and frame
/// count of `video`, rounded to 8 bits, against `video`.
pub fn video(file: &SconeFile, video: &Video) -> Result<(Vec<f64>, Vec<f64>), Error> {
    let eval = Evaluator::new(&file.network)?;
    let (w, h) = (video.width, video.height);
    let mut psnr = Vec::with_capacity(video.frames);
    let mut ssim = Vec::with_capacity(video.frames);
    for k in 0..video.frames {
        let t = coordinate(k, video.frames, file.signal.convention) as f32;
        let mut values = render_frame_rows(&eval, &file.signal, w, h, t, 0, h)?;
        quantise(&mut values, 8);
        let source: Vec<f32> = video.frame(k).iter().map(|&v| v as f32 / 255.0).collect();
        psnr.push(super::psnr(&values, &source));
        ssim.push(super::ssim(&values, &source, w, h, 3));
    }
    Ok((psnr, ssim))
}

/// How well a decoded SDF matches its source shape (FORMAT.md §4.6; the
/// definitions are those of docs/3d.md).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SdfQuality {
    /// Occupancy IoU on an `resolution`³ grid over the domain.
    pub iou: f64,
    /// Chamfer distance between the extracted mesh's vertices and the
    /// source surface, in normalised units (the shape spans 0.9).
    pub chamfer: f64,
    pub resolution: usize,
    pub vertices: usize,
    pub faces: usize,
}

/// Most surface points the Chamfer distance compares against.
pub const CHAMFER_POINTS: usize = 100_000;

/// Compares `file` against `truth`, the oracle built from the source shape
/// normalised into the file's domain, on a `resolution`³ grid.
pub fn sdf(file: &SconeFile, truth: &SurfaceSdf, resolution: usize) -> Result<SdfQuality, Error> {
    let signal = &file.signal;
    Limits::default().check_resolution(resolution as u64)?;
    let eval = Evaluator::new(&file.network)?;
    let mut counts = Occupancy::default();
    let mut pred = vec![0f32; resolution * resolution];
    let mut labels = Vec::new();
    for k in 0..resolution {
        let coords = slice_coords(signal, resolution, k);
        eval.eval(&coords, &mut pred)?;
        pred.iter_mut().for_each(|y| *y = signal.to_value(*y));
        let queries: Vec<[f32; 3]> = coords
            .chunks_exact(3)
            .map(|p| [p[0] * 0.5, p[1] * 0.5, p[2] * 0.5])
            .collect();
        truth.distances(&queries, &mut labels);
        counts.add(&pred, &labels);
    }
    let iou = counts.iou();
    let mesh = extract_mesh(&eval, signal, resolution, 0.0)?;
    let vertices: Vec<[f32; 3]> = mesh.vertices.iter().map(|v| v.map(|c| c * 0.5)).collect();
    let surface = &truth.points().points;
    let surface = &surface[..surface.len().min(CHAMFER_POINTS)];
    let chamfer = if vertices.is_empty() {
        f64::INFINITY
    } else {
        chamfer(&vertices, surface)?
    };
    Ok(SdfQuality {
        iou,
        chamfer,
        resolution,
        vertices: mesh.vertices.len(),
        faces: mesh.faces.len(),
    })
}

/// `shape` (in world units) moved into the normalised space of a file's
/// `domain`: q = (p − centre) / (2 · half_extent), so that network
/// coordinates are x = 2q.
pub fn normalised_by(shape: &Shape, domain: &Domain) -> Shape {
    let scale = 0.5 / domain.half_extent as f64;
    let map = |v: &[f32; 3]| -> [f32; 3] {
        std::array::from_fn(|a| ((v[a] as f64 - domain.centre[a] as f64) * scale) as f32)
    };
    match shape {
        Shape::Mesh(m) => Shape::Mesh(TriMesh {
            vertices: m.vertices.iter().map(map).collect(),
            faces: m.faces.clone(),
        }),
        Shape::Points(c) => Shape::Points(PointCloud {
            points: c.points.iter().map(map).collect(),
            normals: c.normals.clone(),
        }),
    }
}
