//! The front API: open a `.scone` file, read its header, decode what it
//! holds within [`Limits`].
//!
//! [`Decoder`] parses and checks the whole file when it is opened, so that
//! everything after (the header, every request) works on a valid file.
//! Each request is checked against the file's kind and the limits before
//! anything is evaluated: an image of a clip, frames of an SDF, an empty or
//! huge size or a grid beyond the compute budget is an [`Error`], never a
//! panic.

mod image;
mod shape;

pub use image::{ImageRender, Sample};
pub use shape::SdfGrid;

use std::io::Read;
use std::path::Path;

use crate::eval::{Evaluate, Evaluator};
use crate::format::SconeFile;
use crate::model::Network;
use crate::signal::frames;
pub use crate::signal::frames::{ClipRequest, Schedule};
use crate::signal::grid::time_coordinate;
use crate::signal::{Kind, SignalInfo};
use crate::{Error, Limits, Misuse};

/// Options for opening a file: the [`Limits`] it and every request on it
/// are held to.
#[derive(Clone, Debug, Default)]
pub struct DecoderBuilder {
    limits: Limits,
}

impl DecoderBuilder {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Holds the file and every request to `limits`.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Opens the file at `path`; a file larger than
    /// [`Limits::max_file_bytes`] is refused before it is read.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Decoder, Error> {
        let file = SconeFile::read_with_limits(path, &self.limits)?;
        self.from_file(file)
    }

    /// Reads a file from `reader`, at most [`Limits::max_file_bytes`] of
    /// it.
    pub fn read(self, reader: impl Read) -> Result<Decoder, Error> {
        let max = self.limits.max_file_bytes;
        let mut bytes = Vec::new();
        reader
            .take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io { path: None, source })?;
        self.from_bytes(&bytes)
    }

    /// Parses a file held in memory.
    pub fn from_bytes(self, bytes: &[u8]) -> Result<Decoder, Error> {
        let file = SconeFile::from_bytes_with_limits(bytes, &self.limits)?;
        self.from_file(file)
    }

    /// Decodes a file already parsed (or built by an encoder). Its network
    /// is checked again, since a [`SconeFile`]'s fields are public.
    pub fn from_file(self, file: SconeFile) -> Result<Decoder, Error> {
        let engine = Box::new(Evaluator::new(&file.network)?);
        Ok(Decoder {
            file,
            limits: self.limits,
            engine,
        })
    }
}

/// A `.scone` file opened for decoding.
///
/// The header ([`Decoder::info`]) is there from the start; requests are
/// [`Decoder::image`] for an image, [`Decoder::schedule`] and
/// [`Decoder::frame`] for a clip's frames, [`Decoder::sdf`] and
/// [`Decoder::mesh`] for a shape. Networks are evaluated on the CPU unless
/// [`Decoder::set_engine`] gave another [`Evaluate`].
pub struct Decoder {
    file: SconeFile,
    limits: Limits,
    engine: Box<dyn Evaluate>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("info", &self.file.signal)
            .field("arch", &self.file.network.arch)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The size of a decoded image or frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutputSize {
    /// The size the signal was encoded at.
    Native,
    /// The encoded size times this factor (rounded), e.g. 2 for twice it.
    Scale(f64),
    /// This width; the height keeps the aspect ratio.
    Width(u64),
    /// This height; the width keeps the aspect ratio.
    Height(u64),
    /// Exactly this width and height.
    Exact(u64, u64),
}

impl Decoder {
    /// Options for opening a file.
    pub fn builder() -> DecoderBuilder {
        DecoderBuilder::new()
    }

    /// Opens the file at `path` with the default [`Limits`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        DecoderBuilder::new().open(path)
    }

    /// Reads a file from `reader` with the default [`Limits`].
    pub fn read(reader: impl Read) -> Result<Self, Error> {
        DecoderBuilder::new().read(reader)
    }

    /// Parses a file held in memory with the default [`Limits`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        DecoderBuilder::new().from_bytes(bytes)
    }

    /// The header: the signal's kind, sizes, channels, bit depth, sampling
    /// convention, value range, and a clip's frame rate or a shape's domain
    /// (FORMAT.md §4).
    pub fn info(&self) -> &SignalInfo {
        &self.file.signal
    }

    /// Everything the file holds: header, network, weight encodings and
    /// its `meta` text.
    pub fn file(&self) -> &SconeFile {
        &self.file
    }

    /// The network, dequantised.
    pub fn network(&self) -> &Network {
        &self.file.network
    }

    /// The limits requests are held to.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Multiply-adds per evaluated point, what [`Limits::max_macs`]
    /// counts.
    pub fn macs_per_point(&self) -> u64 {
        self.file.network.arch.macs_per_point() as u64
    }

    /// What evaluates the network: the CPU's [`Evaluator`] unless
    /// [`Decoder::set_engine`] said otherwise.
    pub fn engine(&self) -> &dyn Evaluate {
        &*self.engine
    }

    /// Evaluates the network with `engine` from now on (a GPU's, say).
    /// Fails with [`Misuse::WrongNetwork`] unless `engine` evaluates this
    /// file's architecture.
    pub fn set_engine(&mut self, engine: Box<dyn Evaluate>) -> Result<(), Error> {
        if engine.arch() != &self.file.network.arch {
            return Err(Error::misuse(
                Misuse::WrongNetwork,
                "the engine evaluates another architecture than the file's",
            ));
        }
        self.engine = engine;
        Ok(())
    }

    fn expect_kind(&self, kind: Kind, request: &str) -> Result<(), Error> {
        let found = self.file.signal.kind;
        if found != kind {
            return Err(Error::wrong_kind(
                kind,
                found,
                format!(
                    "{request} was asked of a file that holds a {}",
                    found.name()
                ),
            ));
        }
        Ok(())
    }

    /// The width and height `size` asks for, of an image or a clip's
    /// frames, checked against the limits (not the compute budget, which
    /// the request itself checks).
    pub fn size(&self, size: OutputSize) -> Result<(u64, u64), Error> {
        let s = &self.file.signal;
        if s.kind == Kind::Sdf {
            return Err(Error::wrong_kind(
                Kind::Image,
                Kind::Sdf,
                "an SDF has no image size; ask for a grid resolution",
            ));
        }
        let (w0, h0) = (s.sizes[0] as u64, s.sizes[1] as u64);
        let round = |v: f64| v.round().clamp(0.0, u64::MAX as f64) as u64;
        let (w, h) = match size {
            OutputSize::Native => (w0, h0),
            OutputSize::Scale(f) => {
                if !(f.is_finite() && f > 0.0) {
                    return Err(Error::parameter(format!(
                        "the scale must be a positive number, not {f}"
                    )));
                }
                (round(w0 as f64 * f), round(h0 as f64 * f))
            }
            OutputSize::Width(w) => (w, round(w as f64 * h0 as f64 / w0 as f64).max(1)),
            OutputSize::Height(h) => (round(h as f64 * w0 as f64 / h0 as f64).max(1), h),
            OutputSize::Exact(w, h) => (w, h),
        };
        self.limits.check_image(w, h)?;
        Ok((w, h))
    }

    /// The image decoded on a `width` × `height` grid (any size: the
    /// network is sampled there, FORMAT.md §4.3), to render in whole or in
    /// bands. Fails for a file that is not an image, an empty size, or a
    /// size beyond the limits or the compute budget.
    pub fn image(&self, width: u64, height: u64) -> Result<ImageRender<'_>, Error> {
        self.expect_kind(Kind::Image, "an image")?;
        let (w, h) = self.size(OutputSize::Exact(width, height))?;
        ImageRender::new(self, w, h, None)
    }

    /// The image at its encoded size times `scale` ([`OutputSize::Scale`]).
    pub fn image_at_scale(&self, scale: f64) -> Result<ImageRender<'_>, Error> {
        self.expect_kind(Kind::Image, "an image")?;
        let (w, h) = self.size(OutputSize::Scale(scale))?;
        ImageRender::new(self, w, h, None)
    }

    /// The frames a clip decode samples (FORMAT.md §4.5): the source's,
    /// a frame count or a frame rate over the clip's span, within
    /// [`Limits::max_frames`]. Decode each with [`Decoder::frame`].
    pub fn schedule(&self, request: ClipRequest) -> Result<Schedule, Error> {
        frames::schedule(&self.file.signal, request, &self.limits)
    }

    /// The position of the clip's source frame `k` (0-based), for
    /// [`Decoder::frame`].
    pub fn frame_position(&self, k: u64) -> Result<f64, Error> {
        frames::frame_position(&self.file.signal, k)
    }

    /// The position of the frame shown at `seconds`, for
    /// [`Decoder::frame`]: any time within the clip, between its frames
    /// too.
    pub fn time_position(&self, seconds: f64) -> Result<f64, Error> {
        frames::time_position(&self.file.signal, seconds)
    }

    /// The clip's frame at source-frame position `position` (from
    /// [`Decoder::schedule`], [`Decoder::frame_position`] or
    /// [`Decoder::time_position`]; any position within the clip's span) on
    /// a `width` × `height` grid.
    pub fn frame(&self, position: f64, width: u64, height: u64) -> Result<ImageRender<'_>, Error> {
        self.expect_kind(Kind::Video, "a clip's frame")?;
        let s = &self.file.signal;
        frames::check_position(s, position)?;
        let (w, h) = self.size(OutputSize::Exact(width, height))?;
        let t = time_coordinate(position, s.sizes[2] as usize, s.convention) as f32;
        ImageRender::new(self, w, h, Some(t))
    }

    /// The samples per axis of the shape's own grid (what `scone mesh`
    /// extracts at when not told otherwise).
    pub fn native_resolution(&self) -> Result<u64, Error> {
        self.expect_kind(Kind::Sdf, "a grid resolution")?;
        Ok(self.file.signal.sizes[0] as u64)
    }

    /// The shape's signed distances on a `resolution`³ grid (FORMAT.md
    /// §4.3, §4.6), slice by slice.
    pub fn sdf(&self, resolution: u64) -> Result<SdfGrid<'_>, Error> {
        self.expect_kind(Kind::Sdf, "a signed-distance grid")?;
        SdfGrid::new(self, resolution)
    }

    /// The shape's surface where the distance is `level` (0: the surface
    /// itself), by marching cubes on a `resolution`³ grid, with vertices in
    /// the source's units.
    pub fn mesh(&self, resolution: u64, level: f32) -> Result<crate::mesh::TriMesh, Error> {
        self.sdf(resolution)?.mesh(level)
    }

    /// Checks `points` evaluations against the compute budget.
    fn check_compute(&self, what: &str, points: u64) -> Result<(), Error> {
        self.limits
            .check_compute(what, points, self.macs_per_point())
    }
}

/// A `Vec` of `len` default values, or an error instead of an abort when
/// the memory is not there.
fn try_vec<T: Clone + Default>(len: usize, what: &str) -> Result<Vec<T>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::Io {
        path: None,
        source: std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!("{what}: no memory for {len} values"),
        ),
    })?;
    v.resize(len, T::default());
    Ok(v)
}

#[cfg(test)]
mod tests;
