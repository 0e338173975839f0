//! 3D shapes: marching cubes over a decoded signed-distance field; with
//! feature `mesh-io`, triangle meshes and oriented point clouds in, the
//! signed-distance labels the encoder trains on, mesh files out and the
//! metrics that compare shapes (IoU, Chamfer distance); with `simplify`,
//! meshoptimizer's simplifier.
//!
//! Two coordinate spaces appear here:
//! - *world*: the units of the input file;
//! - *normalised*: the shape centred and scaled into [−0.45, 0.45]³ inside
//!   the domain [−0.5, 0.5]³, as the paper does. The network's input is
//!   twice the normalised position, so that the domain is [−1, 1]³.

pub mod extract;
#[cfg(feature = "mesh-io")]
pub mod load;
pub mod march;
#[cfg(feature = "mesh-io")]
pub mod metrics;
#[cfg(feature = "mesh-io")]
pub mod npy;
#[cfg(feature = "simplify")]
pub mod simplify;
#[cfg(feature = "mesh-io")]
pub mod surface;
#[cfg(feature = "mesh-io")]
pub mod write;

/// An indexed triangle mesh.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TriMesh {
    pub vertices: Vec<[f32; 3]>,
    /// Counter-clockwise seen from outside (normals point outwards).
    pub faces: Vec<[u32; 3]>,
}

/// Points with unit normals (pointing outwards).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PointCloud {
    pub points: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
}

/// What a shape file holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Mesh(TriMesh),
    Points(PointCloud),
}

/// Maps normalised positions to world positions: `world = centre + scale · q`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalisation {
    pub centre: [f64; 3],
    /// World length of one normalised unit.
    pub scale: f64,
}
