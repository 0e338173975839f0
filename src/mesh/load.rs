//! Reading shapes: triangle meshes (OBJ, PLY, STL) and oriented point clouds
//! (XYZ, PLY without faces), and normalising them into the unit domain.
//!
//! Every failure is one line naming the file and the problem; no input can
//! make the readers panic (the third-party parsers run under
//! `catch_unwind` as a last line of defence).

use super::{Normalisation, PointCloud, Shape, TriMesh};
use crate::Error;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Largest shape file accepted, in bytes.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;
/// Largest number of vertices, faces (after triangulation) or points accepted.
pub const MAX_ELEMENTS: usize = 1 << 26;

/// Half the side of the cube the longest side of a shape is scaled to.
const HALF_EXTENT: f64 = 0.45;

/// Reads a triangle mesh (OBJ, PLY with faces, STL ascii or binary) or an
/// oriented point cloud (`.xyz` lines `x y z nx ny nz`, or a PLY with vertex
/// normals `nx ny nz` and no faces).
///
/// The format is chosen by the extension (case-insensitive) and the content
/// is checked against it. What comes back is validated:
/// - a mesh has at least one face, every index is in range and every
///   coordinate of a vertex used by a face is finite. Polygons are split
///   into triangle fans; faces with fewer than 3 corners are skipped.
///   Vertices that no face uses are dropped (they would only distort the
///   bounding box); the others keep the file's order, except in OBJ files,
///   where tobj numbers them in order of first use in each object. Several
///   OBJ objects are merged into one mesh (vertices shared by two objects
///   appear once per object) and materials are never read. STL corners are
///   welded by exact position;
/// - a point cloud has finite coordinates and normals; normals are scaled to
///   unit length and points whose normal is exactly zero are dropped (they
///   carry no orientation for the signed-distance labels), which is an error
///   only when no point remains;
/// - the bounding box has a non-zero longest side;
/// - at most [`MAX_INPUT_BYTES`] bytes and [`MAX_ELEMENTS`] vertices, faces
///   or points.
///
/// Errors: [`Error::Io`] when the file cannot be read,
/// [`Error::LimitsExceeded`] for the limits above, [`Error::Input`] for
/// everything else.
pub fn load_shape(path: &Path) -> Result<Shape, Error> {
    let name = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let kind = match ext.as_str() {
        "obj" => Kind::Obj,
        "ply" => Kind::Ply,
        "stl" => Kind::Stl,
        "xyz" => Kind::Xyz,
        _ => {
            let shown = if ext.is_empty() {
                "no extension".to_string()
            } else {
                format!("unknown extension '.{ext}'")
            };
            return Err(Error::Input(format!(
                "{name}: {shown} (expected .obj, .ply, .stl or .xyz)"
            )));
        }
    };
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::Input(format!("{name}: not a regular file")));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(Error::limit(
            crate::Limit::Input,
            format!("{name}'s bytes"),
            meta.len(),
            MAX_INPUT_BYTES,
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // The parsers are third-party code fed with untrusted bytes: a panic in
    // them must become an error, not take the process down.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match kind {
        Kind::Obj => read_obj(path, file),
        Kind::Ply => read_ply(path, file),
        Kind::Stl => read_stl(path, file),
        Kind::Xyz => read_xyz(path, file),
    }));
    let shape = match result {
        Ok(r) => r.map_err(|e| e.into_error(&name))?,
        Err(_) => {
            return Err(Error::Input(format!(
                "{name}: the {} reader failed on this file",
                ext.to_ascii_uppercase()
            )));
        }
    };
    // A shape that collapses to a point cannot be scaled to the domain.
    bounds(&shape).map_err(|m| Error::Input(format!("{name}: {m}")))?;
    Ok(shape)
}

/// Centres the bounding box at the origin and scales its longest side to
/// 0.9, so that the shape lies in [−0.45, 0.45]³ inside the domain
/// [−0.5, 0.5]³, as the paper does (computed in f64, rounded to f32 once).
///
/// Returns the normalised shape and the map back to world units:
/// `world = centre + scale · normalised`, with `centre` the middle of the
/// bounding box and `scale` = longest side / 0.9. The bounding box is over
/// all vertices (or points). Normals are unchanged, since the map is a
/// translation and a uniform scale. (BACON's script instead subtracts the
/// mean point and scales by the range over all coordinates at once; for
/// the box-centred form the shape is centred on every axis.)
///
/// Errors with [`Error::Input`] when the shape is empty, has a non-finite
/// coordinate or a bounding box of zero extent.
pub fn normalise(shape: &Shape) -> Result<(Shape, Normalisation), Error> {
    let (lo, hi) = bounds(shape).map_err(Error::Input)?;
    let centre = [0, 1, 2].map(|a| 0.5 * (lo[a] + hi[a]));
    let longest = (0..3).map(|a| hi[a] - lo[a]).fold(0.0, f64::max);
    let scale = longest / (2.0 * HALF_EXTENT);
    let map = |p: &[f32; 3]| [0, 1, 2].map(|a| ((f64::from(p[a]) - centre[a]) / scale) as f32);
    let normalised = match shape {
        Shape::Mesh(m) => Shape::Mesh(TriMesh {
            vertices: m.vertices.iter().map(map).collect(),
            faces: m.faces.clone(),
        }),
        Shape::Points(c) => Shape::Points(PointCloud {
            points: c.points.iter().map(map).collect(),
            normals: c.normals.clone(),
        }),
    };
    Ok((normalised, Normalisation { centre, scale }))
}

/// The bounding box of a shape's vertices or points, in f64; an error
/// message when it is empty, not finite or of zero extent.
fn bounds(shape: &Shape) -> Result<([f64; 3], [f64; 3]), String> {
    let points = match shape {
        Shape::Mesh(m) => &m.vertices,
        Shape::Points(c) => &c.points,
    };
    if points.is_empty() {
        return Err("the shape has no vertices".into());
    }
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for (i, p) in points.iter().enumerate() {
        for a in 0..3 {
            let v = f64::from(p[a]);
            if !v.is_finite() {
                return Err(format!("{} at vertex {i}", non_finite(v)));
            }
            lo[a] = lo[a].min(v);
            hi[a] = hi[a].max(v);
        }
    }
    let longest = (0..3).map(|a| hi[a] - lo[a]).fold(0.0, f64::max);
    if longest <= 0.0 {
        return Err("degenerate shape: its bounding box has zero extent".into());
    }
    Ok((lo, hi))
}

fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN coordinate"
    } else {
        "infinite coordinate"
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Obj,
    Ply,
    Stl,
    Xyz,
}

/// A reader's failure before the file name is attached.
enum Fail {
    Input(String),
    /// (what, how many, the most allowed)
    Limit(String, u64, u64),
}

impl Fail {
    fn into_error(self, name: &str) -> Error {
        match self {
            Fail::Input(m) => Error::Input(format!("{name}: {m}")),
            Fail::Limit(what, value, max) => {
                Error::limit(crate::Limit::Input, format!("{name}'s {what}"), value, max)
            }
        }
    }
}

fn too_many(what: &str, count: usize) -> Fail {
    Fail::Limit(what.to_owned(), count as u64, MAX_ELEMENTS as u64)
}

/// Folds a third-party multi-line message onto one line, not too long.
fn one_line(message: &str) -> String {
    let joined = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    const MAX: usize = 200;
    if joined.chars().count() > MAX {
        let cut: String = joined.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

// ---------------------------------------------------------------- meshes

/// Builds a mesh from vertices and triangles: validates indices, keeps
/// only the vertices that faces use (in their original order, so that a
/// mesh without unused vertices reads back exactly as written) and checks
/// that those are finite.
///
/// `vertex_name(i)` describes vertex `i` of the file for error messages.
fn build_mesh(
    vertices: Vec<[f32; 3]>,
    mut faces: Vec<[u32; 3]>,
    vertex_name: impl Fn(usize) -> String,
) -> Result<TriMesh, Fail> {
    if faces.is_empty() {
        return Err(Fail::Input("the mesh has no faces".into()));
    }
    if faces.len() > MAX_ELEMENTS {
        return Err(too_many("faces", faces.len()));
    }
    let mut used = vec![false; vertices.len()];
    for (f, face) in faces.iter().enumerate() {
        for &v in face {
            let Some(u) = used.get_mut(v as usize) else {
                return Err(Fail::Input(format!(
                    "face {f} refers to vertex {v} but there are only {} vertices",
                    vertices.len()
                )));
            };
            *u = true;
        }
    }
    if let Some((i, c)) = vertices
        .iter()
        .enumerate()
        .filter(|(i, _)| used[*i])
        .find_map(|(i, p)| p.iter().find(|c| !c.is_finite()).map(|c| (i, *c)))
    {
        return Err(Fail::Input(format!(
            "{} at {}",
            non_finite(f64::from(c)),
            vertex_name(i)
        )));
    }
    if used.iter().all(|u| *u) {
        return Ok(TriMesh { vertices, faces });
    }
    let mut new_index = vec![0u32; vertices.len()];
    let mut kept = Vec::new();
    for (i, p) in vertices.iter().enumerate() {
        if used[i] {
            new_index[i] = kept.len() as u32;
            kept.push(*p);
        }
    }
    for face in &mut faces {
        *face = face.map(|v| new_index[v as usize]);
    }
    Ok(TriMesh {
        vertices: kept,
        faces,
    })
}

/// Appends the fan triangulation of a polygon; fewer than 3 corners add
/// nothing (points and lines have no surface).
fn push_fan(polygon: &[u32], out: &mut Vec<[u32; 3]>) {
    for k in 2..polygon.len() {
        out.push([polygon[0], polygon[k - 1], polygon[k]]);
    }
}

fn read_obj(path: &Path, file: std::fs::File) -> Result<Shape, Fail> {
    // The struct update covers the fields that tobj's optional features
    // (merging, reordering) add when another crate enables them.
    #[allow(clippy::needless_update)]
    let options = tobj::LoadOptions {
        triangulate: true,
        single_index: false,
        ignore_points: true,
        ignore_lines: true,
        ..Default::default()
    };
    check_obj_indices(&file)?;
    (&file)
        .seek(SeekFrom::Start(0))
        .map_err(|e| Fail::Input(format!("cannot read the OBJ file: {e}")))?;
    let mut reader = BufReader::new(file);
    // Materials are irrelevant to geometry: never open .mtl files.
    let (models, _materials) = tobj::load_obj_buf(&mut reader, &options, |_| {
        Err(tobj::LoadError::GenericFailure)
    })
    .map_err(|e| Fail::Input(format!("cannot read the OBJ file: {e}")))?;
    let mut vertices: Vec<[f32; 3]> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    for model in &models {
        let mesh = &model.mesh;
        // tobj renumbers each object's vertices from 0; stack them.
        let base = vertices.len();
        if base + mesh.positions.len() / 3 > MAX_ELEMENTS {
            return Err(too_many("vertices", base + mesh.positions.len() / 3));
        }
        vertices.extend(
            mesh.positions
                .chunks_exact(3)
                .map(|p| [0, 1, 2].map(|a| f64::from(p[a]) as f32)),
        );
        if triangles.len() + mesh.indices.len() / 3 > MAX_ELEMENTS {
            return Err(too_many("faces", triangles.len() + mesh.indices.len() / 3));
        }
        triangles.extend(
            mesh.indices
                .chunks_exact(3)
                .map(|t| [0, 1, 2].map(|a| t[a].saturating_add(base as u32))),
        );
    }
    // tobj's numbering is not the file's: on error, find the file line.
    build_mesh(vertices, triangles, |_| {
        obj_bad_vertex_line(path).unwrap_or_else(|| "a vertex".into())
    })
    .map(Shape::Mesh)
}

/// Checks every index of the OBJ's `f` and `l` lines before tobj reads
/// them: tobj resolves them with unchecked arithmetic, so a relative index
/// reaching before the first element, a zero, or an absolute index near
/// 2⁶⁴/3 would wrap around to some other element instead of failing.
/// Each index must be nonzero, an absolute one at most [`MAX_ELEMENTS`], a
/// relative one within the elements of its kind (`v`, `vt`, `vn`) defined
/// above it. Words that are not integers are left to tobj, which refuses
/// them.
fn check_obj_indices(file: &std::fs::File) -> Result<(), Fail> {
    const KINDS: [&str; 3] = ["vertex", "texture coordinate", "normal"];
    let mut counts = [0u64; 3];
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    for n in 0.. {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Fail::Input(format!("cannot read the OBJ file: {e}")))?;
        if read == 0 {
            break;
        }
        let mut words = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty());
        match words.next() {
            Some(b"v") => counts[0] += 1,
            Some(b"vt") => counts[1] += 1,
            Some(b"vn") => counts[2] += 1,
            Some(b"f") | Some(b"l") => {
                for word in words {
                    for (k, field) in word.split(|&b| b == b'/').enumerate().take(3) {
                        let Some(i) = std::str::from_utf8(field)
                            .ok()
                            .and_then(|t| t.parse::<i64>().ok())
                        else {
                            continue;
                        };
                        let within = match i {
                            0 => false,
                            1.. => i as u64 <= MAX_ELEMENTS as u64,
                            _ => i.unsigned_abs() <= counts[k],
                        };
                        if !within {
                            return Err(Fail::Input(format!(
                                "line {}: {} index {i} refers to no {} ({} defined above it)",
                                n + 1,
                                KINDS[k],
                                KINDS[k],
                                counts[k]
                            )));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Finds the first `v` line with a non-finite coordinate: "vertex 17 (line 20)".
fn obj_bad_vertex_line(path: &Path) -> Option<String> {
    let reader = BufReader::new(std::fs::File::open(path).ok()?);
    let mut vertex = 0usize;
    for (n, line) in reader.split(b'\n').enumerate() {
        let line = line.ok()?;
        let text = String::from_utf8_lossy(&line);
        let mut words = text.split_whitespace();
        if words.next() != Some("v") {
            continue;
        }
        vertex += 1;
        if words
            .take(3)
            .any(|w| w.parse::<f64>().map(|v| !v.is_finite()).unwrap_or(false))
        {
            return Some(format!("vertex {vertex} (line {})", n + 1));
        }
    }
    None
}

fn read_stl(_path: &Path, mut file: std::fs::File) -> Result<Shape, Fail> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Fail::Input(format!("cannot read the file: {e}")))?;
    let len = bytes.len() as u64;
    let binary_size = bytes
        .get(80..84)
        .map(|c| 84 + 50 * u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    if binary_size == Some(len) {
        // Many binary writers start the 80-byte header with "solid" too,
        // which would send stl_io down its ascii path: blank the header
        // (it carries nothing) so the size, not the text, decides.
        bytes[..80].fill(0);
    } else if bytes.starts_with(b"solid") {
        // stl_io insists on "solid " with a space; a bare "solid" line is
        // valid too.
        if bytes.get(5).is_some_and(|c| *c == b'\n' || *c == b'\r') {
            bytes.insert(5, b' ');
        }
    } else if let Some(size) = binary_size {
        return Err(Fail::Input(format!(
            "not an STL file: neither ascii (\"solid …\") nor binary ({len} bytes where \
             its triangle count implies {size})"
        )));
    } else {
        return Err(Fail::Input(
            "not an STL file: too short for a binary STL and not ascii".into(),
        ));
    }
    let mut cursor = std::io::Cursor::new(bytes);
    let reader = stl_io::create_stl_reader(&mut cursor).map_err(|e| {
        Fail::Input(format!(
            "cannot read the STL file: {}",
            one_line(&e.to_string())
        ))
    })?;
    // Shared corners are stored once per triangle: weld identical positions
    // (by bit pattern, with −0 = +0) to get an indexed mesh.
    let mut index: HashMap<[u32; 3], u32> = HashMap::new();
    let mut vertices: Vec<[f32; 3]> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    for (t, tri) in reader.enumerate() {
        let tri = tri.map_err(|e| {
            Fail::Input(format!(
                "cannot read triangle {t} of the STL file: {}",
                one_line(&e.to_string())
            ))
        })?;
        if t >= MAX_ELEMENTS {
            return Err(too_many("faces", t + 1));
        }
        let mut face = [0u32; 3];
        for (k, v) in tri.vertices.iter().enumerate() {
            let p = v.0;
            if let Some(c) = p.iter().find(|c| !c.is_finite()) {
                return Err(Fail::Input(format!(
                    "{} in triangle {t}",
                    non_finite(f64::from(*c))
                )));
            }
            let key = p.map(|c| (c + 0.0).to_bits());
            let next = vertices.len() as u32;
            face[k] = *index.entry(key).or_insert_with(|| {
                vertices.push(p);
                next
            });
        }
        triangles.push(face);
    }
    build_mesh(vertices, triangles, |i| format!("vertex {i}")).map(Shape::Mesh)
}

// ---------------------------------------------------------------- PLY

/// One PLY vertex: position and, when the file has them, normal.
#[derive(Default)]
struct PlyVertex {
    p: [f64; 3],
    n: [f64; 3],
}

impl ply_rs_bw::ply::PropertyAccess for PlyVertex {
    fn new() -> Self {
        Self::default()
    }
    fn set_property(
        &mut self,
        name: &str,
        property: ply_rs_bw::ply::Property,
    ) -> ply_rs_bw::ply::PropertyAccessResult {
        use ply_rs_bw::ply::Property as P;
        let v = match property {
            P::Char(v) => f64::from(v),
            P::UChar(v) => f64::from(v),
            P::Short(v) => f64::from(v),
            P::UShort(v) => f64::from(v),
            P::Int(v) => f64::from(v),
            P::UInt(v) => f64::from(v),
            P::Float(v) => f64::from(v),
            P::Double(v) => v,
            _ => return ply_rs_bw::ply::PropertyAccessResult::Ignored,
        };
        match name {
            "x" => self.p[0] = v,
            "y" => self.p[1] = v,
            "z" => self.p[2] = v,
            "nx" => self.n[0] = v,
            "ny" => self.n[1] = v,
            "nz" => self.n[2] = v,
            _ => return ply_rs_bw::ply::PropertyAccessResult::Ignored,
        }
        ply_rs_bw::ply::PropertyAccessResult::Set
    }
}

/// One PLY face: its corner indices (`None` when one is negative).
#[derive(Default)]
struct PlyFace {
    corners: Option<Vec<u32>>,
}

impl ply_rs_bw::ply::PropertyAccess for PlyFace {
    fn new() -> Self {
        Self {
            corners: Some(Vec::new()),
        }
    }
    fn set_property(
        &mut self,
        name: &str,
        property: ply_rs_bw::ply::Property,
    ) -> ply_rs_bw::ply::PropertyAccessResult {
        if name != "vertex_indices" && name != "vertex_index" {
            return ply_rs_bw::ply::PropertyAccessResult::Ignored;
        }
        self.corners = property.to_u32_list();
        ply_rs_bw::ply::PropertyAccessResult::Set
    }
}

/// An element we do not need: read past it.
struct PlySkip;

impl ply_rs_bw::ply::PropertyAccess for PlySkip {
    fn new() -> Self {
        PlySkip
    }
}

/// Reads the `count` elements of one PLY element type, one at a time, so
/// that memory holds only what `each` keeps.
fn read_ply_elements<E: ply_rs_bw::ply::PropertyAccess, R: BufRead>(
    reader: &mut R,
    header: &ply_rs_bw::ply::Header,
    def: &ply_rs_bw::ply::ElementDef,
    mut each: impl FnMut(usize, E) -> Result<(), Fail>,
) -> Result<(), Fail> {
    use ply_rs_bw::ply::Encoding;
    let parser = ply_rs_bw::parser::Parser::<E>::new();
    let mut line = String::new();
    for i in 0..def.count {
        let element = match header.encoding {
            Encoding::Ascii => {
                line.clear();
                let n = reader
                    .read_line(&mut line)
                    .map_err(|e| Fail::Input(format!("cannot read {} {i}: {e}", def.name)))?;
                if n == 0 {
                    return Err(Fail::Input(format!(
                        "the file ends at {} {i} of {}",
                        def.name, def.count
                    )));
                }
                parser.read_ascii_element(&line, def)
            }
            Encoding::BinaryLittleEndian => parser.read_little_endian_element(reader, def),
            Encoding::BinaryBigEndian => parser.read_big_endian_element(reader, def),
        };
        let element = element.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Fail::Input(format!(
                    "the file ends at {} {i} of {}",
                    def.name, def.count
                ))
            } else {
                Fail::Input(format!(
                    "cannot read {} {i}: {}",
                    def.name,
                    one_line(&e.to_string())
                ))
            }
        })?;
        each(i, element)?;
    }
    Ok(())
}

fn read_ply(_path: &Path, file: std::fs::File) -> Result<Shape, Fail> {
    use ply_rs_bw::ply::PropertyType;
    let mut reader = ply_rs_bw::parser::Reader::new(BufReader::new(file));
    let header = ply_rs_bw::parser::Parser::<PlySkip>::new()
        .read_header(&mut reader)
        .map_err(|e| {
            Fail::Input(format!(
                "not a valid PLY file: {}",
                one_line(&e.to_string())
            ))
        })?;
    let vertex_def = header
        .elements
        .get("vertex")
        .ok_or_else(|| Fail::Input("the PLY file has no vertex element".into()))?;
    let scalar = |name: &str| {
        matches!(
            vertex_def.properties.get(name).map(|p| &p.data_type),
            Some(PropertyType::Scalar(_))
        )
    };
    if !["x", "y", "z"].iter().all(|n| scalar(n)) {
        return Err(Fail::Input(
            "the PLY vertices lack scalar x, y, z properties".into(),
        ));
    }
    let has_normals = ["nx", "ny", "nz"].iter().all(|n| scalar(n));
    if vertex_def.count > MAX_ELEMENTS {
        return Err(too_many("vertices", vertex_def.count));
    }
    let face_def = header.elements.get("face").filter(|f| f.count > 0);
    if let Some(face_def) = face_def {
        if face_def.count > MAX_ELEMENTS {
            return Err(too_many("faces", face_def.count));
        }
        let is_list = |name: &str| {
            matches!(
                face_def.properties.get(name).map(|p| &p.data_type),
                Some(PropertyType::List(..))
            )
        };
        if !is_list("vertex_indices") && !is_list("vertex_index") {
            return Err(Fail::Input(
                "the PLY faces lack a vertex_indices (or vertex_index) list".into(),
            ));
        }
    } else if !has_normals {
        return Err(Fail::Input(
            "the PLY file has no faces and no normals (nx, ny, nz): neither a mesh nor an \
             oriented point cloud"
                .into(),
        ));
    }

    let mut positions: Vec<[f64; 3]> = Vec::new();
    let mut normals: Vec<[f64; 3]> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    let (mut got_vertices, mut got_faces) = (false, false);
    let body = reader.get_mut();
    for (name, def) in &header.elements {
        if got_vertices && (got_faces || face_def.is_none()) {
            break; // Later elements (edges, materials…) are of no use.
        }
        match name.as_str() {
            "vertex" => {
                positions.reserve(def.count.min(1 << 20));
                read_ply_elements::<PlyVertex, _>(body, &header, def, |_, v| {
                    positions.push(v.p);
                    if has_normals {
                        normals.push(v.n);
                    }
                    Ok(())
                })?;
                got_vertices = true;
            }
            "face" => {
                read_ply_elements::<PlyFace, _>(body, &header, def, |i, f| {
                    let Some(corners) = f.corners else {
                        return Err(Fail::Input(format!("face {i} has a negative vertex index")));
                    };
                    push_fan(&corners, &mut triangles);
                    if triangles.len() > MAX_ELEMENTS {
                        return Err(too_many("triangles", triangles.len()));
                    }
                    Ok(())
                })?;
                got_faces = true;
            }
            _ => read_ply_elements::<PlySkip, _>(body, &header, def, |_, _| Ok(()))?,
        }
    }

    if face_def.is_some() {
        let vertices: Vec<[f32; 3]> = positions
            .iter()
            // A double too large for f32 becomes infinite here and is
            // reported as such by build_mesh.
            .map(|p| p.map(|c| c as f32))
            .collect();
        let name = |i: usize| format!("vertex {i} (counting from 0)");
        return build_mesh(vertices, triangles, name).map(Shape::Mesh);
    }
    let mut cloud = CloudBuilder::default();
    for (i, (p, n)) in positions.iter().zip(&normals).enumerate() {
        cloud
            .push(*p, *n)
            .map_err(|m| Fail::Input(format!("{m} at vertex {i} (counting from 0)")))?;
    }
    cloud.finish().map(Shape::Points)
}

// ---------------------------------------------------------------- clouds

/// Collects oriented points: checks them, normalises the normals and drops
/// points whose normal is zero.
#[derive(Default)]
struct CloudBuilder {
    cloud: PointCloud,
    read: usize,
}

impl CloudBuilder {
    fn push(&mut self, p: [f64; 3], n: [f64; 3]) -> Result<(), String> {
        self.read += 1;
        let p32 = p.map(|c| c as f32);
        if let Some(c) = p32.iter().find(|c| !c.is_finite()) {
            return Err(non_finite(f64::from(*c)).to_string());
        }
        if let Some(c) = n.iter().find(|c| !c.is_finite()) {
            return Err(if c.is_nan() {
                "NaN normal".into()
            } else {
                "infinite normal".into()
            });
        }
        // Scale first so that huge components cannot overflow the square.
        let big = n.iter().fold(0.0f64, |m, c| m.max(c.abs()));
        if big == 0.0 {
            return Ok(()); // No orientation: drop the point (documented).
        }
        let s = n.map(|c| c / big);
        let len = (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt();
        self.cloud.points.push(p32);
        self.cloud.normals.push(s.map(|c| (c / len) as f32));
        Ok(())
    }

    fn finish(self) -> Result<PointCloud, Fail> {
        if self.read == 0 {
            return Err(Fail::Input("the point cloud is empty".into()));
        }
        if self.cloud.points.is_empty() {
            return Err(Fail::Input(format!(
                "all {} points of the cloud have a zero normal",
                self.read
            )));
        }
        Ok(self.cloud)
    }
}

fn read_xyz(_path: &Path, file: std::fs::File) -> Result<Shape, Fail> {
    let reader = BufReader::new(file);
    let mut cloud = CloudBuilder::default();
    for (n, line) in reader.split(b'\n').enumerate() {
        let line_no = n + 1;
        let line = line.map_err(|e| Fail::Input(format!("cannot read line {line_no}: {e}")))?;
        let text = std::str::from_utf8(&line)
            .map_err(|_| Fail::Input(format!("line {line_no} is not text")))?;
        // Everything from '#' on is a comment.
        let text = text.split('#').next().unwrap_or("");
        let mut values = [0f64; 6];
        let mut count = 0;
        for word in text.split_ascii_whitespace() {
            if count < 6 {
                values[count] = word.parse().map_err(|_| {
                    Fail::Input(format!("line {line_no}: '{word}' is not a number"))
                })?;
            }
            count += 1;
        }
        if count == 0 {
            continue;
        }
        if count != 6 {
            return Err(Fail::Input(format!(
                "line {line_no}: expected 6 numbers (x y z nx ny nz), found {count}"
            )));
        }
        if cloud.read >= MAX_ELEMENTS {
            return Err(too_many("points", cloud.read + 1));
        }
        let [x, y, z, nx, ny, nz] = values;
        cloud
            .push([x, y, z], [nx, ny, nz])
            .map_err(|m| Fail::Input(format!("line {line_no}: {m}")))?;
    }
    cloud.finish().map(Shape::Points)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit cube as 8 vertices and 6 quads (counter-clockwise from outside).
    const CUBE_V: [[f32; 3]; 8] = [
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 1.0],
        [1.0, 1.0, 1.0],
        [0.0, 1.0, 1.0],
    ];
    const CUBE_Q: [[u32; 4]; 6] = [
        [0, 3, 2, 1],
        [4, 5, 6, 7],
        [0, 1, 5, 4],
        [2, 3, 7, 6],
        [1, 2, 6, 5],
        [0, 4, 7, 3],
    ];

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn mesh(shape: Shape) -> TriMesh {
        match shape {
            Shape::Mesh(m) => m,
            Shape::Points(_) => panic!("expected a mesh"),
        }
    }

    fn cloud(shape: Shape) -> PointCloud {
        match shape {
            Shape::Points(c) => c,
            Shape::Mesh(_) => panic!("expected a point cloud"),
        }
    }

    /// The error message of a failed load, which must be an Input error.
    fn input_error(path: &Path) -> String {
        match load_shape(path) {
            Err(Error::Input(m)) => m,
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    fn cube_obj() -> String {
        let mut s = String::from("# cube\nmtllib missing.mtl\no cube\n");
        for v in CUBE_V {
            s += &format!("v {} {} {}\n", v[0], v[1], v[2]);
        }
        s += "usemtl nothing\n";
        for q in CUBE_Q {
            s += &format!("f {} {} {} {}\n", q[0] + 1, q[1] + 1, q[2] + 1, q[3] + 1);
        }
        s
    }

    /// The cube's area per unit normal direction must be 1 on each of the 6 sides.
    fn check_cube(m: &TriMesh) {
        assert_eq!((m.vertices.len(), m.faces.len()), (8, 12));
        let mut area = HashMap::new();
        for f in &m.faces {
            let [a, b, c] = f.map(|i| m.vertices[i as usize].map(f64::from));
            let u = [0, 1, 2].map(|k| b[k] - a[k]);
            let v = [0, 1, 2].map(|k| c[k] - a[k]);
            let n = [
                u[1] * v[2] - u[2] * v[1],
                u[2] * v[0] - u[0] * v[2],
                u[0] * v[1] - u[1] * v[0],
            ];
            // The outward normal points away from the centre.
            let centre = [0, 1, 2].map(|k| (a[k] + b[k] + c[k]) / 3.0 - 0.5);
            assert!(n[0] * centre[0] + n[1] * centre[1] + n[2] * centre[2] > 0.0);
            *area
                .entry(n.map(|c| c.signum() as i32 * (c.abs() > 0.0) as i32))
                .or_insert(0.0) += 0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        }
        assert_eq!(area.len(), 6);
        assert!(area.values().all(|a| (a - 1.0).abs() < 1e-9), "{area:?}");
    }

    #[test]
    fn obj_quads_are_triangulated_and_objects_merged() {
        let dir = tempfile::tempdir().unwrap();
        let m = mesh(load_shape(&write(dir.path(), "cube.OBJ", cube_obj().as_bytes())).unwrap());
        check_cube(&m);

        // Two objects sharing the vertex list; an unused vertex is dropped.
        let text =
            "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nv 9 9 9\no a\nf 1 3 2\no b\nf 1 2 4\nf -5 -2 -4\n";
        let m = mesh(load_shape(&write(dir.path(), "two.obj", text.as_bytes())).unwrap());
        assert_eq!(m.faces.len(), 3);
        assert!(m.vertices.iter().all(|v| v[0] < 2.0));
        // The merged objects refer to the right positions.
        let corners = |f: [u32; 3]| f.map(|i| m.vertices[i as usize]);
        assert_eq!(
            corners(m.faces[0]),
            [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
        );
        assert_eq!(
            corners(m.faces[2]),
            [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
        );
    }

    fn ply_header(
        format: &str,
        vertices: usize,
        vertex_props: &str,
        faces: Option<usize>,
    ) -> String {
        let mut s = format!("ply\nformat {format} 1.0\ncomment test\nelement vertex {vertices}\n");
        s += vertex_props;
        if let Some(f) = faces {
            s += &format!("element face {f}\nproperty list uchar int vertex_indices\n");
        }
        s += "end_header\n";
        s
    }

    #[test]
    fn ply_ascii_and_binary_meshes() {
        let dir = tempfile::tempdir().unwrap();
        // ascii, float coordinates, quads.
        let props = "property float x\nproperty float y\nproperty float z\nproperty uchar red\n";
        let mut s = ply_header("ascii", 8, props, Some(6));
        for v in CUBE_V {
            s += &format!("{} {} {} 7\n", v[0], v[1], v[2]);
        }
        for q in CUBE_Q {
            s += &format!("4 {} {} {} {}\n", q[0], q[1], q[2], q[3]);
        }
        s += "\n";
        check_cube(&mesh(
            load_shape(&write(dir.path(), "a.ply", s.as_bytes())).unwrap(),
        ));

        // binary both endians, double coordinates, an extra element after.
        for (format, big) in [("binary_little_endian", false), ("binary_big_endian", true)] {
            let props = "property double x\nproperty double y\nproperty double z\n";
            let mut b = ply_header(format, 8, props, Some(6)).into_bytes();
            b.truncate(b.len() - "end_header\n".len());
            b.extend_from_slice(b"element edge 1\nproperty int a\nend_header\n");
            let f64b = |v: f64| {
                if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }
            };
            let i32b = |v: i32| {
                if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }
            };
            for v in CUBE_V {
                for c in v {
                    b.extend_from_slice(&f64b(f64::from(c)));
                }
            }
            for q in CUBE_Q {
                b.push(4);
                for i in q {
                    b.extend_from_slice(&i32b(i as i32));
                }
            }
            b.extend_from_slice(&i32b(5));
            let m = mesh(load_shape(&write(dir.path(), "b.ply", &b)).unwrap());
            check_cube(&m);
        }
    }

    #[test]
    fn ply_written_by_ply_rs_is_read_back() {
        use ply_rs_bw::ply::{
            Addable, DefaultElement, ElementDef, Encoding, Ply, Property, PropertyDef,
            PropertyType, ScalarType,
        };
        let dir = tempfile::tempdir().unwrap();
        for encoding in [Encoding::Ascii, Encoding::BinaryLittleEndian] {
            let mut ply = Ply::<DefaultElement>::new();
            ply.header.encoding = encoding;
            let mut v = ElementDef::new("vertex".into());
            for p in ["x", "y", "z"] {
                v.properties.add(PropertyDef::new(
                    p.into(),
                    PropertyType::Scalar(ScalarType::Float),
                ));
            }
            ply.header.elements.add(v);
            let mut f = ElementDef::new("face".into());
            f.properties.add(PropertyDef::new(
                "vertex_index".into(),
                PropertyType::List(ScalarType::UChar, ScalarType::UInt),
            ));
            ply.header.elements.add(f);
            let verts = CUBE_V
                .iter()
                .map(|p| {
                    let mut e = DefaultElement::new();
                    for (k, name) in ["x", "y", "z"].iter().enumerate() {
                        e.insert(name.to_string(), Property::Float(p[k]));
                    }
                    e
                })
                .collect();
            ply.payload.insert("vertex".into(), verts);
            let faces = CUBE_Q
                .iter()
                .map(|q| {
                    let mut e = DefaultElement::new();
                    e.insert("vertex_index".into(), Property::ListUInt(q.to_vec()));
                    e
                })
                .collect();
            ply.payload.insert("face".into(), faces);
            let mut bytes = Vec::new();
            ply_rs_bw::writer::Writer::new()
                .write_ply(&mut bytes, &mut ply)
                .unwrap();
            check_cube(&mesh(
                load_shape(&write(dir.path(), "w.ply", &bytes)).unwrap(),
            ));
        }
    }

    #[test]
    fn ply_point_cloud_with_normals() {
        let dir = tempfile::tempdir().unwrap();
        let props = "property float x\nproperty float y\nproperty float z\n\
                     property float nx\nproperty float ny\nproperty float nz\n";
        let s = ply_header("ascii", 3, props, Some(0)) + "0 0 0 0 0 2\n1 0 0 0 0 0\n0 1 0 3 4 0\n";
        let c = cloud(load_shape(&write(dir.path(), "c.ply", s.as_bytes())).unwrap());
        // The point with a zero normal is dropped; normals are unit.
        assert_eq!(c.points, vec![[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        assert_eq!(c.normals, vec![[0.0, 0.0, 1.0], [0.6, 0.8, 0.0]]);
    }

    fn stl_triangles() -> Vec<stl_io::Triangle> {
        let mut out = Vec::new();
        for q in CUBE_Q {
            for t in [[q[0], q[1], q[2]], [q[0], q[2], q[3]]] {
                out.push(stl_io::Triangle {
                    normal: stl_io::Normal::new([0.0; 3]),
                    vertices: t.map(|i| stl_io::Vertex::new(CUBE_V[i as usize])),
                });
            }
        }
        out
    }

    #[test]
    fn stl_binary_and_ascii() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Vec::new();
        stl_io::write_stl(&mut b, stl_triangles().iter()).unwrap();
        check_cube(&mesh(load_shape(&write(dir.path(), "b.stl", &b)).unwrap()));
        // A binary file whose header starts with "solid" is still binary.
        b[..11].copy_from_slice(b"solid cube ");
        check_cube(&mesh(load_shape(&write(dir.path(), "s.STL", &b)).unwrap()));

        for first in ["solid cube\n", "solid\n"] {
            let mut a = String::from(first);
            for t in stl_triangles() {
                a += "facet normal 0 0 0\n outer loop\n";
                for v in t.vertices {
                    a += &format!("  vertex {} {} {}\n", v.0[0], v.0[1], v.0[2]);
                }
                a += " endloop\nendfacet\n";
            }
            a += "endsolid cube\n";
            check_cube(&mesh(
                load_shape(&write(dir.path(), "a.stl", a.as_bytes())).unwrap(),
            ));
        }
    }

    #[test]
    fn xyz_point_cloud() {
        let dir = tempfile::tempdir().unwrap();
        let text = "# x y z nx ny nz\n\n0 0 0 0 0 1\n  1 2 3 0 -2 0 # comment\r\n1 1 1 0 0 0\n";
        let c = cloud(load_shape(&write(dir.path(), "p.xyz", text.as_bytes())).unwrap());
        assert_eq!(c.points, vec![[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]);
        assert_eq!(c.normals, vec![[0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]);
    }

    #[test]
    fn errors_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        match load_shape(&d.join("missing.obj")) {
            Err(Error::Io { path, .. }) => assert!(path.unwrap().ends_with("missing.obj")),
            other => panic!("{other:?}"),
        }
        // ply-rs cannot spell NaN in ascii: a binary file carries it.
        let mut nan_ply = ply_header(
            "binary_little_endian",
            3,
            "property float x\nproperty float y\nproperty float z\n",
            Some(1),
        )
        .into_bytes();
        for c in [0.0, 0.0, 0.0, 1.0, f32::NAN, 0.0, 0.0, 1.0, 0.0] {
            nan_ply.extend_from_slice(&f32::to_le_bytes(c));
        }
        nan_ply.push(3);
        for i in [0i32, 1, 2] {
            nan_ply.extend_from_slice(&i.to_le_bytes());
        }
        let cases: Vec<(std::path::PathBuf, &str)> = vec![
            (write(d, "x.off", b"OFF"), "unknown extension '.off'"),
            (write(d, "noext", b""), "no extension"),
            (
                write(d, "bunny.obj", b"v 0 0 0\nv 1 0 0\n"),
                "bunny.obj: the mesh has no faces",
            ),
            (write(d, "empty.obj", b""), "the mesh has no faces"),
            (
                write(d, "range.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n"),
                "cannot read the OBJ",
            ),
            (
                write(d, "nan.obj", b"v 0 0 0\nv 1 0 0\n# c\nv 0 NaN 0\nf 1 2 3\n"),
                "NaN coordinate at vertex 3 (line 4)",
            ),
            (
                write(d, "inf.obj", b"v 0 0 0\nv 1 0 inf\nv 0 1 0\nf 1 2 3\n"),
                "infinite coordinate at vertex 2 (line 2)",
            ),
            (
                write(d, "flat.obj", b"v 1 1 1\nv 1 1 1\nv 1 1 1\nf 1 2 3\n"),
                "zero extent",
            ),
            (
                write(d, "bin.obj", &[0xff, 0xfe, 0x00, 0x80, 0x0a]),
                "cannot read the OBJ",
            ),
            (
                write(
                    d,
                    "range.ply",
                    (ply_header(
                        "ascii",
                        3,
                        "property float x\nproperty float y\nproperty float z\n",
                        Some(1),
                    ) + "0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n")
                        .as_bytes(),
                ),
                "face 0 refers to vertex 3 but there are only 3 vertices",
            ),
            (
                write(
                    d,
                    "neg.ply",
                    (ply_header(
                        "ascii",
                        3,
                        "property float x\nproperty float y\nproperty float z\n",
                        Some(1),
                    ) + "0 0 0\n1 0 0\n0 1 0\n3 0 -1 2\n")
                        .as_bytes(),
                ),
                "face 0 has a negative vertex index",
            ),
            (
                write(d, "nan.ply", &nan_ply),
                "NaN coordinate at vertex 1 (counting from 0)",
            ),
            (
                write(
                    d,
                    "nofaces.ply",
                    (ply_header(
                        "ascii",
                        1,
                        "property float x\nproperty float y\nproperty float z\n",
                        None,
                    ) + "0 0 0\n")
                        .as_bytes(),
                ),
                "no faces and no normals",
            ),
            (
                write(
                    d,
                    "short.ply",
                    (ply_header(
                        "ascii",
                        3,
                        "property float x\nproperty float y\nproperty float z\n",
                        Some(1),
                    ) + "0 0 0\n1 0 0\n")
                        .as_bytes(),
                ),
                "the file ends at vertex 2 of 3",
            ),
            (
                write(
                    d,
                    "shortbin.ply",
                    (ply_header(
                        "binary_little_endian",
                        3,
                        "property float x\nproperty float y\nproperty float z\n",
                        Some(1),
                    ) + "\0\0\0\0")
                        .as_bytes(),
                ),
                "the file ends at vertex 0 of 3",
            ),
            (
                write(
                    d,
                    "huge.ply",
                    ply_header(
                        "binary_little_endian",
                        1 << 30,
                        "property float x\nproperty float y\nproperty float z\n",
                        Some(1),
                    )
                    .as_bytes(),
                ),
                "LIMIT",
            ),
            (
                write(d, "junk.ply", b"PK\x03\x04 zip"),
                "not a valid PLY file",
            ),
            (write(d, "junk.stl", b"hello"), "not an STL file"),
            (write(d, "junk2.stl", &[7u8; 200]), "not an STL file"),
            (
                write(
                    d,
                    "bad.stl",
                    b"solid x\nfacet normal 0 0 0\nouter loop\nvertex 0 0\n",
                ),
                "cannot read triangle 0",
            ),
            (
                write(d, "empty.xyz", b"# nothing\n\n"),
                "the point cloud is empty",
            ),
            (
                write(d, "count.xyz", b"0 0 0 0 0 1\n1 2 3 4 5\n"),
                "line 2: expected 6 numbers",
            ),
            (
                write(d, "word.xyz", b"0 0 0 0 0 x\n"),
                "line 1: 'x' is not a number",
            ),
            (
                write(d, "nan.xyz", b"0 0 0 0 0 1\nnan 0 0 0 0 1\n"),
                "line 2: NaN coordinate",
            ),
            (
                write(d, "zero.xyz", b"0 0 0 0 0 0\n1 1 1 0 0 0\n"),
                "zero normal",
            ),
            (write(d, "one.xyz", b"1 1 1 0 0 1\n"), "zero extent"),
        ];
        for (path, expected) in cases {
            let result = load_shape(&path);
            let message = match &result {
                Err(Error::LimitsExceeded(m)) if expected == "LIMIT" => {
                    assert_eq!(m.limit, crate::Limit::Input, "{m}");
                    assert!(m.value > m.max, "{m}");
                    continue;
                }
                Err(Error::Input(m)) => m.clone(),
                other => panic!(
                    "{}: expected an error with '{expected}', got {other:?}",
                    path.display()
                ),
            };
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
            assert!(!message.contains('\n'), "{message:?}");
            assert!(
                message.starts_with(&path.display().to_string()),
                "{message:?}"
            );
        }
        // A zero-area mesh with extent is a mesh (sampling rejects it later).
        let path = write(d, "line.obj", b"v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n");
        assert_eq!(mesh(load_shape(&path).unwrap()).faces.len(), 1);
        let _ = input_error(&write(d, "x.obj", b"f 1 2 3\n"));
    }

    #[test]
    fn oversized_file_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.xyz");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_INPUT_BYTES + 1).unwrap(); // sparse: no disk used
        assert!(matches!(load_shape(&path), Err(Error::LimitsExceeded(_))));
    }

    #[test]
    fn normalise_fits_the_box_and_maps_back() {
        let shape = Shape::Mesh(TriMesh {
            vertices: vec![[1.0, 2.0, 3.0], [5.0, 2.0, 3.0], [1.0, 4.0, 4.0]],
            faces: vec![[0, 1, 2]],
        });
        let (n, map) = normalise(&shape).unwrap();
        assert_eq!(map.centre, [3.0, 3.0, 3.5]);
        assert!((map.scale - 4.0 / 0.9).abs() < 1e-12);
        let m = mesh(n);
        assert_eq!(m.faces, vec![[0, 1, 2]]);
        let expected = [
            [-0.45, -0.225, -0.1125],
            [0.45, -0.225, -0.1125],
            [-0.45, 0.225, 0.1125],
        ];
        for (v, e) in m.vertices.iter().zip(expected) {
            for a in 0..3 {
                assert!((v[a] - e[a]).abs() < 1e-6, "{v:?} vs {e:?}");
            }
        }
        let back: Vec<[f64; 3]> = m
            .vertices
            .iter()
            .map(|v| [0, 1, 2].map(|a| map.centre[a] + map.scale * f64::from(v[a])))
            .collect();
        for (b, o) in back
            .iter()
            .zip(&[[1.0, 2.0, 3.0], [5.0, 2.0, 3.0], [1.0, 4.0, 4.0]])
        {
            for a in 0..3 {
                assert!((b[a] - o[a]).abs() < 1e-5);
            }
        }

        let cloud = Shape::Points(PointCloud {
            points: vec![[0.0, 0.0, 0.0], [0.0, 0.0, 2.0]],
            normals: vec![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        });
        let (n, _) = normalise(&cloud).unwrap();
        let c = super::tests::cloud(n);
        assert_eq!(c.points, vec![[0.0, 0.0, -0.45], [0.0, 0.0, 0.45]]);
        assert_eq!(c.normals, vec![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);

        let flat = Shape::Points(PointCloud {
            points: vec![[1.0; 3]; 3],
            normals: vec![[1.0, 0.0, 0.0]; 3],
        });
        assert!(matches!(normalise(&flat), Err(Error::Input(m)) if m.contains("zero extent")));
        let empty = Shape::Mesh(TriMesh::default());
        assert!(matches!(normalise(&empty), Err(Error::Input(_))));
    }

    /// By hand, on the real meshes (absent in CI), from `$SCONE_DATA/meshes`
    /// (default: `../shared/data/meshes` beside the crate):
    /// `cargo test --release --lib mesh::load::tests::real_meshes -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn real_meshes() {
        use crate::mesh::metrics::grid_points;
        use crate::mesh::surface::{SurfaceSdf, sample_surface};
        use rayon::prelude::*;
        use std::time::Instant;
        println!("{} rayon threads", rayon::current_num_threads());
        for name in ["bunny", "armadillo", "dragon"] {
            let data = std::env::var_os("SCONE_DATA").map_or_else(
                || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
                std::path::PathBuf::from,
            );
            let path = data.join("meshes").join(format!("{name}.obj"));
            if !path.exists() {
                eprintln!("{}: missing, skipped", path.display());
                continue;
            }
            let t = Instant::now();
            let shape = load_shape(&path).unwrap();
            let load_s = t.elapsed().as_secs_f64();
            let (shape, map) = normalise(&shape).unwrap();
            let m = mesh(shape);
            println!(
                "{name}: {} vertices, {} faces, load {:.3} s, scale {:.4}",
                m.vertices.len(),
                m.faces.len(),
                load_s,
                map.scale
            );
            let t = Instant::now();
            let cloud = sample_surface(&m, 1_000_000, 1).unwrap();
            let sample_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let sdf = SurfaceSdf::new(cloud).unwrap();
            let build_s = t.elapsed().as_secs_f64();
            let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
            let (mut q, mut l) = (Vec::new(), Vec::new());
            let t = Instant::now();
            sdf.sample_batch(&mut rng, 27_000, &mut q, &mut l);
            let batch_s = t.elapsed().as_secs_f64();
            // For the record: kiddo's k-d tree on the same points and
            // queries (3 nearest only, no labels).
            let kd: kiddo::ImmutableKdTree<f32, 3> =
                kiddo::ImmutableKdTree::new_from_slice(&sdf.points().points).unwrap();
            let t = Instant::now();
            let k3 = std::num::NonZeroUsize::new(3).unwrap();
            let far: f32 = q
                .par_iter()
                .map(|p| {
                    let r = kd
                        .query(p)
                        .nearest_n::<kiddo::SquaredEuclidean<f32>>(k3)
                        .execute();
                    r[2].distance
                })
                .sum();
            let kiddo_s = t.elapsed().as_secs_f64();
            assert!(far.is_finite());
            let grid = grid_points(128);
            let mut out = Vec::new();
            let t = Instant::now();
            sdf.distances(&grid, &mut out);
            let grid_s = t.elapsed().as_secs_f64();
            let inside = out.iter().filter(|d| **d <= 0.0).count();
            println!(
                "  sample 1e6 {sample_s:.3} s, k-d tree {build_s:.3} s, batch 27000 {batch_s:.4} s \
                 (kiddo 3-NN alone {kiddo_s:.4} s), 128³ grid {grid_s:.3} s ({:.1}% inside)",
                100.0 * inside as f64 / out.len() as f64
            );
        }
    }
}
