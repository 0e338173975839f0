//! A shape's signed distances on a grid, and its surface.

use super::{Decoder, try_vec};
use crate::Error;
use crate::mesh::TriMesh;
use crate::mesh::extract::{extract_mesh, slice_coords};

/// A shape's signed-distance field sampled on a
/// [`SdfGrid::resolution`]³ grid (FORMAT.md §4.3 on every axis, the file's
/// convention): sample (i, j, k) at network coordinates
/// (c(i), c(j), c(k)), x fastest, then y, then z. Made by [`Decoder::sdf`],
/// which checked the kind, the resolution and the compute budget.
#[derive(Clone, Copy, Debug)]
pub struct SdfGrid<'a> {
    decoder: &'a Decoder,
    n: usize,
}

impl<'a> SdfGrid<'a> {
    pub(super) fn new(decoder: &'a Decoder, resolution: u64) -> Result<Self, Error> {
        decoder.limits.check_resolution(resolution)?;
        let points = resolution
            .saturating_mul(resolution)
            .saturating_mul(resolution);
        decoder.check_compute(&format!("a {resolution}³ grid"), points)?;
        let n = usize::try_from(resolution)
            .ok()
            .filter(|n| n.checked_mul(*n).and_then(|p| p.checked_mul(3)).is_some())
            .ok_or_else(|| Error::parameter(format!("a {resolution}³ grid is too large")))?;
        Ok(Self { decoder, n })
    }

    /// Samples per axis.
    pub fn resolution(&self) -> usize {
        self.n
    }

    /// Writes z-slice `k` into `out` (resolution² values): the signed
    /// distances in the source's units (FORMAT.md §4.4, §4.6), x fastest.
    pub fn slice(&self, k: usize, out: &mut [f32]) -> Result<(), Error> {
        if k >= self.n {
            return Err(Error::misuse(
                crate::Misuse::OutOfRange,
                format!("slice {k} of a grid of {}", self.n),
            ));
        }
        let signal = self.decoder.info();
        self.decoder
            .engine()
            .eval(&slice_coords(signal, self.n, k), out)?;
        out.iter_mut().for_each(|v| *v = signal.to_value(*v));
        Ok(())
    }

    /// The whole grid, resolution³ values, x fastest, then y, then z.
    pub fn to_vec(&self) -> Result<Vec<f32>, Error> {
        let plane = self.n * self.n;
        let mut out = try_vec(plane * self.n, "the SDF grid")?;
        for (k, slice) in out.chunks_exact_mut(plane).enumerate() {
            self.slice(k, slice)?;
        }
        Ok(out)
    }

    /// The surface where the distance is `level` (0: the surface itself),
    /// by marching cubes on this grid, two slices held at a time, with
    /// vertices in the source's units. Triangles wind counter-clockwise
    /// seen from outside; each grid edge that crosses the surface gives one
    /// shared vertex.
    pub fn mesh(&self, level: f32) -> Result<TriMesh, Error> {
        let signal = self.decoder.info();
        let mut mesh = extract_mesh(self.decoder.engine(), signal, self.n, level)?;
        let domain = signal.domain.expect("an SDF has a domain");
        mesh.vertices
            .iter_mut()
            .for_each(|v| *v = domain.to_world(*v));
        Ok(mesh)
    }
}
