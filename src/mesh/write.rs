//! Writing meshes as OBJ, binary PLY or binary STL.

use super::TriMesh;
use crate::Error;
use std::io::{BufWriter, Write};
use std::path::Path;

/// A mesh file format, chosen by the output's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshFormat {
    /// Wavefront OBJ: text, `v` and `f` lines only.
    Obj,
    /// PLY, binary little-endian: float x, y, z and `uchar`-counted `int` indices.
    Ply,
    /// Binary STL: unindexed triangles with face normals.
    Stl,
}

impl MeshFormat {
    /// The format named by the extension of `path`: `.obj`, `.ply` or `.stl`,
    /// in any case.
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("obj") => Ok(MeshFormat::Obj),
            Some("ply") => Ok(MeshFormat::Ply),
            Some("stl") => Ok(MeshFormat::Stl),
            _ => Err(Error::parameter(format!(
                "{}: unknown mesh format; use .obj, .ply or .stl",
                path.display()
            ))),
        }
    }

    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            MeshFormat::Obj => "OBJ",
            MeshFormat::Ply => "PLY",
            MeshFormat::Stl => "STL",
        }
    }
}

/// Checks that every face refers to an existing vertex.
pub(crate) fn check_faces(mesh: &TriMesh) -> Result<(), Error> {
    let n = mesh.vertices.len();
    match mesh.faces.iter().flatten().find(|&&v| v as usize >= n) {
        Some(v) => Err(Error::parameter(format!(
            "a mesh face refers to vertex {v}, but the mesh has {n} vertices"
        ))),
        None => Ok(()),
    }
}

/// Writes `mesh` to `w` in `format`, buffering on its own.
///
/// OBJ gets `v x y z` lines (shortest round-trip decimals) then `f a b c`
/// lines (1-based); PLY is `binary_little_endian 1.0` with `float x, y, z`
/// per vertex and a `list uchar int vertex_indices` per face; STL is binary,
/// each triangle with its unit face normal (zero for a degenerate one).
///
/// Fails with [`Error::Parameter`] when a face refers to a missing vertex,
/// with [`Error::LimitsExceeded`] when the mesh has more vertices than PLY's
/// `int` indices or more faces than STL's `u32` count can hold, and with
/// [`Error::Io`] (path "OBJ output" and so on, as `w` has no name) when
/// writing fails. Nothing is written when the mesh is refused.
pub fn write_mesh<W: Write>(w: &mut W, mesh: &TriMesh, format: MeshFormat) -> Result<(), Error> {
    check_faces(mesh)?;
    let io = |e| Error::io(format!("{} output", format.name()), e);
    let mut w = BufWriter::with_capacity(1 << 16, w);
    match format {
        MeshFormat::Obj => write_obj(&mut w, mesh).map_err(io)?,
        MeshFormat::Ply => {
            if mesh.vertices.len() > i32::MAX as usize + 1 {
                return Err(Error::limit(
                    crate::Limit::Output,
                    "the mesh's vertices (PLY's indices are 32-bit signed)",
                    mesh.vertices.len() as u64,
                    i32::MAX as u64 + 1,
                ));
            }
            write_ply(&mut w, mesh).map_err(io)?
        }
        MeshFormat::Stl => {
            if u32::try_from(mesh.faces.len()).is_err() {
                return Err(Error::limit(
                    crate::Limit::Output,
                    "the mesh's triangles (binary STL)",
                    mesh.faces.len() as u64,
                    u32::MAX as u64,
                ));
            }
            write_stl(&mut w, mesh).map_err(io)?
        }
    }
    w.flush().map_err(io)
}

fn write_obj(w: &mut impl Write, mesh: &TriMesh) -> std::io::Result<()> {
    for [x, y, z] in &mesh.vertices {
        writeln!(w, "v {x} {y} {z}")?;
    }
    for [a, b, c] in &mesh.faces {
        writeln!(w, "f {} {} {}", a + 1, b + 1, c + 1)?;
    }
    Ok(())
}

/// Written by hand rather than with ply-rs-bw's writer: that writer takes a
/// whole `Ply<E>` whose payload owns one element value per vertex and face
/// (with `DefaultElement`, a map of named properties each), a copy of the
/// mesh several times its size, for a layout that is a few fixed lines of
/// header and packed little-endian records.
fn write_ply(w: &mut impl Write, mesh: &TriMesh) -> std::io::Result<()> {
    write!(
        w,
        "ply\nformat binary_little_endian 1.0\ncomment written by scone\n\
         element vertex {}\nproperty float x\nproperty float y\nproperty float z\n\
         element face {}\nproperty list uchar int vertex_indices\nend_header\n",
        mesh.vertices.len(),
        mesh.faces.len()
    )?;
    for v in &mesh.vertices {
        let mut record = [0u8; 12];
        for (bytes, c) in record.chunks_exact_mut(4).zip(v) {
            bytes.copy_from_slice(&c.to_le_bytes());
        }
        w.write_all(&record)?;
    }
    for f in &mesh.faces {
        let mut record = [3u8; 13];
        for (bytes, i) in record[1..].chunks_exact_mut(4).zip(f) {
            // Checked by the caller: every index fits an i32.
            bytes.copy_from_slice(&(*i as i32).to_le_bytes());
        }
        w.write_all(&record)?;
    }
    Ok(())
}

fn write_stl(w: &mut impl Write, mesh: &TriMesh) -> std::io::Result<()> {
    let triangles = mesh.faces.iter().map(|f| {
        let p = f.map(|v| mesh.vertices[v as usize]);
        stl_io::Triangle {
            normal: stl_io::Normal::new(face_normal(p)),
            vertices: p.map(stl_io::Vertex::new),
        }
    });
    stl_io::write_stl(w, triangles)
}

/// The unit normal of a counter-clockwise triangle, or zero when it has no area.
fn face_normal([a, b, c]: [[f32; 3]; 3]) -> [f32; 3] {
    let u: [f64; 3] = std::array::from_fn(|d| (b[d] - a[d]) as f64);
    let v: [f64; 3] = std::array::from_fn(|d| (c[d] - a[d]) as f64);
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len > 0.0 && len.is_finite() {
        n.map(|c| (c / len) as f32)
    } else {
        [0.0; 3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::march::tests::sphere_mesh;
    use std::io::Cursor;

    /// A small mesh with awkward coordinates (tiny, huge, negative, −0).
    fn awkward() -> TriMesh {
        TriMesh {
            vertices: vec![
                [0.1, -0.0, 1e-30],
                [3.4028235e38, -2.5, 0.333_333_34],
                [1.0, 2.0, -1e-7],
                [-7.25, 1.0e10, 0.5],
            ],
            faces: vec![[0, 1, 2], [0, 2, 3], [3, 2, 1]],
        }
    }

    fn written(mesh: &TriMesh, format: MeshFormat) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_mesh(&mut bytes, mesh, format).unwrap();
        bytes
    }

    #[test]
    fn formats_from_paths() {
        let f = |p: &str| MeshFormat::from_path(Path::new(p));
        assert_eq!(f("a/b.obj").unwrap(), MeshFormat::Obj);
        assert_eq!(f("B.PLY").unwrap(), MeshFormat::Ply);
        assert_eq!(f("x.y.Stl").unwrap(), MeshFormat::Stl);
        for bad in ["mesh.off", "mesh", "obj", "mesh.obj.gz"] {
            let e = f(bad).unwrap_err();
            assert!(
                matches!(&e, Error::Parameter(m) if m.detail.contains("use .obj, .ply or .stl")),
                "{e}"
            );
        }
    }

    #[test]
    fn obj_round_trips() {
        for mesh in [awkward(), sphere_mesh()] {
            let bytes = written(&mesh, MeshFormat::Obj);
            let options = tobj::LoadOptions::default();
            let (models, _) = tobj::load_obj_buf(&mut Cursor::new(bytes), &options, |_| {
                Err(tobj::LoadError::OpenFileFailed)
            })
            .unwrap();
            assert_eq!(models.len(), 1);
            let m = &models[0].mesh;
            // tobj renumbers vertices in order of first use: compare the
            // triangles' corner positions, bit for bit.
            let corner = |v: u32| {
                let p = &m.positions[3 * v as usize..][..3];
                [p[0], p[1], p[2]].map(f32::to_bits)
            };
            let read: Vec<_> = m
                .indices
                .chunks_exact(3)
                .map(|f| [0, 1, 2].map(|c| corner(f[c])))
                .collect();
            let original: Vec<_> = mesh
                .faces
                .iter()
                .map(|f| f.map(|v| mesh.vertices[v as usize].map(f32::to_bits)))
                .collect();
            assert_eq!(read, original);
            assert_eq!(m.positions.len(), 3 * mesh.vertices.len());
        }
    }

    #[test]
    fn ply_round_trips() {
        use ply_rs_bw::ply::{DefaultElement, Encoding, Property};
        for mesh in [awkward(), sphere_mesh(), TriMesh::default()] {
            let bytes = written(&mesh, MeshFormat::Ply);
            let parser = ply_rs_bw::parser::Parser::<DefaultElement>::new();
            let ply = parser.read_ply(&mut Cursor::new(bytes)).unwrap();
            assert_eq!(ply.header.encoding, Encoding::BinaryLittleEndian);
            let float = |e: &DefaultElement, k: &str| match e[k] {
                Property::Float(x) => x,
                ref p => panic!("{k} is {p:?}"),
            };
            let vertices: Vec<[f32; 3]> = ply.payload["vertex"]
                .iter()
                .map(|e| [float(e, "x"), float(e, "y"), float(e, "z")])
                .collect();
            let faces: Vec<[u32; 3]> = ply.payload["face"]
                .iter()
                .map(|e| match &e["vertex_indices"] {
                    Property::ListInt(l) => [l[0] as u32, l[1] as u32, l[2] as u32],
                    p => panic!("indices are {p:?}"),
                })
                .collect();
            // Bit equality, so that −0 stays −0.
            let bits = |v: &[[f32; 3]]| v.iter().map(|p| p.map(f32::to_bits)).collect::<Vec<_>>();
            assert_eq!(bits(&vertices), bits(&mesh.vertices));
            assert_eq!(faces, mesh.faces);
        }
    }

    #[test]
    fn stl_round_trips() {
        for mesh in [awkward(), sphere_mesh()] {
            let bytes = written(&mesh, MeshFormat::Stl);
            assert_eq!(bytes.len(), 84 + 50 * mesh.faces.len());
            let triangles: Vec<stl_io::Triangle> =
                stl_io::create_stl_reader(&mut Cursor::new(bytes))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
            assert_eq!(triangles.len(), mesh.faces.len());
            for (t, f) in triangles.iter().zip(&mesh.faces) {
                let p = f.map(|v| mesh.vertices[v as usize]);
                assert_eq!(t.vertices.map(<[f32; 3]>::from), p);
                assert_eq!(t.normal.0, face_normal(p));
                let n = t.normal.0;
                let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                assert!((len - 1.0).abs() < 1e-5 || len == 0.0);
            }
        }
        let n = face_normal([[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        assert_eq!(n, [0.0, 0.0, 1.0]);
        assert_eq!(face_normal([[1.0; 3]; 3]), [0.0; 3]);
    }

    #[test]
    fn broken_meshes_are_refused_before_writing() {
        let mut mesh = awkward();
        mesh.faces[1][2] = 4;
        for format in [MeshFormat::Obj, MeshFormat::Ply, MeshFormat::Stl] {
            let mut bytes = Vec::new();
            let r = write_mesh(&mut bytes, &mesh, format);
            assert!(matches!(r, Err(Error::Parameter(_))));
            assert!(bytes.is_empty());
        }
    }

    #[test]
    fn write_errors_are_io_errors() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "disk full",
                ))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mesh = sphere_mesh();
        for format in [MeshFormat::Obj, MeshFormat::Ply, MeshFormat::Stl] {
            let e = write_mesh(&mut Full, &mesh, format).unwrap_err();
            assert!(matches!(e, Error::Io { .. }), "{e}");
            assert!(e.to_string().contains("disk full"), "{e}");
        }
    }
}
