//! A clip's frames in time (FORMAT.md §4.5): which source-frame positions
//! a decode at another frame rate or frame count samples, and where a
//! frame number or a time falls.
//!
//! A position u counts source frames: source frame k sits at u = k, the
//! frame shown at T seconds at u = T · fps. [`super::grid::time_coordinate`]
//! maps u to the network's time coordinate.

use super::{Convention, Kind, SignalInfo};
use crate::{Error, Limits, Misuse};

/// What frames a clip decode asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClipRequest {
    /// The source's frames at the source's rate.
    Source,
    /// This many frames spread evenly over the clip's span.
    Frames(u64),
    /// Frames at this rate, `num / den` per second, over the clip's span.
    Fps(u32, u32),
}

/// Which frames a clip decodes to: source frame positions u and the
/// output's frame rate `num / den`.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub positions: Vec<f64>,
    pub rate: (u32, u32),
}

/// The clip's frame count N and frame rate, or an error naming what was
/// asked of another kind of signal.
fn clip_of(signal: &SignalInfo) -> Result<(u64, (u64, u64)), Error> {
    match (signal.kind, signal.frame_rate) {
        (Kind::Video, Some(r)) => Ok((signal.sizes[2] as u64, (r.num as u64, r.den as u64))),
        _ => Err(Error::wrong_kind(
            Kind::Video,
            signal.kind,
            format!(
                "frames, frame rates and times belong to clips; this file holds a {}",
                signal.kind.name()
            ),
        )),
    }
}

/// The frames `request` asks of the clip `signal`, within `limits`: the
/// same time span as the source (N/fps seconds with cell-centre sampling,
/// from the first to the last frame with endpoints), output frame k at
/// k/fps′. Whole source frames land exactly on u = k.
pub fn schedule(
    signal: &SignalInfo,
    request: ClipRequest,
    limits: &Limits,
) -> Result<Schedule, Error> {
    let (n, src) = clip_of(signal)?;
    let endpoints = signal.convention == Convention::Endpoints;
    // (count, output rate as a fraction num/den), in u128: a frame count
    // of up to 2⁶⁴ − 1 (limits lifted) times a 32-bit rate does not
    // overflow.
    let (count, out): (u64, (u128, u128)) = match request {
        ClipRequest::Frames(0) => {
            return Err(Error::misuse(
                Misuse::EmptySize,
                "a clip decode needs at least one frame",
            ));
        }
        ClipRequest::Frames(m) if endpoints && m > 1 && n > 1 => (
            m,
            (
                src.0 as u128 * (m - 1) as u128,
                src.1 as u128 * (n - 1) as u128,
            ),
        ),
        ClipRequest::Frames(m) if endpoints => (m, (src.0 as u128, src.1 as u128)),
        ClipRequest::Frames(m) => (m, (src.0 as u128 * m as u128, src.1 as u128 * n as u128)),
        ClipRequest::Fps(a, b) => {
            if a == 0 || b == 0 {
                return Err(Error::parameter(format!("{a}/{b} is not a frame rate")));
            }
            let ratio = (a as f64 / b as f64) / (src.0 as f64 / src.1 as f64);
            let count = if endpoints {
                ((n - 1) as f64 * ratio + 1e-9).floor() as u64 + 1
            } else {
                (n as f64 * ratio - 1e-9).ceil().max(1.0) as u64
            };
            (count, (a as u128, b as u128))
        }
        ClipRequest::Source => (n, (src.0 as u128, src.1 as u128)),
    };
    limits.check_frames(count)?;
    // Source frames advance (src / out) per output frame; computed from
    // integers so that whole source frames land exactly on u = k (in
    // floating point past what u128 holds, which only a request with the
    // limits lifted reaches).
    let step_num = src.0 as u128 * out.1;
    let step_den = src.1 as u128 * out.0;
    let step = step_num as f64 / step_den as f64;
    let mut positions = Vec::new();
    positions
        .try_reserve_exact(usize::try_from(count).unwrap_or(usize::MAX))
        .map_err(|_| Error::Io {
            path: None,
            source: std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                format!("a schedule of {count} frames: no memory for their positions"),
            ),
        })?;
    positions.extend((0..count).map(|k| match (k as u128).checked_mul(step_num) {
        Some(p) => p as f64 / step_den as f64,
        None => k as f64 * step,
    }));
    Ok(Schedule {
        positions,
        rate: reduce(out),
    })
}

/// `num/den` in lowest terms, scaled into u32 if it does not fit.
fn reduce((mut n, mut d): (u128, u128)) -> (u32, u32) {
    let g = gcd(n, d);
    (n, d) = (n / g, d / g);
    while n > u32::MAX as u128 || d > u32::MAX as u128 {
        n = n.div_ceil(2);
        d = d.div_ceil(2);
    }
    (n.max(1) as u32, d.max(1) as u32)
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

/// The position of source frame `k` (0-based): `k` itself, checked against
/// the clip's frames.
pub fn frame_position(signal: &SignalInfo, k: u64) -> Result<f64, Error> {
    let (n, _) = clip_of(signal)?;
    if k >= n {
        return Err(Error::misuse(
            Misuse::OutOfRange,
            format!("frame {k} is past the clip's last frame {}", n - 1),
        ));
    }
    Ok(k as f64)
}

/// The position of the frame shown at `seconds` (u = seconds · fps),
/// checked against the clip's span: u ∈ [0, N) for a cell-centre clip,
/// u ∈ [0, N − 1] for an endpoints one (FORMAT.md §4.5).
pub fn time_position(signal: &SignalInfo, seconds: f64) -> Result<f64, Error> {
    let (n, (num, den)) = clip_of(signal)?;
    let (n, fps) = (n as f64, num as f64 / den as f64);
    let last = n - 1.0;
    let end = match signal.convention {
        Convention::CellCentre => n / fps,
        Convention::Endpoints => last / fps,
    };
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(Error::misuse(
            Misuse::OutOfRange,
            format!("{seconds} s is not a time within the clip (0 to {end:.6} s)"),
        ));
    }
    let u = seconds * fps;
    let inside = match signal.convention {
        Convention::CellCentre => u < n,
        Convention::Endpoints => u <= last + 1e-9,
    };
    if !inside {
        return Err(Error::misuse(
            Misuse::OutOfRange,
            format!("{seconds} s is past the clip's end at {end:.6} s"),
        ));
    }
    Ok(u)
}

/// Checks a position u against the clip's span (FORMAT.md §4.5).
pub fn check_position(signal: &SignalInfo, u: f64) -> Result<(), Error> {
    let (n, _) = clip_of(signal)?;
    let n = n as f64;
    let end = match signal.convention {
        Convention::CellCentre => n,
        Convention::Endpoints => n - 1.0,
    };
    let inside = match signal.convention {
        Convention::CellCentre => u < end,
        Convention::Endpoints => u <= end + 1e-9,
    };
    if !(u.is_finite() && u >= 0.0 && inside) {
        return Err(Error::misuse(
            Misuse::OutOfRange,
            format!("source frame position {u} is outside the clip's span [0, {end}]"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{FrameRate, Layout};

    fn clip(frames: u32, num: u32, den: u32, convention: Convention) -> SignalInfo {
        SignalInfo {
            kind: Kind::Video,
            layout: Layout::Rgb,
            sizes: vec![4, 4, frames],
            bit_depth: 8,
            value_range: [0.0, 1.0],
            convention,
            frame_rate: Some(FrameRate { num, den }),
            domain: None,
        }
    }

    #[test]
    fn frame_schedules_keep_the_time_span() {
        use ClipRequest::{Fps, Frames};
        use Convention::{CellCentre, Endpoints};
        let l = Limits::default();
        let s = schedule(&clip(8, 25, 1, CellCentre), Fps(50, 1), &l).unwrap();
        assert_eq!(s.rate, (50, 1));
        assert_eq!(
            s.positions,
            (0..16).map(|k| k as f64 / 2.0).collect::<Vec<_>>()
        );
        let s = schedule(&clip(8, 25, 1, CellCentre), Frames(3), &l).unwrap();
        assert_eq!(s.positions, [0.0, 8.0 / 3.0, 16.0 / 3.0]);
        assert_eq!(s.rate, (75, 8));
        let s = schedule(&clip(5, 25, 1, Endpoints), Frames(9), &l).unwrap();
        assert_eq!(
            s.positions,
            (0..9).map(|k| k as f64 / 2.0).collect::<Vec<_>>()
        );
        assert_eq!(s.rate, (50, 1));
        let s = schedule(&clip(5, 25, 1, Endpoints), Fps(50, 1), &l).unwrap();
        assert_eq!(s.positions.len(), 9);
        // Whole source frames land exactly on u = k, whatever the ratio.
        let s = schedule(&clip(39, 60, 1, Endpoints), Frames(67), &l).unwrap();
        for (k, &u) in s.positions.iter().enumerate() {
            if (k * 38) % 66 == 0 {
                assert_eq!(u, (k * 38 / 66) as f64);
            }
        }
        assert_eq!(*s.positions.last().unwrap(), 38.0);
        let s = schedule(&clip(10, 30000, 1001, CellCentre), Fps(60000, 1001), &l);
        assert_eq!(s.unwrap().positions.len(), 20);
        let s = schedule(&clip(10, 25, 1, CellCentre), ClipRequest::Source, &l).unwrap();
        assert_eq!((s.positions.len(), s.rate), (10, (25, 1)));
    }

    #[test]
    fn bad_requests_are_errors() {
        use Convention::CellCentre;
        let l = Limits::default();
        let c = clip(10, 25, 1, CellCentre);
        let e = schedule(&c, ClipRequest::Frames(0), &l).unwrap_err();
        assert!(matches!(e, Error::Parameter(ref p) if p.misuse == Misuse::EmptySize));
        let small = Limits {
            max_frames: 1000,
            ..Limits::default()
        };
        let e = schedule(&c, ClipRequest::Frames(200_000), &small).unwrap_err();
        assert!(matches!(e, Error::LimitsExceeded(ref x) if x.limit == crate::Limit::Frames));
        assert!(frame_position(&c, 10).is_err());
        assert_eq!(frame_position(&c, 9).unwrap(), 9.0);
        assert_eq!(time_position(&c, 0.2).unwrap(), 5.0);
        assert!(time_position(&c, 0.4).is_err());
        assert!(time_position(&c, f64::NAN).is_err());
        let mut image = c.clone();
        image.kind = Kind::Image;
        let e = schedule(&image, ClipRequest::Source, &l).unwrap_err();
        assert!(matches!(
            e,
            Error::Parameter(ref p) if p.misuse == Misuse::WrongKind { expected: Kind::Video, found: Kind::Image }
        ));
    }
}
