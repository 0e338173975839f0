//! How much a file may hold and how much work a request may ask for.

use crate::Error;
use crate::error::Limit;

/// Implementation limits (FORMAT.md §9): what a file may hold, checked
/// before anything is allocated, and what a decoding request may ask for,
/// checked before anything is evaluated.
///
/// The request limits' defaults let every file the encoder's presets write
/// (any input it accepts) decode at its native size and at four times it
/// (scale 4 for images and frames, 4× the frames of a clip, 4× the
/// resolution of a shape) with room to spare, while refusing the hours of
/// work a hostile or mistaken file could otherwise demand.
/// [`Limits::without_request_limits`] lifts them (`scone decode --force`);
/// the format's own ranges (FORMAT.md §4–§6) and the limits on what a file
/// may hold stay.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest file accepted, in bytes (default 256 MiB).
    pub max_file_bytes: u64,
    /// Largest chunk payload, in bytes (default 256 MiB).
    pub max_chunk_bytes: u32,
    /// Largest number of tensor values in a `WGHT` chunk (default 2²⁶).
    pub max_weight_values: u64,
    /// Largest `meta` payload, in bytes (default 1 MiB).
    pub max_meta_bytes: u32,
    /// Most pixels in one decoded image or frame (default 2³⁰: the
    /// encoder's largest input, 2²⁶ pixels, at scale 4).
    pub max_pixels: u64,
    /// Longest side of a decoded image or frame (default 2²²: the format's
    /// largest size, 2²⁰, at scale 4).
    pub max_side: u64,
    /// Most frames in one clip decode (default 2²²: the format's most
    /// frames, 2²⁰, at four times the frame rate).
    pub max_frames: u64,
    /// Most samples per axis of an SDF grid or mesh (default 2048: the
    /// encoder writes 256).
    pub max_resolution: u64,
    /// The compute budget: most multiply-adds (the network's per point,
    /// [`crate::model::Arch::macs_per_point`], times the points) one image,
    /// frame or SDF grid may take (default 2⁵⁰ ≈ 1.1·10¹⁵, some hours on a
    /// laptop's cores; the largest preset output at 4×, the paper's 3D
    /// network on a 1024³ grid, takes 4.4·10¹⁴).
    pub max_macs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 256 << 20,
            max_chunk_bytes: 256 << 20,
            max_weight_values: 1 << 26,
            max_meta_bytes: 1 << 20,
            max_pixels: 1 << 30,
            max_side: 1 << 22,
            max_frames: 1 << 22,
            max_resolution: 2048,
            max_macs: 1 << 50,
        }
    }
}

impl Limits {
    /// These limits with the request limits (pixels, side, frames,
    /// resolution, compute) lifted; what a file may hold stays limited.
    pub fn without_request_limits(self) -> Self {
        Self {
            max_pixels: u64::MAX,
            max_side: u64::MAX,
            max_frames: u64::MAX,
            max_resolution: u64::MAX,
            max_macs: u64::MAX,
            ..self
        }
    }

    /// Checks an image or frame of `width` × `height` pixels: neither side
    /// zero, both within [`Limits::max_side`], the pixels within
    /// [`Limits::max_pixels`].
    pub fn check_image(&self, width: u64, height: u64) -> Result<(), Error> {
        if width == 0 || height == 0 {
            return Err(Error::misuse(
                crate::Misuse::EmptySize,
                format!("the output size {width}x{height} is empty"),
            ));
        }
        let side = width.max(height);
        if side > self.max_side {
            return Err(Error::limit(
                Limit::Side,
                format!("a {width}x{height} output's longest side"),
                side,
                self.max_side,
            ));
        }
        let pixels = width.saturating_mul(height);
        if pixels > self.max_pixels {
            return Err(Error::limit(
                Limit::Pixels,
                format!("a {width}x{height} output's pixels"),
                pixels,
                self.max_pixels,
            ));
        }
        Ok(())
    }

    /// Checks `points` evaluations of a network of `macs_per_point`
    /// multiply-adds against [`Limits::max_macs`]; `what` names them.
    pub fn check_compute(&self, what: &str, points: u64, macs_per_point: u64) -> Result<(), Error> {
        let macs = points.saturating_mul(macs_per_point.max(1));
        if macs > self.max_macs {
            return Err(Error::limit(
                Limit::Macs,
                format!("{what} ({points} points × {macs_per_point} multiply-adds)"),
                macs,
                self.max_macs,
            ));
        }
        Ok(())
    }

    /// Checks a clip decode of `frames` frames (at least 1).
    pub fn check_frames(&self, frames: u64) -> Result<(), Error> {
        if frames == 0 {
            return Err(Error::misuse(
                crate::Misuse::EmptySize,
                "a clip decode needs at least one frame",
            ));
        }
        if frames > self.max_frames {
            return Err(Error::limit(
                Limit::Frames,
                "the frames asked for",
                frames,
                self.max_frames,
            ));
        }
        Ok(())
    }

    /// Checks an SDF grid of `n`³ samples: at least 2 per axis (marching
    /// cubes needs a cube), at most [`Limits::max_resolution`].
    pub fn check_resolution(&self, n: u64) -> Result<(), Error> {
        if n < 2 {
            return Err(Error::misuse(
                crate::Misuse::EmptySize,
                format!("the resolution must be at least 2, not {n}"),
            ));
        }
        if n > self.max_resolution {
            return Err(Error::limit(
                Limit::Resolution,
                "the grid's samples per axis",
                n,
                self.max_resolution,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Misuse;
    use crate::model::Arch;

    /// The defaults let the presets' largest outputs through at 4×.
    #[test]
    fn defaults_fit_every_preset_at_four_times() {
        let l = Limits::default();
        // The encoder's largest image, 2²⁶ pixels, at scale 4; the
        // format's longest side at scale 4.
        l.check_image(4 * 8192, 4 * 8192).unwrap();
        l.check_image(4 << 20, 256).unwrap();
        let paper_image = Arch::paper_image(4).macs_per_point() as u64;
        l.check_compute("image", 1 << 30, paper_image).unwrap();
        // The paper's 3D network (8 hidden layers of 240) on 1024³.
        let paper_3d = Arch::scone(3, 1, 9, 240, 30.0, vec![50.0; 8], crate::model::Mask::Sin2)
            .macs_per_point() as u64;
        l.check_resolution(1024).unwrap();
        l.check_compute("grid", 1 << 30, paper_3d).unwrap();
        l.check_frames(4 << 20).unwrap();
    }

    #[test]
    fn requests_beyond_the_limits_name_them() {
        let l = Limits::default();
        let e = l.check_image(1 << 16, 1 << 15).unwrap_err();
        assert!(
            matches!(e, Error::LimitsExceeded(ref e) if e.limit == Limit::Pixels && e.value == 1 << 31)
        );
        let e = l.check_image(8 << 20, 1).unwrap_err();
        assert!(matches!(e, Error::LimitsExceeded(ref e) if e.limit == Limit::Side));
        let e = l.check_compute("x", u64::MAX, 2).unwrap_err();
        assert!(
            matches!(e, Error::LimitsExceeded(ref e) if e.limit == Limit::Macs && e.value == u64::MAX)
        );
        let e = l.check_image(0, 5).unwrap_err();
        assert!(matches!(e, Error::Parameter(ref p) if p.misuse == Misuse::EmptySize));
        assert!(l.check_resolution(1).is_err() && l.check_resolution(4096).is_err());
        let open = l.without_request_limits();
        open.check_image(1 << 30, 1 << 30).unwrap();
        open.check_resolution(4096).unwrap();
        assert_eq!(open.max_file_bytes, Limits::default().max_file_bytes);
    }
}
