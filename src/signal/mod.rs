//! Signals: what a file describes (the `SGNL` chunk, FORMAT.md §4), the
//! sampling grid that maps sample indices to coordinates, a clip's frame
//! schedule, rendering to buffers, and (feature `media`) image and clip
//! files.

pub mod frames;
pub mod grid;
#[cfg(feature = "media")]
pub mod image;
pub mod render;
#[cfg(feature = "media")]
pub mod video;

pub use grid::{Convention, coordinate};

use crate::Error;

/// What kind of signal a file holds (FORMAT.md §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Image,
    Video,
    Sdf,
}

impl Kind {
    pub fn code(self) -> u8 {
        match self {
            Kind::Image => 0,
            Kind::Video => 1,
            Kind::Sdf => 2,
        }
    }

    pub fn from_code(code: u8) -> Result<Self, Error> {
        match code {
            0 => Ok(Kind::Image),
            1 => Ok(Kind::Video),
            2 => Ok(Kind::Sdf),
            c => Err(Error::format(
                crate::Rule::SignalKind,
                format!("unknown signal kind {c}"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Video => "video",
            Kind::Sdf => "sdf",
        }
    }

    /// Number of grid axes (and of network input coordinates).
    pub fn axes(self) -> usize {
        match self {
            Kind::Image => 2,
            Kind::Video | Kind::Sdf => 3,
        }
    }
}

/// What the output channels mean (FORMAT.md §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One channel: luma.
    Gray,
    /// Luma and alpha.
    GrayAlpha,
    /// Red, green, blue.
    Rgb,
    /// Red, green, blue, alpha.
    Rgba,
    /// One channel: signed distance.
    Distance,
}

impl Layout {
    pub fn code(self) -> u8 {
        match self {
            Layout::Gray => 0,
            Layout::GrayAlpha => 1,
            Layout::Rgb => 2,
            Layout::Rgba => 3,
            Layout::Distance => 4,
        }
    }

    pub fn from_code(code: u8) -> Result<Self, Error> {
        match code {
            0 => Ok(Layout::Gray),
            1 => Ok(Layout::GrayAlpha),
            2 => Ok(Layout::Rgb),
            3 => Ok(Layout::Rgba),
            4 => Ok(Layout::Distance),
            c => Err(Error::format(
                crate::Rule::Layout,
                format!("unknown channel layout {c}"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::Gray => "gray",
            Layout::GrayAlpha => "gray+alpha",
            Layout::Rgb => "rgb",
            Layout::Rgba => "rgba",
            Layout::Distance => "distance",
        }
    }

    pub fn channels(self) -> usize {
        match self {
            Layout::Gray | Layout::Distance => 1,
            Layout::GrayAlpha => 2,
            Layout::Rgb => 3,
            Layout::Rgba => 4,
        }
    }
}

/// The signal a file describes: the `SGNL` chunk (FORMAT.md §4).
#[derive(Clone, Debug, PartialEq)]
pub struct SignalInfo {
    pub kind: Kind,
    pub layout: Layout,
    /// Samples along each axis of the training grid: `[width, height]` for
    /// an image (axis 0 is x, left to right; axis 1 is y, top to bottom).
    pub sizes: Vec<u32>,
    /// Bits per sample of the source (8 or 16 for images).
    pub bit_depth: u8,
    /// Values that network outputs −1 and +1 stand for, in the signal's
    /// units (for images: 0 = black, 1 = full intensity).
    pub value_range: [f32; 2],
    /// Where sample j of N sits in [−1, 1].
    pub convention: Convention,
    /// Video only: frames per second, as `num / den` (FORMAT.md §4.5).
    pub frame_rate: Option<FrameRate>,
    /// SDF only: the world-space cube the network's [−1, 1]³ covers
    /// (FORMAT.md §4.6).
    pub domain: Option<Domain>,
}

/// A frame rate of `num / den` frames per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
}

impl FrameRate {
    pub fn fps(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

/// The cube `centre ± half_extent` (on every axis), in the source's units,
/// that network coordinates [−1, 1]³ stand for: world = centre + x · half_extent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Domain {
    pub centre: [f32; 3],
    pub half_extent: f32,
}

impl Domain {
    /// The world position of network coordinate `x`.
    pub fn to_world(&self, x: [f32; 3]) -> [f32; 3] {
        std::array::from_fn(|a| self.centre[a] + x[a] * self.half_extent)
    }
}

impl SignalInfo {
    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.layout.channels()
    }

    /// Samples along x (axis 0) of the encoded grid: an image's or a
    /// frame's width, an SDF grid's size.
    pub fn width(&self) -> u64 {
        self.sizes[0] as u64
    }

    /// Samples along y (axis 1) of the encoded grid: an image's or a
    /// frame's height.
    pub fn height(&self) -> u64 {
        self.sizes[1] as u64
    }

    /// A clip's number of frames (axis 2); `None` for other kinds.
    pub fn frames(&self) -> Option<u64> {
        (self.kind == Kind::Video).then(|| self.sizes[2] as u64)
    }

    /// Whether a network of `arch` can hold this signal: one input per
    /// axis, one output per channel (FORMAT.md §5.1); if not, why.
    pub fn check_arch(&self, arch: &crate::model::Arch) -> Result<(), String> {
        if let crate::model::Family::Grid {
            grid_width,
            grid_height,
            ..
        } = &arch.family
        {
            // FORMAT.md §5.9: latent grids belong to an image, and none is
            // finer than it.
            if self.kind != Kind::Image {
                return Err(format!(
                    "a `grid` network cannot store a {}",
                    self.kind.name()
                ));
            }
            let (w, h) = (self.sizes[0] as usize, self.sizes[1] as usize);
            if *grid_width > w || *grid_height > h {
                return Err(format!(
                    "the finest latent grid, {grid_width}x{grid_height}, is larger than the {w}x{h} image"
                ));
            }
        }
        if arch.in_dims == self.kind.axes() && arch.out_dims == self.channels() {
            return Ok(());
        }
        Err(format!(
            "the network maps {} coordinates to {} values, but the {} has {} axes and {} channels",
            arch.in_dims,
            arch.out_dims,
            self.kind.name(),
            self.kind.axes(),
            self.channels()
        ))
    }

    /// Maps a network output to the signal's units.
    pub fn to_value(&self, y: f32) -> f32 {
        let [lo, hi] = self.value_range;
        lo + (y + 1.0) * 0.5 * (hi - lo)
    }

    /// Maps a value in the signal's units to a network target.
    pub fn to_target(&self, v: f32) -> f32 {
        let [lo, hi] = self.value_range;
        (v - lo) / (hi - lo) * 2.0 - 1.0
    }
}
