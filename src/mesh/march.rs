//! Marching cubes: the level set of a sampled scalar field as an indexed,
//! welded triangle mesh, extracted slice by slice in bounded memory.
//!
//! Written here rather than taken from crates.io: the marching-cubes crates
//! there either emit triangle soups, need the whole grid in memory, or sample
//! the field one point at a time through a callback, while the decoder
//! evaluates a network a whole z-slice at a time at up to 512³ and wants a
//! mesh whose vertices are shared.
//!
//! Conventions (Paul Bourke's, which the tables below assume): the corners of
//! the cube whose lowest corner is grid point (i, j, k) are numbered
//!
//! ```text
//! 0 (i, j, k)      1 (i+1, j, k)      2 (i+1, j+1, k)      3 (i, j+1, k)
//! 4 (i, j, k+1)    5 (i+1, j, k+1)    6 (i+1, j+1, k+1)    7 (i, j+1, k+1)
//! ```
//!
//! and edge e joins the corners `EDGES[e]`. Corner c sets bit c of the case
//! index when its value is below the level ("inside"); a value equal to the
//! level counts as outside, and a NaN makes the whole cube emit nothing.
//!
//! Each vertex lies on a grid edge, at the linear interpolation between the
//! edge's lower and upper end (always in that direction, so that every cube
//! touching the edge computes the same bits). The welded extractor keys
//! vertices by grid edge, so every grid edge that crosses the level gives
//! exactly one vertex, shared by all the cubes around it.

use super::TriMesh;
use crate::Error;

/// Marks an edge whose vertex has not been created yet.
const NONE: u32 = u32::MAX;

/// Corner offsets (x, y, z) in Bourke's numbering.
const CORNERS: [[usize; 3]; 8] = [
    [0, 0, 0],
    [1, 0, 0],
    [1, 1, 0],
    [0, 1, 0],
    [0, 0, 1],
    [1, 0, 1],
    [1, 1, 1],
    [0, 1, 1],
];

/// The two corners each edge joins.
const EDGES: [[usize; 2]; 12] = [
    [0, 1],
    [1, 2],
    [2, 3],
    [3, 0],
    [4, 5],
    [5, 6],
    [6, 7],
    [7, 4],
    [0, 4],
    [1, 5],
    [2, 6],
    [3, 7],
];

/// Per edge: the offset of its lower end within the cube, and its axis.
const EDGE_GEOMETRY: [([usize; 3], usize); 12] = edge_geometry();

const fn edge_geometry() -> [([usize; 3], usize); 12] {
    let mut out = [([0; 3], 0); 12];
    let mut e = 0;
    while e < 12 {
        let a = CORNERS[EDGES[e][0]];
        let b = CORNERS[EDGES[e][1]];
        let mut low = [0; 3];
        let mut axis = 0;
        let mut d = 0;
        while d < 3 {
            low[d] = if a[d] < b[d] { a[d] } else { b[d] };
            if a[d] != b[d] {
                axis = d;
            }
            d += 1;
        }
        out[e] = (low, axis);
        e += 1;
    }
    out
}

/// Classification bits of one sample.
const INSIDE: u8 = 1;
const NAN: u8 = 2;

fn classify(value: f32, level: f32) -> u8 {
    if value < level {
        INSIDE
    } else if value.is_nan() {
        NAN
    } else {
        0
    }
}

/// The case index of a cube from its corners' classification bits, or
/// `None` when the cube emits nothing (all inside, all outside, or a NaN).
#[inline]
fn cube_case(flags: [u8; 8]) -> Option<usize> {
    let mut case = 0;
    let mut any = 0;
    for (c, f) in flags.into_iter().enumerate() {
        case |= ((f & INSIDE) as usize) << c;
        any |= f;
    }
    (case != 0 && case != 255 && any & NAN == 0).then_some(case)
}

/// The point where the level crosses the grid edge from grid point `low`
/// (value `va`) one step along `axis` (value `vb`). Both extractors call
/// this with the same arguments for the same edge, so their vertices agree
/// to the bit.
fn edge_point(
    origin: [f32; 3],
    step: [f32; 3],
    level: f32,
    low: [usize; 3],
    axis: usize,
    va: f32,
    vb: f32,
) -> [f32; 3] {
    // f64 keeps the difference finite for any pair of finite f32 values;
    // opposite infinities give NaN, for which the midpoint is as good as any.
    let t = (level as f64 - va as f64) / (vb as f64 - va as f64);
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    std::array::from_fn(|d| {
        let along = low[d] as f64 + if d == axis { t } else { 0.0 };
        (origin[d] as f64 + step[d] as f64 * along) as f32
    })
}

/// The triangles of each case as edge triples, ended by −1: the classic
/// Lorensen–Cline cases as tabulated by Cory Bloyd and Paul Bourke (public
/// domain), copied from the `mcubes` crate's `tables.rs` (MIT), which uses
/// the numbering above. The table winds triangles so that their normals
/// point towards the inside; the extractors reverse them.
const TRI_TABLE: [[i8; 16]; 256] = [
    [
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    [0, 8, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 8, 3, 9, 8, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 1, 2, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 2, 10, 0, 2, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 8, 3, 2, 10, 8, 10, 9, 8, -1, -1, -1, -1, -1, -1, -1],
    [3, 11, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 11, 2, 8, 11, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 9, 0, 2, 3, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 11, 2, 1, 9, 11, 9, 8, 11, -1, -1, -1, -1, -1, -1, -1],
    [3, 10, 1, 11, 10, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 10, 1, 0, 8, 10, 8, 11, 10, -1, -1, -1, -1, -1, -1, -1],
    [3, 9, 0, 3, 11, 9, 11, 10, 9, -1, -1, -1, -1, -1, -1, -1],
    [9, 8, 10, 10, 8, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 7, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 3, 0, 7, 3, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 9, 8, 4, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 1, 9, 4, 7, 1, 7, 3, 1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 8, 4, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 4, 7, 3, 0, 4, 1, 2, 10, -1, -1, -1, -1, -1, -1, -1],
    [9, 2, 10, 9, 0, 2, 8, 4, 7, -1, -1, -1, -1, -1, -1, -1],
    [2, 10, 9, 2, 9, 7, 2, 7, 3, 7, 9, 4, -1, -1, -1, -1],
    [8, 4, 7, 3, 11, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [11, 4, 7, 11, 2, 4, 2, 0, 4, -1, -1, -1, -1, -1, -1, -1],
    [9, 0, 1, 8, 4, 7, 2, 3, 11, -1, -1, -1, -1, -1, -1, -1],
    [4, 7, 11, 9, 4, 11, 9, 11, 2, 9, 2, 1, -1, -1, -1, -1],
    [3, 10, 1, 3, 11, 10, 7, 8, 4, -1, -1, -1, -1, -1, -1, -1],
    [1, 11, 10, 1, 4, 11, 1, 0, 4, 7, 11, 4, -1, -1, -1, -1],
    [4, 7, 8, 9, 0, 11, 9, 11, 10, 11, 0, 3, -1, -1, -1, -1],
    [4, 7, 11, 4, 11, 9, 9, 11, 10, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 4, 0, 8, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 5, 4, 1, 5, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [8, 5, 4, 8, 3, 5, 3, 1, 5, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 9, 5, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 8, 1, 2, 10, 4, 9, 5, -1, -1, -1, -1, -1, -1, -1],
    [5, 2, 10, 5, 4, 2, 4, 0, 2, -1, -1, -1, -1, -1, -1, -1],
    [2, 10, 5, 3, 2, 5, 3, 5, 4, 3, 4, 8, -1, -1, -1, -1],
    [9, 5, 4, 2, 3, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 11, 2, 0, 8, 11, 4, 9, 5, -1, -1, -1, -1, -1, -1, -1],
    [0, 5, 4, 0, 1, 5, 2, 3, 11, -1, -1, -1, -1, -1, -1, -1],
    [2, 1, 5, 2, 5, 8, 2, 8, 11, 4, 8, 5, -1, -1, -1, -1],
    [10, 3, 11, 10, 1, 3, 9, 5, 4, -1, -1, -1, -1, -1, -1, -1],
    [4, 9, 5, 0, 8, 1, 8, 10, 1, 8, 11, 10, -1, -1, -1, -1],
    [5, 4, 0, 5, 0, 11, 5, 11, 10, 11, 0, 3, -1, -1, -1, -1],
    [5, 4, 8, 5, 8, 10, 10, 8, 11, -1, -1, -1, -1, -1, -1, -1],
    [9, 7, 8, 5, 7, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 3, 0, 9, 5, 3, 5, 7, 3, -1, -1, -1, -1, -1, -1, -1],
    [0, 7, 8, 0, 1, 7, 1, 5, 7, -1, -1, -1, -1, -1, -1, -1],
    [1, 5, 3, 3, 5, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 7, 8, 9, 5, 7, 10, 1, 2, -1, -1, -1, -1, -1, -1, -1],
    [10, 1, 2, 9, 5, 0, 5, 3, 0, 5, 7, 3, -1, -1, -1, -1],
    [8, 0, 2, 8, 2, 5, 8, 5, 7, 10, 5, 2, -1, -1, -1, -1],
    [2, 10, 5, 2, 5, 3, 3, 5, 7, -1, -1, -1, -1, -1, -1, -1],
    [7, 9, 5, 7, 8, 9, 3, 11, 2, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 7, 9, 7, 2, 9, 2, 0, 2, 7, 11, -1, -1, -1, -1],
    [2, 3, 11, 0, 1, 8, 1, 7, 8, 1, 5, 7, -1, -1, -1, -1],
    [11, 2, 1, 11, 1, 7, 7, 1, 5, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 8, 8, 5, 7, 10, 1, 3, 10, 3, 11, -1, -1, -1, -1],
    [5, 7, 0, 5, 0, 9, 7, 11, 0, 1, 0, 10, 11, 10, 0, -1],
    [11, 10, 0, 11, 0, 3, 10, 5, 0, 8, 0, 7, 5, 7, 0, -1],
    [11, 10, 5, 7, 11, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [10, 6, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 5, 10, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 0, 1, 5, 10, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 8, 3, 1, 9, 8, 5, 10, 6, -1, -1, -1, -1, -1, -1, -1],
    [1, 6, 5, 2, 6, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 6, 5, 1, 2, 6, 3, 0, 8, -1, -1, -1, -1, -1, -1, -1],
    [9, 6, 5, 9, 0, 6, 0, 2, 6, -1, -1, -1, -1, -1, -1, -1],
    [5, 9, 8, 5, 8, 2, 5, 2, 6, 3, 2, 8, -1, -1, -1, -1],
    [2, 3, 11, 10, 6, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [11, 0, 8, 11, 2, 0, 10, 6, 5, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 9, 2, 3, 11, 5, 10, 6, -1, -1, -1, -1, -1, -1, -1],
    [5, 10, 6, 1, 9, 2, 9, 11, 2, 9, 8, 11, -1, -1, -1, -1],
    [6, 3, 11, 6, 5, 3, 5, 1, 3, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 11, 0, 11, 5, 0, 5, 1, 5, 11, 6, -1, -1, -1, -1],
    [3, 11, 6, 0, 3, 6, 0, 6, 5, 0, 5, 9, -1, -1, -1, -1],
    [6, 5, 9, 6, 9, 11, 11, 9, 8, -1, -1, -1, -1, -1, -1, -1],
    [5, 10, 6, 4, 7, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 3, 0, 4, 7, 3, 6, 5, 10, -1, -1, -1, -1, -1, -1, -1],
    [1, 9, 0, 5, 10, 6, 8, 4, 7, -1, -1, -1, -1, -1, -1, -1],
    [10, 6, 5, 1, 9, 7, 1, 7, 3, 7, 9, 4, -1, -1, -1, -1],
    [6, 1, 2, 6, 5, 1, 4, 7, 8, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 5, 5, 2, 6, 3, 0, 4, 3, 4, 7, -1, -1, -1, -1],
    [8, 4, 7, 9, 0, 5, 0, 6, 5, 0, 2, 6, -1, -1, -1, -1],
    [7, 3, 9, 7, 9, 4, 3, 2, 9, 5, 9, 6, 2, 6, 9, -1],
    [3, 11, 2, 7, 8, 4, 10, 6, 5, -1, -1, -1, -1, -1, -1, -1],
    [5, 10, 6, 4, 7, 2, 4, 2, 0, 2, 7, 11, -1, -1, -1, -1],
    [0, 1, 9, 4, 7, 8, 2, 3, 11, 5, 10, 6, -1, -1, -1, -1],
    [9, 2, 1, 9, 11, 2, 9, 4, 11, 7, 11, 4, 5, 10, 6, -1],
    [8, 4, 7, 3, 11, 5, 3, 5, 1, 5, 11, 6, -1, -1, -1, -1],
    [5, 1, 11, 5, 11, 6, 1, 0, 11, 7, 11, 4, 0, 4, 11, -1],
    [0, 5, 9, 0, 6, 5, 0, 3, 6, 11, 6, 3, 8, 4, 7, -1],
    [6, 5, 9, 6, 9, 11, 4, 7, 9, 7, 11, 9, -1, -1, -1, -1],
    [10, 4, 9, 6, 4, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 10, 6, 4, 9, 10, 0, 8, 3, -1, -1, -1, -1, -1, -1, -1],
    [10, 0, 1, 10, 6, 0, 6, 4, 0, -1, -1, -1, -1, -1, -1, -1],
    [8, 3, 1, 8, 1, 6, 8, 6, 4, 6, 1, 10, -1, -1, -1, -1],
    [1, 4, 9, 1, 2, 4, 2, 6, 4, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 8, 1, 2, 9, 2, 4, 9, 2, 6, 4, -1, -1, -1, -1],
    [0, 2, 4, 4, 2, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [8, 3, 2, 8, 2, 4, 4, 2, 6, -1, -1, -1, -1, -1, -1, -1],
    [10, 4, 9, 10, 6, 4, 11, 2, 3, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 2, 2, 8, 11, 4, 9, 10, 4, 10, 6, -1, -1, -1, -1],
    [3, 11, 2, 0, 1, 6, 0, 6, 4, 6, 1, 10, -1, -1, -1, -1],
    [6, 4, 1, 6, 1, 10, 4, 8, 1, 2, 1, 11, 8, 11, 1, -1],
    [9, 6, 4, 9, 3, 6, 9, 1, 3, 11, 6, 3, -1, -1, -1, -1],
    [8, 11, 1, 8, 1, 0, 11, 6, 1, 9, 1, 4, 6, 4, 1, -1],
    [3, 11, 6, 3, 6, 0, 0, 6, 4, -1, -1, -1, -1, -1, -1, -1],
    [6, 4, 8, 11, 6, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [7, 10, 6, 7, 8, 10, 8, 9, 10, -1, -1, -1, -1, -1, -1, -1],
    [0, 7, 3, 0, 10, 7, 0, 9, 10, 6, 7, 10, -1, -1, -1, -1],
    [10, 6, 7, 1, 10, 7, 1, 7, 8, 1, 8, 0, -1, -1, -1, -1],
    [10, 6, 7, 10, 7, 1, 1, 7, 3, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 6, 1, 6, 8, 1, 8, 9, 8, 6, 7, -1, -1, -1, -1],
    [2, 6, 9, 2, 9, 1, 6, 7, 9, 0, 9, 3, 7, 3, 9, -1],
    [7, 8, 0, 7, 0, 6, 6, 0, 2, -1, -1, -1, -1, -1, -1, -1],
    [7, 3, 2, 6, 7, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 3, 11, 10, 6, 8, 10, 8, 9, 8, 6, 7, -1, -1, -1, -1],
    [2, 0, 7, 2, 7, 11, 0, 9, 7, 6, 7, 10, 9, 10, 7, -1],
    [1, 8, 0, 1, 7, 8, 1, 10, 7, 6, 7, 10, 2, 3, 11, -1],
    [11, 2, 1, 11, 1, 7, 10, 6, 1, 6, 7, 1, -1, -1, -1, -1],
    [8, 9, 6, 8, 6, 7, 9, 1, 6, 11, 6, 3, 1, 3, 6, -1],
    [0, 9, 1, 11, 6, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [7, 8, 0, 7, 0, 6, 3, 11, 0, 11, 6, 0, -1, -1, -1, -1],
    [7, 11, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [7, 6, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 8, 11, 7, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 9, 11, 7, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [8, 1, 9, 8, 3, 1, 11, 7, 6, -1, -1, -1, -1, -1, -1, -1],
    [10, 1, 2, 6, 11, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 3, 0, 8, 6, 11, 7, -1, -1, -1, -1, -1, -1, -1],
    [2, 9, 0, 2, 10, 9, 6, 11, 7, -1, -1, -1, -1, -1, -1, -1],
    [6, 11, 7, 2, 10, 3, 10, 8, 3, 10, 9, 8, -1, -1, -1, -1],
    [7, 2, 3, 6, 2, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [7, 0, 8, 7, 6, 0, 6, 2, 0, -1, -1, -1, -1, -1, -1, -1],
    [2, 7, 6, 2, 3, 7, 0, 1, 9, -1, -1, -1, -1, -1, -1, -1],
    [1, 6, 2, 1, 8, 6, 1, 9, 8, 8, 7, 6, -1, -1, -1, -1],
    [10, 7, 6, 10, 1, 7, 1, 3, 7, -1, -1, -1, -1, -1, -1, -1],
    [10, 7, 6, 1, 7, 10, 1, 8, 7, 1, 0, 8, -1, -1, -1, -1],
    [0, 3, 7, 0, 7, 10, 0, 10, 9, 6, 10, 7, -1, -1, -1, -1],
    [7, 6, 10, 7, 10, 8, 8, 10, 9, -1, -1, -1, -1, -1, -1, -1],
    [6, 8, 4, 11, 8, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 6, 11, 3, 0, 6, 0, 4, 6, -1, -1, -1, -1, -1, -1, -1],
    [8, 6, 11, 8, 4, 6, 9, 0, 1, -1, -1, -1, -1, -1, -1, -1],
    [9, 4, 6, 9, 6, 3, 9, 3, 1, 11, 3, 6, -1, -1, -1, -1],
    [6, 8, 4, 6, 11, 8, 2, 10, 1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 3, 0, 11, 0, 6, 11, 0, 4, 6, -1, -1, -1, -1],
    [4, 11, 8, 4, 6, 11, 0, 2, 9, 2, 10, 9, -1, -1, -1, -1],
    [10, 9, 3, 10, 3, 2, 9, 4, 3, 11, 3, 6, 4, 6, 3, -1],
    [8, 2, 3, 8, 4, 2, 4, 6, 2, -1, -1, -1, -1, -1, -1, -1],
    [0, 4, 2, 4, 6, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 9, 0, 2, 3, 4, 2, 4, 6, 4, 3, 8, -1, -1, -1, -1],
    [1, 9, 4, 1, 4, 2, 2, 4, 6, -1, -1, -1, -1, -1, -1, -1],
    [8, 1, 3, 8, 6, 1, 8, 4, 6, 6, 10, 1, -1, -1, -1, -1],
    [10, 1, 0, 10, 0, 6, 6, 0, 4, -1, -1, -1, -1, -1, -1, -1],
    [4, 6, 3, 4, 3, 8, 6, 10, 3, 0, 3, 9, 10, 9, 3, -1],
    [10, 9, 4, 6, 10, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 9, 5, 7, 6, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 4, 9, 5, 11, 7, 6, -1, -1, -1, -1, -1, -1, -1],
    [5, 0, 1, 5, 4, 0, 7, 6, 11, -1, -1, -1, -1, -1, -1, -1],
    [11, 7, 6, 8, 3, 4, 3, 5, 4, 3, 1, 5, -1, -1, -1, -1],
    [9, 5, 4, 10, 1, 2, 7, 6, 11, -1, -1, -1, -1, -1, -1, -1],
    [6, 11, 7, 1, 2, 10, 0, 8, 3, 4, 9, 5, -1, -1, -1, -1],
    [7, 6, 11, 5, 4, 10, 4, 2, 10, 4, 0, 2, -1, -1, -1, -1],
    [3, 4, 8, 3, 5, 4, 3, 2, 5, 10, 5, 2, 11, 7, 6, -1],
    [7, 2, 3, 7, 6, 2, 5, 4, 9, -1, -1, -1, -1, -1, -1, -1],
    [9, 5, 4, 0, 8, 6, 0, 6, 2, 6, 8, 7, -1, -1, -1, -1],
    [3, 6, 2, 3, 7, 6, 1, 5, 0, 5, 4, 0, -1, -1, -1, -1],
    [6, 2, 8, 6, 8, 7, 2, 1, 8, 4, 8, 5, 1, 5, 8, -1],
    [9, 5, 4, 10, 1, 6, 1, 7, 6, 1, 3, 7, -1, -1, -1, -1],
    [1, 6, 10, 1, 7, 6, 1, 0, 7, 8, 7, 0, 9, 5, 4, -1],
    [4, 0, 10, 4, 10, 5, 0, 3, 10, 6, 10, 7, 3, 7, 10, -1],
    [7, 6, 10, 7, 10, 8, 5, 4, 10, 4, 8, 10, -1, -1, -1, -1],
    [6, 9, 5, 6, 11, 9, 11, 8, 9, -1, -1, -1, -1, -1, -1, -1],
    [3, 6, 11, 0, 6, 3, 0, 5, 6, 0, 9, 5, -1, -1, -1, -1],
    [0, 11, 8, 0, 5, 11, 0, 1, 5, 5, 6, 11, -1, -1, -1, -1],
    [6, 11, 3, 6, 3, 5, 5, 3, 1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 10, 9, 5, 11, 9, 11, 8, 11, 5, 6, -1, -1, -1, -1],
    [0, 11, 3, 0, 6, 11, 0, 9, 6, 5, 6, 9, 1, 2, 10, -1],
    [11, 8, 5, 11, 5, 6, 8, 0, 5, 10, 5, 2, 0, 2, 5, -1],
    [6, 11, 3, 6, 3, 5, 2, 10, 3, 10, 5, 3, -1, -1, -1, -1],
    [5, 8, 9, 5, 2, 8, 5, 6, 2, 3, 8, 2, -1, -1, -1, -1],
    [9, 5, 6, 9, 6, 0, 0, 6, 2, -1, -1, -1, -1, -1, -1, -1],
    [1, 5, 8, 1, 8, 0, 5, 6, 8, 3, 8, 2, 6, 2, 8, -1],
    [1, 5, 6, 2, 1, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 3, 6, 1, 6, 10, 3, 8, 6, 5, 6, 9, 8, 9, 6, -1],
    [10, 1, 0, 10, 0, 6, 9, 5, 0, 5, 6, 0, -1, -1, -1, -1],
    [0, 3, 8, 5, 6, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [10, 5, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [11, 5, 10, 7, 5, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [11, 5, 10, 11, 7, 5, 8, 3, 0, -1, -1, -1, -1, -1, -1, -1],
    [5, 11, 7, 5, 10, 11, 1, 9, 0, -1, -1, -1, -1, -1, -1, -1],
    [10, 7, 5, 10, 11, 7, 9, 8, 1, 8, 3, 1, -1, -1, -1, -1],
    [11, 1, 2, 11, 7, 1, 7, 5, 1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 1, 2, 7, 1, 7, 5, 7, 2, 11, -1, -1, -1, -1],
    [9, 7, 5, 9, 2, 7, 9, 0, 2, 2, 11, 7, -1, -1, -1, -1],
    [7, 5, 2, 7, 2, 11, 5, 9, 2, 3, 2, 8, 9, 8, 2, -1],
    [2, 5, 10, 2, 3, 5, 3, 7, 5, -1, -1, -1, -1, -1, -1, -1],
    [8, 2, 0, 8, 5, 2, 8, 7, 5, 10, 2, 5, -1, -1, -1, -1],
    [9, 0, 1, 5, 10, 3, 5, 3, 7, 3, 10, 2, -1, -1, -1, -1],
    [9, 8, 2, 9, 2, 1, 8, 7, 2, 10, 2, 5, 7, 5, 2, -1],
    [1, 3, 5, 3, 7, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 7, 0, 7, 1, 1, 7, 5, -1, -1, -1, -1, -1, -1, -1],
    [9, 0, 3, 9, 3, 5, 5, 3, 7, -1, -1, -1, -1, -1, -1, -1],
    [9, 8, 7, 5, 9, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [5, 8, 4, 5, 10, 8, 10, 11, 8, -1, -1, -1, -1, -1, -1, -1],
    [5, 0, 4, 5, 11, 0, 5, 10, 11, 11, 3, 0, -1, -1, -1, -1],
    [0, 1, 9, 8, 4, 10, 8, 10, 11, 10, 4, 5, -1, -1, -1, -1],
    [10, 11, 4, 10, 4, 5, 11, 3, 4, 9, 4, 1, 3, 1, 4, -1],
    [2, 5, 1, 2, 8, 5, 2, 11, 8, 4, 5, 8, -1, -1, -1, -1],
    [0, 4, 11, 0, 11, 3, 4, 5, 11, 2, 11, 1, 5, 1, 11, -1],
    [0, 2, 5, 0, 5, 9, 2, 11, 5, 4, 5, 8, 11, 8, 5, -1],
    [9, 4, 5, 2, 11, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 5, 10, 3, 5, 2, 3, 4, 5, 3, 8, 4, -1, -1, -1, -1],
    [5, 10, 2, 5, 2, 4, 4, 2, 0, -1, -1, -1, -1, -1, -1, -1],
    [3, 10, 2, 3, 5, 10, 3, 8, 5, 4, 5, 8, 0, 1, 9, -1],
    [5, 10, 2, 5, 2, 4, 1, 9, 2, 9, 4, 2, -1, -1, -1, -1],
    [8, 4, 5, 8, 5, 3, 3, 5, 1, -1, -1, -1, -1, -1, -1, -1],
    [0, 4, 5, 1, 0, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [8, 4, 5, 8, 5, 3, 9, 0, 5, 0, 3, 5, -1, -1, -1, -1],
    [9, 4, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 11, 7, 4, 9, 11, 9, 10, 11, -1, -1, -1, -1, -1, -1, -1],
    [0, 8, 3, 4, 9, 7, 9, 11, 7, 9, 10, 11, -1, -1, -1, -1],
    [1, 10, 11, 1, 11, 4, 1, 4, 0, 7, 4, 11, -1, -1, -1, -1],
    [3, 1, 4, 3, 4, 8, 1, 10, 4, 7, 4, 11, 10, 11, 4, -1],
    [4, 11, 7, 9, 11, 4, 9, 2, 11, 9, 1, 2, -1, -1, -1, -1],
    [9, 7, 4, 9, 11, 7, 9, 1, 11, 2, 11, 1, 0, 8, 3, -1],
    [11, 7, 4, 11, 4, 2, 2, 4, 0, -1, -1, -1, -1, -1, -1, -1],
    [11, 7, 4, 11, 4, 2, 8, 3, 4, 3, 2, 4, -1, -1, -1, -1],
    [2, 9, 10, 2, 7, 9, 2, 3, 7, 7, 4, 9, -1, -1, -1, -1],
    [9, 10, 7, 9, 7, 4, 10, 2, 7, 8, 7, 0, 2, 0, 7, -1],
    [3, 7, 10, 3, 10, 2, 7, 4, 10, 1, 10, 0, 4, 0, 10, -1],
    [1, 10, 2, 8, 7, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 9, 1, 4, 1, 7, 7, 1, 3, -1, -1, -1, -1, -1, -1, -1],
    [4, 9, 1, 4, 1, 7, 0, 8, 1, 8, 7, 1, -1, -1, -1, -1],
    [4, 0, 3, 7, 4, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [4, 8, 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [9, 10, 8, 10, 11, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 9, 3, 9, 11, 11, 9, 10, -1, -1, -1, -1, -1, -1, -1],
    [0, 1, 10, 0, 10, 8, 8, 10, 11, -1, -1, -1, -1, -1, -1, -1],
    [3, 1, 10, 11, 3, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 2, 11, 1, 11, 9, 9, 11, 8, -1, -1, -1, -1, -1, -1, -1],
    [3, 0, 9, 3, 9, 11, 1, 2, 9, 2, 11, 9, -1, -1, -1, -1],
    [0, 2, 11, 8, 0, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [3, 2, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 3, 8, 2, 8, 10, 10, 8, 9, -1, -1, -1, -1, -1, -1, -1],
    [9, 10, 2, 0, 9, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, 3, 8, 2, 8, 10, 0, 1, 8, 1, 10, 8, -1, -1, -1, -1],
    [1, 10, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, 3, 8, 9, 1, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 9, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [0, 3, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
];

/// Checks the grid dimensions and returns the number of samples per slice.
fn plane_size(dims: [usize; 3]) -> Result<usize, Error> {
    let [nx, ny, nz] = dims;
    if nx < 2 || ny < 2 || nz < 2 {
        return Err(Error::misuse(
            crate::Misuse::EmptySize,
            format!("marching cubes needs at least 2 samples along each axis, got {nx}×{ny}×{nz}"),
        ));
    }
    nx.checked_mul(ny).ok_or_else(|| {
        Error::limit(
            crate::Limit::Output,
            format!("a {nx}×{ny} slice's samples"),
            u64::MAX,
            usize::MAX as u64,
        )
    })
}

/// The vertex indices of the grid edges around one layer of cubes (between
/// slices k and k+1), indexed like the samples of a slice by their lower
/// end: x- and y-edges of the lower slice, of the upper slice, and the
/// z-edges between them. Each array remembers which entries it set, so that
/// moving up a layer resets those rather than whole slices.
struct LayerEdges {
    /// Lower x, lower y, upper x, upper y, z.
    ids: [Vec<u32>; 5],
    touched: [Vec<usize>; 5],
}

impl LayerEdges {
    fn new(plane: usize) -> Self {
        LayerEdges {
            ids: std::array::from_fn(|_| vec![NONE; plane]),
            touched: Default::default(),
        }
    }

    /// Moves up one layer: the upper slice's edges become the lower's.
    fn advance(&mut self) {
        for a in [0, 1, 4] {
            for &i in &self.touched[a] {
                self.ids[a][i] = NONE;
            }
            self.touched[a].clear();
        }
        self.ids.swap(0, 2);
        self.ids.swap(1, 3);
        self.touched.swap(0, 2);
        self.touched.swap(1, 3);
    }
}

/// Set in a square code when any of the square's corners is NaN.
const SQUARE_NAN: u8 = 16;

/// The codes of the squares of a slice, indexed by their lowest corner:
/// bit c set when corner c (of 0..4, Bourke's order) is inside, and
/// `SQUARE_NAN`. A cube's case is its lower square's code plus its upper
/// square's shifted by 4, so each slice is classified once, not twice.
/// `flags` is scratch space for the samples' classification.
fn square_codes(values: &[f32], nx: usize, level: f32, flags: &mut [u8], codes: &mut [u8]) {
    for (f, &v) in flags.iter_mut().zip(values) {
        *f = classify(v, level);
    }
    let ny = values.len() / nx;
    for j in 0..ny - 1 {
        let r0 = &flags[j * nx..][..nx];
        let r1 = &flags[(j + 1) * nx..][..nx];
        let out = &mut codes[j * nx..][..nx - 1];
        for (i, c) in out.iter_mut().enumerate() {
            let (f0, f1, f2, f3) = (r0[i], r0[i + 1], r1[i + 1], r1[i]);
            let nan = if (f0 | f1 | f2 | f3) & NAN != 0 {
                SQUARE_NAN
            } else {
                0
            };
            *c = (f0 & INSIDE) | (f1 & INSIDE) << 1 | (f2 & INSIDE) << 2 | (f3 & INSIDE) << 3 | nan;
        }
    }
}

/// Extracts the level set {f = `level`} of a scalar field sampled on an
/// `nx`×`ny`×`nz` grid (`dims`), as a welded, indexed mesh.
///
/// The grid is read slice by slice: `slice(k, out)` fills z-slice `k`
/// (`nx·ny` values, x fastest) and may fail, for instance when a network
/// evaluator does; its error is returned as is. Only two slices are held at
/// a time, plus the output mesh and some 23 more bytes per sample of a slice
/// (classification and the edge-to-vertex map).
///
/// Grid point (i, j, k) lies at `origin + step ⊙ (i, j, k)`; each vertex is
/// interpolated linearly along the grid edge it lies on, and each grid edge
/// that crosses the level gives exactly one vertex, shared by the triangles
/// of all the cubes around it; no vertex is left unused. Values below
/// `level` are inside, values equal to or above it outside, and triangles
/// wind counter-clockwise seen from outside, so that normals point from
/// inside to outside. A cube with a NaN corner emits nothing, which leaves a
/// hole in the surface there.
///
/// Fails with [`Error::Parameter`] when a dimension is below 2 and with
/// [`Error::LimitsExceeded`] when a slice's size overflows `usize` or the
/// mesh would need more vertices than `u32` indices can address.
pub fn marching_cubes(
    dims: [usize; 3],
    origin: [f32; 3],
    step: [f32; 3],
    level: f32,
    mut slice: impl FnMut(usize, &mut [f32]) -> Result<(), Error>,
) -> Result<TriMesh, Error> {
    let plane = plane_size(dims)?;
    let [nx, ny, nz] = dims;
    let mut lower = vec![0.0f32; plane];
    let mut upper = vec![0.0f32; plane];
    let mut flags = vec![0u8; plane];
    let mut lower_codes = vec![0u8; plane];
    let mut upper_codes = vec![0u8; plane];
    let mut edges = LayerEdges::new(plane);
    let mut mesh = TriMesh::default();

    slice(0, &mut lower)?;
    square_codes(&lower, nx, level, &mut flags, &mut lower_codes);
    for k in 0..nz - 1 {
        slice(k + 1, &mut upper)?;
        square_codes(&upper, nx, level, &mut flags, &mut upper_codes);
        for j in 0..ny - 1 {
            let row = j * nx;
            let codes = lower_codes[row..row + nx - 1]
                .iter()
                .zip(&upper_codes[row..row + nx - 1]);
            for (i, (&lo, &hi)) in codes.enumerate() {
                // Most cubes are wholly outside (0) or inside (255).
                if lo | hi == 0 {
                    continue;
                }
                let case = (lo & 15) as usize | ((hi & 15) as usize) << 4;
                if case == 255 || (lo | hi) & SQUARE_NAN != 0 {
                    continue;
                }
                for tri in TRI_TABLE[case].chunks_exact(3) {
                    if tri[0] < 0 {
                        break;
                    }
                    let mut v = [0u32; 3];
                    for (slot, &e) in v.iter_mut().zip(tri) {
                        let (low, axis) = EDGE_GEOMETRY[e as usize];
                        let index = row + low[1] * nx + i + low[0];
                        let array = if axis == 2 { 4 } else { 2 * low[2] + axis };
                        let id = &mut edges.ids[array][index];
                        if *id == NONE {
                            // NONE itself is reserved, hence `>=`.
                            if mesh.vertices.len() >= NONE as usize {
                                return Err(Error::limit(
                                    crate::Limit::Output,
                                    "the mesh's vertices (u32 indices)",
                                    NONE as u64,
                                    NONE as u64 - 1,
                                ));
                            }
                            let values = if low[2] == 0 { &lower } else { &upper };
                            let (va, vb) = match axis {
                                0 => (values[index], values[index + 1]),
                                1 => (values[index], values[index + nx]),
                                _ => (lower[index], upper[index]),
                            };
                            let p = [i + low[0], j + low[1], k + low[2]];
                            *id = mesh.vertices.len() as u32;
                            edges.touched[array].push(index);
                            mesh.vertices
                                .push(edge_point(origin, step, level, p, axis, va, vb));
                        }
                        *slot = *id;
                    }
                    mesh.faces.push([v[0], v[2], v[1]]);
                }
            }
        }
        std::mem::swap(&mut lower, &mut upper);
        std::mem::swap(&mut lower_codes, &mut upper_codes);
        edges.advance();
    }
    Ok(mesh)
}

/// The slow, obviously correct twin of [`marching_cubes`], kept as its
/// reference: the whole grid in memory (`values[(k·ny + j)·nx + i]`), and
/// every triangle with three vertices of its own (a soup), from the same
/// tables and the same interpolation, so that its vertices equal the welded
/// extractor's to the bit.
///
/// # Panics
///
/// When a dimension is below 2, when `values` does not hold `nx·ny·nz`
/// samples, or when the soup needs more vertices than `u32` can index.
pub fn marching_cubes_soup(
    dims: [usize; 3],
    origin: [f32; 3],
    step: [f32; 3],
    level: f32,
    values: &[f32],
) -> TriMesh {
    let [nx, ny, nz] = dims;
    assert!(
        nx >= 2 && ny >= 2 && nz >= 2,
        "grid {nx}×{ny}×{nz} too small"
    );
    assert_eq!(values.len(), nx * ny * nz, "grid size");
    let at = |p: [usize; 3]| values[(p[2] * ny + p[1]) * nx + p[0]];
    let mut mesh = TriMesh::default();
    for k in 0..nz - 1 {
        for j in 0..ny - 1 {
            for i in 0..nx - 1 {
                let corner = |c: usize| [i + CORNERS[c][0], j + CORNERS[c][1], k + CORNERS[c][2]];
                let flags = std::array::from_fn(|c| classify(at(corner(c)), level));
                let Some(case) = cube_case(flags) else {
                    continue;
                };
                for tri in TRI_TABLE[case].chunks_exact(3) {
                    if tri[0] < 0 {
                        break;
                    }
                    let n = u32::try_from(mesh.vertices.len()).expect("soup too large");
                    for &e in tri {
                        let (low, axis) = EDGE_GEOMETRY[e as usize];
                        let p = [i + low[0], j + low[1], k + low[2]];
                        let mut q = p;
                        q[axis] += 1;
                        let point = edge_point(origin, step, level, p, axis, at(p), at(q));
                        mesh.vertices.push(point);
                    }
                    mesh.faces.push([n, n + 2, n + 1]);
                }
            }
        }
    }
    mesh
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A grid over [−1, 1]³ with `n` samples per axis.
    pub(crate) fn cube_grid(n: usize) -> ([usize; 3], [f32; 3], [f32; 3]) {
        let h = 2.0 / (n - 1) as f32;
        ([n; 3], [-1.0; 3], [h; 3])
    }

    /// Samples `f` on the grid, slice by slice.
    pub(crate) fn sample(
        dims: [usize; 3],
        origin: [f32; 3],
        step: [f32; 3],
        f: impl Fn([f32; 3]) -> f32,
    ) -> impl FnMut(usize, &mut [f32]) -> Result<(), Error> {
        move |k, out| {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let p = [
                        origin[0] + step[0] * i as f32,
                        origin[1] + step[1] * j as f32,
                        origin[2] + step[2] * k as f32,
                    ];
                    out[j * dims[0] + i] = f(p);
                }
            }
            Ok(())
        }
    }

    fn whole_grid(
        dims: [usize; 3],
        mut slice: impl FnMut(usize, &mut [f32]) -> Result<(), Error>,
    ) -> Vec<f32> {
        let plane = dims[0] * dims[1];
        let mut values = vec![0.0; plane * dims[2]];
        for (k, chunk) in values.chunks_mut(plane).enumerate() {
            slice(k, chunk).unwrap();
        }
        values
    }

    pub(crate) fn sphere(r: f32) -> impl Fn([f32; 3]) -> f32 {
        move |p| (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt() - r
    }

    fn torus(big: f32, small: f32) -> impl Fn([f32; 3]) -> f32 {
        move |p| {
            let q = (p[0] * p[0] + p[1] * p[1]).sqrt() - big;
            (q * q + p[2] * p[2]).sqrt() - small
        }
    }

    /// The sphere of radius 0.6 on a 40³ grid over [−1, 1]³.
    pub(crate) fn sphere_mesh() -> TriMesh {
        let (dims, origin, step) = cube_grid(40);
        marching_cubes(
            dims,
            origin,
            step,
            0.0,
            sample(dims, origin, step, sphere(0.6)),
        )
        .unwrap()
    }

    /// Checks that every directed edge appears once and its reverse once:
    /// the mesh is closed, edge-manifold and consistently oriented. Returns
    /// the Euler characteristic V − E + F over the referenced vertices.
    pub(crate) fn check_closed(mesh: &TriMesh) -> i64 {
        let mut directed: HashMap<(u32, u32), usize> = HashMap::new();
        for f in &mesh.faces {
            for c in 0..3 {
                *directed.entry((f[c], f[(c + 1) % 3])).or_default() += 1;
            }
        }
        for (&(a, b), &n) in &directed {
            assert_eq!(n, 1, "directed edge {a}→{b} used {n} times");
            assert_eq!(directed.get(&(b, a)), Some(&1), "edge {a}→{b} has no twin");
        }
        let mut used = vec![false; mesh.vertices.len()];
        mesh.faces
            .iter()
            .flatten()
            .for_each(|&v| used[v as usize] = true);
        let v = used.iter().filter(|&&u| u).count() as i64;
        v - (directed.len() / 2) as i64 + mesh.faces.len() as i64
    }

    /// The enclosed volume, positive when the faces wind outwards.
    pub(crate) fn volume(mesh: &TriMesh) -> f64 {
        let p = |v: u32| mesh.vertices[v as usize].map(f64::from);
        mesh.faces
            .iter()
            .map(|f| {
                let [a, b, c] = [p(f[0]), p(f[1]), p(f[2])];
                let cross = [
                    b[1] * c[2] - b[2] * c[1],
                    b[2] * c[0] - b[0] * c[2],
                    b[0] * c[1] - b[1] * c[0],
                ];
                (a[0] * cross[0] + a[1] * cross[1] + a[2] * cross[2]) / 6.0
            })
            .sum()
    }

    type Tri = [[u32; 3]; 3];

    /// The triangles as position triples (bit patterns), rotated so that the
    /// smallest comes first (orientation kept), sorted.
    fn triangle_set(mesh: &TriMesh) -> Vec<Tri> {
        let mut out: Vec<Tri> = mesh
            .faces
            .iter()
            .map(|f| {
                let t: Tri = f.map(|v| mesh.vertices[v as usize].map(f32::to_bits));
                let m = (0..3).min_by_key(|&c| t[c]).unwrap();
                [t[m], t[(m + 1) % 3], t[(m + 2) % 3]]
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// The number of distinct vertex positions.
    fn distinct_positions(mesh: &TriMesh) -> usize {
        let mut p: Vec<[u32; 3]> = mesh.vertices.iter().map(|v| v.map(f32::to_bits)).collect();
        p.sort_unstable();
        p.dedup();
        p.len()
    }

    /// A small deterministic generator (64-bit LCG), enough for test fields.
    pub(crate) struct Lcg(pub u64);

    impl Lcg {
        pub(crate) fn next_f32(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    fn compare_with_soup(
        dims: [usize; 3],
        origin: [f32; 3],
        step: [f32; 3],
        level: f32,
        values: &[f32],
    ) -> TriMesh {
        let plane = dims[0] * dims[1];
        let welded = marching_cubes(dims, origin, step, level, |k, out| {
            out.copy_from_slice(&values[k * plane..(k + 1) * plane]);
            Ok(())
        })
        .unwrap();
        let soup = marching_cubes_soup(dims, origin, step, level, values);
        assert_eq!(welded.faces.len(), soup.faces.len());
        assert_eq!(soup.vertices.len(), 3 * soup.faces.len());
        assert_eq!(triangle_set(&welded), triangle_set(&soup));
        welded
    }

    #[test]
    fn table_edges_match_the_corner_signs() {
        for (case, row) in TRI_TABLE.iter().enumerate() {
            let end = row.iter().position(|&e| e < 0).unwrap_or(16);
            assert_eq!(end % 3, 0);
            assert!(row[end..].iter().all(|&e| e < 0));
            let mut used = [false; 12];
            row[..end].iter().for_each(|&e| used[e as usize] = true);
            for (e, [a, b]) in EDGES.iter().enumerate() {
                let crosses = ((case >> a) ^ (case >> b)) & 1 == 1;
                assert_eq!(used[e], crosses, "case {case} edge {e}");
            }
        }
    }

    #[test]
    fn welded_matches_soup() {
        // A smooth field with several components, on an uneven grid.
        let dims = [17, 13, 11];
        let origin = [-0.3, 0.2, -1.1];
        let step = [0.11, 0.13, 0.17];
        let values = whole_grid(
            dims,
            sample(dims, origin, step, |p| {
                (3.0 * p[0]).sin() + (2.0 * p[1] + 0.5).cos() * (4.0 * p[2]).sin() - 0.2
            }),
        );
        let welded = compare_with_soup(dims, origin, step, 0.1, &values);
        assert!(welded.faces.len() > 100);
        let soup = marching_cubes_soup(dims, origin, step, 0.1, &values);
        // One vertex per crossing edge: no two welded vertices coincide.
        assert_eq!(welded.vertices.len(), distinct_positions(&welded));
        assert_eq!(welded.vertices.len(), distinct_positions(&soup));

        // Noise, all 256 cases, and values exactly at the level.
        let dims = [9, 10, 11];
        let mut rng = Lcg(7);
        let noise: Vec<f32> = (0..990).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
        compare_with_soup(dims, origin, step, 0.0, &noise);
        let ternary: Vec<f32> = noise.iter().map(|v| (v * 1.5).round()).collect();
        compare_with_soup(dims, origin, step, 0.0, &ternary);
        // NaN cubes are skipped alike; infinities interpolate to an end or the middle.
        let special: Vec<f32> = noise
            .iter()
            .map(|&v| match (v * 1000.0) as i32 % 23 {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => f32::NEG_INFINITY,
                _ => v,
            })
            .collect();
        let welded = compare_with_soup(dims, origin, step, 0.0, &special);
        assert!(welded.vertices.iter().flatten().all(|c| c.is_finite()));
    }

    #[test]
    fn sphere_is_closed_and_outward() {
        let mesh = sphere_mesh();
        assert_eq!(check_closed(&mesh), 2);
        let exact = 4.0 / 3.0 * std::f64::consts::PI * 0.6f64.powi(3);
        let v = volume(&mesh);
        assert!((v - exact).abs() < 0.02 * exact, "volume {v} vs {exact}");
        for p in &mesh.vertices {
            let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
            assert!((r - 0.6).abs() < 0.01, "vertex at radius {r}");
        }
    }

    #[test]
    fn torus_has_genus_one() {
        let (dims, origin, step) = cube_grid(40);
        let mesh = marching_cubes(
            dims,
            origin,
            step,
            0.0,
            sample(dims, origin, step, torus(0.5, 0.2)),
        )
        .unwrap();
        assert_eq!(check_closed(&mesh), 0);
        let exact = 2.0 * std::f64::consts::PI.powi(2) * 0.5 * 0.2f64.powi(2);
        let v = volume(&mesh);
        assert!((v - exact).abs() < 0.05 * exact, "volume {v} vs {exact}");
    }

    #[test]
    fn noise_inside_a_shell_is_closed() {
        // Random values, with an outside border so that the surface closes:
        // exercises every case, including the ambiguous faces, for holes.
        let n = 14;
        let mut rng = Lcg(3);
        let mut values = vec![0.0f32; n * n * n];
        for k in 0..n {
            for j in 0..n {
                for i in 0..n {
                    let border = [i, j, k].iter().any(|&c| c == 0 || c == n - 1);
                    let r = rng.next_f32() * 2.0 - 1.0;
                    values[(k * n + j) * n + i] = if border { 1.0 } else { r };
                }
            }
        }
        let welded = compare_with_soup([n; 3], [0.0; 3], [1.0; 3], 0.0, &values);
        check_closed(&welded);
        assert!(volume(&welded) > 0.0);
    }

    #[test]
    fn nan_cubes_emit_nothing() {
        let (dims, origin, step) = cube_grid(12);
        let mut field = sample(dims, origin, step, sphere(0.6));
        let full = marching_cubes(dims, origin, step, 0.0, &mut field).unwrap();
        let holed = marching_cubes(dims, origin, step, 0.0, |k, out| {
            field(k, out)?;
            if k == 6 {
                out.fill(f32::NAN);
            }
            Ok(())
        })
        .unwrap();
        assert!(!holed.faces.is_empty() && holed.faces.len() < full.faces.len());
        assert!(holed.vertices.iter().flatten().all(|c| c.is_finite()));
        // Vertices are created only for emitted triangles.
        let mut used = vec![false; holed.vertices.len()];
        holed
            .faces
            .iter()
            .flatten()
            .for_each(|&v| used[v as usize] = true);
        assert!(used.iter().all(|&u| u));
    }

    #[test]
    fn slice_errors_propagate() {
        let (dims, origin, step) = cube_grid(10);
        let mut field = sample(dims, origin, step, sphere(0.6));
        let mut calls = 0;
        let result = marching_cubes(dims, origin, step, 0.0, |k, out| {
            calls += 1;
            if k == 5 {
                return Err(Error::Train("evaluator failed".into()));
            }
            field(k, out)
        });
        assert!(matches!(result, Err(Error::Train(m)) if m == "evaluator failed"));
        assert_eq!(calls, 6);
    }

    #[test]
    fn no_crossing_gives_an_empty_mesh() {
        let (dims, origin, step) = cube_grid(8);
        let mesh = marching_cubes(dims, origin, step, 0.0, |_, out| {
            out.fill(1.0);
            Ok(())
        })
        .unwrap();
        assert_eq!(mesh, TriMesh::default());
        let inside = marching_cubes(dims, origin, step, 2.0, |_, out| {
            out.fill(1.0);
            Ok(())
        })
        .unwrap();
        assert_eq!(inside, TriMesh::default());
    }

    #[test]
    fn bad_dims_are_refused() {
        let never = |_: usize, _: &mut [f32]| -> Result<(), Error> { panic!("no slice needed") };
        let r = marching_cubes([1, 5, 5], [0.0; 3], [1.0; 3], 0.0, never);
        assert!(matches!(r, Err(Error::Parameter(_))));
        let r = marching_cubes([usize::MAX, 2, 2], [0.0; 3], [1.0; 3], 0.0, never);
        assert!(matches!(r, Err(Error::LimitsExceeded(_))));
    }

    /// Timing by hand: `cargo test --release --no-default-features --lib
    /// mesh::march::tests::timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timing() {
        for n in [256, 512] {
            let (dims, origin, step) = cube_grid(n);
            let mut field = sample(dims, origin, step, sphere(0.6));
            let mut in_field = std::time::Duration::ZERO;
            let start = std::time::Instant::now();
            let mesh = marching_cubes(dims, origin, step, 0.0, |k, out| {
                let t = std::time::Instant::now();
                let r = field(k, out);
                in_field += t.elapsed();
                r
            })
            .unwrap();
            let total = start.elapsed();
            println!(
                "{n}³: {} vertices, {} faces; {:.3} s total, {:.3} s in the field, {:.3} s marching",
                mesh.vertices.len(),
                mesh.faces.len(),
                total.as_secs_f64(),
                in_field.as_secs_f64(),
                (total - in_field).as_secs_f64()
            );
        }
    }
}
