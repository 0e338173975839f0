//! Sampling a decoded signal on a grid.

use super::SignalInfo;
use super::grid::image_coords;
use crate::decode::Evaluate;

/// Rows `y0..y1` of an image decoded on a `width` × `height` grid, as
/// values in the signal's units clamped to [0, 1], row-major, channels
/// interleaved. Memory is proportional to the band, not the image.
pub fn render_rows(
    eval: &dyn Evaluate,
    signal: &SignalInfo,
    width: usize,
    height: usize,
    y0: usize,
    y1: usize,
) -> Vec<f32> {
    let coords = image_coords(width, height, y0, y1, signal.convention);
    let mut out = vec![0f32; width * (y1 - y0) * signal.channels()];
    eval.eval(&coords, &mut out);
    out.iter_mut()
        .for_each(|v| *v = signal.to_value(*v).clamp(0.0, 1.0));
    out
}

/// Rows `y0..y1` of a video frame at time coordinate `t` (in [−1, 1],
/// FORMAT.md §4.5) decoded on a `width` × `height` grid, as values clamped
/// to [0, 1], row-major, channels interleaved.
pub fn render_frame_rows(
    eval: &dyn Evaluate,
    signal: &SignalInfo,
    width: usize,
    height: usize,
    t: f32,
    y0: usize,
    y1: usize,
) -> Vec<f32> {
    let xy = image_coords(width, height, y0, y1, signal.convention);
    let mut coords = Vec::with_capacity(xy.len() / 2 * 3);
    for p in xy.chunks_exact(2) {
        coords.extend_from_slice(&[p[0], p[1], t]);
    }
    let mut out = vec![0f32; width * (y1 - y0) * signal.channels()];
    eval.eval(&coords, &mut out);
    out.iter_mut()
        .for_each(|v| *v = signal.to_value(*v).clamp(0.0, 1.0));
    out
}
