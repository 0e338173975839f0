//! Sampling a decoded image or clip frame on a grid (FORMAT.md §4.3–§4.5).

use super::grid::coordinate;
use super::{Kind, SignalInfo};
use crate::eval::Evaluate;
use crate::{Error, Misuse};

/// Checks that `eval` evaluates the network of `signal` (its inputs are the
/// signal's axes, its outputs the signal's channels).
pub fn check_network(eval: &dyn Evaluate, signal: &SignalInfo) -> Result<(), Error> {
    signal
        .check_arch(eval.arch())
        .map_err(|why| Error::misuse(Misuse::WrongNetwork, why))
}

/// Checks rows `y0..y1` of an image `height` rows high.
pub(crate) fn check_rows(y0: usize, y1: usize, height: usize) -> Result<(), Error> {
    if y0 > y1 || y1 > height {
        return Err(Error::misuse(
            Misuse::OutOfRange,
            format!("rows {y0}..{y1} of an image {height} rows high"),
        ));
    }
    Ok(())
}

/// Writes into `out` rows `y0..y1` of an image decoded on a `width` ×
/// `height` grid, or of a clip's frame at time coordinate `t` (in [−1, 1],
/// FORMAT.md §4.5; `Some` exactly for a clip): values in the signal's units
/// clamped to [0, 1] (§4.4), row-major, channels interleaved; `out` holds
/// `width · (y1 − y0) · channels` values. Memory beyond `out` is the band's
/// coordinates: callers bound it by the band they ask for.
#[allow(clippy::too_many_arguments)]
pub fn render_into(
    eval: &dyn Evaluate,
    signal: &SignalInfo,
    width: usize,
    height: usize,
    t: Option<f32>,
    y0: usize,
    y1: usize,
    out: &mut [f32],
) -> Result<(), Error> {
    let expected = if t.is_some() {
        Kind::Video
    } else {
        Kind::Image
    };
    if signal.kind != expected {
        let what = if t.is_some() {
            "a clip's frame"
        } else {
            "an image"
        };
        return Err(Error::wrong_kind(
            expected,
            signal.kind,
            format!("{what} was asked of a {}", signal.kind.name()),
        ));
    }
    check_network(eval, signal)?;
    if width == 0 || height == 0 {
        return Err(Error::misuse(
            Misuse::EmptySize,
            format!("the output size {width}x{height} is empty"),
        ));
    }
    check_rows(y0, y1, height)?;
    let c = signal.channels();
    let needed = width
        .checked_mul(y1 - y0)
        .and_then(|n| n.checked_mul(c))
        .ok_or_else(|| Error::parameter(format!("{width}x{} values overflow", y1 - y0)))?;
    if out.len() != needed {
        return Err(Error::misuse(
            Misuse::BufferLength {
                needed,
                given: out.len(),
            },
            format!(
                "rows {y0}..{y1} of {width} pixels of {c} channels need {needed} values, not {}",
                out.len()
            ),
        ));
    }
    let d = signal.kind.axes();
    let xs: Vec<f32> = (0..width)
        .map(|j| coordinate(j, width, signal.convention) as f32)
        .collect();
    let mut coords = Vec::with_capacity(d * width * (y1 - y0));
    for row in y0..y1 {
        let y = coordinate(row, height, signal.convention) as f32;
        for &x in &xs {
            coords.extend_from_slice(&[x, y]);
            if let Some(t) = t {
                coords.push(t);
            }
        }
    }
    eval.eval(&coords, out)?;
    out.iter_mut()
        .for_each(|v| *v = signal.to_value(*v).clamp(0.0, 1.0));
    Ok(())
}

/// Rows `y0..y1` of an image decoded on a `width` × `height` grid, as
/// values in the signal's units clamped to [0, 1], row-major, channels
/// interleaved ([`render_into`]).
pub fn render_rows(
    eval: &dyn Evaluate,
    signal: &SignalInfo,
    width: usize,
    height: usize,
    y0: usize,
    y1: usize,
) -> Result<Vec<f32>, Error> {
    let mut out = vec![0f32; width * y1.saturating_sub(y0) * signal.channels()];
    render_into(eval, signal, width, height, None, y0, y1, &mut out)?;
    Ok(out)
}

/// Rows `y0..y1` of a clip's frame at time coordinate `t` (in [−1, 1],
/// FORMAT.md §4.5) decoded on a `width` × `height` grid, as values clamped
/// to [0, 1], row-major, channels interleaved ([`render_into`]).
pub fn render_frame_rows(
    eval: &dyn Evaluate,
    signal: &SignalInfo,
    width: usize,
    height: usize,
    t: f32,
    y0: usize,
    y1: usize,
) -> Result<Vec<f32>, Error> {
    let mut out = vec![0f32; width * y1.saturating_sub(y0) * signal.channels()];
    render_into(eval, signal, width, height, Some(t), y0, y1, &mut out)?;
    Ok(out)
}
