//! Mesh simplification with meshoptimizer's edge-collapse simplifier.

use super::TriMesh;
use super::write::check_faces;
use crate::Error;
use meshopt::{SimplifyOptions, VertexDataAdapter, typed_to_bytes};

/// Fails unless `ratio` is a simplification ratio [`simplify`] takes: in
/// (0, 1].
pub fn check_ratio(ratio: f32) -> Result<(), Error> {
    if ratio > 0.0 && ratio <= 1.0 {
        return Ok(());
    }
    Err(Error::parameter(format!(
        "the simplification ratio must be in (0, 1], got {ratio}"
    )))
}

/// Reduces the mesh to about `ratio` (0 < ratio ≤ 1) of its triangles with
/// meshoptimizer's edge-collapse simplifier ([`meshopt::simplify()`]), keeping
/// the border (edges with one face) locked, then drops the vertices no face
/// uses any more, keeping the others in order of first use.
///
/// Returns the new mesh and the error meshoptimizer reports, relative to the
/// mesh's extent. The ratio is a target: the simplifier stops earlier when
/// no collapse is left that keeps the topology and the border.
///
/// Fails with [`Error::Parameter`] when `ratio` is outside (0, 1], when a
/// face refers to a missing vertex or when a vertex is not finite.
pub fn simplify(mesh: &TriMesh, ratio: f32) -> Result<(TriMesh, f32), Error> {
    check_ratio(ratio)?;
    check_faces(mesh)?;
    if let Some(i) = mesh
        .vertices
        .iter()
        .position(|v| !v.iter().all(|c| c.is_finite()))
    {
        return Err(Error::parameter(format!(
            "cannot simplify a mesh with a non-finite vertex ({i})"
        )));
    }
    if mesh.faces.is_empty() {
        return Ok((TriMesh::default(), 0.0));
    }
    let indices = mesh.faces.as_flattened();
    let adapter = VertexDataAdapter::new(typed_to_bytes(&mesh.vertices), 12, 0)
        .map_err(|e| Error::parameter(format!("cannot simplify the mesh: {e}")))?;
    let target_faces = (mesh.faces.len() as f64 * ratio as f64).round() as usize;
    let mut error = 0.0f32;
    // A target error of 1 (the whole extent) leaves the face count alone to
    // decide where to stop.
    let kept = meshopt::simplify(
        indices,
        &adapter,
        3 * target_faces,
        1.0,
        SimplifyOptions::LockBorder,
        Some(&mut error),
    );

    let mut remap = vec![u32::MAX; mesh.vertices.len()];
    let mut out = TriMesh::default();
    for &v in &kept {
        let slot = &mut remap[v as usize];
        if *slot == u32::MAX {
            *slot = out.vertices.len() as u32;
            out.vertices.push(mesh.vertices[v as usize]);
        }
    }
    out.faces = kept
        .chunks_exact(3)
        .map(|f| {
            [
                remap[f[0] as usize],
                remap[f[1] as usize],
                remap[f[2] as usize],
            ]
        })
        .collect();
    Ok((out, error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::march::tests::{check_closed, sphere_mesh, volume};

    #[test]
    fn sphere_quarter() {
        let mesh = sphere_mesh();
        let (small, error) = simplify(&mesh, 0.25).unwrap();
        let kept = small.faces.len() as f64 / mesh.faces.len() as f64;
        assert!(kept <= 0.30 && kept > 0.1, "kept {kept} of the faces");
        assert!((0.0..0.05).contains(&error), "error {error}");
        assert_eq!(check_closed(&small), 2);
        let (before, after) = (volume(&mesh), volume(&small));
        assert!(
            (after - before).abs() < 0.05 * before,
            "volume {after} vs {before}"
        );
        // No unreferenced vertex survives.
        let mut used = vec![false; small.vertices.len()];
        small
            .faces
            .iter()
            .flatten()
            .for_each(|&v| used[v as usize] = true);
        assert!(used.iter().all(|&u| u));
    }

    #[test]
    fn ratio_one_keeps_the_mesh() {
        let mesh = sphere_mesh();
        let (same, error) = simplify(&mesh, 1.0).unwrap();
        assert_eq!(same.faces.len(), mesh.faces.len());
        assert_eq!(same.vertices.len(), mesh.vertices.len());
        assert_eq!(error, 0.0);
    }

    #[test]
    fn border_stays_put() {
        // A flat 20×20 grid of squares: its border vertices must survive.
        let n = 21;
        let mut mesh = TriMesh::default();
        for j in 0..n {
            for i in 0..n {
                mesh.vertices.push([i as f32, j as f32, 0.0]);
            }
        }
        for j in 0..n - 1 {
            for i in 0..n - 1 {
                let a = (j * n + i) as u32;
                let (b, c, d) = (a + 1, a + n as u32, a + n as u32 + 1);
                mesh.faces.push([a, b, d]);
                mesh.faces.push([a, d, c]);
            }
        }
        let (small, _) = simplify(&mesh, 0.1).unwrap();
        assert!(small.faces.len() < mesh.faces.len() / 2);
        let on_border = |v: &[f32; 3]| {
            v[0] == 0.0 || v[1] == 0.0 || v[0] == (n - 1) as f32 || v[1] == (n - 1) as f32
        };
        let border = |m: &TriMesh| m.vertices.iter().filter(|v| on_border(v)).count();
        assert_eq!(border(&small), border(&mesh));
    }

    #[test]
    fn bad_requests_are_refused() {
        let mesh = sphere_mesh();
        for ratio in [0.0, -0.5, 1.5, f32::NAN] {
            assert!(
                matches!(simplify(&mesh, ratio), Err(Error::Parameter(_))),
                "{ratio}"
            );
        }
        let mut broken = mesh.clone();
        broken.faces[0][1] = broken.vertices.len() as u32;
        assert!(matches!(simplify(&broken, 0.5), Err(Error::Parameter(_))));
        let mut broken = mesh;
        broken.vertices[0][2] = f32::INFINITY;
        assert!(matches!(simplify(&broken, 0.5), Err(Error::Parameter(_))));
        let (empty, error) = simplify(&TriMesh::default(), 0.5).unwrap();
        assert_eq!((empty, error), (TriMesh::default(), 0.0));
    }
}
