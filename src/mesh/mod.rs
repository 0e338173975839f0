//! 3D shapes: triangle meshes and oriented point clouds in, the
//! signed-distance labels the encoder trains on, marching cubes out, and
//! the metrics that compare shapes (IoU, Chamfer distance).
//!
//! Two coordinate spaces appear here:
//! - *world*: the units of the input file;
//! - *normalised*: the shape centred and scaled into [−0.45, 0.45]³ inside
//!   the domain [−0.5, 0.5]³, as the paper does. The network's input is
//!   twice the normalised position, so that the domain is [−1, 1]³.

pub mod extract;
pub mod load;
pub mod march;
pub mod metrics;
pub mod npy;
pub mod simplify;
pub mod surface;
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
