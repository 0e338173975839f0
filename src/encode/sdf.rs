//! Encoding a 3D shape as a signed-distance field: fresh samples around
//! the surface every step, labelled by the surface oracle (docs/3d.md).

use super::{Settings, finish, rounded};
use crate::Error;
use crate::format::SconeFile;
use crate::mesh::load::normalise;
use crate::mesh::surface::{SurfaceSdf, sdf_for_shape};
use crate::mesh::{Normalisation, Shape};
use crate::metrics::quality::{self, SdfQuality};
use crate::model::init_network;
use crate::signal::{Domain, Kind, Layout, SignalInfo};
use crate::train::{self, StepReport, TrainData};
use rand_chacha::ChaCha8Rng;

/// What an SDF encode needs beyond [`Settings`].
#[derive(Clone, Debug, PartialEq)]
pub struct SdfSettings {
    /// Points sampled on a mesh's surface for the oracle (a point cloud is
    /// used as it is).
    pub surface_points: usize,
    /// Grid resolution of the IoU and Chamfer figures the encoder reports.
    pub eval_resolution: usize,
    /// The resolution written to the file as the shape's grid size: what
    /// `scone mesh` uses when not told.
    pub mesh_resolution: u32,
}

impl Default for SdfSettings {
    fn default() -> Self {
        Self {
            surface_points: 500_000,
            eval_resolution: 128,
            mesh_resolution: 256,
        }
    }
}

/// Training pairs drawn fresh every batch: points near the surface (the
/// oracle's Laplace-perturbed samples) in network coordinates, x = 2q, and
/// their distances in network units, 2d.
pub struct SdfData<'a> {
    pub oracle: &'a SurfaceSdf,
}

impl TrainData for SdfData<'_> {
    fn in_dims(&self) -> usize {
        3
    }

    fn out_dims(&self) -> usize {
        1
    }

    fn pair_count(&self) -> Option<usize> {
        None
    }

    fn batch(&self, rng: &mut ChaCha8Rng, n: usize, coords: &mut Vec<f32>, targets: &mut Vec<f32>) {
        let mut queries = Vec::with_capacity(n);
        let mut labels = Vec::with_capacity(n);
        self.oracle.sample_batch(rng, n, &mut queries, &mut labels);
        coords.clear();
        coords.extend(queries.iter().flatten().map(|&c| 2.0 * c));
        targets.clear();
        targets.extend(labels.iter().map(|&d| 2.0 * d));
    }

    fn all(&self, _coords: &mut Vec<f32>, _targets: &mut Vec<f32>) -> Result<(), Error> {
        Err(Error::parameter(
            "an SDF trains on fresh random batches; --batch full is not possible",
        ))
    }
}

/// The signal description of a shape normalised by `norm`.
pub fn sdf_signal(norm: &Normalisation, settings: &Settings, sdf: &SdfSettings) -> SignalInfo {
    // Normalised space spans [−0.5, 0.5]: network coordinates are twice
    // it, so one network unit is half a normalised unit.
    let half = (norm.scale * 0.5) as f32;
    SignalInfo {
        kind: Kind::Sdf,
        layout: Layout::Distance,
        sizes: vec![sdf.mesh_resolution; 3],
        bit_depth: 32,
        value_range: [-half, half],
        convention: settings.convention,
        frame_rate: None,
        domain: Some(Domain {
            centre: norm.centre.map(|c| c as f32),
            half_extent: half,
        }),
    }
}

/// The result of encoding a shape.
pub struct EncodedSdf {
    pub file: SconeFile,
    pub bytes: Vec<u8>,
    pub quality: SdfQuality,
}

/// Fits the signed-distance field of `shape` (in its file's units).
pub fn encode_sdf(
    shape: &Shape,
    settings: &Settings,
    sdf: &SdfSettings,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<EncodedSdf, Error> {
    let (normalised, norm) = normalise(shape)?;
    let oracle = sdf_for_shape(&normalised, sdf.surface_points, settings.train.seed)?;
    let signal = sdf_signal(&norm, settings, sdf);
    let arch = settings.arch(3, 1)?;
    let init = init_network(&arch, settings.train.seed);
    let data = SdfData { oracle: &oracle };
    let net = train::fit(init, &data, &settings.train, settings.device, progress)?;
    let (file, bytes, q) = finish(settings, signal, net, |decoded| {
        let q = quality::sdf(decoded, &oracle, sdf.eval_resolution)?;
        let measured = serde_json::json!({
            "iou": rounded(q.iou, 5),
            "chamfer": q.chamfer,
            "eval_resolution": q.resolution,
            "surface_points": sdf.surface_points,
        });
        Ok((q, measured))
    })?;
    Ok(EncodedSdf {
        file,
        bytes,
        quality: q,
    })
}
