//! The `SGNL` chunk (FORMAT.md §4).

use super::bytes::Reader;
use crate::Error;
use crate::signal::{Convention, Kind, Layout, SignalInfo};

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
    out
}

pub fn decode(payload: &[u8]) -> Result<SignalInfo, Error> {
    let mut r = Reader::new(payload, "SGNL");
    let kind = Kind::from_code(r.u8()?)?;
    let layout = Layout::from_code(r.u8()?)?;
    let bit_depth = r.u8()?;
    let convention = Convention::from_code(r.u8()?)?;
    let axes = r.u8()? as usize;
    if axes != kind.axes() {
        return Err(Error::Format(format!(
            "a {} signal has {} axes, the SGNL chunk says {axes}",
            kind.name(),
            kind.axes()
        )));
    }
    let sizes = (0..axes).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
    let value_range = [r.f32()?, r.f32()?];
    r.finish()?;
    let s = SignalInfo {
        kind,
        layout,
        sizes,
        bit_depth,
        value_range,
        convention,
    };
    validate(&s)?;
    Ok(s)
}

/// Checks the rules of FORMAT.md §4.2.
pub fn validate(s: &SignalInfo) -> Result<(), Error> {
    if s.kind != Kind::Image {
        return Err(Error::Format(format!(
            "{} signals are not supported by this version of the decoder",
            s.kind.name()
        )));
    }
    if s.sizes.len() != s.kind.axes() {
        return Err(Error::Format(format!(
            "a {} needs {} sizes",
            s.kind.name(),
            s.kind.axes()
        )));
    }
    if let Some(n) = s.sizes.iter().find(|&&n| n == 0 || n > MAX_AXIS_SAMPLES) {
        return Err(Error::Format(format!(
            "grid size {n} is outside 1..={MAX_AXIS_SAMPLES}"
        )));
    }
    if s.layout == Layout::Distance {
        return Err(Error::Format(
            "an image cannot have a distance layout".into(),
        ));
    }
    if !matches!(s.bit_depth, 8 | 16) {
        return Err(Error::Format(format!(
            "image bit depth {} is not 8 or 16",
            s.bit_depth
        )));
    }
    let [lo, hi] = s.value_range;
    if !lo.is_finite() || !hi.is_finite() || lo == hi {
        return Err(Error::Format(format!("invalid value range [{lo}, {hi}]")));
    }
    Ok(())
}
