//! The `SGNL` chunk (FORMAT.md §4).

use super::bytes::Reader;
use crate::signal::{Convention, Domain, FrameRate, Kind, Layout, SignalInfo};
use crate::{Error, Rule};

/// Largest number of samples along one axis (FORMAT.md §4.2).
pub const MAX_AXIS_SAMPLES: u32 = 1 << 20;

pub fn encode(s: &SignalInfo) -> Vec<u8> {
    let mut out = vec![
        s.kind.code(),
        s.layout.code(),
        s.bit_depth,
        s.convention.code(),
        s.sizes.len() as u8,
    ];
    for &n in &s.sizes {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(&s.value_range[0].to_le_bytes());
    out.extend_from_slice(&s.value_range[1].to_le_bytes());
    // FORMAT.md §4.5, §4.6: the kind's own fields.
    if let Some(r) = s.frame_rate {
        out.extend_from_slice(&r.num.to_le_bytes());
        out.extend_from_slice(&r.den.to_le_bytes());
    }
    if let Some(d) = s.domain {
        for c in d.centre {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.extend_from_slice(&d.half_extent.to_le_bytes());
    }
    out
}

pub fn decode(payload: &[u8]) -> Result<SignalInfo, Error> {
    // The first five fields say which fields follow (FORMAT.md §4.1).
    if payload.len() < 5 {
        return Err(Error::format(
            Rule::SignalFields,
            format!(
                "the SGNL payload is {} bytes, shorter than its first five fields",
                payload.len()
            ),
        ));
    }
    let mut r = Reader::new(payload, "SGNL");
    let kind = Kind::from_code(r.u8()?)?;
    let layout = Layout::from_code(r.u8()?)?;
    let bit_depth = r.u8()?;
    let convention = Convention::from_code(r.u8()?)?;
    let axes = r.u8()? as usize;
    if axes != kind.axes() {
        return Err(Error::format(
            Rule::Axes,
            format!(
                "{} signals have {} axes, the SGNL chunk says {axes}",
                kind.name(),
                kind.axes()
            ),
        ));
    }
    // A frame rate exactly for a video, a domain exactly for an SDF.
    let needed = 5 + 4 * axes + 8 + kind_fields(kind);
    if payload.len() != needed {
        return Err(Error::format(
            Rule::SignalFields,
            format!(
                "the SGNL payload of {} is {} bytes; its fields take {needed}",
                phrase(kind),
                payload.len()
            ),
        ));
    }
    let sizes = (0..axes).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
    let value_range = [r.f32()?, r.f32()?];
    let frame_rate = match kind {
        Kind::Video => Some(FrameRate {
            num: r.u32()?,
            den: r.u32()?,
        }),
        _ => None,
    };
    let domain = match kind {
        Kind::Sdf => Some(Domain {
            centre: [r.f32()?, r.f32()?, r.f32()?],
            half_extent: r.f32()?,
        }),
        _ => None,
    };
    r.finish()?;
    let s = SignalInfo {
        kind,
        layout,
        sizes,
        bit_depth,
        value_range,
        convention,
        frame_rate,
        domain,
    };
    validate(&s)?;
    Ok(s)
}

/// Bytes of the fields only `kind` has: a video's frame rate (§4.5), an
/// SDF's domain (§4.6).
fn kind_fields(kind: Kind) -> usize {
    match kind {
        Kind::Image => 0,
        Kind::Video => 8,
        Kind::Sdf => 16,
    }
}

fn phrase(kind: Kind) -> &'static str {
    match kind {
        Kind::Image => "an image",
        Kind::Video => "a video",
        Kind::Sdf => "an SDF",
    }
}

/// Checks the rules of FORMAT.md §4.2, §4.5 and §4.6.
pub fn validate(s: &SignalInfo) -> Result<(), Error> {
    if s.sizes.len() != s.kind.axes() {
        return Err(Error::format(
            Rule::Axes,
            format!("{} signals need {} sizes", s.kind.name(), s.kind.axes()),
        ));
    }
    match s.kind {
        Kind::Image | Kind::Video => {
            if s.layout == Layout::Distance {
                return Err(Error::format(
                    Rule::Layout,
                    format!("{} signals cannot have a distance layout", s.kind.name()),
                ));
            }
            if !matches!(s.bit_depth, 8 | 16) {
                return Err(Error::format(
                    Rule::BitDepth,
                    format!("{} bit depth {} is not 8 or 16", s.kind.name(), s.bit_depth),
                ));
            }
        }
        Kind::Sdf => {
            if s.layout != Layout::Distance {
                return Err(Error::format(
                    Rule::Layout,
                    format!(
                        "an SDF must have the distance layout, not {}",
                        s.layout.name()
                    ),
                ));
            }
            if s.bit_depth != 32 {
                return Err(Error::format(
                    Rule::BitDepth,
                    format!("SDF bit depth {} is not 32", s.bit_depth),
                ));
            }
        }
    }
    if let Some(n) = s.sizes.iter().find(|&&n| n == 0 || n > MAX_AXIS_SAMPLES) {
        return Err(Error::format(
            Rule::Size,
            format!("grid size {n} is outside 1..={MAX_AXIS_SAMPLES}"),
        ));
    }
    let [lo, hi] = s.value_range;
    if !lo.is_finite() || !hi.is_finite() || lo == hi {
        return Err(Error::format(
            Rule::ValueRange,
            format!("invalid value range [{lo}, {hi}]"),
        ));
    }
    if s.frame_rate.is_some() != (s.kind == Kind::Video) {
        return Err(Error::format(
            Rule::SignalFields,
            "a frame rate belongs to a video, and only to a video",
        ));
    }
    if s.domain.is_some() != (s.kind == Kind::Sdf) {
        return Err(Error::format(
            Rule::SignalFields,
            "a domain belongs to an SDF, and only to an SDF",
        ));
    }
    if let Some(r) = s.frame_rate
        && (r.num == 0 || r.den == 0)
    {
        return Err(Error::format(
            Rule::FrameRate,
            format!("invalid frame rate {}/{}", r.num, r.den),
        ));
    }
    if let Some(d) = s.domain {
        let finite = d.centre.iter().all(|c| c.is_finite()) && d.half_extent.is_finite();
        if !finite || d.half_extent <= 0.0 {
            return Err(Error::format(
                Rule::Domain,
                format!(
                    "invalid SDF domain: centre {:?}, half extent {}",
                    d.centre, d.half_extent
                ),
            ));
        }
    }
    Ok(())
}
